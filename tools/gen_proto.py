"""Regenerate the Python stubs in conformance/_generated from proto/ (never edit them by hand)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

from conformance.model.data import data_dir

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = data_dir("proto")
OUT_DIR = ROOT / "conformance" / "_generated"
PACKAGE = "conformance._generated"


def generate(out_dir: Path = OUT_DIR) -> list[Path]:
    """Run protoc for every .proto under proto/ and make the stubs importable from the package."""
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{well_known}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = sorted(out_dir.rglob("*_pb2*.py*"))
    # protoc writes absolute imports rooted at proto/ ("from user_api.v1 import ...");
    # rewrite them so the stubs live inside the package rather than on sys.path.
    for path in written:
        text = path.read_text()
        text = re.sub(r"^from user_api\.", f"from {PACKAGE}.user_api.", text, flags=re.M)
        path.write_text(text)
    for folder in {p.parent for p in written} | {out_dir}:
        while folder != out_dir.parent:
            (folder / "__init__.py").touch()
            folder = folder.parent
    return written


if __name__ == "__main__":
    for written_path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
        print(written_path)
