"""Every named fault trips exactly the requirements it declares; every flavour stays conformant."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.model.catalogue import Level, catalogue
from conformance.reference.faults import FAULTS, FLAVORS


def _crashes(run: Any) -> int:
    server = run.results["targets"][0]["reference_server"]
    return int(server["unhandled_exceptions"])


def _expected_exit(breaks: frozenset[str]) -> int:
    return 1 if any(catalogue()[rid].level is Level.MUST for rid in breaks) else 0


def test_the_reference_server_passes_every_implemented_requirement(run_suite: Any) -> None:
    run = run_suite("--profile", "quick")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert _crashes(run) == 0
    outcomes = run.outcomes()
    implemented = {rid: o for rid, o in outcomes.items()
                   if run.results["targets"][0]["requirements"][list(outcomes).index(rid)]
                   ["message"] != "not implemented"}
    assert implemented and set(implemented.values()) <= {"pass", "skip"}, implemented
    assert run.results["targets"][0]["verdict"] == "conformant"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_trips_exactly_its_requirements(run_suite: Any, fault: str) -> None:
    """An ordinary run trips exactly the fault's requirements; a load-only fault's requirements
    are the load command's (tests/test_load.py certifies them), so an ordinary run trips none."""
    breaks = frozenset() if FAULTS[fault].load_only else FAULTS[fault].breaks
    run = run_suite("--profile", "quick", "--reference-fault", fault)
    assert run.tripped() == breaks, run.stdout[-3000:]
    assert run.exit_code == _expected_exit(breaks), run.stderr
    verdict = run.results["targets"][0]["verdict"]
    assert verdict == ("non-conformant" if run.exit_code == 1 else "conformant")
    # A fault must trip its rule by behaving wrongly, not by crashing the servicer.
    assert FAULTS[fault].crashes == (_crashes(run) > 0)


@pytest.mark.parametrize("flavor", sorted(FLAVORS))
def test_correct_but_different_flavor_stays_conformant(run_suite: Any, flavor: str) -> None:
    run = run_suite("--profile", "quick", "--reference-flavor", flavor, *FLAVORS[flavor].suite_args)
    assert run.exit_code == 0, run.stdout[-3000:]
    assert run.tripped() <= FLAVORS[flavor].warns
    assert _crashes(run) == 0
    assert "error" not in run.outcomes().values()
    # A skip is conformant too: what the flavour must leave judged is read as a pass.
    assert {rid: run.outcomes()[rid] for rid in FLAVORS[flavor].passes} == \
        dict.fromkeys(FLAVORS[flavor].passes, "pass")


def test_every_fault_names_catalogued_requirements() -> None:
    for fault in FAULTS.values():
        assert fault.breaks and fault.breaks <= catalogue().keys(), fault.name
        # Only the load command judges LD, and a load-only fault breaks nothing else.
        assert fault.load_only == all(rid.startswith("LD-") for rid in fault.breaks), fault.name
    for flavor in FLAVORS.values():
        assert all(catalogue()[rid].level is Level.SHOULD for rid in flavor.warns), flavor.name
        assert flavor.passes <= catalogue().keys() and not flavor.passes & flavor.warns, \
            flavor.name
