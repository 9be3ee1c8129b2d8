"""What a check may ask of the run it is in, without importing the plugin (the composition root):
a note for its result should it pass (and whether that pass left part of its rule unjudged), a
skip of a stated kind, and FZ-01's hypothesis seed and
example database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from conformance.model.results import SkipKind

__all__ = ["NO_WIRE_BYTES", "PASS_NOTE", "PASS_UNJUDGED", "HypothesisSettings", "KindedSkip",
           "hypothesis_database_dir", "hypothesis_seed", "not_applicable", "not_judged",
           "partly_judged", "pass_note", "set_hypothesis"]

PASS_NOTE = "conformance_note"
PASS_UNJUDGED = "conformance_unjudged"
# CT-05, FZ-07 and FZ-09 over Connect's JSON codec (requirements.md, "Transports (v3)").
NO_WIRE_BYTES = ("the rule is about protobuf wire bytes, which Connect's JSON codec does not "
                 "carry (ProtoJSON parsers reject unknown keys by default)")


def pass_note(node: pytest.Item, text: str) -> None:
    """Say `text` (redacted, one line) in the check's result should it pass."""
    node.user_properties.append((PASS_NOTE, text))


def partly_judged(node: pytest.Item, text: str) -> None:
    """As pass_note, for a pass that left part of its rule unjudged: `text` names that part and
    why; every report lists such a pass under "Not judged"."""
    pass_note(node, text)
    node.user_properties.append((PASS_UNJUDGED, True))


class KindedSkip(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """pytest's skip, with its kind (results.json's `skip_kind`): the plugin reads it."""

    def __init__(self, reason: str, kind: SkipKind) -> None:
        super().__init__(msg=reason)
        self.kind = kind


def not_applicable(reason: str) -> NoReturn:
    """Skip: the target has not the feature the rule is about (opaque tokens for a JWT rule)."""
    raise KindedSkip(reason, SkipKind.NOT_APPLICABLE)


def not_judged(reason: str) -> NoReturn:
    """Skip: the suite could not judge the rule here (a transport or path failure, a missing
    tool, a wait beyond --expiry-wait); every report lists such a MUST as not judged."""
    raise KindedSkip(reason, SkipKind.NOT_JUDGED)


@dataclass(frozen=True)
class HypothesisSettings:
    seed: str | None = None          # hypothesis's own --hypothesis-seed
    database_dir: Path | None = None  # REPORT_DIR/hypothesis


# Set by the plugin when a session starts (one run per process).
_HYPOTHESIS: list[HypothesisSettings] = [HypothesisSettings()]


def set_hypothesis(settings: HypothesisSettings) -> None:
    _HYPOTHESIS[0] = settings


# Hypothesis (FZ-01): its example database lives in the report directory, so that a failure
# found by one run (say, the nightly) is replayed first by the next run with the same
# --report-dir; and the seed given with hypothesis's own --hypothesis-seed.
def hypothesis_database_dir() -> Path | None:
    return _HYPOTHESIS[0].database_dir


def hypothesis_seed() -> str | None:
    return _HYPOTHESIS[0].seed
