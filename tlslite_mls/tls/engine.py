"""Where the TLS layer meets the two-party MLS engine.

The engine (``tlslite_mls.twoparty.handshake``) is imported lazily, on the
first MLS handshake, so the extension and fallback paths keep working on a
machine (or a branch) without it. Everything the connection needs from it
goes through :func:`load` and :func:`make_config`, the only two places that
know the engine's names.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .settings import MLSClientSettings, MLSSettings


def load() -> SimpleNamespace:
    """The engine's handshake classes and its ``Declined`` exception."""
    from ..twoparty import handshake
    from ..twoparty.errors import Declined
    return SimpleNamespace(MLSHandshakeConfig=handshake.MLSHandshakeConfig,
                           InitiatorHandshake=handshake.InitiatorHandshake,
                           ResponderHandshake=handshake.ResponderHandshake,
                           Declined=Declined)


def make_config(engine: SimpleNamespace, settings: MLSSettings) -> Any:
    """An ``MLSHandshakeConfig`` from validated settings."""
    kwargs: dict[str, Any] = dict(
        suites=list(settings.suites),
        credential=settings.credential,
        signature_key=settings.signature_key,
        auth_policy=settings.auth_policy,
        store=settings.store,
        binding_protocol=settings.binding_protocol,
    )
    if isinstance(settings, MLSClientSettings):
        kwargs["key_package_lifetime"] = settings.key_package_lifetime
    return engine.MLSHandshakeConfig(**kwargs)
