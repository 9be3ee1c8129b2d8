"""The generated stubs match proto/: regenerate and compare descriptors and service methods."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

from conformance.model.contract import pb
from conformance.transport.stubs import pb_grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from gen_proto import generate  # noqa: E402


def _descriptor_bytes_of(path: Path) -> bytes:
    text = path.read_text()
    start = text.index("AddSerializedFile(") + len("AddSerializedFile(")
    end = text.index(")\n", start)
    value: bytes = eval(text[start:end])  # a bytes literal written by protoc
    return value


def test_generated_messages_match_the_proto(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = descriptor_pb2.FileDescriptorProto.FromString(
        _descriptor_bytes_of(tmp_path / "user_api" / "v1" / "user_pb2.py"))
    committed = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(committed)
    assert committed == fresh, "conformance/_generated is stale: run python tools/gen_proto.py"


def test_generated_stub_serves_the_proto_methods(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = (tmp_path / "user_api" / "v1" / "user_pb2_grpc.py").read_text()
    committed = Path(pb_grpc.__file__).read_text()
    assert _without_version_lines(committed) == _without_version_lines(fresh)


def _without_version_lines(text: str) -> list[str]:
    """The stub without the lines naming the grpcio version that generated it."""
    return [line for line in text.splitlines()
            if "GENERATED_VERSION" not in line and "grpcio" not in line]


def test_field_numbers_are_the_published_ones() -> None:
    user = {f.name: f.number for f in pb.User.DESCRIPTOR.fields}
    assert user == {"uuid": 1, "first_name": 2, "last_name": 3, "email": 6, "role": 7,
                    "avatar": 8, "phone": 9, "dids": 10, "external_ids": 11, "metadata": 12,
                    "account": 13}
    token = {f.name: f.number for f in pb.AuthToken.DESCRIPTOR.fields}
    assert token == {"token": 1, "token_type": 2, "expires_in": 3, "refresh_token": 4}
    assert pb.RefreshAccessTokenRequest.DESCRIPTOR.fields_by_name["refresh_token"].number == 1
    assert importlib.util.find_spec("conformance._generated.user_api.v1.user_pb2") is not None
