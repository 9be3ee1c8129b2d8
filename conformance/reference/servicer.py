"""The reference implementation of the three RPCs, with hooks for the named faults."""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import secrets
import threading
import time
import traceback
import unicodedata
import uuid as uuid_lib
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format
from google.protobuf.unknown_fields import UnknownFieldSet

from conformance.model.contract import pb
from conformance.reference import checksummed, mutations
from conformance.reference.ratelimit import TokenBucket, throttled
from conformance.reference.store import (
    Rotation,
    RotationOutcome,
    Store,
    StoredUser,
    hash_token,
)
from conformance.transport.stubs import pb_grpc

__all__ = ["UNDECODABLE", "Behaviour", "UserApiServicer"]

# One message for every failed credential, so the answer is no oracle (RFC 6749 §5.2).
INVALID_GRANT = "invalid refresh token"
INVALID_BEARER = "missing or invalid bearer token"
MAX_TOKEN_LENGTH = 4096
VSCHAR = re.compile(r"[\x20-\x7e]+")
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 7235).
# Flavour aborted-race-losers: a rotated-out token back this soon is a race loser, not a replay.
RACE_WINDOW = 0.1
# Fault refresh-error-oracle: messages that tell an attacker what became of a token.
ORACLE_MESSAGES = {RotationOutcome.REUSED: "refresh token reuse detected; session revoked",
                   RotationOutcome.REVOKED: "refresh token revoked"}
# Fault refresh-returns-another-user: the uuid of a user the token was not issued to.
ANOTHER_USER_UUID = "0b9a6f3e-5d2c-4e8b-9a71-3c6d2e1f4a58"
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
# Flavour get-me-invalid-argument-for-malformed-bearer: a value of the Bearer scheme that is not
# a Bearer credential is an invalid_request (RFC 6750 §3.1).
BEARER_SCHEME = re.compile(r"(?i:bearer)(?: |$)")
INVALID_REQUEST = "malformed bearer credential"
# Fault get-me-any-scheme-accepted: the credential after any scheme word, or a bare one.
ANY_SCHEME = re.compile(r"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+ +)?([A-Za-z0-9\-._~+/]+=*)")
# Faults of the FZ checks: the shape of this server's refresh tokens (token_urlsafe(32)), and the
# size from which the slow fault stalls.
OWN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# Fault error-trailer-leaks-traceback: what a debug middleware puts in a trailer.
TRAILER_TRACE = ('Traceback (most recent call last): File "/srv/app/tokens.py", line 42, in '
                 "lookup | LookupError: refresh token not found")
# Flavour hex-refresh-tokens: its refresh tokens, and the only form it takes for one.
HEX_TOKEN = re.compile(r"[0-9a-f]{64}")
# The body limit of the front that fault front-refuses-oversized-as-unknown imitates.
FRONT_BODY_LIMIT = 60 * 1024
HUGE_TOKEN = 512 * 1024
# Fault refresh-token-bcrypt-truncated: bcrypt hashes the first 72 bytes of its input only.
BCRYPT_MAX_BYTES = 72
# RT-23's faults: keys from the list of well-known weak secrets. `secret`, as countless
# tutorials; the Spring Security tutorials' key, which JJWT base64-decodes (48 bytes: HS384).
WEAK_ACCESS_JWT_KEY = b"secret"
WEAK_REFRESH_JWT_KEY = base64.b64decode(
    "404E635266556A586E3272357538782F413F4428472B4B6250645367566B5970")
# Faults of RT-07 and RT-08: access and refresh tokens are HS256 JWTs under one key, and one
# kind is verified by its signature (and `sub`) only, with no `typ` check (RFC 8725 §3.11).
ONE_JWT_KEY = ("jwt-access-token-refreshes", "jwt-refresh-token-is-bearer")
# PyJWT warns of a short HMAC key; here it is the point of a fault.
warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)
# RT-21's faults and flavour: the expires_in they state, short enough for a quick run's wait;
# how long the first accepts its tokens; the JWT lifetime (exp - iat) of the second; the leeway
# the flavour honours.
SHORT_LIFETIMES = {"access-tokens-never-expire": 3, "jwt-access-tokens-accepted-past-exp": 6,
                   "expiry-leeway-20s": 2}
FOR_EVER = 10 * 365 * 86400.0
PAST_EXP_JWT_LIFETIME = 3
CLOCK_SKEW_LEEWAY = 20.0
# What the lenient decoder of fault refresh-accepts-wire-garbage passes on for undecodable bytes
# (None would make the gRPC library fail the call itself).
UNDECODABLE = pb.RefreshAccessTokenRequest()
# The LD faults act only while this many calls are in the servicer at once: more than the
# suite's own bursts (RT-14's concurrency, 16 at most, the rest of a run one call at a time)
# ever make, so an ordinary run sees none.
LOAD_CONTENTION = 18
# Contention, once reached, holds this long: a loaded server's calls in flight come and go in
# waves, and the faults act on the server under load, not on the crest of each wave alone.
LOAD_CONTENTION_HOLD = 1.0
# Fault load-check-then-spend-race: the time between check and spend on a contended database
# (a burst's refreshes leave a loaded client spread over tens of milliseconds).
CONTENDED_GAP = 0.15
# The share of contended calls each of them hits: one in N.
LOAD_FAULT_EVERY = {"load-false-reuse-detection": 20, "load-internal-errors": 50,
                    "load-sheds": 10}

Request = TypeVar("Request")
Response = TypeVar("Response")


@dataclass(frozen=True)
class Behaviour:
    """What the servicer does: correct by default; faults and flavours switch parts of it."""

    faults: frozenset[str] = frozenset()
    flavors: frozenset[str] = frozenset()
    access_token_lifetime: int = 900
    reuse_grace: float = 0.0
    latency: float = 0.0
    # Misbehaviour for the suite's own robustness tests (not faults of a rule):
    unavailable_every: int = 0        # every Nth call answers UNAVAILABLE
    stop_after_calls: int = 0         # the server dies after N calls
    on_stop: Callable[[], None] | None = None


def _served(method: Callable[[Any, Request, grpc.ServicerContext], Response],
            ) -> Callable[[Any, Request, grpc.ServicerContext], Response]:
    """Latency and misbehaviour around every RPC."""
    def serve(self: UserApiServicer, request: Request, context: grpc.ServicerContext) -> Response:
        with self._calls_lock:
            self.in_servicer += 1
            if self.in_servicer >= LOAD_CONTENTION:
                self._contended_until = time.monotonic() + LOAD_CONTENTION_HOLD
        try:
            return _serve(self, request, context)
        finally:
            with self._calls_lock:
                self.in_servicer -= 1

    def _serve(self: UserApiServicer, request: Request, context: grpc.ServicerContext,
               ) -> Response:
        behaviour = self.behaviour
        with self._calls_lock:
            self._calls += 1
            calls = self._calls
        if self.contended("load-internal-errors"):
            context.abort(grpc.StatusCode.INTERNAL, "database is locked")
        if self.contended("load-sheds"):
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "server overloaded, retry later")
        if behaviour.stop_after_calls and calls >= behaviour.stop_after_calls and behaviour.on_stop:
            behaviour.on_stop()
        if behaviour.unavailable_every and calls % behaviour.unavailable_every == 0:
            context.abort(grpc.StatusCode.UNAVAILABLE, "service temporarily unavailable")
        if behaviour.latency:
            time.sleep(behaviour.latency)
        try:
            return method(self, request, context)
        except Exception:
            # not context.abort(): a real unhandled exception (grpc's stub lacks code())
            if context.code() is None:  # type: ignore[attr-defined]
                with self._calls_lock:
                    self.unhandled_exceptions += 1
            raise
    return serve


def _decoded_key(token: str, *, validate: bool = True) -> str:
    """Faults refresh-token-base64-decoded(-leniently): the bytes a base64 decoder reads from
    the token, padded as needed; it reads `-_` and `+/` alike and ignores spare bits, and unless
    it validates, skips characters outside the alphabet (Python's urlsafe_b64decode)."""
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                   validate=validate)
    except (binascii.Error, ValueError):
        return f"undecodable:{token}"
    return f"bytes:{decoded.hex()}"


class UserApiServicer(pb_grpc.UserApiServiceServicer):
    def __init__(self, store: Store, behaviour: Behaviour) -> None:
        self.store = store
        self.behaviour = behaviour
        self._jwt_key = secrets.token_bytes(32)
        # flavour jwt-access-tokens-es256: an asymmetric key, which RT-23 cannot judge
        self._es256_key = ec.generate_private_key(ec.SECP256R1()) \
            if "jwt-access-tokens-es256" in behaviour.flavors else None
        self._calls = 0
        self.unhandled_exceptions = 0   # reported by the plugin for the embedded server
        self._calls_lock = threading.Lock()
        self._family_access: dict[str, str] = {}  # fault access-token-repeated-in-family
        self._in_flight: set[str] = set()  # fault refresh-locked-but-rotated-token-kept
        self._in_flight_lock = threading.Lock()
        self._poisoned = False               # fault nul-byte-poisons-server
        self._issued: list[str] = []         # fault refresh-token-prefix-match
        self._last_login: str | None = None  # fault unknown-shaped-refresh-token-ok
        self._refreshes = itertools.count(1)  # fault token-type-drifts-in-later-refreshes
        self._family_refreshes: Counter[str] = Counter()  # fault refresh-omits-user-later
        self._switches = behaviour.faults | behaviour.flavors
        self._logins = TokenBucket()  # flavour login-throttled
        self.in_servicer = 0   # calls in flight: the LD faults act under contention only
        self._contended_until = 0.0
        self._contended_calls = {name: itertools.count(1) for name in LOAD_FAULT_EVERY}

    def fault(self, name: str) -> bool:
        return name in self.behaviour.faults

    def contended(self, fault: str) -> bool:
        """Whether LD fault `fault` (on) acts now: many calls in flight within the last
        LOAD_CONTENTION_HOLD, and (for those that hit a share of the calls) this is the one in N."""
        if fault not in self.behaviour.faults or time.monotonic() >= self._contended_until:
            return False
        every = LOAD_FAULT_EVERY.get(fault)
        return every is None or next(self._contended_calls[fault]) % every == 0

    def flavor(self, name: str) -> bool:
        return name in self.behaviour.flavors

    # RPCs ------------------------------------------------------------------
    @_served
    def AuthnWithPassword(self, request: pb.AuthnWithPasswordRequest,
                          context: grpc.ServicerContext) -> pb.AuthnWithPasswordResponse:
        if self.flavor("login-throttled") and (delay := self._logins.take()):
            context.abort_with_status(throttled(delay))
        if not request.email or not request.password:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "email and password are required")
        user = self.store.authenticate(request.email, request.password)
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid credentials")
        refresh_token = self._new_family(user)
        self._last_login = user.uuid
        return pb.AuthnWithPasswordResponse(
            user=self._user_message(user), auth_token=self._auth_token(user, refresh_token))

    @_served
    def RefreshAccessToken(self, request: pb.RefreshAccessTokenRequest,
                           context: grpc.ServicerContext) -> pb.RefreshAccessTokenResponse:
        if self.fault("refresh-unimplemented"):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented")
        if self.fault("front-refuses-oversized-as-unknown") and \
                request.ByteSize() > FRONT_BODY_LIMIT:
            context.abort(grpc.StatusCode.UNKNOWN, "Payload Too Large")   # Envoy's own reply
        if self.fault("error-trailer-leaks-traceback"):  # sent with every answer, errors included
            context.set_trailing_metadata((("x-debug-trace", TRAILER_TRACE),))
        if request is UNDECODABLE:  # only with fault refresh-accepts-wire-garbage (server.py)
            return pb.RefreshAccessTokenResponse()
        if self.fault("request-unknown-field-rejected") and len(UnknownFieldSet(request)):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown field in request")
        presented = self._malformed_input_faults(request.refresh_token, context)
        if not presented:
            user = self.store.any_user() if self.fault("empty-refresh-token-accepted") else None
            if user is not None:  # the fault: an empty token logs in as some user
                return self._refresh_response(user, self._new_family(user))
            if self.flavor("unauthenticated-for-empty"):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_GRANT)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refresh_token is required")
        # Under that fault the server issues non-VSCHAR refresh tokens, and accepts its own.
        if len(presented) > MAX_TOKEN_LENGTH or not (
                VSCHAR.fullmatch(presented) or self.fault("refresh-token-not-vschar")):
            code = (grpc.StatusCode.INVALID_ARGUMENT
                    if self.flavor("invalid-argument-for-malformed")
                    else grpc.StatusCode.UNAUTHENTICATED)
            context.abort(code, self._invalid_grant(presented))
        if self.flavor("hex-refresh-tokens") and not HEX_TOKEN.fullmatch(presented):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed refresh_token")
        if self.flavor("checksummed-refresh-tokens") and not checksummed.well_formed(presented):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed refresh_token")
        if self.fault("jwt-access-token-refreshes") and self.store.refresh_token_state(
                presented) is None:  # not stored: taken for a stateless one if the key verifies
            owner = self._stateless_jwt_user(presented, self._jwt_key)
            user = self.store.user(owner) if owner else None
            if user is not None:
                return self._refresh_response(user, self._new_family(user))
        if self.fault("access-token-accepted-as-refresh-token"):
            owner = self.store.access_token_user(presented)
            user = self.store.user(owner) if owner else None
            if user is not None:
                return self._refresh_response(user, self._new_family(user))
        # fault refresh-token-omitted: the presented token stays valid, as for no rotation
        not_rotated = self.fault("refresh-token-not-rotated") or self.fault(
            "refresh-token-omitted")
        kept = self.fault("rotated-refresh-token-still-valid") or self.fault(
            "refresh-locked-but-rotated-token-kept")
        successor = presented if not_rotated else self._new_refresh_token(
            self._refresh_token_owner(presented))
        if self.fault("refresh-locked-but-rotated-token-kept") and not self._try_lock(presented):
            context.abort(grpc.StatusCode.ABORTED, "concurrent refresh with the same token")
        racing = self.contended("load-check-then-spend-race")
        if self.contended("load-false-reuse-detection"):
            self.store.revoke_family_of(self._token_key(presented))
            context.abort(grpc.StatusCode.UNAUTHENTICATED, self._invalid_grant(presented))
        try:
            rotation = self.store.rotate(
                self._token_key(presented), self._token_key(successor),
                reuse_grace=self.behaviour.reuse_grace,
                atomic=not (self.fault("rotation-not-atomic") or racing),
                gap=CONTENDED_GAP if racing else 0.02,
                detect_reuse=not self.fault("reuse-not-detected"), rotate=not (not_rotated or kept),
                revoke_successor_only=self.fault("reuse-revokes-only-the-successor"),
                family_is_token=self.fault("reuse-revokes-the-family-named-by-the-token"),
                revoke_user_families=self.flavor("reuse-revokes-every-family"))
        finally:
            self._in_flight.discard(presented)
        if rotation.outcome is RotationOutcome.UNKNOWN:
            rotation = self._loose_match_faults(presented, successor, rotation)
        if rotation.outcome is not RotationOutcome.ROTATED:
            context.abort(*self._refusal(rotation, presented))
        assert rotation.user_uuid is not None
        user = self.store.user(rotation.user_uuid)
        if user is None:  # the user was deleted after the token was issued
            context.abort(grpc.StatusCode.UNAUTHENTICATED, self._invalid_grant(presented))
        if self.fault("refresh-revokes-other-families") and rotation.family_id is not None:
            self.store.revoke_other_families(user.uuid, rotation.family_id)
        return self._refresh_response(user, successor, rotation.family_id)

    def _try_lock(self, refresh_token: str) -> bool:
        """Fault refresh-locked-but-rotated-token-kept: one refresh per token at a time, held long
        enough that a burst meets it; the others are turned away."""
        with self._in_flight_lock:
            if refresh_token in self._in_flight:
                return False
            self._in_flight.add(refresh_token)
        time.sleep(0.05)
        return True

    def _refusal(self, rotation: Rotation, presented: str) -> tuple[grpc.StatusCode, str]:
        """Status and message for a refresh token that did not rotate: one answer for all."""
        outcome = rotation.outcome
        if self.fault("refused-refresh-token-invalid-argument"):
            return grpc.StatusCode.INVALID_ARGUMENT, self._invalid_grant(presented)
        if outcome is RotationOutcome.UNKNOWN and self.fault(
                "unknown-refresh-token-permission-denied"):
            return grpc.StatusCode.PERMISSION_DENIED, self._invalid_grant(presented)
        if outcome is RotationOutcome.UNKNOWN and self.fault("unknown-refresh-token-not-found"):
            return grpc.StatusCode.NOT_FOUND, "refresh token not found"
        if (outcome is RotationOutcome.REUSED and self.flavor("aborted-race-losers")
                and rotation.rotated_at is not None
                and time.time() - rotation.rotated_at < RACE_WINDOW):
            return grpc.StatusCode.ABORTED, "concurrent refresh with the same token"
        if self.fault("refresh-error-oracle"):
            return grpc.StatusCode.UNAUTHENTICATED, ORACLE_MESSAGES.get(outcome, INVALID_GRANT)
        return grpc.StatusCode.UNAUTHENTICATED, self._invalid_grant(presented)

    def _refresh_response(self, user: StoredUser, refresh_token: str,
                          family_id: str | None = None) -> pb.RefreshAccessTokenResponse:
        auth_token = self._auth_token(user, refresh_token, usable=not self.fault(
            "refreshed-access-token-unusable"))
        if self.fault("refresh-empty-access-token"):
            auth_token.token = ""
        if next(self._refreshes) > 5 and self.fault("token-type-drifts-in-later-refreshes"):
            auth_token.token_type = "mac"
        if family_id is not None and self.fault("access-token-repeated-in-family"):
            auth_token.token = self._family_access.setdefault(family_id, auth_token.token)
        if self.fault("rotated-refresh-token-unusable"):
            auth_token.refresh_token = self._new_refresh_token()  # never stored
        if self.fault("refresh-token-omitted"):  # RFC 6749 §6: the client keeps the old one
            auth_token.refresh_token = ""
        response = pb.RefreshAccessTokenResponse(auth_token=auth_token)
        if family_id is not None and self.fault("refresh-omits-user-later"):
            self._family_refreshes[family_id] += 1
        if not self.fault("refresh-omits-user") and self._family_refreshes[family_id or ""] < 2:
            shown = user
            if self.fault("refresh-returns-another-user"):
                shown = StoredUser(ANOTHER_USER_UUID, "someone.else@example.com", user.profile)
            response.user.CopyFrom(self._user_message(shown))
        return response

    @_served
    def GetMe(self, request: pb.GetMeRequest, context: grpc.ServicerContext) -> pb.GetMeResponse:
        authorization = next((str(value) for key, value in context.invocation_metadata()
                              if key == "authorization"), None)
        if authorization is None and self.fault("get-me-reads-x-access-token"):
            token = next((str(value) for key, value in context.invocation_metadata()
                          if key == "x-access-token"), None)
            authorization = f"Bearer {token}" if token else None
        if authorization is None and self.fault("get-me-without-authorization-ok"):
            user = self.store.any_user()
            if user is not None:
                return pb.GetMeResponse(user=self._user_message(user))
        match = self._bearer_faults(authorization) or BEARER.fullmatch(authorization or "")
        if match and self.fault("get-me-scheme-case-sensitive") and not match[0].startswith(
                "Bearer "):
            match = None
        if match is None and self.flavor("get-me-invalid-argument-for-malformed-bearer") and \
                BEARER_SCHEME.match(authorization or ""):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, INVALID_REQUEST)
        if match is None and self.fault("get-me-invalid-argument-without-bearer"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, INVALID_REQUEST)
        user_uuid = self.store.access_token_user(match.group(1)) if match else None
        if user_uuid is None and match and self.fault("jwt-access-tokens-weak-secret"):
            user_uuid = self._stateless_jwt_user(match.group(1))
        if user_uuid is None and match and self.fault("jwt-refresh-token-is-bearer"):
            user_uuid = self._stateless_jwt_user(match.group(1), self._jwt_key)
        if user_uuid is None and match and self.fault("get-me-accepts-refresh-token"):
            state = self.store.refresh_token_state(match.group(1))
            user_uuid = state[2] if state and state[0] == "active" else None
        user = self.store.user(user_uuid) if user_uuid else None
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_BEARER)
        if self.fault("get-me-trusts-identity-header"):
            user = self._forwarded_user(context) or user
        return pb.GetMeResponse(user=self._user_message(user))

    def _forwarded_user(self, context: grpc.ServicerContext) -> StoredUser | None:
        """Fault get-me-trusts-identity-header: the user an `x-forwarded-email` names (as
        oauth2-proxy sets it), provisioned on first sight as an app behind such a proxy does."""
        email = next((str(value) for key, value in context.invocation_metadata()
                      if key == "x-forwarded-email"), None)
        if not email:
            return None
        known = self.store.user_by_email(email)
        return known or StoredUser(str(uuid_lib.uuid5(uuid_lib.NAMESPACE_URL, f"mailto:{email}")),
                                   email, {"role": "ROLE_USER"})

    def _stateless_jwt_user(self, token: str, key: bytes = WEAK_ACCESS_JWT_KEY) -> str | None:
        """The `sub` of a JWT whose signature verifies with the key (the weak one by default),
        as a stateless verifier trusts it (RT-23's fault: it trusts a forged one too; RT-07's
        and RT-08's: it trusts a JWT of the other kind, as no `typ` is checked)."""
        try:
            claims = jwt.decode(token, key, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        return str(claims.get("sub") or "") or None

    def _bearer_faults(self, authorization: str | None) -> re.Match[str] | None:
        """The lenient parsers of RT-09's faults: the token after a prefix match of the Bearer
        syntax (what follows it ignored), or the credential after any scheme, or none."""
        if authorization is None:
            return None
        if self.fault("get-me-bearer-prefix-match"):
            return BEARER.match(authorization)
        if self.fault("get-me-any-scheme-accepted"):
            return ANY_SCHEME.fullmatch(authorization)
        return None

    # faults of robustness under malformed input (FZ) -------------------------
    def _malformed_input_faults(self, presented: str, context: grpc.ServicerContext) -> str:
        """The presented refresh token as the FZ faults mishandle it (unchanged without them)."""
        if self.fault("non-ascii-refresh-token-crashes"):
            presented.encode("ascii")  # UnicodeEncodeError escapes: gRPC answers UNKNOWN
        if self.fault("nul-byte-poisons-server") and "\x00" in presented:
            self._poisoned = True
        if self._poisoned:  # from then on every refresh token looks unknown
            context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_GRANT)
        if self.fault("huge-refresh-token-stalls") and len(presented) >= HUGE_TOKEN:
            time.sleep(min(context.time_remaining() or 0.0, 30.0) + 0.2)  # past the deadline
        if self.fault("refresh-token-whitespace-trimmed"):
            presented = presented.strip()
        if self.fault("refresh-token-cut-at-nul"):  # as a C string ends at its first NUL
            presented = presented.partition("\x00")[0]
        if self.fault("refresh-token-nfkc-normalised"):
            presented = unicodedata.normalize("NFKC", presented)
        return presented

    def _token_key(self, token: str) -> str:
        """What the store indexes a refresh token by: the token itself, unless a fault compares
        loosely (a case-insensitive collation; an unverified JWT's jti claim; decoded bytes;
        all but the last character)."""
        if self.fault("refresh-token-case-insensitive"):
            return token.lower()
        if self.fault("refresh-jwt-signature-not-verified"):
            try:
                return str(jwt.decode(token, options={"verify_signature": False})["jti"])
            except (jwt.PyJWTError, KeyError):
                return token
        if self.fault("refresh-token-base64-decoded"):
            return _decoded_key(token)
        if self.fault("refresh-token-base64-decoded-leniently"):
            return _decoded_key(token, validate=False)
        if self.fault("refresh-token-last-character-unchecked"):  # an off-by-one memcmp
            return f"{len(token)}:{token[:-1]}"
        if self.fault("refresh-token-bcrypt-truncated"):  # bcrypt reads 72 bytes, no more
            return f"bcrypt:{token.encode('utf-8', 'surrogatepass')[:BCRYPT_MAX_BYTES].hex()}"
        return token

    def _loose_match_faults(self, presented: str, successor: str, rotation: Rotation,
                            ) -> Rotation:
        """Second chances that the FZ faults give an unknown refresh token."""
        reuse_grace = self.behaviour.reuse_grace
        if self.fault("refresh-token-prefix-match") and len(presented) >= 8:
            # as `WHERE token LIKE :presented || '%'` would
            full = next((t for t in reversed(self._issued) if t.startswith(presented)), None)
            if full is not None:
                return self.store.rotate(full, successor, reuse_grace=reuse_grace)
        if self.fault("unknown-shaped-refresh-token-ok") and OWN_SHAPE.fullmatch(presented) \
                and self._last_login is not None:
            self.store.add_refresh_token(successor, self._last_login, str(uuid_lib.uuid4()))
            return Rotation(RotationOutcome.ROTATED, self._last_login)
        return rotation

    def _invalid_grant(self, presented: str) -> str:
        """The message of a failed refresh: one fixed text, unless an FZ fault leaks into it."""
        if self.fault("error-echoes-refresh-token"):
            return f"{INVALID_GRANT}: {presented[:100]!a}"
        if self.fault("error-leaks-traceback"):
            try:
                raise LookupError("refresh token not found")
            except LookupError as error:
                trace = "".join(traceback.format_exception(error))
            return f"{INVALID_GRANT} ({trace.strip().replace(chr(10), ' | ')})"
        if self.fault("error-message-not-printable-ascii"):
            return f"{INVALID_GRANT}\r\njeton de rafra\u00eechissement invalide"
        return INVALID_GRANT

    # helpers ---------------------------------------------------------------
    def _new_family(self, user: StoredUser) -> str:
        """The first refresh token of a new token family (a login)."""
        refresh_token = self._new_refresh_token(user.uuid)
        family_id = hash_token(self._token_key(refresh_token)) if self.fault(
            "reuse-revokes-the-family-named-by-the-token") else str(uuid_lib.uuid4())
        self.store.add_refresh_token(self._token_key(refresh_token), user.uuid, family_id)
        return refresh_token

    def _new_refresh_token(self, owner: str | None = None) -> str:
        return mutations.issued_refresh_token(self._refresh_token_text(owner), self._switches)

    def _one_jwt_key(self) -> bool:
        return any(map(self.fault, ONE_JWT_KEY))

    def _refresh_token_owner(self, presented: str) -> str | None:
        """The user of a stored refresh token, for the `sub` of its successor (faults of
        ONE_JWT_KEY only: no other refresh token names its user)."""
        state = self.store.refresh_token_state(presented) if self._one_jwt_key() else None
        return state[2] if state else None

    def _refresh_token_text(self, owner: str | None = None) -> str:
        if self._one_jwt_key():  # the access tokens' key and claims, but for exp
            claims = {"sub": owner, "jti": secrets.token_urlsafe(32), "iat": int(time.time()),
                      "typ": "refresh"}
            return jwt.encode({k: v for k, v in claims.items() if v}, self._jwt_key,
                              algorithm="HS256")
        if self.fault("low-entropy-refresh-tokens"):
            return "rt." + "0" * 32 + secrets.token_hex(8)  # 64 random bits behind a constant
        if self.fault("time-based-refresh-tokens"):  # a timestamp, a clock sequence, the host
            return str(uuid_lib.uuid1())
        if self.flavor("jwt-refresh-tokens") or self.fault(
                "refresh-jwt-signature-not-verified") or self.fault(
                "refresh-token-bcrypt-truncated"):
            claims = {"jti": secrets.token_urlsafe(32), "iat": int(time.time()), "typ": "refresh"}
            return jwt.encode(claims, self._jwt_key, algorithm="HS256")
        if self.fault("jwt-refresh-tokens-weak-secret"):
            claims = {"jti": secrets.token_urlsafe(32), "iat": int(time.time()), "typ": "refresh"}
            return jwt.encode(claims, WEAK_REFRESH_JWT_KEY, algorithm="HS384")
        if self.flavor("hex-refresh-tokens"):
            return secrets.token_hex(32)
        if self.flavor("checksummed-refresh-tokens"):
            return checksummed.new_token()
        if self.fault("refresh-token-prefix-match"):
            self._issued.append(token := secrets.token_urlsafe(32))
            return token
        return secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG

    def _new_access_token(self, user: StoredUser) -> str:
        if self.flavor("jwt-access-tokens") or self.fault("jwt-alg-none") or self.fault(
                "jwt-lifetime-mismatch") or self.fault("jwt-access-tokens-weak-secret") or \
                self._es256_key is not None or self._one_jwt_key() or \
                self.fault("jwt-access-tokens-accepted-past-exp"):
            now = int(time.time())
            lifetime = self.behaviour.access_token_lifetime
            if self.fault("jwt-lifetime-mismatch"):
                lifetime *= 4  # exp disagrees with the expires_in the response states
            if self.fault("jwt-access-tokens-accepted-past-exp"):
                lifetime = PAST_EXP_JWT_LIFETIME
            claims = {"sub": user.uuid, "iat": now, "exp": now + lifetime,
                      "jti": secrets.token_urlsafe(32)}
            if self.fault("jwt-alg-none"):
                # PyJWT wants no key for "none"; its type hints want one
                return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
            if self.fault("jwt-access-tokens-weak-secret"):
                return jwt.encode(claims, WEAK_ACCESS_JWT_KEY, algorithm="HS256")
            if self._es256_key is not None:
                return jwt.encode(claims, self._es256_key, algorithm="ES256")
            return jwt.encode(claims, self._jwt_key, algorithm="HS256")
        return secrets.token_urlsafe(32)

    def _auth_token(self, user: StoredUser, refresh_token: str, *, usable: bool = True,
                    ) -> pb.AuthToken:
        access_token = mutations.issued_access_token(self._new_access_token(user), refresh_token,
                                                     self._switches)
        if usable:
            self.store.add_access_token(access_token, user.uuid, self._accepted_for())
        auth_token = pb.AuthToken(token=access_token, token_type="Bearer",
                                  expires_in=self.behaviour.access_token_lifetime,
                                  refresh_token=refresh_token)
        return mutations.rewrite_auth_token(auth_token, self._switches)

    def _accepted_for(self) -> float:
        """How long GetMe accepts an access token: its stated lifetime, unless RT-21's fault or
        flavour says otherwise."""
        if self.fault("access-tokens-never-expire") or self.fault(
                "jwt-access-tokens-accepted-past-exp"):
            return FOR_EVER
        leeway = CLOCK_SKEW_LEEWAY if self.flavor("expiry-leeway-20s") else 0.0
        return self.behaviour.access_token_lifetime + leeway

    def _user_message(self, user: StoredUser) -> pb.User:
        message = pb.User(uuid=user.uuid, email=user.email)
        profile = dict(user.profile)
        metadata = profile.pop("metadata", None)
        json_format.ParseDict(profile, message, ignore_unknown_fields=False)
        if metadata:
            message.metadata.update(metadata)
        return mutations.rewrite_user(message, self._switches)
