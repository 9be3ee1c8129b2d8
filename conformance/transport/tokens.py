"""Token sources: where the suite gets fresh refresh tokens (password login, a command, or one
static token)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
from dataclasses import dataclass
from typing import Protocol

from conformance.model.contract import pb
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import SECRETS
from conformance.transport.client import UserApiClient
from conformance.transport.throttle import LoginPacer

__all__ = ["NeedsFreshTokens", "PasswordSource", "TokenPair", "TokenSource", "TokenSourceSpec",
           "make_token_source"]


@dataclass(frozen=True)
class TokenSourceSpec:
    kind: str                      # "password", "command", "static" or "embedded"
    email: str | None = None
    secret_env: str | None = None  # the variable holding the password or the static token
    command: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind in ("password", "embedded"):
            return f"{self.kind} ({self.email})"
        if self.kind == "command":
            return f"command ({shlex.join(self.command[:1])} ...)"
        return f"static (${self.secret_env})"

# The token command is a local program; a generous bound still guarantees no hang.
COMMAND_TIMEOUT = 30.0


class NeedsFreshTokens(Exception):
    """The token source cannot give another fresh token (static source): the check is `skip`."""


@dataclass(frozen=True)
class TokenPair:
    """A freshly minted refresh token, with what the minting call told about it."""

    refresh_token: str
    access_token: str | None = None
    login: pb.AuthnWithPasswordResponse | None = None  # the login response, when minted by login

    @property
    def user_uuid(self) -> str | None:
        return self.login.user.uuid if self.login is not None and self.login.HasField("user") \
            else None


class TokenSource(Protocol):
    kind: str

    def mint(self) -> TokenPair: ...


class PasswordSource:
    """Mint with AuthnWithPassword: every call is a new login, hence a new token family. Logins
    go through a pacer, which honours the target's login throttling
    (conformance.transport.throttle)."""

    kind = "password"

    def __init__(self, client: UserApiClient, email: str, password: str) -> None:
        self.client, self.email, self.password = client, email, password
        self.pacer = LoginPacer(client.settings.deadline)
        SECRETS.remember(password, "password")

    def mint(self) -> TokenPair:
        reply = self.pacer.call(lambda: self.client.login(self.email, self.password))
        if not reply.ok or reply.response is None:
            raise CannotEvaluate(f"no token could be minted: AuthnWithPassword as {self.email} "
                                 f"answered {reply.status}")
        token = reply.response.auth_token
        if not token.refresh_token:
            raise CannotEvaluate("no token could be minted: AuthnWithPassword answered OK "
                                 "without a refresh token")
        return TokenPair(token.refresh_token, token.token or None, reply.response)


class CommandSource:
    """Run a command (argv, no shell) that prints {"refresh_token": ..., "access_token": ...}."""

    kind = "command"

    def __init__(self, argv: tuple[str, ...]) -> None:
        self.argv = argv

    def mint(self) -> TokenPair:
        name = self.argv[0]
        try:
            done = subprocess.run(self.argv, capture_output=True, text=True, check=False,
                                  timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CannotEvaluate(f"no token could be minted: token command {name}: "
                                 f"{type(error).__name__}: {error}") from None
        if done.returncode != 0:
            first_line = SECRETS.scrub((done.stderr.strip().splitlines() or [""])[0])[:200]
            raise CannotEvaluate(f"no token could be minted: token command {name} exited "
                                 f"{done.returncode}: {first_line}")
        try:
            data = json.loads(done.stdout)
            refresh_token, access_token = data["refresh_token"], data.get("access_token")
            if not isinstance(refresh_token, str) or not refresh_token or not (
                    access_token is None or isinstance(access_token, str)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise CannotEvaluate(f"no token could be minted: token command {name} did not print "
                                 'JSON {"refresh_token": "...", "access_token": "..."}') from None
        SECRETS.remember(refresh_token)
        SECRETS.remember(access_token)
        return TokenPair(refresh_token, access_token or None)


class StaticSource:
    """One refresh token from the environment: handed out once, then checks needing more skip."""

    kind = "static"

    def __init__(self, variable: str, token: str) -> None:
        self.variable, self._token = variable, token
        self._lock = threading.Lock()
        self._used = False
        SECRETS.remember(token)

    def mint(self) -> TokenPair:
        with self._lock:
            if self._used:
                raise NeedsFreshTokens(f"token source 'static' (${self.variable}) holds a single "
                                       "refresh token, already spent by an earlier check; this "
                                       "check needs a fresh one")
            self._used = True
        return TokenPair(self._token)


def make_token_source(spec: TokenSourceSpec, client: UserApiClient,
                      embedded_password: str | None = None) -> TokenSource:
    if spec.kind == "embedded":
        assert spec.email and embedded_password
        return PasswordSource(client, spec.email, embedded_password)
    if spec.kind == "password":
        assert spec.email and spec.secret_env
        return PasswordSource(client, spec.email, os.environ.get(spec.secret_env, ""))
    if spec.kind == "command":
        return CommandSource(spec.command)
    assert spec.secret_env
    return StaticSource(spec.secret_env, os.environ.get(spec.secret_env, ""))
