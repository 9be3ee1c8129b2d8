"""`python -m conformance inspect FILE`: captured responses judged offline by the FT/CT-04 rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.inspect import inspect_text, main
from conformance.model.redact import redact
from conformance.rules.fields import canonical_json
from conformance.transport.client import UserApiClient

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_EXAMPLE = ROOT / "tests" / "fixtures" / "published_example.json"
PASSWORD = "s3cret-Passw0rd"   # tests/conftest.py's reference server


def _capture(client: UserApiClient) -> list[dict[str, object]]:
    """A login response and a refresh response of the reference server, in canonical JSON."""
    login = client.login("qa@example.com", PASSWORD)
    assert login.ok and login.response is not None
    refresh = client.refresh(login.response.auth_token.refresh_token)
    assert refresh.ok and refresh.response is not None
    return [canonical_json(login.response), canonical_json(refresh.response)]


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    file = tmp_path / "capture.json"
    file.write_text(text, encoding="utf-8")
    code = main([str(file)])
    out, err = capsys.readouterr()
    return code, out, err


def _outcomes(out: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[2] for line in out.splitlines()
            if line[:3] in ("CT-", "FT-")}


def test_the_published_example_is_flagged_through_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "conformance", "inspect", str(PUBLISHED_EXAMPLE)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    outcomes = _outcomes(done.stdout)
    assert list(outcomes)[:2] == ["CT-03", "CT-04"] and len(outcomes) == 21
    # api.md names these four: UUID, did:method-name (a method name is [a-z0-9]+), the duplicate
    # DIDs and TOKEN_TYPE. The mangled e-mail and the placeholder avatar are caught as well.
    for rid in ("FT-01", "FT-09", "FT-10", "FT-14", "FT-03", "FT-07", "CT-04"):
        assert outcomes[rid] == "fail", rid
    assert outcomes["FT-05"] == "warn"   # role 0
    assert "'UUID' is not a UUID" in done.stdout and "'TOKEN_TYPE' is not 'Bearer'" in done.stdout
    assert "renderer's form" in done.stdout
    # Its placeholders are tokens too: shown redacted only.
    assert "REFRESH_TOKEN" not in done.stdout
    assert done.stdout.rstrip().endswith("verdict: non-conformant: a MUST failed")


def test_the_renderer_form_reads_like_its_canonical_form() -> None:
    rendered = json.loads(PUBLISHED_EXAMPLE.read_text())
    rendered["user"]["metadata"] = {"fields": [
        {"key": "plan", "value": {"string_value": "sandbox"}},
        {"key": "seats", "value": {"numberValue": 3}},
        {"key": "tags", "value": {"list_value": {"values": [{"bool_value": True}]}}}]}
    canonical = json.loads(PUBLISHED_EXAMPLE.read_text())
    canonical["user"]["external_ids"] = {"KEY1": "VALUE1", "KEY2": "VALUE2"}
    canonical["user"]["metadata"] = {"plan": "sandbox", "seats": 3, "tags": [True]}
    from_renderer, from_canonical = inspect_text(json.dumps(rendered)), \
        inspect_text(json.dumps(canonical))
    assert from_renderer.renderer_form == [1] and from_canonical.renderer_form == []
    assert from_renderer.findings == from_canonical.findings


def test_a_capture_of_the_reference_server_passes(client: UserApiClient, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, refresh = _capture(client)
    code, out, err = _run(tmp_path, json.dumps(refresh, indent=2), capsys)
    assert (code, err) == (0, "")
    assert set(_outcomes(out).values()) == {"pass"}
    assert out.rstrip().endswith("verdict: conformant")


def test_json_lines_and_back_to_back_objects_are_several_responses(
        client: UserApiClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    login, refresh = _capture(client)
    broken = json.loads(json.dumps(refresh))
    broken["authToken"]["tokenType"] = "mac"
    lines = "\n".join(json.dumps(r) for r in (login, refresh, broken)) + "\n"
    code, out, _ = _run(tmp_path, lines, capsys)
    assert code == 1 and out.startswith(f"inspect {tmp_path / 'capture.json'}: 3 responses")
    assert "FT-14 MUST   fail  response 3: auth_token.token_type: 'mac' is not 'Bearer'" in out
    # grpcurl prints several responses as indented objects one after another.
    code, out, _ = _run(tmp_path, json.dumps(login, indent=2) + json.dumps(broken, indent=2),
                        capsys)
    assert code == 1 and "response 2: auth_token.token_type" in out


def test_offending_tokens_are_redacted(client: UserApiClient, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, refresh = _capture(client)
    auth = refresh["authToken"]
    assert isinstance(auth, dict)
    auth["token"] = auth["token"][:10] + " " + auth["token"][10:]
    auth["refreshToken"] = auth["refreshToken"] + "\u00e9"
    code, out, _ = _run(tmp_path, json.dumps(refresh), capsys)
    assert code == 1
    assert _outcomes(out)["FT-13"] == _outcomes(out)["FT-18"] == _outcomes(out)["CT-04"] == "fail"
    for token in (auth["token"], auth["refreshToken"]):
        assert token not in out and redact(token) in out


def test_unknown_keys_are_a_ct03_warning(client: UserApiClient, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _, refresh = _capture(client)
    refresh["session"] = {"id": 1}
    user = refresh["user"]
    assert isinstance(user, dict)
    user["legacy.name"] = "x"
    code, out, _ = _run(tmp_path, json.dumps(refresh), capsys)
    assert code == 0
    assert "CT-03 SHOULD warn  $.user[\"legacy.name\"]: a key unknown to the contract; " \
        "$.session: a key unknown to the contract" in out


@pytest.mark.parametrize(("content", "reason"), [
    (None, "cannot read"),
    ("", "no response in the file"),
    ("{\"user\": ", "not JSON at line 1"),
    ("[{\"user\": {}}]", "response 1 is a JSON list, not an object"),
    ("{\"user\": {\"uuid\": 5}}", "response 1 is not a RefreshAccessTokenResponse"),
    ("{\"authToken\": {\"expiresIn\": \"soon\"}}", "not a RefreshAccessTokenResponse"),
    (b"\xff\xfe{}", "cannot read"),
])
def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path, content: str | bytes | None,
                                                    reason: str) -> None:
    file = tmp_path / "capture.json"
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content)
    done = subprocess.run([sys.executable, "-m", "conformance", "inspect", str(file)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"conformance: inspect: {file}: ") and reason in done.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([])
    assert raised.value.code == 2 and "usage error" in capsys.readouterr().err
