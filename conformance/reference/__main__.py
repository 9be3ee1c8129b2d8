"""`python -m conformance.reference`: serve the reference implementation on loopback."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from conformance.reference.faults import FAULTS, FLAVORS
from conformance.reference.server import (
    DEFAULT_EMAIL,
    DEFAULT_WEB_ORIGIN,
    ReferenceServer,
    ServerOptions,
)

DEVELOPMENT_PASSWORD = "reference-dev-password"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m conformance.reference",
                                description="The embedded reference server of userapi-conformance.")
    p.add_argument("--port", type=int, default=0, help="listen on 127.0.0.1:P (0: any free port)")
    p.add_argument("--db", default=":memory:", help="SQLite file (default :memory:)")
    p.add_argument("--email", default=DEFAULT_EMAIL, help="the seeded test user's email")
    p.add_argument("--password-env", metavar="VAR",
                   help="read the test user's password from environment variable VAR")
    p.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME",
                   help="switch on a named fault (repeatable); see --list-faults")
    p.add_argument("--flavor", action="append", default=[], choices=sorted(FLAVORS),
                   metavar="NAME", help="correct-but-different behaviour (repeatable)")
    p.add_argument("--list-faults", action="store_true",
                   help="list the faults with the requirements each breaks, and the flavours")
    p.add_argument("--latency-ms", type=int, default=0, help="add N ms to every RPC")
    p.add_argument("--reuse-grace", type=float, default=0.0,
                   help="accept a rotated-out refresh token for this many seconds")
    p.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.add_argument("--client-ca", metavar="PEM",
                   help="with TLS: require client certificates signed by this CA (mutual TLS)")
    p.add_argument("--access-ttl", "--access-token-lifetime", dest="access_token_lifetime",
                   type=int, default=900, metavar="SECONDS",
                   help="access-token lifetime, the expires_in it states (default 900)")
    p.add_argument("--web-port", type=int, metavar="P",
                   help="also serve gRPC-Web and Connect on 127.0.0.1:P (0: any free port), "
                        "through Envoy and a Connect server (the web extra)")
    p.add_argument("--web-origin", default=DEFAULT_WEB_ORIGIN, metavar="ORIGIN",
                   help=f"the browser origin that the web face allows (CORS; default "
                        f"{DEFAULT_WEB_ORIGIN})")
    return p


def list_faults() -> None:
    width = max(map(len, [*FAULTS, *FLAVORS]))
    for fault in FAULTS.values():
        print(f"{fault.name:<{width}}  breaks {','.join(sorted(fault.breaks))}: {fault.summary}")
    for flavor in FLAVORS.values():
        print(f"{flavor.name:<{width}}  flavor (stays conformant): {flavor.summary}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list_faults:
        list_faults()
        return 0
    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.client_ca and not args.tls_cert:
        print("error: --client-ca needs --tls-cert and --tls-key", file=sys.stderr)
        return 2
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            print(f"error: environment variable {args.password_env} is not set or empty",
                  file=sys.stderr)
            return 2
    else:
        password = DEVELOPMENT_PASSWORD
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        server = ReferenceServer(ServerOptions(
            port=args.port, db=args.db, email=args.email, password=password,
            faults=frozenset(args.fault), flavors=frozenset(args.flavor),
            latency_ms=args.latency_ms, reuse_grace=args.reuse_grace,
            access_token_lifetime=args.access_token_lifetime,
            tls_cert_file=args.tls_cert, tls_key_file=args.tls_key,
            tls_client_ca_file=args.client_ca, web_port=args.web_port,
            web_origin=args.web_origin))
        # Before start-up: a signal while Envoy starts must still stop it.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        server.start()
    except ImportError as error:  # the web face without its extra
        print(f"error: --web-port needs {error.name or 'the web extra'}: "
              "pip install 'userapi-conformance[web]'", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = "from $" + args.password_env if args.password_env else f"{password} (development only)"
    faults = f", faults: {','.join(sorted(args.fault))}" if args.fault else ""
    web = f", gRPC-Web and Connect on {server.web_url} (CORS origin {args.web_origin})" \
        if server.web_url else ""
    print(f"reference server listening on {server.address}{web}; test user {args.email}, "
          f"password {shown}{faults}", flush=True)
    stop.wait()
    server.stop()
    print("reference server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
