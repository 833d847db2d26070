"""Benchmark: derive's layer-by-layer derivation against naive whole-loss differentiation.

For each network (all sigmoid, half_mse, one example, random weights from a fixed seed, one
SGD step) it times, cold (derive's lru caches and SymPy's own cache cleared first), best of
``--repeats``:

* derive + substitute: ``derive.derivation.derive(network)`` and one step of numbers,
* verify: ``derive.verify.verify`` of that solution alone,
* solve: the whole ``derive.pipeline.solve(problem)``;

and once, in a forked subprocess killed after ``--cap`` seconds, the naive approach: the
per-example loss as one ``sympy.expand``-ed expression in every weight, bias, input and target
symbol, ``sympy.diff`` once per weight and bias, and the numbers substituted into each
derivative. The speed-up is naive / (derive + substitute), the two doing the same job (every
gradient of one step); the last column is the largest difference between the two sets of
gradients, a check that both computed the same thing.

Run from the repository root:  python benchmarks/derivation.py [--cap 60] [--sizes 2-2-2 ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import time

import numpy as np
import sympy as sp

from derive import derivation, pipeline, worked
from derive.spec import Network, Problem, Training
from derive.symbols import build_symbolic_network
from derive.verify import verify

NETWORKS = ("2-2-2", "2-3-3-1", "4-8-8-4", "8-16-16-4")
SEED = 20260101


def make_problem(name: str) -> Problem:
    """A sigmoid/half_mse network with one example and seeded random weights, one SGD step."""
    sizes = tuple(int(n) for n in name.split("-"))
    rng = random.Random(SEED)
    u = lambda low=-1.0: round(rng.uniform(low, 1.0), 4)  # noqa: E731
    weights = tuple(tuple(tuple(u() for _ in range(sizes[l - 1])) for _ in range(sizes[l])) for l in range(1, len(sizes)))
    biases = tuple(tuple(u() for _ in range(sizes[l])) for l in range(1, len(sizes)))
    network = Network(sizes, ("sigmoid",) * (len(sizes) - 1), "half_mse")
    inputs, targets = (tuple(u() for _ in range(sizes[0])),), (tuple(u(0.0) for _ in range(sizes[-1])),)
    return Problem(f"bench {name}", network, weights, biases, inputs, targets, Training(learning_rate=0.5, steps=1))


def cold() -> None:
    derivation.activation_rule.cache_clear()
    derivation.output_rule.cache_clear()
    sp.core.cache.clear_cache()


def time_derive(problem: Problem, repeats: int) -> tuple[float, float, float, np.ndarray]:
    """Best seconds for derive + substitute, verify alone and solve (interleaved, so that load
    from other processes hits all three alike); and derive's gradients."""
    solution = worked.substitute(problem, derivation.derive(problem.network))
    jobs = {
        "substitute": lambda: worked.substitute(problem, derivation.derive(problem.network)),
        "verify": lambda: verify(solution),
        "solve": lambda: pipeline.solve(problem),
    }
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(repeats):
        for key, job in jobs.items():
            cold()
            start = time.perf_counter()
            job()
            best[key] = min(best[key], time.perf_counter() - start)
    grads = np.concatenate([np.r_[layer.grad_W.ravel(), layer.grad_b] for layer in solution.steps[0].layers])
    return best["substitute"], best["verify"], best["solve"], grads


def naive(problem: Problem, conn) -> None:
    """Expand the whole loss, differentiate it per parameter, substitute; send (seconds, grads)."""
    sp.core.cache.clear_cache()
    start = time.perf_counter()
    net = build_symbolic_network(problem.network)
    loss = sp.expand(net.loss)
    values = {s: sp.Float(v) for s, v in zip(net.x + net.y, problem.inputs[0] + problem.targets[0])}
    for W, b, W_num, b_num in zip(net.weights, net.biases, problem.weights, problem.biases):
        values.update({W[j, k]: sp.Float(v) for j, row in enumerate(W_num) for k, v in enumerate(row)})
        values.update({b[j]: sp.Float(v) for j, v in enumerate(b_num)})
    grads = [float(sp.diff(loss, p).xreplace(values).evalf()) for p in net.parameters]
    conn.send((time.perf_counter() - start, grads))


def time_naive(problem: Problem, cap: float) -> tuple[float | None, np.ndarray | None]:
    """Run :func:`naive` in a forked child; (None, None) if it did not finish within ``cap``."""
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=naive, args=(problem, send), daemon=True)
    child.start()
    result = receive.recv() if receive.poll(cap) else None
    if result is None:
        child.terminate()
    child.join()
    return (None, None) if result is None else (result[0], np.array(result[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cap", type=float, default=60.0, help="seconds allowed to the naive approach per network")
    parser.add_argument("--sizes", nargs="+", choices=NETWORKS, default=list(NETWORKS), help="networks to run")
    parser.add_argument("--repeats", type=int, default=5, help="derive timings are the best of this many runs")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs (nproc), {platform.machine()}, Python {platform.python_version()}, "
          f"SymPy {sp.__version__}, NumPy {np.__version__}; load average {os.getloadavg()[0]:.2f}")
    print(f"derive: best of {args.repeats}, cold caches; naive: one cold run in a subprocess, cap {args.cap:g} s\n")
    header = ("network", "params", "derive+subst s", "verify s", "solve s", "naive s", "speed-up", "max |grad diff|")
    rows = [header]
    for name in args.sizes:
        problem = make_problem(name)
        substituted, verified, solved, grads = time_derive(problem, args.repeats)
        naive_s, naive_grads = time_naive(problem, args.cap)
        if naive_s is None:
            naive_col, speedup, diff = f"> {args.cap:g} (capped)", "-", "-"
        else:
            naive_col, speedup = f"{naive_s:.2f}", f"{naive_s / substituted:.1f}x"
            diff = f"{float(np.max(np.abs(naive_grads - grads))):.1e}"
        params = derivation.parameter_count(problem.network)
        rows.append((name, str(params), f"{substituted:.3f}", f"{verified:.3f}", f"{solved:.3f}", naive_col, speedup, diff))
        print(f"  done {name}", flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
