"""RT-05 and RT-19 on refused refresh tokens the suite cannot construct or the target does not
have: a checksummed token format (the suite's unknown token breaks the checksum) and a target
without family revocation (issue 11, items 2a and 2g)."""

from __future__ import annotations

from typing import Any

from conformance.reference import checksummed
from conformance.rules.lookalike import lookalike

REFUSAL_CHECKS = "RT-05,RT-11,RT-12,RT-19"


def _rows(run: Any) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in run.results["targets"][0]["requirements"]}


def test_checksummed_tokens_are_well_formed_and_their_lookalikes_are_not() -> None:
    """Why RT-05 cannot be judged on such a target: the suite's unknown token fails the checksum."""
    for _ in range(20):
        token = checksummed.new_token()
        assert token.startswith("urt_") and len(token) == 40 and checksummed.well_formed(token)
        assert not checksummed.well_formed(lookalike(token))
        typo = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
        assert not checksummed.well_formed(typo)


def test_rt05_skips_and_rt19_leaves_out_an_unknown_token_the_target_calls_malformed(
        run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", REFUSAL_CHECKS,
                    "--reference-flavor", "checksummed-refresh-tokens")
    rows = _rows(run)
    assert run.exit_code == 0, run.stdout[-3000:]
    assert rows["RT-05"]["outcome"] == "skip", rows["RT-05"]
    assert "malformed" in rows["RT-05"]["message"]
    assert "RT-11 still holds rotated-out tokens" in rows["RT-05"]["message"]
    assert rows["RT-19"]["outcome"] == "pass", rows["RT-19"]
    assert rows["RT-19"]["message"].startswith("rotated-out and family-revoked refresh tokens "
                                               "get one answer")
    assert "unknown left out: the target calls the suite's constructed token malformed" in \
        rows["RT-19"]["message"]
    assert {rows[rid]["outcome"] for rid in ("RT-11", "RT-12")} == {"pass"}


def test_invalid_argument_for_every_refused_token_is_caught_by_rt11(run_suite: Any) -> None:
    """The near miss of the flavour above: INVALID_ARGUMENT for well-formed rotated-out tokens
    too. RT-05 cannot tell it from a checksum, RT-11 does."""
    run = run_suite("--profile", "quick", "--only", REFUSAL_CHECKS,
                    "--reference-fault", "refused-refresh-token-invalid-argument")
    rows = _rows(run)
    assert run.exit_code == 1
    assert rows["RT-11"]["outcome"] == "fail", rows["RT-11"]
    assert 'Received: INVALID_ARGUMENT: "invalid refresh token"' in rows["RT-11"]["message"]
    assert rows["RT-05"]["outcome"] == "skip", rows["RT-05"]


def test_rt19_without_family_revocation_judges_the_other_classes(run_suite: Any) -> None:
    """RT-19 was `error` ("precondition failed") on a target that answered every call."""
    run = run_suite("--profile", "quick", "--only", REFUSAL_CHECKS,
                    "--reference-fault", "reuse-not-detected")
    rows = _rows(run)
    assert rows["RT-12"]["outcome"] == "fail", rows["RT-12"]
    assert rows["RT-19"]["outcome"] == "pass", rows["RT-19"]
    assert rows["RT-19"]["message"] == (
        'unknown and rotated-out refresh tokens get one answer (UNAUTHENTICATED: "invalid '
        'refresh token"); family-revoked not available: its token was accepted (see RT-12)')


def test_rt19_without_family_revocation_still_warns_an_oracle(run_suite: Any) -> None:
    """What is left is still compared: PERMISSION_DENIED for the unknown token differs."""
    run = run_suite("--profile", "quick", "--only", REFUSAL_CHECKS, "--reference-fault",
                    "reuse-not-detected", "--reference-fault",
                    "unknown-refresh-token-permission-denied")
    rows = _rows(run)
    assert rows["RT-19"]["outcome"] == "warn", rows["RT-19"]
    assert "Received: unknown: PERMISSION_DENIED" in rows["RT-19"]["message"]
    assert "family-revoked not available" in rows["RT-19"]["message"]


def test_rt19_skips_with_fewer_than_two_refused_classes(run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", REFUSAL_CHECKS,
                    "--reference-fault", "rotated-refresh-token-still-valid")
    rows = _rows(run)
    assert rows["RT-19"]["outcome"] == "skip", rows["RT-19"]
    assert rows["RT-19"]["message"].startswith("fewer than two classes of refused refresh token")
    assert "rotated-out not available" in rows["RT-19"]["message"]
