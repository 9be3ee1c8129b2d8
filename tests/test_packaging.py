"""The suite as a new user gets it: a wheel built from the checkout, installed into a fresh venv,
run from a directory with no checkout beside it (interface.md, Installation)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_EXAMPLE = ROOT / "tests" / "fixtures" / "published_example.json"
# Bounds: a build or an install that hangs (an index looked up by mistake) fails the test.
BUILD_TIMEOUT = 180
STEP_TIMEOUT = 60
SUITE_TIMEOUT = 240


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path          # the fresh venv's interpreter
    site_packages: Path   # the fresh venv's site-packages
    workdir: Path         # an empty directory: no checkout beside the suite
    build_output: str

    def run(self, *args: str, timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.workdir, env=_clean_env(),
                              stdin=subprocess.DEVNULL)


def _clean_env() -> dict[str, str]:
    # Nothing may point back at the checkout or the test venv but the .pth line below.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _check(command: list[str], timeout: float, cwd: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=_clean_env(), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The checkout's wheel installed (no deps) into a fresh venv that sees the runtime
    dependencies through a .pth line naming this venv's site-packages."""
    base = tmp_path_factory.mktemp("packaging")
    dist = base / "dist"
    # No build isolation: the backend is in the test extra, so no index is needed.
    build_output = _check([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)],
                          BUILD_TIMEOUT)
    [wheel] = dist.glob("userapi_conformance-*.whl")
    venv = base / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], STEP_TIMEOUT)
    python = venv / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
            "--no-deps", "--no-index", str(wheel)], BUILD_TIMEOUT)
    site_packages = Path(_check(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        STEP_TIMEOUT).strip())
    # A plain path line: the .pth files in that directory (the checkout's editable install)
    # are not processed, so the checkout's conformance stays invisible.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "zz_test_venv_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    workdir = base / "elsewhere"
    workdir.mkdir()
    return Installed(wheel, python, site_packages, workdir, build_output)


def test_the_wheel_carries_the_schemas_and_the_proto(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for top in ("schemas", "proto"):
        kept = {p.relative_to(ROOT).as_posix() for p in (ROOT / top).rglob("*") if p.is_file()}
        assert kept, top
        assert {f"conformance/_data/{name}" for name in kept} <= names
    assert {"conformance/model/catalogue.toml", "conformance/py.typed",
            "conformance/rules/weak_jwt_secrets.txt",  # RT-23's list
            "conformance/report/style.css",  # the HTML report's page
            "conformance/_generated/user_api/v1/user_pb2.py"} <= names
    # Mapped at build time from the top-level directories, never kept as a second copy.
    assert not (ROOT / "conformance" / "_data").exists()
    # The license is an SPDX expression: no setuptools deprecation warning at set-up.
    assert "deprecat" not in installed.build_output.lower(), installed.build_output


def test_the_installed_suite_certifies_its_reference_server_from_any_directory(
        installed: Installed) -> None:
    where = installed.run("-c", "import conformance; print(conformance.__file__)").stdout.strip()
    assert Path(where).is_relative_to(installed.site_packages), where
    report_dir = installed.workdir / "reports"
    done = installed.run("-m", "conformance", "--profile", "quick", "--report-dir",
                         str(report_dir), timeout=SUITE_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((report_dir / "results.json").read_text())
    assert [t["verdict"] for t in results["targets"]] == ["conformant"]


def test_the_installed_suite_inspects_serves_and_says_its_version(
        installed: Installed) -> None:
    capture = installed.workdir / "capture.json"
    capture.write_text(PUBLISHED_EXAMPLE.read_text())
    done = installed.run("-m", "conformance", "inspect", str(capture))
    # The published example breaks CT-04: judged against the packaged schemas, not a traceback.
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.split()[:3] == ["CT-04", "MUST", "fail"] for line in done.stdout.splitlines())
    _start_and_stop_the_reference_server(installed)
    script = installed.python.parent / "userapi-conformance"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT, cwd=installed.workdir, env=_clean_env())
    assert done.returncode == 0 and done.stdout.startswith("userapi-conformance "), done.stderr


def _start_and_stop_the_reference_server(installed: Installed) -> None:
    server = subprocess.Popen([str(installed.python), "-m", "conformance.reference", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=installed.workdir, env=_clean_env(), stdin=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], STEP_TIMEOUT)
        assert ready, "the reference server printed no start-up line"
        assert server.stdout.readline().startswith("reference server listening on 127.0.0.1:")
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=STEP_TIMEOUT)
        assert server.returncode == 0 and "reference server stopped" in out, err
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=STEP_TIMEOUT)


def _installs(target: str, venv: Path) -> list[str]:
    """The `pip install` lines `make TARGET` would run on a fresh clone (a dry run)."""
    done = subprocess.run(["make", "-n", target, f"VENV={venv}"], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if "pip install" in line and "-e" in line]


def test_make_report_installs_the_main_job_only_and_make_test_the_test_extra(
        tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-venv"
    report = _installs("report", fresh)
    assert report and all("[test]" not in line for line in report), report
    assert any("'.[parallel,drift,web]'" in line for line in report), report
    assert any("'.[test]'" in line for line in _installs("test", fresh))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert "userapi-conformance[parallel]" in extras["test"]
    assert "userapi-conformance[drift]" in extras["test"]
