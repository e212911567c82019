"""Messaging Layer Security (RFC 9420) inside TLS 1.3, on top of tlslite-ng."""

__version__ = "0.1.0"
