"""API keys stored as hashes, passwords as Argon2, secrets encrypted at rest."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PRODUCT_PASSWORD_HASHER = PasswordHasher()
"""Argon2id with the library's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes)."""
_password_hasher = PRODUCT_PASSWORD_HASHER


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly made API key: `plaintext` is shown once, only `key_id` and `secret_hash` kept."""

    key_id: str
    plaintext: str
    secret_hash: str


def issue_api_key(prefix: str) -> IssuedApiKey:
    """Returns a new API key of the form `<prefix>_<key_id>.<secret>` (secret: 256 random bits)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedApiKey(key_id, f"{prefix}_{key_id}.{secret}", hash_secret(secret))


def parse_api_key(plaintext: str, prefix: str) -> tuple[str, str] | None:
    """Returns `(key_id, secret)` of a presented key, or None when it is not a key of our form
    with this context's `prefix` (a key of another kind is refused before any lookup)."""
    head, dot, secret = plaintext.strip().partition(".")
    kind, underscore, key_id = head.partition("_")
    if kind != prefix or not dot or not underscore or not key_id or not secret:
        return None
    return key_id, secret


def hash_secret(secret: str) -> str:
    """Returns the SHA-256 hex digest of a high-entropy secret (enough: it is never guessable)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Tells whether `secret` hashes to `secret_hash`, in constant time."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def hash_password(password: str) -> str:
    """Returns an Argon2id hash of a person's password."""
    return _password_hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Tells whether `password` matches its Argon2 hash."""
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def decoy_password_hash() -> str:
    """Returns the hash a sign-in checks the password against when the username is unknown, so
    that an unknown name takes as long as a wrong password (made at first use, not at import:
    every process that imports a context would pay for it)."""
    return hash_password(secrets.token_urlsafe(16))


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """Returns a key for one purpose derived from the master secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        master
    )


def keyed_digest(key: bytes, value: str) -> str:
    """Returns HMAC-SHA256(key, value) as hex: a lookup-able fingerprint of a short secret."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class SecretBox:
    """Encrypts short secrets (outgoing API keys, codes to show) for storage at rest."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(key[:32]))

    @classmethod
    def for_purpose(cls, master: bytes, purpose: str) -> SecretBox:
        """Returns a box whose key is derived from the master secret for one purpose."""
        return cls(derive_key(master, purpose))

    def seal(self, plaintext: str) -> str:
        """Returns the encrypted, authenticated form of `plaintext`."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        """Returns the plaintext of a sealed value; raises ValueError if it was tampered with."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("sealed value cannot be opened with this key") from exc


class SecretKeyMismatch(RuntimeError):
    """The secret key cannot open what a context's database holds: it was set up with another."""


def check_box(box: SecretBox, sample: str | None, context: str) -> None:
    """Raises SecretKeyMismatch unless `box` opens `sample`, a value sealed in the database.

    Checked at start: a wrong key would otherwise show only later, as work that never succeeds.
    """
    if sample is None:
        return  # nothing sealed yet: any key is the one it will be set up with
    try:
        box.open(sample)
    except ValueError:
        raise SecretKeyMismatch(
            f"HALLKEY_SECRET_KEY does not match the key this {context} database was set up with"
        ) from None
