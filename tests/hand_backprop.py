"""Backpropagation by hand, in NumPy, for the marking tests: the first step of a problem, every
quantity labelled as a student types it (z1_2, delta2_1, dW2_11, new_W2_11, ...).

Written for the tests from the textbook rules and the problem's own numbers; it imports nothing
from derive. ``rnd`` is applied to every quantity a student writes down, as soon as it is
computed, so that ``rnd=lambda v: round(v, 4)`` is a student carrying rounded values forward.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


ACT = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softmax": lambda z: np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True),
}
PRIME_Z = {
    "sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "identity": lambda z: np.ones_like(z),
    "softplus": sigmoid,
}
PRIME_A = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a**2}


def problem_dict(name: str) -> dict:
    return yaml.safe_load((PROBLEMS / f"{name}.yaml").read_text(encoding="utf-8"))


def per_example_loss(loss: str, A, Y):
    if loss == "half_mse":
        return 0.5 * ((Y - A) ** 2).sum(axis=1)
    if loss == "mse":
        return ((Y - A) ** 2).mean(axis=1)
    if loss == "bce":
        return -(Y * np.log(A) + (1 - Y) * np.log(1 - A)).sum(axis=1)
    return -(Y * np.log(A)).sum(axis=1)


def first_step(doc: dict, rnd=lambda v: v, fprime_form: str = "z", slips: dict | None = None) -> dict[str, float]:
    """Every quantity of the first step (full batch or the first batch), by label.

    ``slips`` (label -> value) replaces a quantity as soon as it is computed: a student's
    slip, carried forward into everything computed from it."""
    slips = slips or {}
    net, params, data, training = doc["network"], doc["parameters"], doc["data"], doc["training"]
    depth = len(net["layers"]) - 1
    acts, loss = net["activations"], net["loss"]
    bias = net.get("bias", True)
    W = [np.array(params[f"W{l}"], dtype=float) for l in range(1, depth + 1)]
    b = [np.array(params[f"b{l}"], dtype=float) if bias else np.zeros(len(params[f"W{l}"])) for l in range(1, depth + 1)]
    batch = training.get("batch", "full")
    m_all = len(data["inputs"])
    m = m_all if batch == "full" else batch
    X = np.array(data["inputs"], dtype=float)[:m]
    Y = np.array(data["targets"], dtype=float)[:m]
    eta, l2 = training["learning_rate"], training.get("l2", 0.0)
    r = np.vectorize(rnd, otypes=[float])
    ex = (lambda i: "") if m == 1 else (lambda i: f"[{i + 1}]")
    out: dict[str, float] = {}

    def record(kind, l, M):
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                label = f"{kind}{l}_{j + 1}{ex(i)}"
                M[i, j] = slips.get(label, M[i, j])
                out[label] = float(M[i, j])
        return M

    zs, As = [], [X]
    for l in range(depth):
        z = record("z", l + 1, r(As[-1] @ W[l].T + b[l]))
        a = record("a", l + 1, r(ACT[acts[l]](z)))
        zs.append(z)
        As.append(a)
    L = r(per_example_loss(loss, As[-1], Y))
    for i in range(m):
        L[i] = out[f"L{ex(i)}"] = float(slips.get(f"L{ex(i)}", L[i]))
    cost = m > 1 or l2 > 0
    if cost:
        out["J"] = float(slips.get("J", rnd(L.mean() + l2 / (2 * m) * sum((w**2).sum() for w in W))))

    def prime(l, z, a):
        name = acts[l]
        return PRIME_A[name](a) if fprime_form == "a" and name in PRIME_A else PRIME_Z[name](z)

    deltas = [None] * depth
    A_out = As[-1]
    if (acts[-1], loss) in (("sigmoid", "bce"), ("softmax", "cross_entropy")):
        deltas[-1] = record("delta", depth, r(A_out - Y))
    else:
        grad = (A_out - Y) if loss == "half_mse" else 2 * (A_out - Y) / Y.shape[1]
        deltas[-1] = record("delta", depth, r(grad * prime(depth - 1, zs[-1], A_out)))
    for l in range(depth - 2, -1, -1):
        deltas[l] = record("delta", l + 1, r((deltas[l + 1] @ W[l + 1]) * prime(l, zs[l], As[l + 1])))
    new_W, new_b = [], []
    for l in range(depth):
        gW = r(deltas[l].T @ As[l] / m + l2 / m * W[l])
        gb = r(deltas[l].mean(axis=0))
        for j, k in np.ndindex(gW.shape):
            gW[j, k] = out[f"dW{l + 1}_{j + 1}{k + 1}"] = slips.get(f"dW{l + 1}_{j + 1}{k + 1}", gW[j, k])
        for j in range(len(gb)):
            gb[j] = slips.get(f"db{l + 1}_{j + 1}", gb[j])
        nW, nb = r(W[l] - eta * gW), r(b[l] - eta * gb)
        for j in range(W[l].shape[0]):
            for k in range(W[l].shape[1]):
                nW[j, k] = out[f"new_W{l + 1}_{j + 1}{k + 1}"] = slips.get(f"new_W{l + 1}_{j + 1}{k + 1}", nW[j, k])
            if bias:
                out[f"db{l + 1}_{j + 1}"] = float(gb[j])
                nb[j] = out[f"new_b{l + 1}_{j + 1}"] = slips.get(f"new_b{l + 1}_{j + 1}", nb[j])
        new_W.append(nW)
        new_b.append(nb)
    A = X
    for l in range(depth):
        A = r(ACT[acts[l]](r(A @ new_W[l].T + new_b[l])))
    after = r(per_example_loss(loss, A, Y))
    value = after.mean() + l2 / (2 * m) * sum((w**2).sum() for w in new_W)
    out["J_after" if cost else "L_after"] = float(rnd(value))
    return out
