"""Fault lenient-request-decoder: a RefreshAccessTokenRequest decoder as lenient as protobufjs
before 8.2 (the decoder under @grpc/proto-loader, so under stock grpc-js servers), and beyond it
as lenient as a decoder that keeps what it read before an error."""

from __future__ import annotations

from conformance.model.contract import pb

__all__ = ["decode_leniently"]

MAX_VARINT_BYTES = 10
FIXED_SIZES = {1: 8, 5: 4}  # wire types I64 and I32


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    """The varint at pos and the position after it; None when truncated or over ten bytes."""
    value = 0
    for shift, index in enumerate(range(pos, min(pos + MAX_VARINT_BYTES, len(data)))):
        value |= (data[index] & 0x7F) << 7 * shift
        if data[index] < 0x80:
            return value, index + 1
    return None, len(data)


def decode_leniently(data: bytes) -> pb.RefreshAccessTokenRequest:
    """Field 1 read as a string whatever its wire type (protobufjs's generated decoders switch on
    the field number alone), up to the end of the buffer when its length runs past it (its
    BufferReader.string); a truncated trailing field ends the message instead of failing it (not
    protobufjs: it rejects that). Another field under wire type 3, 4, 6 or 7 fails the call
    (protobufjs skips groups; no request here needs that)."""
    token, pos = "", 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        if tag is None:
            break
        field, wire_type = tag >> 3, tag & 7
        if field == 1:
            length, pos = _varint(data, pos)
            if length is None:
                break
            token = data[pos:pos + length].decode("utf-8", "replace")
            pos = min(pos + length, len(data))
        elif wire_type == 0:
            value, pos = _varint(data, pos)
            if value is None:
                break
        elif wire_type in FIXED_SIZES or wire_type == 2:
            size, pos = (FIXED_SIZES[wire_type], pos) if wire_type in FIXED_SIZES \
                else _varint(data, pos)
            if size is None or pos + size > len(data):
                break
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire_type} for field {field}")
    return pb.RefreshAccessTokenRequest(refresh_token=token)
