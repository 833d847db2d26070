"""Matrix products summed in one fixed order, so that every machine prints the same numbers.

``A @ B`` hands the sums to BLAS, whose kernel is chosen for the CPU at start (OpenBLAS picks
SkylakeX, Haswell or Zen code): blocking and fused multiply-adds differ between kernels, and so
do the last bits of a product. Those bits reach the answer key (key.json keeps full precision)
and the verification line ("largest difference 1.1e-16"), so one problem file gave different
outputs on an Intel and an AMD machine. :func:`matmul` multiplies and adds with separate NumPy
operations in the order k = 1, 2, ..., which IEEE arithmetic rounds the same everywhere, and
works on stacked arrays slice by slice with the same operations (stacked equals one by one).

>>> import numpy as np
>>> matmul(np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]]))
array([[11.]])
"""

from __future__ import annotations

import numpy as np


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` (with leading axes broadcast as ``@`` does), summed over k = 1, 2, ... in order."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if A.shape[-1] != B.shape[-2]:
        raise ValueError(f"matmul: shapes {A.shape} and {B.shape} do not match")
    total = A[..., :, 0:1] * B[..., 0:1, :]
    for k in range(1, A.shape[-1]):
        total += A[..., :, k:k + 1] * B[..., k:k + 1, :]
    return total
