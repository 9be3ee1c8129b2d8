"""Nightly memory: expected failures (--expected-failures), the comparison of two runs
(`compare`) and the history of runs (--history). Outputs only: they read results.json documents
and the results model, and never call a target."""
