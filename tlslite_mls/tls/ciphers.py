"""tlslite-ng's CBC block ciphers (AES, 3DES) and RC4 computed by OpenSSL.

Without M2Crypto or PyCrypto, tlslite-ng runs these ciphers of classic TLS 1.2 (and
older) in pure Python: ``rijndael.py``, ``python_tripledes.py``, ``python_rc4.py``.
The objects here keep the interface and the state semantics of tlslite-ng's
(``tlslite.utils.aes.AES``, ``tripledes.TripleDES``, ``rc4.RC4``) so the record layer
cannot tell them apart, only the bytes are OpenSSL's through ``cryptography``:

* a CBC object is one chain: every ``encrypt``/``decrypt`` goes on from the last
  ciphertext block of the call before (TLS 1.0's implicit IV; from TLS 1.1 on,
  tlslite-ng puts its fixed IV block before each record, which the chaining encrypts
  into that record's explicit IV). ``IV`` reads and sets the chain, and
  ``copy.copy`` gives an independent object at the same point of it;
* an RC4 object is one keystream that ``encrypt`` and ``decrypt`` both advance.

3DES and RC4 live in ``cryptography``'s ``decrepit`` module and need the OpenSSL
build to carry them (RC4 comes from OpenSSL's legacy provider): :func:`available`
says whether it does, and where it does not, :mod:`accel` leaves that cipher to
tlslite-ng and says so in a warning.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
except ImportError:  # pragma: no cover - a cryptography without the decrepit ciphers
    ARC4 = TripleDES = None  # type: ignore[assignment,misc]

__all__ = ["OpenSSLCBC", "OpenSSLRC4", "available"]

# tlslite-ng's cipher name -> (algorithm class, key lengths, block size)
_CBC = {"aes128": (algorithms.AES, (16,), 16), "aes192": (algorithms.AES, (24,), 16),
        "aes256": (algorithms.AES, (32,), 16), "3des": (TripleDES, (24,), 8)}
_AES_NAMES = {16: "aes128", 24: "aes192", 32: "aes256"}


@functools.lru_cache(maxsize=None)
def available(name: str) -> bool:
    """Whether this ``cryptography``/OpenSSL build computes the cipher ``name``
    (tlslite-ng's name: ``aes128``, ``aes256``, ``3des``, ``rc4``)."""
    try:
        if name == "rc4":
            if ARC4 is None:
                return False
            Cipher(ARC4(bytes(16)), None).encryptor()
        else:
            algorithm, (key_length, *_), block = _CBC[name]
            if algorithm is None:
                return False
            Cipher(algorithm(bytes(key_length)), modes.CBC(bytes(block))).encryptor()
    except (UnsupportedAlgorithm, ValueError):
        return False
    return True


class OpenSSLCBC:
    """A tlslite-ng CBC block cipher object (``aes128``/``aes192``/``aes256``/``3des``)
    backed by OpenSSL. Inputs must be whole blocks (tlslite-ng pads before it
    encrypts and checks the length before it decrypts); anything else is a
    ``ValueError``, as are a wrong key or IV length."""

    isBlockCipher = True  # noqa: N815 - tlslite-ng's attribute names
    isAEAD = False  # noqa: N815
    implementation = "openssl"

    def __init__(self, name: str, key: Any, iv: Any) -> None:
        algorithm, key_lengths, self.block_size = _CBC[name]
        if algorithm is None or not available(name):
            raise ValueError(f"OpenSSL has no {name} in this build")
        if len(key) not in key_lengths:
            raise ValueError(f"{name} takes a key of {key_lengths[0]} bytes, not {len(key)}")
        self.name = name
        self._algorithm = algorithm(bytes(key))
        self.IV = iv
        self._ctx: Any = None
        self._encrypting = False

    @property
    def IV(self) -> bytearray:  # noqa: N802 - tlslite-ng's name
        """The chaining block: the IV for the next block to encrypt or decrypt."""
        return bytearray(self._iv)

    @IV.setter
    def IV(self, iv: Any) -> None:  # noqa: N802
        if len(iv) != self.block_size:
            raise ValueError(f"{self.name} takes an IV of {self.block_size} bytes")
        self._iv = bytes(iv)
        self._ctx = None

    def _context(self, encrypting: bool) -> Any:
        if self._ctx is None or self._encrypting != encrypting:
            cipher = Cipher(self._algorithm, modes.CBC(self._iv))
            self._ctx = cipher.encryptor() if encrypting else cipher.decryptor()
            self._encrypting = encrypting
        return self._ctx

    def _check(self, data: Any) -> None:
        if len(data) % self.block_size:
            raise ValueError(f"{self.name}: {len(data)} bytes are not whole blocks of "
                             f"{self.block_size}")

    def encrypt(self, plaintext: Any) -> bytearray:
        self._check(plaintext)
        out = self._context(True).update(plaintext)
        if out:
            self._iv = out[-self.block_size:]
        return bytearray(out)

    def decrypt(self, ciphertext: Any) -> bytearray:
        self._check(ciphertext)
        out = self._context(False).update(ciphertext)
        if out:
            self._iv = bytes(ciphertext[-self.block_size:])
        return bytearray(out)

    def __copy__(self) -> "OpenSSLCBC":
        """An independent chain at the same point (tlslite-ng copies read states)."""
        twin = object.__new__(OpenSSLCBC)
        twin.__dict__.update(self.__dict__)
        twin._ctx = None
        return twin

    def __repr__(self) -> str:  # no key material
        return f"OpenSSLCBC({self.name})"


class OpenSSLRC4:
    """A tlslite-ng RC4 object backed by OpenSSL: one keystream for both calls."""

    isBlockCipher = False  # noqa: N815
    isAEAD = False  # noqa: N815
    implementation = "openssl"
    name = "rc4"

    def __init__(self, key: Any) -> None:
        if ARC4 is None or not available("rc4"):
            raise ValueError("OpenSSL has no rc4 in this build")
        if not 16 <= len(key) <= 256:
            raise ValueError(f"rc4 takes a key of 16 to 256 bytes, not {len(key)}")
        self._ctx = Cipher(ARC4(bytes(key)), None).encryptor()

    def encrypt(self, plaintext: Any) -> bytearray:
        return bytearray(self._ctx.update(plaintext))

    decrypt = encrypt

    def __copy__(self) -> "OpenSSLRC4":
        # OpenSSL cannot copy a keystream position; tlslite-ng copies read states only
        # for TLS 1.3 early data, which never runs RC4.
        raise TypeError("an OpenSSL RC4 keystream cannot be copied")

    def __repr__(self) -> str:
        return "OpenSSLRC4()"


def aes_name(key: Any) -> str:
    """tlslite-ng's name of the AES CBC cipher for ``key``."""
    try:
        return _AES_NAMES[len(key)]
    except KeyError:
        raise ValueError(f"AES takes a key of 16, 24 or 32 bytes, not {len(key)}") from None


def make(name: str, key: Any, iv: Any) -> Optional[Any]:
    """The OpenSSL object for tlslite-ng's cipher ``name``, or None when this build
    lacks that cipher."""
    if not available(name):
        return None
    return OpenSSLRC4(key) if name == "rc4" else OpenSSLCBC(name, key, iv)

