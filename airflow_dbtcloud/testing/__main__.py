"""Command line: ``python -m airflow_dbtcloud.testing serve [--port N] [--host H] [--config F] [--tls]
[--adapter A] [--synthetic-models N]``."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from collections.abc import Sequence

from airflow_dbtcloud.testing.adapters import ADAPTERS
from airflow_dbtcloud.testing.server import Emulator


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m airflow_dbtcloud.testing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulated dbt Cloud Admin API until Ctrl-C or SIGTERM")
    serve.add_argument("--port", type=int, default=8787, help="port to bind (0 = any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (loopback only by default)")
    serve.add_argument("--config", help="JSON or YAML configuration file")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    serve.add_argument("--speed", type=float, default=None, help="emulator clock multiplier")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback interface (no real security!)",
    )
    serve.add_argument("--conn-id", default="dbt_cloud_default", help="Airflow connection id to print")
    serve.add_argument("--adapter", choices=sorted(ADAPTERS), help="warehouse adapter (default: postgres)")
    serve.add_argument(
        "--synthetic-models", type=int, default=None, help="generated models to add to the project"
    )
    args = parser.parse_args(argv)
    if not _is_loopback(args.host) and not args.allow_remote:
        parser.error(f"refusing to bind non-loopback host {args.host!r} without --allow-remote")
    try:
        emu = Emulator(
            args.config,
            tls=args.tls,
            host=args.host,
            port=args.port,
            adapter=args.adapter,
            synthetic_models=args.synthetic_models,
        )
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emu.start()
    if args.speed is not None:
        emu.speed = args.speed
    try:
        var, value = next(iter(emu.env(args.conn_id).items()))
        print(f"dbt Cloud emulator listening on {emu.base_url}")
        print(f"account id: {emu.account_id}  token: {emu.token}")
        print(f"connection URI: {emu.conn_uri}")
        print(f"export {var}='{value}'")
        if emu.ca_file:
            print(f"export SSL_CERT_FILE={emu.ca_file} REQUESTS_CA_BUNDLE={emu.ca_file}")
        print(f"warehouse adapter: {emu.adapter}")
        print(
            "control API: GET /_emulator/journal, GET /_emulator/counters, POST /_emulator/reset, "
            "GET|POST /_emulator/settings"
        )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    print("dbt Cloud emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
