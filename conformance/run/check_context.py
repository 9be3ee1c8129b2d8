"""What a check may ask of the run it is in, without importing the plugin (the composition root):
a note for its result should it pass, and FZ-01's hypothesis seed and example database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PASS_NOTE", "HypothesisSettings", "hypothesis_database_dir", "hypothesis_seed",
           "pass_note", "set_hypothesis"]

PASS_NOTE = "conformance_note"


def pass_note(node: pytest.Item, text: str) -> None:
    """Say `text` (redacted, one line) in the check's result should it pass."""
    node.user_properties.append((PASS_NOTE, text))


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
