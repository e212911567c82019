"""Messaging Layer Security (RFC 9420) inside TLS 1.3, on top of tlslite-ng.

The context API (:class:`ClientContext`, :class:`ServerContext`) is the entry point for
both modes; the modes' own classes live in :mod:`tlslite_mls.tls` (TLS extension
mode) and :mod:`tlslite_mls.mlstls` (MLS-TLS mode).
"""

from typing import Any

#: The package version (PEP 440), also what ``--version`` prints.
__version__ = "0.1.0"

__all__ = ["ClientContext", "ServerContext", "MLSSocket", "AcceptAnyCredential",
           "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``import tlslite_mls`` (and ``--version``) stays cheap.
    if name in ("ClientContext", "ServerContext", "MLSSocket"):
        from . import context
        return getattr(context, name)
    if name == "AcceptAnyCredential":
        from .mls.auth import AcceptAnyCredential
        return AcceptAnyCredential
    raise AttributeError(f"module 'tlslite_mls' has no attribute {name!r}")
