"""Malformed protobuf frames around a live refresh token (FZ-09).

Each frame puts the token's bytes where a lenient decoder finds them as RefreshAccessTokenRequest's
field 1 (refresh_token), in a way the protobuf encoding forbids. protobufjs before 8.2 (the
decoder of @grpc/proto-loader, so of every stock grpc-js server) accepts the first three frames:
its BufferReader.string reads a length past the end up to the end of the buffer (fixed in
protobufjs #2205), and its decoders switch on the field number alone and read field 1 as a
string under any wire type (fixed in #2197). Decoders that keep what they read before an error
accept the last two (protobufjs bounds-checks the skipping of an unknown field, and rejects
them). A conformant parser (protobuf's C++ and
upb, Go's protowire, Java's CodedInputStream) rejects every frame: `frame` builds only frames that
protobuf's own parser rejects, so a stock server of a conformant runtime cannot fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from conformance.model.contract import pb

__all__ = ["FIELD_1_LEN", "KINDS", "Frame", "frame", "malformed", "varint"]

# Protobuf encoding: tag = field number << 3 | wire type.
FIELD_1_LEN = 1 << 3 | 2     # 0x0a, refresh_token as it must be sent
FIELD_1_GROUP = 1 << 3 | 3   # 0x0b, a start group: a wire type a string never has
FIELD_1_WIRE_TYPE_7 = 1 << 3 | 7  # 0x0f, a wire type that does not exist
FIELD_2_LEN = 2 << 3 | 2     # 0x12, an unknown length-delimited field
FIELD_2_VARINT = 2 << 3 | 0  # 0x10, an unknown varint field


def varint(value: int) -> bytes:
    """Base 128 varint (protobuf encoding): seven bits a byte, least significant first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@dataclass(frozen=True)
class Frame:
    kind: str     # what is malformed, for the report
    head: bytes   # the bytes before the token
    tail: bytes   # the bytes after it

    def payload(self, token: str) -> bytes:
        return self.head + token.encode() + self.tail

    def shown(self, token_shown: str) -> str:
        """The frame's bytes in hex with the token's bytes as `token_shown` (a redacted stand-in:
        the hex of the payload would carry the live token)."""
        return " ".join(part for part in (self.head.hex(), token_shown, self.tail.hex()) if part)


def _field_1(size: int) -> bytes:
    return bytes([FIELD_1_LEN]) + varint(size)


# Each kind of frame: its head and tail around a token of `size` bytes.
KINDS: dict[str, Callable[[int], tuple[bytes, bytes]]] = {
    "field 1 whose length runs past the end of the message (one byte more than the token)":
        lambda size: (bytes([FIELD_1_LEN]) + varint(size + 1), b""),
    "field 1 with a wrong wire type (3, start group; never ended)":
        lambda size: (bytes([FIELD_1_GROUP]) + varint(size), b""),
    "field 1 with a wrong wire type (7, which does not exist)":
        lambda size: (bytes([FIELD_1_WIRE_TYPE_7]) + varint(size), b""),
    "the token followed by a truncated field 2 (16 bytes announced, 2 sent)":
        lambda size: (_field_1(size), bytes([FIELD_2_LEN, 16]) + b"ab"),
    "the token followed by a lone tag (field 2, varint, without its value)":
        lambda size: (_field_1(size), bytes([FIELD_2_VARINT])),
}


def malformed(payload: bytes) -> bool:
    """Whether protobuf's own parser rejects the payload as a RefreshAccessTokenRequest."""
    try:
        pb.RefreshAccessTokenRequest.FromString(payload)
    except DecodeError:
        return True
    return False


def frame(kind: str, token: str) -> Frame | None:
    """The frame of that kind around the token; None when a conformant parser would accept it
    (only when the token's own bytes close the start-group frame's group: a token of 12 bytes,
    whose length is the end-group tag 0x0c, or one with that byte in it)."""
    head, tail = KINDS[kind](len(token.encode()))
    built = Frame(kind, head, tail)
    return built if malformed(built.payload(token)) else None
