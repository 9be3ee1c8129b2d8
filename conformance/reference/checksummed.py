"""Flavour checksummed-refresh-tokens: refresh tokens in GitHub's format, with a public checksum.

`urt_`, 30 random base62 characters (178 bits) and the CRC32 of those 30 in 6 base62 characters,
so that a client or a secret scanner can tell a mistyped token from a real one offline."""

from __future__ import annotations

import re
import secrets
import string
import zlib

__all__ = ["new_token", "well_formed"]

PREFIX = "urt_"
BASE62 = string.digits + string.ascii_letters
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6  # 62^6 > 2^32
SHAPE = re.compile(rf"{PREFIX}([0-9A-Za-z]{{{RANDOM_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})")


def new_token() -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return f"{PREFIX}{body}{_checksum(body)}"


def well_formed(token: str) -> bool:
    """The token has the format and its checksum holds (it may still be unknown)."""
    match = SHAPE.fullmatch(token)
    return match is not None and _checksum(match[1]) == match[2]


def _checksum(body: str) -> str:
    value, digits = zlib.crc32(body.encode("ascii")), []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, len(BASE62))
        digits.append(BASE62[digit])
    return "".join(reversed(digits))
