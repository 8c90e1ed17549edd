"""Simple-GET throughput of the dbt Cloud emulator over loopback.

The emulator runs in a child process pinned to one CPU core; concurrent keep-alive aiohttp clients in
this process send ``GET /api/v2/accounts/1/`` for a fixed time per round. Prints the median req/s.

Usage: ``.venv/bin/python benchmarks/emulator_throughput.py [--rounds 5] [--seconds 2] [--clients 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import selectors
import statistics
import subprocess
import sys
import time

import aiohttp


async def _round(url: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds
        done = 0

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"unexpected status {resp.status}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - started)


#: Seconds the emulator may take to say where it listens.
START_TIMEOUT = 30.0


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """Read the first line the child writes to its stdout pipe, waiting at most ``timeout`` seconds.

    :param proc: The child, started with ``stdout=subprocess.PIPE`` (its pipe is read directly).
    :param timeout: Seconds to wait.
    :raises RuntimeError: When no whole line comes in time or the child closes its stdout first.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    got = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise RuntimeError(f"emulator wrote no line within {timeout} s; read so far: {got!r}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"emulator exited ({proc.poll()}) before a line; read so far: {got!r}")
            got += chunk
    return got.decode(errors="replace").partition("\n")[0]


def _start_server() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "airflow_dbtcloud.testing", "serve", "--port", "0"]
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = _first_line(proc, START_TIMEOUT)
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise
    return proc, line.rsplit(" ", 1)[1].strip()


def main() -> int:
    """Run the benchmark and print per-round and median throughput.

    :return: Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # clients on the other core, so the server owns core 0
    proc, base_url = _start_server()
    try:
        url = f"{base_url}/api/v2/accounts/1/"
        headers = {"Authorization": "Token dbtc_emulator_token_do_not_log"}
        asyncio.run(_round(url, headers, args.clients, 0.5))  # warm-up
        rates = []
        for i in range(args.rounds):
            rate = asyncio.run(_round(url, headers, args.clients, args.seconds))
            rates.append(rate)
            print(f"round {i + 1}: {rate:,.0f} req/s")
        print(f"median: {statistics.median(rates):,.0f} req/s (GET {url}, {args.clients} keep-alive clients)")
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
