"""A student's answers to problems/sgd-sigmoid-hidden.yaml with one planted slip, computed in
NumPy for the tests (never from derive's own output): the web page tests and the browser test."""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def planted_answers() -> dict[str, float]:
    """sgd-sigmoid-hidden worked in NumPy with one slip: delta2 = a - y, sigma'(z2) forgotten.
    Everything after it is computed honestly from the slip, the way a student works on paper:
    each value rounded to the sheet's 4 decimals and carried forward rounded."""
    r = lambda value: np.round(value, 4)  # noqa: E731
    W1, b1 = np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.1])
    W2, b2 = np.array([[0.5, -0.6]]), np.array([0.2])
    x, y, eta = np.array([0.5, 0.9]), np.array([1.0]), 0.5
    z1 = r(W1 @ x + b1)
    a1 = r(sigmoid(z1))
    z2 = r(W2 @ a1 + b2)
    a2 = r(sigmoid(z2))
    loss = r(0.5 * np.sum((y - a2) ** 2))
    d2 = r(a2 - y)  # the planted mistake: times a2 (1 - a2) forgotten
    d1 = r((W2.T @ d2) * a1 * (1 - a1))
    gW1, gW2 = r(np.outer(d1, x)), r(np.outer(d2, a1))
    nW1, nb1, nW2, nb2 = r(W1 - eta * gW1), r(b1 - eta * d1), r(W2 - eta * gW2), r(b2 - eta * d2)
    after = r(0.5 * np.sum((y - sigmoid(nW2 @ sigmoid(nW1 @ x + nb1) + nb2)) ** 2))
    values = {"z1_1": z1[0], "z1_2": z1[1], "a1_1": a1[0], "a1_2": a1[1], "z2_1": z2[0], "a2_1": a2[0],
              "L": loss, "delta2_1": d2[0], "delta1_1": d1[0], "delta1_2": d1[1]}
    for l, (gW, gb) in ((1, (gW1, d1)), (2, (gW2, d2))):
        for j in range(gW.shape[0]):
            values.update({f"dW{l}_{j + 1}{k + 1}": gW[j, k] for k in range(gW.shape[1])})
            values[f"db{l}_{j + 1}"] = gb[j]
    for l, (W, b) in ((1, (nW1, nb1)), (2, (nW2, nb2))):
        for j in range(W.shape[0]):
            values.update({f"new_W{l}_{j + 1}{k + 1}": W[j, k] for k in range(W.shape[1])})
            values[f"new_b{l}_{j + 1}"] = b[j]
    values["L_after"] = after
    return {label: float(value) for label, value in values.items()}


#: What derive should make of them: the forward pass and the loss right, the slip wrong, the rest
#: follow-through.
RIGHT = {"z1_1", "z1_2", "a1_1", "a1_2", "z2_1", "a2_1", "L"}
PLANTED = "delta2_1"
