"""The suite's command-line options (one table for the pytest plugin and `python -m conformance`)
and their validation into RunSettings."""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.catalogue import catalogue
from conformance.client import ChannelSettings
from conformance.errors import UsageError
from conformance.nightly.expectations import ExpectedFailures
from conformance.profiles import DEFAULT_PROFILE, PROFILES, Profile

__all__ = ["OPTIONS", "RunSettings", "TargetConfig", "TokenSourceSpec", "add_options",
           "settings_from"]

DEFAULT_DEADLINE = 5.0
DEFAULT_EXPIRY_LEEWAY = 5.0
# Calls in flight to one target at once (--max-inflight). 16: twice FZ-01's batch and RT-14's
# burst, so that the fuzz campaign's chain, the longest of a run, keeps its pace while the other
# checks of its phase run beside it (bench/bench.py measures it: 8 cost a standard run 0.3 s more
# at 50 ms). Below the reference server's LOAD_CONTENTION (18), where its load-only faults act.
DEFAULT_MAX_INFLIGHT = 16
MAX_INFLIGHT = 64   # a bound on threads and on what the suite may ask of a target


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    extra: dict[str, Any] = field(default_factory=dict)
    pytest_flag: str = ""   # the name under pytest, where `flag` is taken by another plugin

    @property
    def flag_for_pytest(self) -> str:
        return self.pytest_flag or self.flag


OPTIONS: tuple[Option, ...] = (
    Option("--target", "conformance_targets", "a target HOST:PORT to certify (repeatable)",
           {"action": "append", "default": [], "metavar": "HOST:PORT"}),
    Option("--targets-file", "conformance_targets_file",
           "a TOML file listing targets, each with its own options", {"metavar": "FILE"}),
    Option("--plaintext", "conformance_plaintext", "no TLS (default: TLS with verification)",
           {"action": "store_true", "default": False}),
    Option("--ca-file", "conformance_ca_file", "PEM file of custom root certificates",
           {"metavar": "FILE"}),
    Option("--server-name", "conformance_server_name", "TLS server name override",
           {"metavar": "NAME"}),
    Option("--cert-file", "conformance_cert_file",
           "PEM client certificate chain for mutual TLS (with --key-file)", {"metavar": "FILE"}),
    Option("--key-file", "conformance_key_file",
           "PEM private key of --cert-file (mutual TLS)", {"metavar": "FILE"}),
    Option("--login-email", "conformance_login_email",
           "token source 'password': mint fresh tokens with AuthnWithPassword as EMAIL",
           {"metavar": "EMAIL"}),
    Option("--login-password-env", "conformance_login_password_env",
           "environment variable holding the login password", {"metavar": "VAR"}),
    Option("--token-command", "conformance_token_command",
           "token source 'command': CMD prints {\"refresh_token\": ..., \"access_token\": ...}",
           {"metavar": "CMD"}),
    Option("--refresh-token-env", "conformance_refresh_token_env",
           "token source 'static': environment variable holding one refresh token",
           {"metavar": "VAR"}),
    # pytest-metadata (a dependency of pytest-html) owns pytest's --metadata, so under pytest
    # this option is --conformance-metadata; `python -m conformance` accepts both names.
    Option("--metadata", "conformance_metadata", "extra gRPC metadata KEY=VALUE (repeatable)",
           {"action": "append", "default": [], "metavar": "KEY=VALUE"},
           pytest_flag="--conformance-metadata"),
    Option("--deadline", "conformance_deadline", "per-RPC deadline in seconds (default 5)",
           {"default": str(DEFAULT_DEADLINE), "metavar": "SECONDS"}),
    Option("--reuse-grace", "conformance_reuse_grace",
           "the target's declared reuse grace window in seconds (default 0)",
           {"default": "0", "metavar": "SECONDS"}),
    Option("--expiry-wait", "conformance_expiry_wait",
           "the longest RT-21 waits for an access token to expire (profile default: quick 10, "
           "standard 30, nightly 300)", {"metavar": "SECONDS"}),
    Option("--expiry-leeway", "conformance_expiry_leeway",
           "the target's declared clock-skew leeway for access-token expiry (default 5)",
           {"default": str(DEFAULT_EXPIRY_LEEWAY), "metavar": "SECONDS"}),
    Option("--max-inflight", "conformance_max_inflight",
           "the most calls in flight to one target at once; independent checks overlap up to "
           f"it (1: one check after another; default {DEFAULT_MAX_INFLIGHT})",
           {"default": str(DEFAULT_MAX_INFLIGHT), "metavar": "N"}),
    Option("--profile", "conformance_profile",
           f"fuzz and load budgets: {'|'.join(PROFILES)} (default {DEFAULT_PROFILE})",
           {"default": DEFAULT_PROFILE, "metavar": "NAME"}),
    Option("--only", "conformance_only", "run only these requirements, e.g. RT-11,FZ-01",
           {"metavar": "ID[,ID...]"}),
    Option("--report-dir", "conformance_report_dir", "where reports go (default reports/)",
           {"default": "reports", "metavar": "DIR"}),
    Option("--reference-fault", "conformance_reference_faults",
           "with no --target: switch on a fault of the embedded reference server (repeatable)",
           {"action": "append", "default": [], "metavar": "NAME"}),
    Option("--reference-flavor", "conformance_reference_flavors",
           "with no --target: a correct-but-different flavour of the embedded server (repeatable)",
           {"action": "append", "default": [], "metavar": "NAME"}),
    Option("--expected-failures", "conformance_expected_failures",
           "TOML file of known deviations: they change the exit status, never the verdict",
           {"metavar": "FILE"}),
    Option("--history", "conformance_history",
           "SQLite database of runs: this run is appended, the report shows the trend",
           {"metavar": "FILE"}),
)


def add_options(add: Callable[..., object], *, pytest: bool = False) -> None:
    """Register every option with an argparse-like `add(flag, dest=..., help=..., ...)`."""
    for option in OPTIONS:
        flags = [option.flag_for_pytest] if pytest else \
            sorted({option.flag, option.flag_for_pytest}, key=len)
        add(*flags, dest=option.dest, help=option.help, **option.extra)


def pytest_argv(argv: list[str]) -> list[str]:
    """The suite's own argv with each option under its pytest name."""
    renames = {o.flag: o.pytest_flag for o in OPTIONS if o.pytest_flag}
    out = []
    for arg in argv:
        flag, sep, value = arg.partition("=")
        out.append(renames[flag] + sep + value if flag in renames else arg)
    return out


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


@dataclass(frozen=True)
class TargetConfig:
    channel: ChannelSettings
    tokens: TokenSourceSpec
    reuse_grace: float = 0.0
    expiry_leeway: float = DEFAULT_EXPIRY_LEEWAY  # the clock skew RT-21 allows past expires_in
    max_inflight: int = DEFAULT_MAX_INFLIGHT      # calls in flight at once (conformance.inflight)

    @property
    def label(self) -> str:
        return self.channel.address


@dataclass(frozen=True)
class RunSettings:
    targets: tuple[TargetConfig, ...]   # empty: certify the embedded reference server
    profile: Profile
    only: frozenset[str] | None
    report_dir: Path
    deadline: float
    reference_faults: frozenset[str] = frozenset()
    reference_flavors: frozenset[str] = frozenset()
    expiry_leeway: float = DEFAULT_EXPIRY_LEEWAY  # for the embedded target (TargetConfig's)
    max_inflight: int = DEFAULT_MAX_INFLIGHT      # for the embedded target (TargetConfig's)
    expected_failures: ExpectedFailures | None = None
    history: str | None = None

    @property
    def embedded(self) -> bool:
        return not self.targets


_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?):"
                        r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})")


def parse_address(value: str, where: str = "--target") -> str:
    if not _HOST_PORT.fullmatch(value):
        raise UsageError(f"{where}: {value!r} is not HOST:PORT (port 1-65535)")
    return value


# The longest --expiry-wait: a week (a soak run may wait out a day-long access token).
MAX_EXPIRY_WAIT = 7 * 86400.0


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


def settings_from(get: Callable[[str], Any]) -> RunSettings:
    """Validate the parsed options (`get(dest)`) into RunSettings; UsageError names the problem."""
    profile_name = get("conformance_profile")
    if profile_name not in PROFILES:
        raise UsageError(f"--profile: {profile_name!r} is not one of {', '.join(PROFILES)}")
    deadline = parse_seconds(get("conformance_deadline"), "--deadline", positive=True)
    reuse_grace = parse_seconds(get("conformance_reuse_grace"), "--reuse-grace", positive=False)
    leeway = parse_seconds(get("conformance_expiry_leeway"), "--expiry-leeway", positive=False)
    inflight = parse_inflight(get("conformance_max_inflight"), "--max-inflight")
    profile = PROFILES[profile_name]
    if get("conformance_expiry_wait") is not None:
        expiry_wait = parse_seconds(get("conformance_expiry_wait"), "--expiry-wait",
                                    positive=False)
        if expiry_wait > MAX_EXPIRY_WAIT:  # RT-21 sleeps up to it (time.sleep overflows)
            raise UsageError(f"--expiry-wait: {get('conformance_expiry_wait')!r} is more than "
                             f"{MAX_EXPIRY_WAIT:.0f} s (a week), the longest RT-21 waits")
        profile = replace(profile, expiry_wait=expiry_wait)
    only = None
    if get("conformance_only"):
        only = frozenset(part.strip().upper() for part in get("conformance_only").split(",")
                         if part.strip())
        unknown = sorted(only - catalogue().keys())
        if unknown or not only:
            raise UsageError(f"--only: unknown requirement ID {', '.join(unknown) or '(none)'}; "
                             "IDs look like RT-11 (see the catalogue)")
    metadata = parse_metadata(get("conformance_metadata"))
    ca_file = get("conformance_ca_file")
    if ca_file:
        readable_file(ca_file, "--ca-file")
    cert_file, key_file = client_certificate(get("conformance_cert_file"),
                                             get("conformance_key_file"), "options")
    if cert_file and get("conformance_plaintext"):
        raise UsageError("--cert-file/--key-file: mutual TLS needs TLS; drop --plaintext")
    targets: list[TargetConfig] = []
    addresses = [parse_address(value) for value in get("conformance_targets")]
    if addresses:
        tokens = token_source_from(
            get("conformance_login_email"), get("conformance_login_password_env"),
            get("conformance_token_command"), get("conformance_refresh_token_env"), "options")
        for address in addresses:
            channel = ChannelSettings(address, plaintext=get("conformance_plaintext"),
                                      ca_file=ca_file, server_name=get("conformance_server_name"),
                                      cert_file=cert_file, key_file=key_file,
                                      metadata=metadata, deadline=deadline)
            targets.append(TargetConfig(channel, tokens, reuse_grace, leeway, inflight))
    if get("conformance_targets_file"):
        from conformance.targets_file import load_targets_file
        targets += load_targets_file(
            readable_file(get("conformance_targets_file"), "--targets-file"),
            deadline=deadline, reuse_grace=reuse_grace, expiry_leeway=leeway,
            max_inflight=inflight)
    labels = [target.label for target in targets]
    if len(set(labels)) != len(labels):
        raise UsageError(f"--target: a target is listed twice: {', '.join(labels)}")
    faults = frozenset(get("conformance_reference_faults"))
    flavors = frozenset(get("conformance_reference_flavors"))
    if (faults or flavors) and targets:
        raise UsageError("--reference-fault/--reference-flavor apply only without --target")
    if faults or flavors:
        # Importing the fault table imports the whole reference server (its package does):
        # only a run that names a fault or flavour pays for it here.
        from conformance.reference.faults import FAULTS, FLAVORS

        unknown_switches = sorted((faults - FAULTS.keys()) | (flavors - FLAVORS.keys()))
        if unknown_switches:
            raise UsageError("--reference-fault/--reference-flavor: unknown "
                             f"{', '.join(unknown_switches)} (python -m conformance.reference "
                             "--list-faults lists them)")
    expected = None
    if get("conformance_expected_failures"):
        from conformance.nightly.expectations import load
        expected = load(get("conformance_expected_failures"))
    history = get("conformance_history")
    if history:
        from conformance.nightly.history import check_history
        check_history(history)
    return RunSettings(tuple(targets), profile, only,
                       Path(get("conformance_report_dir")), deadline, faults, flavors,
                       leeway, inflight, expected, history)
