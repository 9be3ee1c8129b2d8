"""The critical path's model (conformance.run.critical_path) on made-up calls; a quick run's path is
in tests/test_bench.py."""

from __future__ import annotations

from conformance.run.critical_path import CheckCalls, critical_path, steps


def _serial(start: float, count: int, *, sample: bool = False) -> tuple[tuple[float, float, bool],
                                                                         ...]:
    """`count` calls of 1 s one after another from `start`."""
    return tuple((start + n, start + n + 1, sample) for n in range(count))


def test_overlapping_calls_are_one_step() -> None:
    burst = [(10.0, 11.0), (10.1, 11.2), (10.05, 10.9)]   # out of order, as a log has them
    assert steps([(0.0, 1.0), *burst, (12.0, 13.0)]) == [(0.0, 1.0), (10.0, 11.2), (12.0, 13.0)]
    assert steps([(0.0, 1.0), (1.0, 2.0)]) == [(0.0, 1.0), (1.0, 2.0)]   # touching: a chain


def test_the_path_is_the_longest_chain_of_each_phase_added_up() -> None:
    burst = tuple((20.0 + n / 100, 21.5, False) for n in range(8))
    checks = [CheckCalls("a", 0, _serial(0, 3)), CheckCalls("b", 0, _serial(5, 2) + burst),
              CheckCalls("c", 1, _serial(30, 4)), CheckCalls("d", 1, _serial(40, 1))]
    path = critical_path(checks, {0: "ordinary", 1: "fields"})
    assert path["rpcs"] == 18
    assert path["round_trips"] == 3 + 4          # b's burst is one step: 2 + 1 = 3, not 10
    assert path["chains"]["b"] == [3, 10, 3.5]
    assert path["seconds"] == 3.5 + 4.0
    assert [p["phase"] for p in path["phases"]] == ["ordinary", "fields"]
    assert [p["longest"] for p in path["phases"]] == ["b", "c"]   # a tie is broken by seconds
    assert path["latency_s"] == 1.0


def test_the_sample_is_a_dependency_of_its_users_in_the_phase_that_gathers_it() -> None:
    checks = [CheckCalls("gathers", 0, _serial(0, 3, sample=True) + _serial(3, 1), True),
              CheckCalls("uses", 0, _serial(10, 2), True),
              CheckCalls("alone", 0, _serial(20, 4)),
              CheckCalls("later", 1, _serial(30, 1), True)]
    path = critical_path(checks)
    assert path["chains"] == {"gathers": [4, 4, 4.0], "uses": [5, 2, 5.0],
                              "alone": [4, 4, 4.0], "later": [1, 1, 1.0]}
    assert path["round_trips"] == 5 + 1

