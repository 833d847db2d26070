"""The machine a benchmark ran on, for its first line: processor, cores, Python, load average and
how long a fixed pure-Python loop takes (this kind of machine's speed drifts by up to 1.7 times
between hours and sessions; the loop's time says how fast it is running now, so that figures
from different runs can be compared)."""

from __future__ import annotations

import os
import platform
import time


def reference_loop() -> float:
    """Seconds for 10^7 additions in a Python loop (best of 3)."""
    times = []
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for i in range(10**7):
            total += i
        times.append(time.perf_counter() - start)
    return min(times)


def describe() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f}, reference loop {reference_loop():.2f} s "
            "(10^7 additions in Python)")
