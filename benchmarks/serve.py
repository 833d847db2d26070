"""Benchmark: ``derive serve`` under a class of students (goal: p95 < 100 ms for
relu-2-3-3-1-batch with 200 students on a 2-core machine).

Starts ``derive serve PROBLEM`` on 127.0.0.1 (a child process; nothing else is contacted), then
simulates ``--students`` students at once, each checking a full sheet ``--checks`` times: every
check is the POST the page's Check button sends (every box filled) and reads the whole marked
page back. Each student's answers are the sheet's rounded key with one slip of their own (a
different quantity per student, moved between checks), so marking runs its follow-through and
mistake diagnosis as it does for a real class. Between checks a student thinks for a random
time (uniform in [0, 2 * --think] seconds; --think 0 sends the next check at once, which measures
the most the server can do). Bounded: at most --students * --checks requests, and the run stops
after --time-limit seconds whatever is left.

Prints requests, failures, requests per second and the p50/p95/p99/max latency.

Run from the repository root:  python benchmarks/serve.py [--students 200] [--checks 10] [--think 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from derive.loader import load_problem  # noqa: E402
from derive.marking import expected_values  # noqa: E402
from derive.pipeline import solve  # noqa: E402
from derive.quantities import asked_quantities  # noqa: E402
from derive.web.local import running_server  # noqa: E402

PROBLEM = REPOSITORY / "problems" / "relu-2-3-3-1-batch.yaml"
MAX_STUDENTS, MAX_CHECKS = 1000, 50


def sheets(problem_path: Path, students: int, checks: int) -> list[list[bytes]]:
    """Each student's form bodies, one per check: the rounded key with one slip (+0.3 and a bit)."""
    verified = solve(load_problem(problem_path))
    expected, decimals = expected_values(verified), verified.problem.answers.decimals
    asked = asked_quantities(verified.problem)
    key = {item.label: round(expected[item.name], decimals) for item in asked}
    rng = random.Random(2026)
    bodies = []
    for i in range(students):
        slip, size = rng.randrange(len(asked)), round(0.3 + 0.001 * i, 3)  # no two forms alike: no cache hits
        forms = []
        for check in range(checks):
            wrong = asked[(slip + check) % len(asked)].label
            forms.append(urlencode({label: value + (size if label == wrong else 0) for label, value in key.items()}).encode())
        bodies.append(forms)
    return bodies


class Connection:
    """One keep-alive HTTP/1.1 connection: a POST, then the whole response read back."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> int:
        """Send, and read the response; a kept-alive connection the server closed meanwhile (after
        its idle timeout) is opened again and the request sent again, as a browser does."""
        if self.writer is not None:
            try:
                return await self._exchange(path, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(path, body)

    async def _exchange(self, path: str, body: bytes) -> int:
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/x-www-form-urlencoded"
                          f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def student(url: str, path: str, forms: list[bytes], think: float, deadline: float, rng: random.Random,
                  latencies: list[float], failures: list[str]) -> None:
    parts = urlsplit(url)
    connection = Connection(parts.hostname, parts.port)
    try:
        await asyncio.sleep(rng.uniform(0, think))  # students do not all arrive in the same second
        for body in forms:
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            try:
                status = await connection.post(path, body)
            except (OSError, asyncio.IncompleteReadError) as err:
                failures.append(f"{type(err).__name__}: {err}")
                connection.close()
                connection = Connection(parts.hostname, parts.port)
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200:
                failures.append(f"HTTP {status}")
            await asyncio.sleep(rng.uniform(0, 2 * think))
    finally:
        connection.close()


async def simulate(url: str, path: str, bodies: list[list[bytes]], think: float, time_limit: float) -> tuple:
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + time_limit
    start = time.perf_counter()
    await asyncio.gather(*(student(url, path, forms, think, deadline, random.Random(i), latencies, failures)
                           for i, forms in enumerate(bodies)))
    return latencies, failures, time.perf_counter() - start


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", nargs="?", type=Path, default=PROBLEM)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--checks", type=int, default=10)
    parser.add_argument("--think", type=float, default=10.0, help="mean seconds between a student's checks")
    parser.add_argument("--time-limit", type=float, default=300.0, help="stop after this many seconds")
    parser.add_argument("--workers", type=int, default=1, help="derive serve --workers (server processes)")
    args = parser.parse_args()
    if not (1 <= args.students <= MAX_STUDENTS and 1 <= args.checks <= MAX_CHECKS and args.think >= 0
            and 1 <= args.workers <= 8 and 0 < args.time_limit <= 3600):
        parser.error(f"--students 1..{MAX_STUDENTS}, --checks 1..{MAX_CHECKS}, --think >= 0, --workers 1..8, "
                     "--time-limit up to 3600 s")
    bodies = sheets(args.problem, args.students, args.checks)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.problem.name}: "
          f"{args.students} students x {args.checks} checks, think time {args.think:g} s mean, "
          f"{args.workers} server process(es)")
    with running_server(args.problem, workers=args.workers) as url:
        path = f"/sheet/{args.problem.stem}"
        time.sleep(3 * (args.workers - 1))  # the first worker answers; let the others finish solving
        latencies, failures, elapsed = asyncio.run(simulate(url, path, bodies, args.think, args.time_limit))
    ms = sorted(1000 * value for value in latencies)
    print(f"requests: {len(ms)} in {elapsed:.1f} s = {len(ms) / elapsed:.1f} per second; failures: {len(failures)}"
          + (f" (first: {failures[0]})" if failures else ""))
    if ms:
        p50, p95, p99 = (percentile(ms, p) for p in (50, 95, 99))
        print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {ms[-1]:.1f}"
              f"  (goal p95 < 100: {'met' if p95 < 100 else 'not met'})")


if __name__ == "__main__":
    main()
