"""Every transport of the seam (issue 24): gRPC-Web in binary and text mode and Connect with the
proto and JSON codecs certify the embedded reference server through its real Envoy and Connect
server (`--web-port`) as native gRPC does, a fault shows on the web face as on gRPC, and the
options say what is wrong in one line. gRPC-Web's frames are parsed by hand
(conformance/transport/grpc_web_frames.py): its cases are here too."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from conformance.transport.grpc_web_frames import (
    FramingError,
    decode_text,
    encode_frame,
    parse_frames,
    parse_trailers,
)

WEB = ("grpc-web", "grpc-web-text", "connect", "connect-json")


def _by_transport(run: Any) -> dict[str, dict[str, Any]]:
    return {entry["transport"]: entry for entry in run.results["targets"]}


def _outcomes(entry: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in entry["requirements"]}


def test_the_reference_is_conformant_over_every_transport(run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--transport", "all")
    assert run.exit_code == 0, run.stdout[-3000:]
    entries = _by_transport(run)
    assert list(entries) == ["grpc", *WEB]
    address = entries["grpc"]["target"]
    for name, entry in entries.items():
        assert entry["verdict"] == "conformant", (name, entry["counts"])
        assert entry["target"] == (address if name == "grpc" else f"{address} ({name})")
        assert "error" not in _outcomes(entry).values(), name
    grpc = _outcomes(entries["grpc"])
    for name in WEB:
        outcomes = _outcomes(entries[name])
        # reflection is read over native gRPC only; Connect's JSON carries no wire bytes
        apart = {"CT-07", "CT-08"} | ({"CT-05", "FZ-07", "FZ-09"} if name == "connect-json"
                                      else set())
        assert {rid: o for rid, o in outcomes.items() if rid not in apart} == \
            {rid: o for rid, o in grpc.items() if rid not in apart}, name
        rows = {row["id"]: row for row in entries[name]["requirements"]}
        assert rows["CT-07"]["skip_kind"] == "not-judged" and "native gRPC" in \
            rows["CT-07"]["message"]
        if name == "connect-json":
            assert {rows[rid]["skip_kind"] for rid in ("CT-05", "FZ-07", "FZ-09")} == \
                {"not-applicable"}


@pytest.mark.parametrize("transport", ["grpc-web-text", "connect-json"])
def test_a_fault_shows_on_the_web_face_as_on_grpc(run_suite: Any, transport: str) -> None:
    fault = ("--reference-fault", "unknown-refresh-token-permission-denied")
    run = run_suite("--profile", "quick", "--transport", f"grpc,{transport}", *fault)
    assert run.exit_code == 1
    assert run.tripped(0) == run.tripped(1) and "RT-05" in run.tripped(1)
    reproduce = next(row["message"] for row in run.results["targets"][1]["requirements"]
                     if row["id"] == "RT-05")
    assert "curl -sS -i -X POST" in reproduce   # the exact body, by curl (interface.md)
    assert "PERMISSION_DENIED" in reproduce


@pytest.mark.parametrize(("args", "said"), [
    (("--transport", "grpc-websocket"), "'grpc-websocket' is not a transport"),
    (("--target", "https://api.example.com", "--transport", "grpc"),
     "is a URL, which native gRPC cannot dial"),
    (("--target", "http://api.example.com", "--transport", "connect"),
     "http:// goes with --plaintext"),
    (("--web-origin", "https://app.example.com/path"), "is not an origin"),
])
def test_a_transport_option_that_cannot_work_is_a_usage_error(run_suite: Any,
                                                              args: tuple[str, ...],
                                                              said: str) -> None:
    run = run_suite(*args, "--refresh-token-env", "UNUSED_TOKEN", env={"UNUSED_TOKEN": "t" * 20})
    assert run.exit_code == 2
    [line] = run.stderr.strip().splitlines()
    assert said in line, line


# gRPC-Web's frames, by hand ------------------------------------------------------------------
def test_frames_and_the_trailer_frame_are_read_in_order() -> None:
    body = encode_frame(b"\x0a\x01x") + encode_frame(b"grpc-status: 16\r\ngrpc-message: no\r\n",
                                                     0x80)
    message, trailer = parse_frames(body)
    assert (message.data, message.is_trailer, trailer.is_trailer) == (b"\x0a\x01x", False, True)
    assert parse_trailers(trailer.data) == [("grpc-status", "16"), ("grpc-message", "no")]


def test_a_truncated_frame_is_a_framing_error() -> None:
    with pytest.raises(FramingError):
        parse_frames(encode_frame(b"abcdef")[:-2])
    with pytest.raises(FramingError):
        parse_frames(b"\x00\x00")


def test_text_mode_decodes_padded_chunks_one_after_another() -> None:
    """A server may send each frame as a base64 entity of its own: two padded chunks back to
    back, which one b64decode of the whole refuses."""
    first, second = encode_frame(b"ab"), encode_frame(b"grpc-status:0", 0x80)
    chunks = base64.b64encode(first) + base64.b64encode(second)
    assert b"=" in base64.b64encode(first)   # the case: padding in the middle
    assert decode_text(chunks) == first + second
    with pytest.raises(FramingError):
        decode_text(b"not base64 at all!")
