"""userapi-conformance: a contract conformance suite for user_api.v1.UserApiService.

Errors the suite raises about itself (drawn once here):

- ``UsageError`` (exit 2): bad options or unreadable files given to the suite.
- ``CannotEvaluate`` (outcome ``error``, exit 3): the target could not be evaluated
  (a precondition step failed); its subclass ``TargetDown`` covers the whole target
  (unreachable, TLS failure, no token minted) and ``TargetStoppedAnswering`` a target that
  went silent mid-run.
- ``Violation`` (outcome ``fail`` or ``warn``): the target broke a requirement.
"""

import os

# gRPC's C core logs transport failures (e.g. TLS handshakes) to stderr at INFO; the suite
# reports each cause itself in one line (GRPC_VERBOSITY=DEBUG shows gRPC's log). Set before any
# grpc import; an explicit GRPC_VERBOSITY from the user wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from conformance.model.errors import CannotEvaluate, UsageError

__version__ = "0.1.0"
__all__ = ["CannotEvaluate", "UsageError", "__version__"]
