"""userapi-conformance: a contract conformance suite for user_api.v1.UserApiService.

Errors the suite raises about itself (drawn once here):

- ``UsageError`` (exit 2): bad options or unreadable files given to the suite.
- ``CannotEvaluate`` (outcome ``error``, exit 3): the target could not be evaluated
  (unreachable, TLS failure, no token could be minted, a precondition step failed).
- ``Violation`` (outcome ``fail`` or ``warn``): the target broke a requirement.
"""

from conformance.errors import CannotEvaluate, UsageError

__version__ = "0.1.0"
__all__ = ["CannotEvaluate", "UsageError", "__version__"]
