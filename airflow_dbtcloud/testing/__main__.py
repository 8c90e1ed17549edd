"""Command line of the dbt Cloud emulator.

``python -m airflow_dbtcloud.testing serve [--port N] [--host H] [--config F] [--tls] [--adapter A]
[--synthetic-models N]`` serves it; ``python -m airflow_dbtcloud.testing start-run --base-url URL --job ID
[--source scheduler|ci|person|api] ...`` starts a run on a running emulator as dbt Cloud's scheduler, a pull
request or a person would, and prints its id. ``start-run`` sends the token in DBT_CLOUD_EMULATOR_TOKEN
(default: the emulator's default token).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from airflow_dbtcloud.testing.access import is_loopback
from airflow_dbtcloud.testing.adapters import ADAPTERS
from airflow_dbtcloud.testing.config import DEFAULT_TOKEN
from airflow_dbtcloud.testing.origins import SOURCES
from airflow_dbtcloud.testing.server import Emulator

TOKEN_ENV = "DBT_CLOUD_EMULATOR_TOKEN"  # noqa: S105 - the name of a variable, not a token


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status: 0 on success, 1 when a running emulator refused ``start-run``, 2 on bad usage.
    """
    parser = argparse.ArgumentParser(
        prog="python -m airflow_dbtcloud.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_start_run(sub)
    args = parser.parse_args(argv)
    if args.command == "start-run":
        return _start_run(parser, args)
    return _serve(parser, args)


def _add_serve(sub: Any) -> None:
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


def _add_start_run(sub: Any) -> None:
    start = sub.add_parser(
        "start-run",
        help="start a run on a running emulator as dbt Cloud's scheduler, a pull request or a person would",
    )
    start.add_argument("--base-url", default="http://127.0.0.1:8787", help="the emulator's base URL")
    start.add_argument("--job", type=int, required=True, help="id of the job to run")
    start.add_argument("--source", choices=sorted(SOURCES), default="scheduler", help="who starts the run")
    start.add_argument("--cause", help="cause text (default: the one the source writes)")
    start.add_argument("--git-branch", help="branch to check out")
    start.add_argument("--git-sha", help="commit to check out")
    start.add_argument("--pull-request-id", type=int, help="pull request of a ci run (default 1)")
    start.add_argument("--person", help="email of the person who clicked Run now (person runs)")
    start.add_argument("--ca-file", help="CA bundle to trust (an emulator served with --tls)")
    start.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback base URL (the emulator's token travels with the request)",
    )


def _start_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    url = urlsplit(args.base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        parser.error(f"--base-url must be an http(s) URL, not {args.base_url!r}")
    if not is_loopback(url.hostname) and not args.allow_remote:
        parser.error(f"refusing to control non-loopback host {url.hostname!r} without --allow-remote")
    fields = {
        "source": args.source,
        "cause": args.cause,
        "git_branch": args.git_branch,
        "git_sha": args.git_sha,
        "pull_request_id": args.pull_request_id,
        "person": args.person,
    }
    body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked to be http(s) above
        f"{args.base_url.rstrip('/')}/_emulator/jobs/{args.job}/runs",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Token {_token()}"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as resp:  # noqa: S310 - http(s), checked above
            run = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        print(f"the emulator refused: {_error_of(exc)}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach the emulator at {args.base_url}: {exc}", file=sys.stderr)
        return 1
    print(run["id"])
    return 0


def _token() -> str:
    # from the environment, not an option: a command line is visible to every user of the machine
    return os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code}"


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        emu = Emulator(
            args.config,
            tls=args.tls,
            host=args.host,
            port=args.port,
            adapter=args.adapter,
            synthetic_models=args.synthetic_models,
            allow_remote=args.allow_remote,
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
            "GET|POST /_emulator/settings, POST /_emulator/jobs/{id}/runs "
            "(header Authorization: Token <token>)"
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
