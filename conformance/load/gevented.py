"""Patch the process for gevent, as Locust needs, and make gRPC cooperate with it (Locust's gRPC
example: grpc.experimental.gevent.init_gevent() before any channel exists).

Imported by the load command only, after the suite's own modules: gevent then warns that ssl was
imported before it was patched (by pytest's and PyJWT's imports). The load run never uses
Python's ssl module (gRPC brings its own TLS), so that one warning is silenced."""

from __future__ import annotations

import warnings

from gevent.monkey import MonkeyPatchWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", MonkeyPatchWarning)
    import locust  # noqa: F401  (its import patches the process)

import grpc.experimental.gevent

grpc.experimental.gevent.init_gevent()
