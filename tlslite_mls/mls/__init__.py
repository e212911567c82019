"""A sans-IO RFC 9420 core: bytes and values in, bytes and values out.

Nothing in this package opens sockets, imports tlslite or keeps global mutable
state, so the same group objects can be driven by the TLS extension mode, by
MLS-TLS, by tests and by interop harnesses alike.

The names below are the core's public API: a :class:`Group` (one member's state in
one epoch) made with :meth:`Group.create` or :meth:`Group.join` from a
:class:`KeyPackageBundle`, its settings :class:`GroupConfig`, credentials and the
policies that authenticate them, cipher suites, and the errors every parser and
check raises. Everything else lives in the submodules (one RFC 9420 section each).
"""

from .auth import (AcceptAnyCredential, AuthenticationPolicy, CredentialContext,
                   ExpectedIdentity, PinnedKey, PublicIdentity, X509Policy)
from .credentials import Credential
from .crypto import CipherSuite, SigningKey, get_cipher_suite, supported_cipher_suites
from .errors import (CredentialError, DecodeError, InvalidKeyError, MLSError, ProtocolError,
                     StateError, UnsupportedError, VerificationError)
from .group import (ApplicationMessage, Group, GroupConfig, PendingCommit, ProposalMessage,
                    StagedCommit)
from .keypackage import KeyPackage, KeyPackageBundle, create_key_package
from .messages import MLSMessage
from .welcome import GroupInfo, Welcome

__all__ = [
    "AcceptAnyCredential", "ApplicationMessage", "AuthenticationPolicy", "CipherSuite",
    "Credential", "CredentialContext", "CredentialError", "DecodeError", "ExpectedIdentity",
    "Group", "GroupConfig", "GroupInfo", "InvalidKeyError", "KeyPackage", "KeyPackageBundle",
    "MLSError", "MLSMessage", "PendingCommit", "PinnedKey", "ProposalMessage", "ProtocolError",
    "PublicIdentity", "SigningKey", "StagedCommit", "StateError", "UnsupportedError",
    "VerificationError", "Welcome", "X509Policy", "create_key_package", "get_cipher_suite",
    "supported_cipher_suites",
]
