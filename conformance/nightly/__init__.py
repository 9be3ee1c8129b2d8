"""Nightly memory: expected failures (--expected-failures), the comparison of two runs
(`compare`) and the history of runs (--history); it may import `model` only.

Outputs only: they read results.json documents and the results model, and never call a target."""
