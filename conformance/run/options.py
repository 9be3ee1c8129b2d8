"""The suite's command-line options (one table for the pytest plugin and `python -m conformance`)
and their validation into RunSettings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.model.catalogue import catalogue
from conformance.model.errors import UsageError
from conformance.run.profiles import DEFAULT_PROFILE, PROFILES, Profile
from conformance.run.target_config import (
    DEFAULT_DEADLINE,
    DEFAULT_EXPIRY_LEEWAY,
    DEFAULT_MAX_INFLIGHT,
    TargetConfig,
    client_certificate,
    over_transports,
    parse_base_url,
    parse_inflight,
    parse_metadata,
    parse_origin,
    parse_seconds,
    parse_target,
    parse_transports,
    readable_file,
    token_source_from,
)
from conformance.run.targets_file import load_targets_file
from conformance.transport.settings import ChannelSettings

__all__ = ["OPTIONS", "RunSettings", "add_options", "pytest_argv", "settings_from"]



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
    Option("--transport", "conformance_transport",
           "how the suite talks to every target: grpc (default), grpc-web, grpc-web-text, "
           "connect, connect-json, a list, or all", {"default": "grpc", "metavar": "NAME[,NAME]"}),
    Option("--web-url", "conformance_web_url",
           "gRPC-Web's base URL, when not the target's address", {"metavar": "URL"}),
    Option("--connect-url", "conformance_connect_url",
           "Connect's base URL, when not --web-url's", {"metavar": "URL"}),
    Option("--web-origin", "conformance_web_origin",
           "the browser origin the target is called from (WB-03, WB-04)", {"metavar": "ORIGIN"}),
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
    expected_failures: str | None = None   # the file; the plugin reads it (conformance.nightly)
    history: str | None = None
    transports: tuple[str, ...] = ("grpc",)   # for the embedded target (TargetConfig's)
    web_origin: str | None = None             # ... and its declared browser origin

    @property
    def embedded(self) -> bool:
        return not self.targets


# The longest --expiry-wait: a week (a soak run may wait out a day-long access token).
MAX_EXPIRY_WAIT = 7 * 86400.0


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
    plaintext = bool(get("conformance_plaintext"))
    transports = parse_transports(get("conformance_transport"))
    web = _web_options(get, plaintext)
    given = [(value, *parse_target(value, plaintext)) for value in get("conformance_targets")]
    if given:
        tokens = token_source_from(
            get("conformance_login_email"), get("conformance_login_password_env"),
            get("conformance_token_command"), get("conformance_refresh_token_env"), "options")
        for shown, address, url in given:
            channel = ChannelSettings(address, plaintext=plaintext,
                                      ca_file=ca_file, server_name=get("conformance_server_name"),
                                      cert_file=cert_file, key_file=key_file,
                                      metadata=metadata, deadline=deadline)
            one = TargetConfig(channel, tokens, reuse_grace, leeway, inflight,
                               web_url=url or web.web_url, connect_url=web.connect_url,
                               web_origin=web.web_origin, shown_as=shown)
            targets += over_transports(one, transports, url is not None, "--target")
    if get("conformance_targets_file"):
        targets += load_targets_file(
            readable_file(get("conformance_targets_file"), "--targets-file"),
            deadline=deadline, reuse_grace=reuse_grace, expiry_leeway=leeway,
            max_inflight=inflight, transports=transports)
    labels = [target.label for target in targets]
    if len(set(labels)) != len(labels):
        raise UsageError(f"--target: a target is listed twice: {', '.join(labels)}")
    faults = frozenset(get("conformance_reference_faults"))
    flavors = frozenset(get("conformance_reference_flavors"))
    if (faults or flavors) and targets:
        raise UsageError("--reference-fault/--reference-flavor apply only without --target")
    history = get("conformance_history")
    return RunSettings(tuple(targets), profile, only,
                       Path(get("conformance_report_dir")), deadline, faults, flavors,
                       leeway, inflight, get("conformance_expected_failures") or None,
                       history, transports, web.web_origin)


@dataclass(frozen=True)
class WebOptions:
    web_url: str | None = None
    connect_url: str | None = None
    web_origin: str | None = None


def _web_options(get: Callable[[str], Any], plaintext: bool) -> WebOptions:
    return WebOptions(parse_base_url(get("conformance_web_url"), plaintext, "--web-url"),
                      parse_base_url(get("conformance_connect_url"), plaintext, "--connect-url"),
                      parse_origin(get("conformance_web_origin")))
