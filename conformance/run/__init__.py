"""Shaping a run: the pytest plugin, options and the targets file, profiles, xdist scheduling,
the overlap scheduler, the critical path, the shared samples, the target session and the run
record.

The plugin (`run.plugin`) is the composition root: it alone wires the features (report, nightly,
reference) together, and nothing but pytest and the CLI imports it. The rest of `run` imports
`transport`, `rules` and `model`, never a feature."""
