"""The example nightly workflow is valid YAML and runs the README's command."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_nightly_workflow_is_valid_and_uses_the_readme_command() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    steps = workflow["jobs"]["certify"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    assert runs, "the workflow runs no command"
    readme = (ROOT / "README.md").read_text()
    for command in runs:
        assert command in readme, f"not a README command: {command}"
    assert workflow["jobs"]["certify"]["timeout-minutes"] <= 60
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["if"] == "always()"
    assert "results.json" in uploads[0]["with"]["path"]
    assert "${{ secrets.QA_PASSWORD }}" in str(steps)


def test_ci_entry_point_calls_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_the_nightly_workflow_uses_history_expected_failures_compare_and_certify() -> None:
    from conformance.nightly.expectations import load

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"]
            if "run" in step]
    for command in runs:
        assert command in readme, f"not a README command: {command}"
    text = "\n".join(runs)
    for needle in ("--history nightly-state/history.sqlite", "--expected-failures ",
                   "-m conformance compare nightly-state/results.json", "-m conformance certify",
                   "-m conformance verify"):
        assert needle in text, needle
    # The history is restored and saved even after a red night; the file in the repo loads.
    steps = workflow["jobs"]["certify"]["steps"]
    saves = [s for s in steps if s.get("uses", "").startswith("actions/cache/save")]
    assert saves and saves[0]["if"] == "always()" and saves[0]["with"]["path"] == "nightly-state"
    assert load(str(ROOT / ".github" / "conformance-expected-failures.toml")).entries == ()
    assert workflow["jobs"]["release"]["timeout-minutes"] <= 60
