"""Where the TLS layer meets the two-party MLS engine.

Everything the connection needs from ``tlslite_mls.twoparty`` goes through
:func:`load` and :func:`make_config`, the only two places that know the engine's
names. The engine is imported on the first MLS handshake, not with the TLS
package, so a plain tlslite-ng connection never pays for the MLS core's imports.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

from .settings import MLSClientSettings, MLSServerSettings, MLSSettings


def load() -> SimpleNamespace:
    """The engine's handshake classes and its ``Declined`` exception."""
    from ..twoparty import handshake
    from ..twoparty.errors import Declined
    return SimpleNamespace(MLSHandshakeConfig=handshake.MLSHandshakeConfig,
                           InitiatorHandshake=handshake.InitiatorHandshake,
                           ResponderHandshake=handshake.ResponderHandshake,
                           Declined=Declined)


def make_config(engine: SimpleNamespace, settings: MLSSettings,
                server_name: Optional[str] = None) -> Any:
    """An ``MLSHandshakeConfig`` from validated settings.

    ``server_name`` is the SNI of the handshake; the client checks an x509 server
    credential against it unless the settings name another one.
    """
    kwargs: dict[str, Any] = dict(
        suites=list(settings.suites),
        credential=settings.credential,
        signature_key=settings.signature_key,
        auth_policy=settings.auth_policy,
        store=settings.store,
        binding_protocol=settings.binding_protocol,
        state_lifetime=settings.state_lifetime,
        binding_extension_type=settings.binding_extension_type,
        client_hello_hash_extension_type=settings.client_hello_hash_extension_type,
        group_id_prefix=settings.group_id_prefix,
    )
    # The same authentication options in both roles (peer_auth); the engine makes
    # the policy, so a server judges clients exactly as a client judges servers.
    kwargs.update(expected_identity=settings.expected_identity,
                  trust_anchors=list(settings.trust_anchors),
                  pinned_keys=list(settings.pinned_keys))
    if isinstance(settings, MLSClientSettings):
        kwargs.update(key_package_lifetime=settings.key_package_lifetime,
                      server_name=settings.server_name or server_name)
    elif isinstance(settings, MLSServerSettings):
        kwargs["max_key_package_lifetime"] = settings.max_key_package_lifetime
    return engine.MLSHandshakeConfig(**kwargs)
