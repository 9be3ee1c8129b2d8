"""The `run` record of results.json: the options that shaped a run, so that `certify` and
`compare` can tell runs apart. Secrets are named only by their environment variable."""

from __future__ import annotations

from typing import Any

from conformance.run.options import RunSettings
from conformance.run.target_config import TargetConfig

__all__ = ["run_record"]


def _token_source(config: TargetConfig) -> dict[str, Any]:
    spec = config.tokens
    source: dict[str, Any] = {"kind": spec.kind}
    if spec.secret_env:
        source["secret_env"] = spec.secret_env
    return source


def run_record(settings: RunSettings, targets: list[TargetConfig],
               hypothesis_seed: str | None) -> dict[str, Any]:
    return {
        "only": sorted(settings.only) if settings.only else None,
        "reference": {"faults": sorted(settings.reference_faults),
                      "flavors": sorted(settings.reference_flavors)},
        "hypothesis_seed": hypothesis_seed,
        "expected_failures": settings.expected_failures,
        "history": settings.history,
        "deadline_s": settings.deadline,
        "token_sources": {t.label: _token_source(t) for t in targets},
    }
