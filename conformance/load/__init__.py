"""`python -m conformance load`: the LD requirements under sustained, distributed load, driven by
Locust; it may import `run` (options; never the plugin), `transport`, `model` and `reference`.

One module a job: options (the command line), ledger (what one process saw), judge
(LD-01..LD-04 from every process's ledger), user (the workload), outputs (load-results.json,
Locust's HTML report and CSVs), embedded (the reference server in a process of its own) and
command (the run itself: local, master, worker).

Locust is an optional dependency (the `load` extra); nothing here is imported by the main job.
"""
