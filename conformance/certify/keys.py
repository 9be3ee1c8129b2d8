"""Signing keys of certification packages: Ed25519 or ECDSA P-256 in PEM (cryptography); an
encrypted private key's passphrase comes from an environment variable, never the command line.

Signatures are what OpenSSL writes, so that a package can be checked without the suite: raw
64 bytes for Ed25519 (`openssl pkeyutl -verify -rawin`), DER for ECDSA with SHA-256
(`openssl dgst -sha256 -verify`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from conformance.model.errors import UsageError

__all__ = ["PrivateKey", "PublicKey", "algorithm", "fingerprint", "load_private_key",
           "load_public_key", "public_key_from_pem", "public_pem", "sign", "verify_signature"]

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
SUPPORTED = "an Ed25519 or ECDSA P-256 key"


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot read: {error.strerror or error}") from None


def _supported(key: object, where: str) -> None:
    ok = isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) or (
        isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1))
    if not ok:
        raise UsageError(f"{where}: not {SUPPORTED} (got {type(key).__name__})")


def load_private_key(path: str, passphrase_env: str | None, option: str = "--sign-key",
                     ) -> PrivateKey:
    data = _read(path, option)
    passphrase = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            raise UsageError(f"{option}: environment variable {passphrase_env} is not set or "
                             "empty")
        passphrase = value.encode()
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise UsageError(f"{option} {path}: the key is encrypted; name the variable holding "
                         "its passphrase with --sign-key-passphrase-env VAR" if passphrase is None
                         else f"{option} {path}: the key is not encrypted; drop "
                         "--sign-key-passphrase-env") from None
    except ValueError:
        raise UsageError(f"{option} {path}: not a PEM private key, or a wrong passphrase"
                         ) from None
    _supported(key, f"{option} {path}")
    assert isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    return key


def load_public_key(path: str, option: str = "--public-key") -> PublicKey:
    return public_key_from_pem(_read(path, option), f"{option} {path}")


def public_key_from_pem(data: bytes, where: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise UsageError(f"{where}: not a PEM public key") from None
    _supported(key, where)
    assert isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)
    return key


def public_pem(key: PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: PublicKey) -> str:
    """sha256 of the DER SubjectPublicKeyInfo, as `openssl pkey -pubout -outform DER | sha256sum`
    prints it."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def algorithm(key: PrivateKey | PublicKey) -> str:
    return "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) \
        else "ecdsa-p256-sha256"


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_signature(key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
