"""`python -m conformance certify REPORT_DIR --out FILE.zip [--sign-key PEM]`: a certification
package for a vendor to hand over (interface.md, "More commands"), after the OpenID conformance
suite's certification package.

Refused (exit 1, one line) unless every target is conformant, the profile is standard or
nightly, and the run used no --only, no reference fault or flavour and no expected failures:
those runs certify less than the catalogue. Exit 2: REPORT_DIR, the key or --out unusable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.certify import keys
from conformance.certify.contents import (
    ATTESTATION,
    MANIFEST,
    REPORTS,
    SIGNATURE,
    SUMS,
    attestation,
    is_results,
    manifest_of,
    sha256,
    sums,
)
from conformance.model.catalogue import Level, catalogue, catalogue_identity
from conformance.model.command_parser import CommandParser
from conformance.model.errors import UsageError

__all__ = ["main", "refusals"]

EXIT_PACKAGED, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2
CERTIFYING_PROFILES = ("standard", "nightly")


def refusals(results: dict[str, Any]) -> list[str]:
    """Why these results cannot be certified (empty: they can)."""
    why = []
    if not results.get("targets"):
        why.append("no target was certified")
    for target in results.get("targets", []):
        if target.get("verdict") != "conformant":
            why.append(f"target {target.get('target')} is {target.get('verdict')}")
        else:
            why.extend(_unlike_its_verdict(results, target))
    if results.get("profile") not in CERTIFYING_PROFILES:
        why.append(f"profile {results.get('profile')} (certification needs standard or nightly)")
    run = results.get("run")
    if not isinstance(run, dict) or not run:
        return [*why, "results.json has no run record (written by an older suite)"]
    if run.get("only"):
        why.append(f"the run used --only {','.join(run['only'])}")
    reference = run.get("reference") or {}
    switches = [*reference.get("faults", []), *reference.get("flavors", [])]
    if switches:
        why.append(f"the reference server ran with {', '.join(switches)}")
    if run.get("expected_failures") or "expectations" in results:
        why.append(f"the run used expected failures ({run.get('expected_failures')})")
    return why


def _unlike_its_verdict(results: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """A target said conformant whose outcomes say otherwise (results.json edited): a failed or
    errored MUST, or, judged by this suite's catalogue, a requirement not in it at all."""
    known = catalogue()
    why = [f"target {target['target']} says conformant, but MUST {row['id']} is {row['outcome']}"
           for row in target["requirements"] if row["outcome"] in ("fail", "error") and (
               known[row["id"]].level is Level.MUST if row["id"] in known
               else row.get("level") == "MUST")]
    if (results.get("catalogue") or {}).get("sha256") == catalogue_identity()["sha256"] and \
            not (results.get("run") or {}).get("only"):
        missing = sorted(set(known) - {row["id"] for row in target["requirements"]})
        if missing:
            why.append(f"target {target['target']} has no outcome for {', '.join(missing)}")
    return why


def _read_reports(report_dir: str) -> dict[str, bytes]:
    files = {}
    for name in REPORTS:
        path = Path(report_dir, name)
        try:
            files[name] = path.read_bytes()
        except OSError as error:
            raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None
    return files


def _results(data: bytes, where: str) -> dict[str, Any]:
    try:
        results = json.loads(data)
    except (ValueError, RecursionError):
        results = None
    if not is_results(results):
        raise UsageError(f"{where}: not a results.json document")
    assert isinstance(results, dict)
    return results


def build(files: dict[str, bytes], key: keys.PrivateKey | None) -> dict[str, bytes]:
    """Every file of the package, by name."""
    results = _results(files["results.json"], "results.json")
    digests = {name: sha256(files[name]) for name in REPORTS}
    manifest = {"package": "userapi-conformance certification package v1",
                "certified_by": f"userapi-conformance {__version__}",
                "certified_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                **manifest_of(results), "reports": digests}
    if key is not None:
        public = key.public_key()
        manifest["signer"] = {"algorithm": keys.algorithm(key),
                              "public_key_sha256": keys.fingerprint(public),
                              "public_key_pem": keys.public_pem(public)}
    package = dict(files)
    package[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    package[ATTESTATION] = (json.dumps(attestation(results, digests, sha256(package[MANIFEST])),
                                       indent=2) + "\n").encode()
    package[SUMS] = sums(package)
    if key is not None:
        package[SIGNATURE] = keys.sign(key, package[SUMS])
    return package


def _write_zip(out: str, package: dict[str, bytes]) -> None:
    """Write atomically: a refused or failed run never leaves half a package at --out."""
    directory = Path(out).resolve().parent
    if not directory.is_dir():
        raise UsageError(f"--out {out}: no directory {str(directory)!r}")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".certify-", suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w",
                                                            zipfile.ZIP_DEFLATED) as archive:
            for name, data in package.items():
                archive.writestr(name, data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> int:
    parser = CommandParser(
        "certify",
        description="Package a conformant run's reports (REPORT_DIR) for hand-over: "
        "the reports, manifest.json, SHA256SUMS, an in-toto attestation and, with "
        "--sign-key, SHA256SUMS.sig. Exit 0: written; 1: refused; 2: unusable "
        "input.")
    parser.add_argument("report_dir", metavar="REPORT_DIR")
    parser.add_argument("--out", metavar="FILE.zip", required=True)
    parser.add_argument("--sign-key", metavar="PEM",
                        help="Ed25519 or ECDSA P-256 private key (PEM) to sign SHA256SUMS with")
    parser.add_argument("--sign-key-passphrase-env", metavar="VAR",
                        help="environment variable holding an encrypted key's passphrase")
    args = parser.parse_args(argv)
    try:
        files = _read_reports(args.report_dir)
        results = _results(files["results.json"], str(Path(args.report_dir, "results.json")))
        why = refusals(results)
        if why:
            print(f"conformance: certify: refused: {'; '.join(why)}", file=sys.stderr)
            return EXIT_REFUSED
        key = keys.load_private_key(args.sign_key, args.sign_key_passphrase_env) \
            if args.sign_key else None
        if args.sign_key_passphrase_env and not args.sign_key:
            raise UsageError("--sign-key-passphrase-env needs --sign-key")
        if Path(args.out).resolve() in {Path(args.report_dir, n).resolve() for n in REPORTS}:
            raise UsageError(f"--out {args.out}: that is one of the reports it packages")
        _write_zip(args.out, build(files, key))
    except UsageError as error:
        print(f"conformance: certify: usage error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as error:
        print(f"conformance: certify: usage error: --out {args.out}: {error.strerror or error}",
              file=sys.stderr)
        return EXIT_UNUSABLE
    signed = f", signed by sha256:{keys.fingerprint(key.public_key())}" if key else ""
    print(f"certify: wrote {args.out} ({len(results['targets'])} conformant "
          f"target{'s' if len(results['targets']) != 1 else ''}{signed})")
    return EXIT_PACKAGED
