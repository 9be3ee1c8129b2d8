"""One target's configuration, and the parsing of the values that make it: shared by the command
line (conformance.run.options) and the targets file (conformance.run.targets_file)."""

from __future__ import annotations

import math
import os
import re
import shlex
import urllib.parse
from dataclasses import dataclass, replace

from conformance.model.errors import UsageError
from conformance.transport.factory import TRANSPORTS
from conformance.transport.settings import ChannelSettings
from conformance.transport.tokens import TokenSourceSpec

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_EXPIRY_LEEWAY",
    "DEFAULT_MAX_INFLIGHT",
    "MAX_INFLIGHT",
    "TargetConfig",
    "client_certificate",
    "over_transports",
    "parse_address",
    "parse_base_url",
    "parse_inflight",
    "parse_metadata",
    "parse_origin",
    "parse_seconds",
    "parse_target",
    "parse_transports",
    "readable_file",
    "require_env",
    "token_source_from",
]

DEFAULT_DEADLINE = 5.0
DEFAULT_EXPIRY_LEEWAY = 5.0
# Calls in flight to one target at once (--max-inflight). 16: twice FZ-01's batch and RT-14's
# burst, so that the fuzz campaign's chain, the longest of a run, keeps its pace while the other
# checks of its phase run beside it (bench/bench.py measures it: 8 cost a standard run 0.3 s more
# at 50 ms). Below the reference server's LOAD_CONTENTION (18), where its load-only faults act.
DEFAULT_MAX_INFLIGHT = 16
MAX_INFLIGHT = 64   # a bound on threads and on what the suite may ask of a target


@dataclass(frozen=True)
class TargetConfig:
    channel: ChannelSettings
    tokens: TokenSourceSpec
    reuse_grace: float = 0.0
    expiry_leeway: float = DEFAULT_EXPIRY_LEEWAY  # the clock skew RT-21 allows past expires_in
    max_inflight: int = DEFAULT_MAX_INFLIGHT      # calls in flight at once (transport.inflight)
    transport: str = "grpc"                       # conformance.transport.factory.TRANSPORTS
    web_url: str | None = None       # gRPC-Web's base URL (None: the address, as Envoy serves)
    connect_url: str | None = None   # Connect's base URL (None: web_url)
    web_origin: str | None = None    # the declared browser origin (WB-03, WB-04)
    shown_as: str = ""               # the target as given (an address or a URL), for the label

    @property
    def label(self) -> str:
        """The address as given; `ADDRESS (TRANSPORT)` for every transport but grpc, whose label
        stays the bare address (expected-failures globs and history series keep matching)."""
        shown = self.shown_as or self.channel.address
        return shown if self.transport == "grpc" else f"{shown} ({self.transport})"

    @property
    def base_url(self) -> str | None:
        """The web transport's base URL as declared (None: derived from the address)."""
        if self.transport.startswith("connect"):
            return self.connect_url or self.web_url
        return self.web_url


_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?):"
                        r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})")


def parse_address(value: str, where: str = "--target") -> str:
    if not _HOST_PORT.fullmatch(value):
        raise UsageError(f"{where}: {value!r} is not HOST:PORT (port 1-65535)")
    return value


def parse_target(value: str, plaintext: bool, where: str = "--target") -> tuple[str, str | None]:
    """A target as HOST:PORT, or as a web transports' base URL (`https://HOST[:PORT][/PREFIX]`;
    `http://` only with --plaintext): its address, and the URL when it is one."""
    if not value.startswith(("http://", "https://")):
        return parse_address(value, where), None
    url = urllib.parse.urlsplit(value)
    if url.query or url.fragment or not url.hostname:
        raise UsageError(f"{where}: {value!r} is not a base URL (https://HOST[:PORT][/PREFIX])")
    if (url.scheme == "http") != plaintext:
        raise UsageError(f"{where}: {value!r}: http:// goes with --plaintext, https:// without")
    try:
        port = url.port or (80 if url.scheme == "http" else 443)
    except ValueError:
        raise UsageError(f"{where}: {value!r} has no valid port") from None
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return parse_address(f"{host}:{port}", where), value.rstrip("/")


def parse_transports(value: object, where: str = "--transport") -> tuple[str, ...]:
    """`grpc`, a list (`grpc,grpc-web` or a TOML list) or `all`: the transports, in order."""
    names = value if isinstance(value, list) else str(value).split(",")
    chosen: list[str] = []
    for name in (str(n).strip() for n in names):
        for one in TRANSPORTS if name == "all" else (name,):
            if one not in TRANSPORTS:
                raise UsageError(f"{where}: {one!r} is not a transport (one of "
                                 f"{', '.join(TRANSPORTS)}, or all)")
            if one not in chosen:
                chosen.append(one)
    if not chosen:
        raise UsageError(f"{where}: no transport named")
    return tuple(chosen)


def parse_origin(value: str | None, where: str = "--web-origin") -> str | None:
    """A browser origin: scheme, host and optional port, nothing else."""
    if value is None:
        return None
    url = urllib.parse.urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/") \
            or url.query or url.fragment:
        raise UsageError(f"{where}: {value!r} is not an origin (https://HOST[:PORT])")
    return value.rstrip("/")


def parse_base_url(value: str | None, plaintext: bool, where: str) -> str | None:
    """--web-url / --connect-url: a base URL as parse_target takes it."""
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise UsageError(f"{where}: {value!r} is not a base URL (https://HOST[:PORT][/PREFIX])")
    return parse_target(value, plaintext, where)[1]


def parse_seconds(value: object, where: str, *, positive: bool) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        sign = "positive" if positive else "non-negative"
        raise UsageError(f"{where}: {value!r} must be a {sign} finite number of seconds")
    return seconds


def parse_inflight(value: object, where: str) -> int:
    """--max-inflight N: a whole number from 1 to MAX_INFLIGHT."""
    text = str(value).strip()
    # ASCII digits only: str.isdigit takes "²", which int() refuses (a traceback, not exit 2).
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_INFLIGHT:
        raise UsageError(f"{where}: {value!r} must be a whole number from 1 to {MAX_INFLIGHT}")
    return int(text)


def parse_metadata(values: list[str], where: str = "--metadata") -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, item = value.partition("=")
        key = key.strip().lower()
        if not sep or not re.fullmatch(r"[0-9a-z_.\-]+", key) or key.startswith("grpc-"):
            raise UsageError(f"{where}: {value.split('=')[0]!r} is not KEY=VALUE with a valid "
                             "gRPC metadata key (lower-case letters, digits, _ . -)")
        if key.endswith("-bin"):
            raise UsageError(f"{where}: binary metadata ({key}) is not supported")
        pairs.append((key, item))
    return tuple(pairs)


def require_env(var: str, where: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise UsageError(f"{where}: environment variable {var} is not set or empty")
    return value


def readable_file(path: str, where: str) -> str:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UsageError(f"{where}: cannot read file {path!r}")
    return path


def client_certificate(cert_file: str | None, key_file: str | None, where: str,
                       names: tuple[str, str] = ("--cert-file", "--key-file"),
                       ) -> tuple[str | None, str | None]:
    """The mutual-TLS pair, both or neither: readable PEM, and the key is the certificate's."""
    if not cert_file and not key_file:
        return None, None
    if not cert_file or not key_file:
        raise UsageError(f"{where}: {names[0]} and {names[1]} go together (mutual TLS); "
                         f"got only {names[0] if cert_file else names[1]}")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        with open(readable_file(cert_file, f"{where}: {names[0]}"), "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
    except ValueError:
        raise UsageError(f"{where}: {names[0]} {cert_file!r} is not a PEM certificate") from None
    try:
        with open(readable_file(key_file, f"{where}: {names[1]}"), "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (ValueError, TypeError):  # TypeError: an encrypted key, which gRPC cannot use
        raise UsageError(f"{where}: {names[1]} {key_file!r} is not an unencrypted PEM private "
                         "key") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise UsageError(f"{where}: {names[1]} {key_file!r} is not the private key of "
                         f"{names[0]} {cert_file!r}")
    return cert_file, key_file


def token_source_from(email: str | None, password_env: str | None, command: str | None,
                      refresh_env: str | None, where: str) -> TokenSourceSpec:
    given = [name for name, value in (("--login-email", email), ("--token-command", command),
                                      ("--refresh-token-env", refresh_env)) if value]
    if len(given) != 1:
        raise UsageError(f"{where}: give exactly one token source (--login-email with "
                         "--login-password-env, --token-command, or --refresh-token-env); got "
                         f"{', '.join(given) or 'none'}")
    if email:
        if not password_env:
            raise UsageError(f"{where}: --login-email needs --login-password-env VAR")
        require_env(password_env, where)
        return TokenSourceSpec("password", email=email, secret_env=password_env)
    if command:
        try:
            argv = tuple(shlex.split(command))
        except ValueError as error:
            raise UsageError(f"{where}: --token-command: {error}") from None
        if not argv:
            raise UsageError(f"{where}: --token-command is empty")
        return TokenSourceSpec("command", command=argv)
    assert refresh_env
    require_env(refresh_env, where)
    return TokenSourceSpec("static", secret_env=refresh_env)


def over_transports(target: TargetConfig, transports: tuple[str, ...], is_url: bool,
                    where: str) -> list[TargetConfig]:
    """The target once per transport (one verdict each); a URL is a web transports' base."""
    if is_url and "grpc" in transports:
        raise UsageError(f"{where}: {target.shown_as!r} is a URL, which native gRPC cannot dial: "
                         "give HOST:PORT, or --transport with web transports only")
    return [replace(target, transport=name) for name in transports]
