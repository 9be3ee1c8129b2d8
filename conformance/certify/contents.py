"""What a certification package holds, and the documents in it derived from results.json: the
manifest and the in-toto attestation. `certify` writes them; `verify` recomputes and compares."""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = ["ATTESTATION", "MANIFEST", "REPORTS", "SIGNATURE", "SUMS", "attestation",
           "is_results", "manifest_of", "parse_sums", "sha256", "sums"]

REPORTS = ("conformance.html", "junit.xml", "results.json")
MANIFEST, ATTESTATION = "manifest.json", "attestation.intoto.json"
SUMS, SIGNATURE = "SHA256SUMS", "SHA256SUMS.sig"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
# The fields of results.json the manifest repeats, and verify compares.
RUN_FIELDS = ("suite_version", "catalogue", "profile", "started_at", "duration_s", "run")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _strings(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def is_results(document: object) -> bool:
    """Whether `document` has the shape of results.json as far as certify and verify read it (a
    hand-edited or hostile file must be a one-line refusal, not a traceback)."""
    if not isinstance(document, dict) or not isinstance(document.get("targets"), list):
        return False
    for target in document["targets"]:
        if not isinstance(target, dict) or not isinstance(target.get("target"), str) or \
                not isinstance(target.get("requirements"), list):
            return False
        if not all(isinstance(row, dict) and isinstance(row.get("id"), str)
                   and isinstance(row.get("outcome"), str) for row in target["requirements"]):
            return False
    run, catalogue = document.get("run"), document.get("catalogue")
    if not isinstance(catalogue, dict | None) or not isinstance(run, dict | None):
        return False
    reference = (run or {}).get("reference")
    return _strings((run or {}).get("only")) and (reference is None or (
        isinstance(reference, dict) and _strings(reference.get("faults"))
        and _strings(reference.get("flavors"))))


def manifest_of(results: dict[str, Any]) -> dict[str, Any]:
    """The part of the manifest that restates results.json (verify recomputes it)."""
    manifest = {name: results.get(name) for name in RUN_FIELDS}
    manifest["hypothesis_seed"] = (results.get("run") or {}).get("hypothesis_seed")
    manifest["targets"] = [{"target": t["target"], "verdict": t["verdict"],
                            "outcomes": {r["id"]: r["outcome"] for r in t["requirements"]}}
                           for t in results["targets"]]
    return manifest


def attestation(results: dict[str, Any], digests: dict[str, str],
                manifest_digest: str) -> dict[str, Any]:
    """An in-toto Statement v1 with the test-result v0.1 predicate: its subjects the reports,
    its tests each target's requirements. `result` is "pass" only with no warned or failed test,
    as the predicate defines it (a SHOULD warning makes it "fail"; the verdict stays)."""
    tested: dict[str, list[str]] = {"pass": [], "warn": [], "fail": []}
    for target in results["targets"]:
        for row in target["requirements"]:
            bucket = {"pass": "pass", "warn": "warn", "fail": "fail", "error": "fail"}.get(
                row["outcome"])
            if bucket:
                tested[bucket].append(f"{row['id']} ({target['target']})")
    catalogue = (results.get("catalogue") or {}).get("sha256", "")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digests[name]}} for name in REPORTS],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "result": "pass" if not tested["warn"] and not tested["fail"] else "fail",
            "configuration": [{"name": "catalogue.toml", "digest": {"sha256": catalogue}},
                              {"name": MANIFEST, "digest": {"sha256": manifest_digest}}],
            "passedTests": tested["pass"], "warnedTests": tested["warn"],
            "failedTests": tested["fail"]}}


def sums(files: dict[str, bytes]) -> bytes:
    """`sha256sum` output over `files` (name order), which `sha256sum -c` checks."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items())).encode()


_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S(?:.*\S)?)")


def parse_sums(text: str) -> tuple[dict[str, str], list[str]]:
    """Name -> digest, and the lines that are not `sha256sum` lines."""
    digests: dict[str, str] = {}
    bad = []
    for line in text.splitlines():
        match = _SUM_LINE.fullmatch(line)
        if match is None or match.group(2) in digests:
            bad.append(line)
        else:
            digests[match.group(2)] = match.group(1)
    return digests, bad
