"""A sans-IO RFC 9420 core: bytes and values in, bytes and values out.

Nothing in this package opens sockets, imports tlslite or keeps global mutable
state, so the same group objects can be driven by the TLS extension mode, by
MLS-TLS, by tests and by interop harnesses alike.
"""
