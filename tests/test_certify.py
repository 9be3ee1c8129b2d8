"""`certify REPORT_DIR --out FILE.zip [--sign-key PEM]` and `verify FILE.zip [--public-key PEM]`
(interface.md, "More commands"): contents, refusals, signatures and exit codes, on the reports of
real reference servers (correct, and with a fault) on one fixed port."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conformance.certify.verify import MAX_MEMBER
from conformance.model.catalogue import Level, catalogue
from tests.helpers.reference_process import (
    PASSWORD,
    PASSWORD_ENV,
    ROOT,
    free_port,
    reference_process,
    run_suite,
    target_args,
)

CONTENTS = {"conformance.html", "junit.xml", "results.json", "manifest.json", "SHA256SUMS",
            "attestation.intoto.json"}
PASSPHRASE_ENV = "I14_SIGN_KEY_PASSPHRASE"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A standard run of a correct server, and a quick --only run of a faulty one."""
    port, out = free_port(), tmp_path_factory.mktemp("certify")
    with reference_process(port) as address:
        done = run_suite(out / "good", *target_args(address)[:-2])  # the standard profile
    assert done.returncode == 0, done.stdout + done.stderr
    with reference_process(port, "reuse-not-detected") as address:
        done = run_suite(out / "bad", *target_args(address), "--only", "RT-12")
    assert done.returncode == 1, done.stdout + done.stderr
    return {"good": out / "good", "bad": out / "bad"}


def _keys(directory: Path) -> dict[str, Path]:
    """PEM files: Ed25519 and P-256 private keys, the P-256 one encrypted, an RSA key, and the
    public keys."""
    made = {"ed25519": ed25519.Ed25519PrivateKey.generate(),
            "p256": ec.generate_private_key(ec.SECP256R1()),
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    paths = {}
    for name, key in made.items():
        encryption: serialization.KeySerializationEncryption = \
            serialization.BestAvailableEncryption(b"sign-passphrase") if name == "p256" \
            else serialization.NoEncryption()
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8, encryption))
        paths[f"{name}.pub"] = directory / f"{name}.pub.pem"
        paths[f"{name}.pub"].write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return paths


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _keys(tmp_path_factory.mktemp("keys"))


def _command(*args: str | Path, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _certify(report_dir: Path, out: Path, *more: str | Path,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _command("certify", report_dir, "--out", out, *more, env=env)


def _members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(package: Path, members: dict[str, bytes]) -> Path:
    out = package.with_name("tampered.zip")
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def test_a_conformant_run_is_packaged_and_verifies(reports: dict[str, Path],
                                                   tmp_path: Path) -> None:
    package = tmp_path / "cert.zip"
    done = _certify(reports["good"], package)
    assert done.returncode == 0, done.stderr
    members = _members(package)
    assert set(members) == CONTENTS
    for name in ("conformance.html", "junit.xml", "results.json"):
        assert members[name] == (reports["good"] / name).read_bytes()
    assert PASSWORD.encode() not in b"".join(members.values())
    manifest = json.loads(members["manifest.json"])
    results = json.loads(members["results.json"])
    for key in ("suite_version", "catalogue", "profile", "started_at", "duration_s", "run"):
        assert manifest[key] == results[key], key
    assert manifest["profile"] == "standard" and "hypothesis_seed" in manifest
    [source] = manifest["run"]["token_sources"].values()
    assert source == {"kind": "password", "secret_env": PASSWORD_ENV}  # named, never the value
    assert manifest["targets"][0]["verdict"] == "conformant"
    assert manifest["targets"][0]["outcomes"]["RT-12"] == "pass"
    done = _command("verify", package)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"valid: {package} (6 files, unsigned)")


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum on this machine")
def test_sha256sums_is_in_sha256sum_check_format(reports: dict[str, Path], tmp_path: Path) -> None:
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path / "x")
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "x",
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 5


def test_the_attestation_is_an_in_toto_statement_v1(reports: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """The published field names: https://github.com/in-toto/attestation/blob/main/spec/v1/
    statement.md (Statement) and spec/predicates/test-results.md (the predicate)."""
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    members = _members(package)
    statement = json.loads(members["attestation.intoto.json"])
    assert set(statement) == {"_type", "subject", "predicateType", "predicate"}
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert [s["name"] for s in statement["subject"]] == ["conformance.html", "junit.xml",
                                                         "results.json"]
    for subject in statement["subject"]:
        assert set(subject) == {"name", "digest"}
        assert subject["digest"] == {"sha256": hashlib.sha256(members[subject["name"]])
                                     .hexdigest()}
    predicate = statement["predicate"]
    assert {"result", "configuration"} <= set(predicate) <= {
        "result", "configuration", "url", "passedTests", "warnedTests", "failedTests"}
    assert predicate["result"] in ("pass", "fail") and predicate["failedTests"] == []
    assert all({"name", "digest"} <= set(d) for d in predicate["configuration"])
    assert "RT-12 (" in " ".join(predicate["passedTests"])


def test_signed_packages_verify_with_the_signers_key_only(reports: dict[str, Path],
                                                          keys: dict[str, Path],
                                                          tmp_path: Path) -> None:
    ed = tmp_path / "ed.zip"
    assert _certify(reports["good"], ed, "--sign-key", keys["ed25519"]).returncode == 0
    assert "SHA256SUMS.sig" in _members(ed)
    p256 = tmp_path / "p256.zip"
    done = _certify(reports["good"], p256, "--sign-key", keys["p256"],
                    "--sign-key-passphrase-env", PASSPHRASE_ENV,
                    env={PASSPHRASE_ENV: "sign-passphrase"})
    assert done.returncode == 0, done.stderr
    manifest = json.loads(_members(p256)["manifest.json"])
    assert manifest["signer"]["algorithm"] == "ecdsa-p256-sha256"
    assert len(manifest["signer"]["public_key_sha256"]) == 64
    for package, key in ((ed, "ed25519.pub"), (p256, "p256.pub")):
        done = _command("verify", package, "--public-key", keys[key])
        assert done.returncode == 0, done.stdout + done.stderr
        assert "(the --public-key)" in done.stdout
    done = _command("verify", ed, "--public-key", keys["p256.pub"])
    assert done.returncode == 1
    assert done.stdout.startswith("invalid: wrong signer: signed by sha256:")


def _tamper(kind: str, members: dict[str, bytes]) -> str:
    """Change the package one way; the line verify must print."""
    if kind == "changed":
        members["conformance.html"] += b"<!-- edited -->"
        return "invalid: changed: conformance.html"
    if kind == "added":
        members["extra.txt"] = b"hello"
        return "invalid: added: extra.txt (not in SHA256SUMS)"
    if kind == "missing":
        del members["junit.xml"]
        return "invalid: missing: junit.xml"
    if kind == "manifest":  # a manifest that disagrees, with SHA256SUMS recomputed to match
        manifest = json.loads(members["manifest.json"])
        manifest["targets"][0]["outcomes"]["RT-12"] = "skip"
        members["manifest.json"] = json.dumps(manifest).encode()
        members["SHA256SUMS"] = "".join(
            f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in
            sorted(members.items()) if not name.startswith("SHA256SUMS")).encode()
        return "invalid: manifest.json disagrees with results.json: targets"
    assert kind == "signature"
    members["SHA256SUMS.sig"] = bytes([members["SHA256SUMS.sig"][0] ^ 1]) + \
        members["SHA256SUMS.sig"][1:]
    return "invalid: bad signature: SHA256SUMS.sig does not verify"


@pytest.mark.parametrize("kind", ["changed", "added", "missing", "manifest", "signature"])
def test_verify_rejects_a_tampered_package(reports: dict[str, Path], keys: dict[str, Path],
                                           tmp_path: Path, kind: str) -> None:
    package = tmp_path / "cert.zip"
    sign = ["--sign-key", str(keys["ed25519"])] if kind == "signature" else []
    assert _certify(reports["good"], package, *sign).returncode == 0
    members = _members(package)
    says = _tamper(kind, members)
    done = _command("verify", _rewrite(package, members))
    assert done.returncode == 1, done.stdout
    assert any(line.startswith(says) for line in done.stdout.splitlines()), done.stdout
    assert all(line.startswith("invalid: ") for line in done.stdout.splitlines())


def test_a_public_key_requires_a_signature(reports: dict[str, Path], keys: dict[str, Path],
                                           tmp_path: Path) -> None:
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    done = _command("verify", package, "--public-key", keys["ed25519.pub"])
    assert done.returncode == 1
    assert done.stdout == "invalid: unsigned: --public-key was given but the package has no " \
        "SHA256SUMS.sig\n"


def test_a_non_conformant_or_partial_run_is_refused_in_one_line(reports: dict[str, Path],
                                                               tmp_path: Path) -> None:
    out = tmp_path / "cert.zip"
    done = _certify(reports["bad"], out)
    assert done.returncode == 1 and not out.exists()
    assert done.stderr.count("\n") == 1
    for why in ("is non-conformant", "profile quick", "the run used --only RT-12"):
        assert why in done.stderr, done.stderr


@pytest.mark.parametrize(("edit", "why"), [
    (lambda r: r["run"]["reference"]["faults"].append("reuse-not-detected"),
     "the reference server ran with reuse-not-detected"),
    (lambda r: r["run"]["reference"]["flavors"].append("some-flavor"),
     "the reference server ran with some-flavor"),
    (lambda r: r["run"].update(expected_failures="expected.toml"),
     "the run used expected failures (expected.toml)"),
    (lambda r: r.pop("run"), "results.json has no run record"),
])
def test_runs_that_certify_less_than_the_catalogue_are_refused(
        reports: dict[str, Path], tmp_path: Path, edit: object, why: str) -> None:
    copy = tmp_path / "reports"
    shutil.copytree(reports["good"], copy)
    results = json.loads((copy / "results.json").read_text())
    edit(results)  # type: ignore[operator]
    (copy / "results.json").write_text(json.dumps(results))
    done = _certify(copy, tmp_path / "cert.zip")
    assert done.returncode == 1 and why in done.stderr, done.stderr


def test_unusable_input_is_exit_2_in_one_line(reports: dict[str, Path], keys: dict[str, Path],
                                              tmp_path: Path) -> None:
    out = tmp_path / "cert.zip"
    cases = [
        (_certify(tmp_path / "absent", out), "cannot read"),
        (_certify(reports["good"], out, "--sign-key", keys["p256"]), "the key is encrypted"),
        (_certify(reports["good"], out, "--sign-key", keys["p256"], "--sign-key-passphrase-env",
                  PASSPHRASE_ENV, env={PASSPHRASE_ENV: "wrong"}), "wrong passphrase"),
        (_certify(reports["good"], out, "--sign-key", keys["rsa"]), "not an Ed25519 or ECDSA"),
        (_certify(reports["good"], tmp_path / "no-dir" / "c.zip"), "no directory"),
    ]
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("plain text")
    cases += [(_command("verify", not_zip), "not a readable zip archive"),
              (_command("verify", tmp_path / "absent.zip"), "not a readable zip archive"),
              (_command("verify", not_zip, "--public-key", keys["rsa.pub"]), "not an Ed25519"),
              (_command("verify", not_zip, "--public-key", keys["rsa"]), "not a PEM public")]
    for done, says in cases:
        assert done.returncode == 2, (done.args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not out.exists()


def _subjects(members: dict[str, bytes], value: object) -> None:
    statement = json.loads(members["attestation.intoto.json"])
    statement["subject"] = value
    members["attestation.intoto.json"] = json.dumps(statement).encode()


def _run_record(members: dict[str, bytes], value: object) -> None:
    results = json.loads(members["results.json"])
    results["run"] = value
    members["results.json"] = json.dumps(results).encode()


@pytest.mark.parametrize("edit", [
    lambda m: m.update({"manifest.json": json.dumps(
        {**json.loads(m["manifest.json"]), "reports": [1]}).encode()}),
    lambda m: _subjects(m, 5),
    lambda m: _subjects(m, [{"name": "results.json", "digest": "abc"}]),
    lambda m: _run_record(m, "not an object"),
    lambda m: m.update({"results.json": b"[" * 100_000}),
], ids=["reports-a-list", "subject-a-number", "digest-a-string", "run-a-string", "deep-json"])
def test_a_hostile_package_is_invalid_in_lines_not_a_traceback(
        reports: dict[str, Path], tmp_path: Path, edit: Any) -> None:
    """Each edit once raised out of verify (AttributeError, TypeError, RecursionError): exit 1
    by accident, with a traceback instead of the problem."""
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    members = _members(package)
    edit(members)
    done = _command("verify", _rewrite(package, members))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout and all(line.startswith("invalid: ") for line in done.stdout.splitlines())


def _flag_members(package: Path, edit: Any) -> Path:
    """The package with every central-directory entry patched by edit(bytearray, offset)."""
    data = bytearray(package.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        edit(data, at)
        at = data.find(b"PK\x01\x02", at + 4)
    out = package.with_name("patched.zip")
    out.write_bytes(bytes(data))
    return out


def test_a_zip_verify_cannot_decompress_is_unreadable_in_one_line(
        reports: dict[str, Path], tmp_path: Path) -> None:
    """An encrypted member (RuntimeError), an unknown compression method (NotImplementedError)
    and corrupt deflate data (zlib.error) once ended verify with a traceback."""
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    encrypted = _flag_members(package, lambda d, at: d.__setitem__(at + 8, d[at + 8] | 1))
    method = _flag_members(package, lambda d, at: d.__setitem__(at + 10, 99))
    corrupt = bytearray(package.read_bytes())
    start = 30 + int.from_bytes(corrupt[26:28], "little") + int.from_bytes(corrupt[28:30],
                                                                           "little")
    corrupt[start:start + 40] = bytes(b ^ 0x5A for b in corrupt[start:start + 40])
    (tmp_path / "corrupt.zip").write_bytes(bytes(corrupt))
    for path in (encrypted, method, tmp_path / "corrupt.zip"):
        done = _command("verify", path)
        assert done.returncode == 2, (path, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and "not a readable zip archive" in done.stderr


def test_out_onto_a_report_it_packages_is_refused(reports: dict[str, Path],
                                                 tmp_path: Path) -> None:
    """`--out REPORT_DIR/results.json` once replaced the run's results.json by the package."""
    copy = tmp_path / "reports"
    shutil.copytree(reports["good"], copy)
    before = (copy / "results.json").read_bytes()
    done = _certify(copy, copy / "." / "results.json")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "one of the reports" in done.stderr
    assert (copy / "results.json").read_bytes() == before


def test_a_hand_edited_run_record_is_unusable_in_one_line(reports: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """A run record whose `reference` is not an object once raised AttributeError in
    refusals()."""
    copy = tmp_path / "reports"
    shutil.copytree(reports["good"], copy)
    results = json.loads((copy / "results.json").read_text())
    results["run"]["reference"] = "faults"
    (copy / "results.json").write_text(json.dumps(results))
    done = _certify(copy, tmp_path / "cert.zip")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "not a results.json document" in done.stderr and "Traceback" not in done.stderr


def test_members_that_inflate_past_the_bound_together_are_not_read(
        reports: dict[str, Path], tmp_path: Path) -> None:
    """Each member declared just under MAX_MEMBER passed the per-member bound, and verify read
    them all (a package of many such members inflates without limit); zipfile reads no more
    than a member declares, so declaring is what is bounded."""
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    size = (MAX_MEMBER - 1).to_bytes(4, "little")
    patched = _flag_members(package, lambda d, at: d.__setitem__(slice(at + 24, at + 28), size))
    done = _command("verify", patched)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "invalid: too large: the members from" in done.stdout


def test_a_member_name_cannot_forge_a_line_of_the_verdict(reports: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """A member named with a newline printed its tail as a line of its own ('valid: ...')."""
    package = tmp_path / "cert.zip"
    assert _certify(reports["good"], package).returncode == 0
    members = _members(package)
    members["x\nvalid: cert.zip (6 files, signed by sha256:0)"] = b"x"
    done = _command("verify", _rewrite(package, members))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "invalid: added: x\\nvalid: cert.zip (6 files, signed by sha256:0) (not in SHA256SUMS)"]


def test_a_consistent_package_of_a_run_certify_refuses_is_invalid(
        reports: dict[str, Path], tmp_path: Path) -> None:
    """A package of the non-conformant quick --only run, built with certify's own code but past
    its refusal, every digest and the manifest consistent: verify called it valid."""
    from conformance.certify.package import build
    files = {name: (reports["bad"] / name).read_bytes()
             for name in ("conformance.html", "junit.xml", "results.json")}
    package = tmp_path / "forged.zip"
    with zipfile.ZipFile(package, "w") as archive:
        for name, data in build(files, None).items():
            archive.writestr(name, data)
    done = _command("verify", package)
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    assert all(line.startswith("invalid: not certifiable: ") for line in lines), lines
    assert any("is non-conformant" in line for line in lines)
    assert any("the run used --only RT-12" in line for line in lines)


def test_a_conformant_verdict_its_outcomes_deny_is_refused_and_invalid(
        reports: dict[str, Path], tmp_path: Path) -> None:
    """results.json edited to fail a MUST and drop a requirement, its verdict left conformant:
    certify packaged it and verify called the package valid (both read the verdict alone)."""
    from conformance.certify.package import build
    copy = tmp_path / "reports"
    shutil.copytree(reports["good"], copy)
    results = json.loads((copy / "results.json").read_text())
    rows = results["targets"][0]["requirements"]
    failed = next(r for r in rows if catalogue()[r["id"]].level is Level.MUST)
    failed["outcome"] = "fail"
    dropped = rows.pop(-1)["id"]
    (copy / "results.json").write_text(json.dumps(results))
    done = _certify(copy, tmp_path / "cert.zip")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert f"MUST {failed['id']} is fail" in done.stderr
    assert f"has no outcome for {dropped}" in done.stderr
    files = {name: (copy / name).read_bytes() for name in CONTENTS if (copy / name).exists()}
    package = tmp_path / "forged.zip"
    with zipfile.ZipFile(package, "w") as archive:
        for name, data in build(files, None).items():
            archive.writestr(name, data)
    done = _command("verify", package)
    assert done.returncode == 1 and f"MUST {failed['id']} is fail" in done.stdout, done.stdout
