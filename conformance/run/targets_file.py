"""`--targets-file`: a TOML vendor matrix, a [[target]] table each, secrets by env var name."""

from __future__ import annotations

from conformance.model.errors import UsageError
from conformance.model.toml_file import read_toml
from conformance.run.target_config import (
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
from conformance.transport.settings import ChannelSettings

__all__ = ["load_targets_file"]

KEYS = {"address", "plaintext", "ca_file", "server_name", "login_email", "login_password_env",
        "token_command", "refresh_token_env", "metadata", "deadline", "reuse_grace", "cert_file",
        "key_file", "expiry_leeway", "max_inflight", "transport", "web_url", "connect_url",
        "web_origin"}


def load_targets_file(path: str, *, deadline: float, reuse_grace: float,
                      expiry_leeway: float = 5.0, max_inflight: int | None = None,
                      transports: tuple[str, ...] = ("grpc",)) -> list[TargetConfig]:
    """The targets of a TOML file; UsageError names the file, the entry and the problem."""
    data = read_toml(path, f"--targets-file {path}")
    entries = data.get("target")
    if not isinstance(entries, list) or not entries or not all(
            isinstance(entry, dict) for entry in entries):
        raise UsageError(f"--targets-file {path}: expected one or more [[target]] tables")
    unknown_top = sorted(set(data) - {"target"})
    if unknown_top:
        raise UsageError(f"--targets-file {path}: unknown key {', '.join(unknown_top)}")
    targets = []
    for index, entry in enumerate(entries, start=1):
        where = f"--targets-file {path}: target {index}"
        if "password" in entry or "refresh_token" in entry:
            raise UsageError(f"{where}: secrets go in environment variables, named by *_env keys")
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            raise UsageError(f"{where}: unknown key {', '.join(unknown)} (allowed: "
                             f"{', '.join(sorted(KEYS))})")
        address = entry.get("address")
        if not isinstance(address, str):
            raise UsageError(f"{where}: 'address' (HOST:PORT or a base URL) is required")
        where = f"--targets-file {path}: target {index} ({address})"
        for key in ("web_url", "connect_url", "web_origin"):
            if not isinstance(entry.get(key, ""), str):
                raise UsageError(f"{where}: {key!r} must be a string")
        metadata = entry.get("metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise UsageError(f"{where}: 'metadata' must be a table of strings")
        plaintext = entry.get("plaintext", False)
        if not isinstance(plaintext, bool):
            raise UsageError(f"{where}: 'plaintext' must be true or false")
        ca_file = entry.get("ca_file")
        if ca_file is not None:
            readable_file(str(ca_file), where)
        cert_file, key_file = entry.get("cert_file"), entry.get("key_file")
        if not all(isinstance(v, str | None) for v in (cert_file, key_file)):
            raise UsageError(f"{where}: 'cert_file' and 'key_file' must be file paths")
        cert_file, key_file = client_certificate(cert_file, key_file, where,
                                                 ("cert_file", "key_file"))
        if cert_file and plaintext:
            raise UsageError(f"{where}: 'cert_file' (mutual TLS) needs TLS; drop 'plaintext'")
        host_port, url = parse_target(address, plaintext, where)
        channel = ChannelSettings(
            host_port, plaintext=plaintext, ca_file=ca_file,
            server_name=entry.get("server_name"), cert_file=cert_file, key_file=key_file,
            metadata=parse_metadata([f"{k}={v}" for k, v in metadata.items()], where),
            deadline=parse_seconds(entry.get("deadline", deadline), where + ": deadline",
                                   positive=True))
        tokens = token_source_from(entry.get("login_email"), entry.get("login_password_env"),
                                   entry.get("token_command"), entry.get("refresh_token_env"),
                                   where)
        grace = parse_seconds(entry.get("reuse_grace", reuse_grace), where + ": reuse_grace",
                              positive=False)
        leeway = parse_seconds(entry.get("expiry_leeway", expiry_leeway),
                               where + ": expiry_leeway", positive=False)
        inflight = entry.get("max_inflight", DEFAULT_MAX_INFLIGHT if max_inflight is None
                             else max_inflight)
        if isinstance(inflight, bool) or not isinstance(inflight, int):  # TOML 8, not "8"
            raise UsageError(f"{where}: 'max_inflight' must be a whole number")
        one = TargetConfig(
            channel, tokens, grace, leeway, parse_inflight(inflight, where + ": max_inflight"),
            web_url=url or parse_base_url(entry.get("web_url"), plaintext, where + ": web_url"),
            connect_url=parse_base_url(entry.get("connect_url"), plaintext,
                                       where + ": connect_url"),
            web_origin=parse_origin(entry.get("web_origin"), where + ": web_origin"),
            shown_as=address)
        chosen = parse_transports(entry["transport"], where + ": transport") \
            if "transport" in entry else transports
        targets += over_transports(one, chosen, url is not None, where)
    return targets
