"""Registry of activations and losses: one small entry per function.

Every entry keeps, side by side, the SymPy form (the symbolic stages differentiate it; no
derivative is written by hand for them), the NumPy form and a hand-written NumPy backward rule
(used only by the independent reference implementation, so the verification does not reuse
the symbolic path), its LaTeX and plain-text names, and every other fact the stages need (whether
it acts elementwise, where its kink is; for a loss whether it averages over the outputs, which
output activation it simplifies with, which forms a student confuses it with). No other module
tests a function's name. Adding an activation such as GELU means adding one entry to
``ACTIVATIONS`` (softplus was added so).
Each entry also holds the source text of its NumPy, PyTorch and Keras forms that the
generated scripts of `derive code` and `derive lab` are made of.

Conventions
-----------
* ReLU and leaky ReLU take their *left* derivative at the kink: ReLU'(0) = 0 and
  leaky_relu'(0) = alpha, as PyTorch does. SymPy reads this off the ``Piecewise`` forms
  below, whose first branch is the strict ``z > 0``.
* The step function has no usable derivative; it is for forward-only (perceptron) problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import sympy as sp

LEAKY_SLOPE = sp.Rational(1, 100)

VectorForm = Callable[[Sequence[sp.Expr]], list[sp.Expr]]


def _elementwise(scalar: Callable[[sp.Expr], sp.Expr]) -> VectorForm:
    return lambda zs: [scalar(z) for z in zs]


def _sigmoid_np(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _log_sum_exp(z: np.ndarray) -> np.ndarray:
    """log sum_k exp(z_k) per row, without overflow."""
    top = z.max(axis=-1)
    return top + np.log(np.exp(z - top[..., None]).sum(axis=-1))


def _softmax_np(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Activation:
    """One activation function.

    ``sympy`` maps a layer's pre-activations to its activations (a list to a list, so that
    softmax fits the same shape). ``inverse`` maps an activation value back to a
    pre-activation; with it SymPy rewrites f'(z) in terms of a = f(z) (sigma' = a(1 - a)).
    ``numpy_backward(z, a, grad_a)`` returns dL/dz from dL/da for the reference code.
    ``latex`` and ``text`` are its name in formulas on the sheet and in the terminal.
    """

    name: str
    latex: str
    text: str
    description: str
    sympy: VectorForm
    numpy: Callable[[np.ndarray], np.ndarray]
    numpy_backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None
    inverse: Callable[[sp.Symbol], sp.Expr] | None = None
    elementwise: bool = True
    output_only: bool = False
    kink: float | None = None
    kink_convention: str = ""
    # Source text for generated scripts (`derive code`, `derive lab`): expressions in the names
    # the scripts use, z (pre-activations), a (activations), grad_a (dL/da); rows are examples.
    numpy_code: str = ""
    numpy_backward_code: str = ""  # dL/dz from z, a and grad_a
    derivative_text: str = ""      # f'(z) as an exercise's TODO names it
    torch_code: str = ""
    keras_code: str = ""           # the Dense layer's activation= argument

    @property
    def differentiable(self) -> bool:
        return self.numpy_backward is not None


@dataclass(frozen=True)
class Loss:
    """One loss, per example: ``sympy(a, y)`` and ``numpy(A, Y)`` (one value per row).

    ``numpy_grad(A, Y)`` is the hand-written dL/da used only by the reference code.
    ``latex`` and ``text`` are its formula on the sheet and in the terminal. ``output_mean``: the loss is a mean over the
    output neurons (Keras' mse) rather than a sum. ``simplifies_with`` names the output
    activation with which dL/dz = a - y (sigmoid for bce, softmax for cross-entropy);
    ``from_logits(Z, Y)`` is then the same loss computed stably from the output pre-activations
    (log-sigmoid, log-sum-exp), for outputs so close to 0 or 1 that log(a) or log(1 - a) has lost
    its digits (see :func:`saturated_rows`). ``confused_with`` lists the other squared-error forms
    a student takes for this one (the ``squared_error_form`` mistake).
    """

    name: str
    text: str
    latex: str
    description: str
    sympy: Callable[[Sequence[sp.Expr], Sequence[sp.Expr]], sp.Expr]
    numpy: Callable[[np.ndarray, np.ndarray], np.ndarray]
    numpy_grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    output_activations: tuple[str, ...] = ()
    targets_in_unit_interval: bool = False
    targets_sum_to_one: bool = False
    output_mean: bool = False
    simplifies_with: str | None = None
    from_logits: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    confused_with: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Source text for generated scripts: the per-example loss of A and Y (rows are examples)
    # and dL/da in NumPy and PyTorch; in Keras either a built-in that is exactly this loss
    # (``keras_builtin``) or the body of a custom loss of y_true, y_pred (``keras_code``), and
    # ``keras_note``, the convention the Keras script states.
    numpy_code: str = ""
    numpy_grad_code: str = ""
    torch_code: str = ""
    keras_builtin: str = ""
    keras_code: str = ""
    keras_note: str = ""

    def simplifies(self, output_activation: str) -> bool:
        """Whether dL/dz of this loss through ``output_activation`` is a - y."""
        return self.simplifies_with == output_activation


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation(
            name="sigmoid",
            latex=r"\sigma",
            text="sigmoid",
            description="logistic sigmoid",
            sympy=_elementwise(lambda z: 1 / (1 + sp.exp(-z))),
            numpy=_sigmoid_np,
            numpy_backward=lambda z, a, g: g * a * (1.0 - a),
            inverse=lambda a: sp.log(a / (1 - a)),
            numpy_code="1.0 / (1.0 + np.exp(-z))",
            numpy_backward_code="grad_a * a * (1.0 - a)",
            derivative_text="sigmoid'(z) = a (1 - a)",
            torch_code="torch.sigmoid(z)",
            keras_code='"sigmoid"',
        ),
        Activation(
            name="tanh",
            latex=r"\tanh",
            text="tanh",
            description="hyperbolic tangent",
            sympy=_elementwise(sp.tanh),
            numpy=np.tanh,
            numpy_backward=lambda z, a, g: g * (1.0 - a**2),
            inverse=sp.atanh,
            numpy_code="np.tanh(z)",
            numpy_backward_code="grad_a * (1.0 - a**2)",
            derivative_text="tanh'(z) = 1 - a^2",
            torch_code="torch.tanh(z)",
            keras_code='"tanh"',
        ),
        Activation(
            name="relu",
            latex=r"\operatorname{ReLU}",
            text="relu",
            description="rectified linear unit",
            sympy=_elementwise(lambda z: sp.Piecewise((z, z > 0), (0, True))),
            numpy=lambda z: np.where(z > 0, z, 0.0),
            numpy_backward=lambda z, a, g: g * (z > 0),
            kink=0.0,
            kink_convention="ReLU'(0) is taken as 0 (the left derivative, as in PyTorch)",
            numpy_code="np.where(z > 0, z, 0.0)",
            numpy_backward_code="grad_a * (z > 0)",
            derivative_text="relu'(z) = 1 where z > 0, else 0 (also at z = 0)",
            torch_code="torch.relu(z)",
            keras_code='"relu"',
        ),
        Activation(
            name="leaky_relu",
            latex=r"\operatorname{LeakyReLU}",
            text="leaky_relu",
            description=f"leaky ReLU, slope {LEAKY_SLOPE} for negative inputs",
            sympy=_elementwise(lambda z: sp.Piecewise((z, z > 0), (LEAKY_SLOPE * z, True))),
            numpy=lambda z: np.where(z > 0, z, float(LEAKY_SLOPE) * z),
            numpy_backward=lambda z, a, g: g * np.where(z > 0, 1.0, float(LEAKY_SLOPE)),
            kink=0.0,
            kink_convention=f"LeakyReLU'(0) is taken as {LEAKY_SLOPE} (the left derivative)",
            numpy_code=f"np.where(z > 0, z, {float(LEAKY_SLOPE)} * z)",
            numpy_backward_code=f"grad_a * np.where(z > 0, 1.0, {float(LEAKY_SLOPE)})",
            derivative_text=f"leaky_relu'(z) = 1 where z > 0, else {float(LEAKY_SLOPE)} (also at z = 0)",
            torch_code=f"torch.nn.functional.leaky_relu(z, negative_slope={float(LEAKY_SLOPE)})",
            keras_code=f"lambda z: keras.activations.leaky_relu(z, negative_slope={float(LEAKY_SLOPE)})",
        ),
        Activation(
            name="softplus",
            latex=r"\operatorname{softplus}",
            text="softplus",
            description="softplus, a smooth ReLU",
            sympy=_elementwise(lambda z: sp.log(1 + sp.exp(z))),
            numpy=lambda z: np.logaddexp(0.0, z),
            numpy_backward=lambda z, a, g: g * _sigmoid_np(z),
            inverse=lambda a: sp.log(sp.exp(a) - 1),
            numpy_code="np.logaddexp(0.0, z)",
            numpy_backward_code="grad_a / (1.0 + np.exp(-z))",
            derivative_text="softplus'(z) = sigmoid(z) = 1 - exp(-a)",
            torch_code="torch.nn.functional.softplus(z)",
            keras_code='"softplus"',
        ),
        Activation(
            name="identity",
            latex=r"\operatorname{id}",
            text="id",
            description="identity (linear)",
            sympy=_elementwise(lambda z: z),
            numpy=lambda z: z.copy(),
            numpy_backward=lambda z, a, g: g,
            inverse=lambda a: a,
            numpy_code="z",
            numpy_backward_code="grad_a",
            derivative_text="identity'(z) = 1",
            torch_code="z",
            keras_code='"linear"',
        ),
        Activation(
            name="softmax",
            latex=r"\operatorname{softmax}",
            text="softmax",
            description="softmax over the layer (output layer only)",
            sympy=lambda zs: [sp.exp(z) / sp.Add(*[sp.exp(k) for k in zs]) for z in zs],
            numpy=_softmax_np,
            # Jacobian-vector product of softmax: diag(a) - a a^T applied to g.
            numpy_backward=lambda z, a, g: a * (g - (g * a).sum(axis=-1, keepdims=True)),
            # Softmax is shift-invariant, so z_k = log a_k is a preimage whenever sum(a) = 1.
            inverse=sp.log,
            elementwise=False,
            output_only=True,
            numpy_code=(
                "np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, "
                "keepdims=True)).sum(axis=1, keepdims=True)"
            ),
            numpy_backward_code="a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))",
            derivative_text="softmax Jacobian-vector product: a * (grad_a - sum_k grad_a_k a_k)",
            torch_code="torch.softmax(z, dim=1)",
            keras_code='"softmax"',
        ),
        Activation(
            name="step",
            latex=r"\operatorname{step}",
            text="step",
            description="Heaviside step, 1 from 0 on (classic perceptron)",
            sympy=_elementwise(lambda z: sp.Piecewise((1, z >= 0), (0, True))),
            numpy=lambda z: np.where(z >= 0, 1.0, 0.0),
            numpy_backward=None,
            numpy_code="np.where(z >= 0, 1.0, 0.0)",
            numpy_backward_code="",
            derivative_text="",
            torch_code="(z >= 0).to(z.dtype)",
            keras_code="lambda z: keras.ops.cast(z >= 0, z.dtype)",
        ),
    ]
}


#: An output this close to 0 or 1 has lost digits in log(a) or log(1 - a) (1 - a keeps about
#: 16 + log10(1 - a) of them): the loss is then computed from z. Elsewhere the textbook form in a
#: is used, which keeps the numbers of every unsaturated sheet as they were.
SATURATION = 1e-3


def saturated_rows(A: np.ndarray) -> np.ndarray:
    """The examples (rows) with an output within :data:`SATURATION` of 0 or 1."""
    return np.any((A < SATURATION) | (A > 1.0 - SATURATION), axis=1)


def _xlogy(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """y log a, taken as 0 where y = 0 (its limit), even at a = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(a))


def _softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) without overflow: -log sigma(-z)."""
    return np.logaddexp(0.0, z)


def _squared_errors(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    """sum_k (y_k - a_k)^2, the part every squared-error loss shares."""
    return sp.Add(*[(yk - ak) ** 2 for ak, yk in zip(a, y)])


def _squared_error(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return ((Y - A) ** 2).sum(axis=1)


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in [
        Loss(
            name="half_mse",
            text="1/2 sum_k (y_k - a_k)^2",
            latex=r"\tfrac{1}{2}\sum_k (y_k - a_k)^2",
            description="half squared error, the textbook form",
            sympy=lambda a, y: sp.Rational(1, 2) * _squared_errors(a, y),
            numpy=lambda A, Y: 0.5 * _squared_error(A, Y),
            numpy_grad=lambda A, Y: A - Y,
            confused_with=("mse", "sse"),
            numpy_code="0.5 * ((Y - A) ** 2).sum(axis=1)",
            numpy_grad_code="A - Y",
            torch_code="0.5 * ((Y - A) ** 2).sum(dim=1)",
            keras_builtin="",
            keras_code="0.5 * keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1)",
            keras_note=(
                "Keras' built-in MeanSquaredError is the mean over the outputs of (y - y_hat)^2, without "
                "the 1/2. This problem's loss is 1/2 sum_k (y_k - y_hat_k)^2, so the script defines it as"
                " a custom loss (with Keras' MSE the loss would be 2/n times as large, n outputs, and so "
                "would every gradient)."
            ),
        ),
        Loss(
            name="mse",
            text="1/n sum_k (y_k - a_k)^2",
            latex=r"\tfrac{1}{n}\sum_k (y_k - a_k)^2",
            description="Keras' mean squared error: the mean over outputs, no 1/2",
            sympy=lambda a, y: _squared_errors(a, y) / len(a),
            numpy=lambda A, Y: ((Y - A) ** 2).mean(axis=1),
            numpy_grad=lambda A, Y: 2.0 * (A - Y) / A.shape[1],
            output_mean=True,
            confused_with=("half_mse", "sse"),
            numpy_code="((Y - A) ** 2).mean(axis=1)",
            numpy_grad_code="2.0 * (A - Y) / A.shape[1]",
            torch_code="((Y - A) ** 2).mean(dim=1)",
            keras_builtin="keras.losses.MeanSquaredError()",
            keras_code="",
            keras_note=(
                "This problem's loss is Keras' own MeanSquaredError: the mean over the outputs of (y - "
                "y_hat)^2, without the 1/2 of the textbook 1/2 sum_k (y_k - y_hat_k)^2, so its gradients "
                "are 2/n times those of the 1/2 squared error (n outputs)."
            ),
        ),
        Loss(
            name="sse",
            text="sum_k (y_k - a_k)^2",
            latex=r"\sum_k (y_k - a_k)^2",
            description="sum of squared errors, no 1/2",
            sympy=_squared_errors,
            numpy=_squared_error,
            numpy_grad=lambda A, Y: 2.0 * (A - Y),
            confused_with=("half_mse", "mse"),
            numpy_code="((Y - A) ** 2).sum(axis=1)",
            numpy_grad_code="2.0 * (A - Y)",
            torch_code="((Y - A) ** 2).sum(dim=1)",
            keras_builtin="",
            keras_code="keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1)",
            keras_note=(
                "This problem's loss is the sum over the outputs of (y - y_hat)^2: no 1/2, and not "
                "averaged as Keras' built-in MeanSquaredError is, so the script defines it as a custom loss."
            ),
        ),
        Loss(
            name="bce",
            text="-sum_k (y_k log a_k + (1 - y_k) log(1 - a_k))",
            latex=r"-\sum_k \bigl(y_k \log a_k + (1 - y_k)\log(1 - a_k)\bigr)",
            description="binary cross-entropy, summed over output neurons (Ng's cost)",
            sympy=lambda a, y: -sp.Add(
                *[yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak) for ak, yk in zip(a, y)]
            ),
            numpy=lambda A, Y: -(_xlogy(Y, A) + _xlogy(1 - Y, 1 - A)).sum(axis=1),
            numpy_grad=lambda A, Y: (A - Y) / (A * (1 - A)),
            output_activations=("sigmoid",),
            targets_in_unit_interval=True,
            simplifies_with="sigmoid",
            # -log sigma(z) = softplus(-z), -log(1 - sigma(z)) = softplus(z)
            from_logits=lambda Z, Y: (Y * _softplus(-Z) + (1 - Y) * _softplus(Z)).sum(axis=1),
            numpy_code="-(Y * np.log(A) + (1 - Y) * np.log(1 - A)).sum(axis=1)",
            numpy_grad_code="(A - Y) / (A * (1 - A))",
            torch_code="-(Y * torch.log(A) + (1 - Y) * torch.log(1 - A)).sum(dim=1)",
            keras_builtin="",
            keras_code=(
                "-keras.ops.sum(y_true * keras.ops.log(y_pred) + (1 - y_true) * keras.ops.log(1 - "
                "y_pred), axis=-1)"
            ),
            keras_note=(
                "Keras' built-in BinaryCrossentropy averages over the outputs and clips predictions to "
                "[1e-7, 1 - 1e-7]; this problem's loss sums over the output neurons (Ng's cost) without "
                "clipping, so the script defines it as a custom loss."
            ),
        ),
        Loss(
            name="cross_entropy",
            text="-sum_k y_k log a_k",
            latex=r"-\sum_k y_k \log a_k",
            description="categorical cross-entropy with a softmax output",
            sympy=lambda a, y: -sp.Add(*[yk * sp.log(ak) for ak, yk in zip(a, y)]),
            numpy=lambda A, Y: -_xlogy(Y, A).sum(axis=1),
            numpy_grad=lambda A, Y: -Y / A,
            output_activations=("softmax",),
            targets_in_unit_interval=True,
            targets_sum_to_one=True,
            simplifies_with="softmax",
            # -log softmax(z)_k = logsumexp(z) - z_k
            from_logits=lambda Z, Y: (Y * (_log_sum_exp(Z)[:, None] - Z)).sum(axis=1),
            numpy_code="-(Y * np.log(A)).sum(axis=1)",
            numpy_grad_code="-Y / A",
            torch_code="-(Y * torch.log(A)).sum(dim=1)",
            keras_builtin="",
            keras_code="-keras.ops.sum(y_true * keras.ops.log(y_pred), axis=-1)",
            keras_note=(
                "Keras' built-in CategoricalCrossentropy rescales the predictions to sum to 1 and clips "
                "them to [1e-7, 1 - 1e-7]; the script writes -sum_k y_k log y_hat_k itself so that "
                "nothing is clipped."
            ),
        ),
    ]
}
