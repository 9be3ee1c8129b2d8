"""`python -m conformance verify FILE.zip [--public-key PEM]`: check a certification package.

Every file against SHA256SUMS (a changed, added or missing file is a problem), the manifest and
the attestation against results.json, results.json against what certify refuses (a package of a
non-conformant or partial run, built by hand, is no certification), and the signature when
present: with --public-key it is required and must be that key's; without, it is checked
against the key the manifest names, which proves integrity, not who signed. Exit 0 valid;
1 invalid, one line per problem; 2 unreadable (not a zip, --public-key unusable).
"""

from __future__ import annotations

import json
import sys
import zipfile
import zlib
from typing import Any

from conformance.certify import keys
from conformance.certify.contents import (
    ATTESTATION,
    MANIFEST,
    PREDICATE_TYPE,
    REPORTS,
    SIGNATURE,
    STATEMENT_TYPE,
    SUMS,
    attestation,
    is_results,
    manifest_of,
    parse_sums,
    sha256,
)
from conformance.certify.package import refusals
from conformance.model.command_parser import CommandParser
from conformance.model.errors import UsageError

__all__ = ["main", "problems"]

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
MAX_MEMBER = 256 * 1024 * 1024   # a bound on what one member may inflate to
MAX_PACKAGE = MAX_MEMBER         # and all of them: many members under MAX_MEMBER add up
REQUIRED = (*REPORTS, MANIFEST, ATTESTATION, SUMS)


def read_package(path: str) -> tuple[dict[str, bytes], list[str]]:
    """The members by name, and problems with the archive itself (duplicates, oversize)."""
    files: dict[str, bytes] = {}
    found = []
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.filename in files:
                    found.append(f"duplicate: {info.filename} is in the archive twice")
                elif info.file_size > MAX_MEMBER:
                    found.append(f"too large: {info.filename} ({info.file_size} bytes)")
                elif total + info.file_size > MAX_PACKAGE:
                    found.append(f"too large: the members from {info.filename} on inflate to "
                                 f"more than {MAX_PACKAGE} bytes in all; not read")
                    break
                else:
                    total += info.file_size
                    files[info.filename] = archive.read(info)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error,
            NotImplementedError, RuntimeError) as error:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method.
        raise UsageError(f"{path}: not a readable zip archive ({error})") from None
    return files, found


def _json(files: dict[str, bytes], name: str, found: list[str]) -> Any:
    try:
        return json.loads(files[name])
    except KeyError:
        return None
    except (ValueError, RecursionError):
        found.append(f"unreadable: {name} is not JSON")
        return None


def _digests(files: dict[str, bytes], found: list[str]) -> None:
    for name in REQUIRED:
        if name not in files:
            found.append(f"missing: {name}")
    if SUMS not in files:
        return
    listed, bad = parse_sums(files[SUMS].decode("utf-8", "replace"))
    found.extend(f"SHA256SUMS: not a sha256sum line: {line!r}" for line in bad)
    for name, digest in listed.items():
        if name not in files:
            found.append(f"missing: {name} (listed in SHA256SUMS)")
        elif sha256(files[name]) != digest:
            found.append(f"changed: {name} (sha256 {sha256(files[name])}, SHA256SUMS says "
                         f"{digest})")
    for name in files:
        if name not in listed and name not in (SUMS, SIGNATURE):
            found.append(f"added: {name} (not in SHA256SUMS)")
    for name in REQUIRED:
        if name in files and name != SUMS and name not in listed:
            found.append(f"not covered: {name} is not listed in SHA256SUMS")


def _documents(files: dict[str, bytes], found: list[str]) -> dict[str, Any] | None:
    """Manifest and attestation against results.json; the manifest (for the signer)."""
    results, manifest = _json(files, "results.json", found), _json(files, MANIFEST, found)
    statement = _json(files, ATTESTATION, found)
    if not isinstance(manifest, dict):
        return None
    if results is not None and not is_results(results):
        found.append("unreadable: results.json is not a results.json document")
        results = None
    if isinstance(results, dict):
        # What certify refuses is no certification, however consistent its package.
        found.extend(f"not certifiable: {why}" for why in refusals(results))
        for key, value in manifest_of(results).items():
            if manifest.get(key) != value:
                found.append(f"manifest.json disagrees with results.json: {key}")
    reports = manifest.get("reports")
    reports = reports if isinstance(reports, dict) else {}
    for name in REPORTS:
        if name in files and reports.get(name) != sha256(files[name]):
            found.append(f"manifest.json: the digest of {name} is not the file's")
    if isinstance(statement, dict):
        if statement.get("_type") != STATEMENT_TYPE or \
                statement.get("predicateType") != PREDICATE_TYPE:
            found.append("attestation.intoto.json: not an in-toto Statement v1 of test results")
        listed = statement.get("subject")
        subjects = {str(s.get("name")): s["digest"].get("sha256")
                    for s in (listed if isinstance(listed, list) else [])
                    if isinstance(s, dict) and isinstance(s.get("digest"), dict)}
        if subjects != {name: sha256(files[name]) for name in REPORTS if name in files}:
            found.append("attestation.intoto.json: its subjects are not the reports' digests")
        elif isinstance(results, dict) and MANIFEST in files and statement.get("predicate") != \
                attestation(results, subjects, sha256(files[MANIFEST]))["predicate"]:
            found.append("attestation.intoto.json: its predicate disagrees with results.json")
    return manifest


def _signature(files: dict[str, bytes], manifest: dict[str, Any] | None,
               trusted: keys.PublicKey | None, found: list[str]) -> str:
    """Check SHA256SUMS.sig; a phrase on who signed, for the valid line."""
    signer = (manifest or {}).get("signer")
    if SIGNATURE not in files:
        if trusted is not None:
            found.append("unsigned: --public-key was given but the package has no "
                         "SHA256SUMS.sig")
        elif signer:
            found.append("missing: SHA256SUMS.sig (the manifest names a signer)")
        return "unsigned"
    if not isinstance(signer, dict):
        found.append("manifest.json: SHA256SUMS.sig is present but no signer is named")
        return ""
    try:
        named = keys.public_key_from_pem(str(signer.get("public_key_pem", "")).encode(),
                                         "manifest.json signer")
    except UsageError as error:
        found.append(str(error))
        return ""
    if keys.fingerprint(named) != signer.get("public_key_sha256"):
        found.append("manifest.json: the signer's fingerprint is not its key's")
    key = trusted or named
    if trusted is not None and keys.fingerprint(trusted) != keys.fingerprint(named):
        found.append(f"wrong signer: signed by sha256:{keys.fingerprint(named)}, not by the "
                     f"--public-key sha256:{keys.fingerprint(trusted)}")
    elif SUMS in files and not keys.verify_signature(key, files[SIGNATURE], files[SUMS]):
        found.append(f"bad signature: SHA256SUMS.sig does not verify with sha256:"
                     f"{keys.fingerprint(key)}")
    fingerprint = keys.fingerprint(key)
    return f"signed by sha256:{fingerprint}" + (
        " (the --public-key)" if trusted is not None else
        " (the manifest's key: give --public-key to check who signed)")


def problems(files: dict[str, bytes], trusted: keys.PublicKey | None) -> tuple[list[str], str]:
    found: list[str] = []
    _digests(files, found)
    manifest = _documents(files, found)
    return found, _signature(files, manifest, trusted, found)


def _printable(text: str) -> str:
    """One problem, one line: a member named "x\\nvalid: ..." must not print a line of its own."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: list[str]) -> int:
    parser = CommandParser(
        "verify",
        description="Check a certification package: every digest, the manifest "
        "against results.json, the signature. Exit 0: valid; 1: invalid (one line "
        "per problem); 2: unreadable.")
    parser.add_argument("package", metavar="FILE.zip")
    parser.add_argument("--public-key", metavar="PEM",
                        help="the signer's public key (PEM): the package must be signed by it")
    args = parser.parse_args(argv)
    try:
        trusted = keys.load_public_key(args.public_key) if args.public_key else None
        files, found = read_package(args.package)
    except UsageError as error:
        print(f"conformance: verify: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    more, signer = problems(files, trusted)
    found += more
    for problem in found:
        print(f"invalid: {_printable(problem)}")
    if found:
        return EXIT_INVALID
    print(f"valid: {args.package} ({len(files)} files, {signer})")
    return EXIT_VALID
