"""Verification: correct solutions pass with sensible reports; tampered ones are refused.

The tampering tests change one number of a worked Solution with ``dataclasses.replace`` and
expect a VerificationError naming the quantity and both values; the renderers must refuse
anything but a VerifiedSolution.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from derive.answer_key import answer_key, epoch_losses
from derive.derivation import Proof, derive
from derive.errors import DeriveError, VerificationError
from derive.loader import load_problem, parse_problem
from derive.terminal import worked_solution
from derive.verify import VerificationReport, VerifiedSolution, require_verified, verify
from derive.worked import Solution, substitute

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"

SIGMOID_221 = """\
title: 2-2-1 sigmoid
network: {layers: [2, 2, 1], activations: [sigmoid, sigmoid], loss: half_mse}
parameters:
  W1: [[0.2, -0.1], [0.4, 0.3]]
  b1: [0.1, -0.1]
  W2: [[0.5, -0.6]]
  b2: [0.2]
data: {inputs: [[0.5, 0.9]], targets: [[1.0]]}
training: {learning_rate: 0.5, steps: 1}
"""

# Hidden neuron 1 has z = 0.5*1 + (-0.5)*1 + 0 = 0 exactly: the ReLU kink.
RELU_AT_KINK = """\
title: ReLU exactly at the kink
network: {layers: [2, 2, 1], activations: [relu, identity], loss: half_mse}
parameters:
  W1: [[0.5, -0.5], [0.25, 0.5]]
  b1: [0.0, 0.25]
  W2: [[0.75, -0.5]]
  b2: [0.1]
data: {inputs: [[1.0, 1.0]], targets: [[1.0]]}
training: {learning_rate: 0.1, steps: 1}
"""

FORWARD_ONLY = """\
title: perceptron forward pass
network: {layers: [2, 1], activations: [step], loss: half_mse}
parameters: {W1: [[1.0, -1.0]], b1: [0.25]}
data: {inputs: [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]], targets: [[1.0], [0.0], [1.0]]}
training: {learning_rate: 0.1, steps: 0}
"""


def solution_of(text: str) -> Solution:
    problem = parse_problem(text, "test.yaml")
    return substitute(problem, derive(problem.network))


@pytest.fixture(scope="module")
def sigmoid_solution() -> Solution:
    return solution_of(SIGMOID_221)


@pytest.fixture(scope="module")
def softmax_solution() -> Solution:
    problem = load_problem(PROBLEMS / "softmax-3class.yaml")
    return substitute(problem, derive(problem.network))


def numbers_compared(solution: Solution) -> int:
    """What the report should count: every loss and every entry of every array, by hand."""
    sizes = solution.problem.network.layers
    total = 0
    for step in solution.steps:
        m = len(step.batch)
        total += 2 + (step.loss_after is not None)  # loss, data loss, loss after
        for l in range(1, len(sizes)):
            n, n_prev = sizes[l], sizes[l - 1]
            total += 2 * m * n + n * n_prev + n  # z, a, W, b
            if step.layers[l - 1].delta is not None:
                total += m * n + n * n_prev + n  # delta, grad_W, grad_b
    if solution.steps[0].layers[0].delta is not None:
        total += 1 + (len(sizes) > 2)  # chain rule for one output weight, and one hidden weight
    return total


# --------------------------------------------------------------------------------------------
# correct solutions verify
# --------------------------------------------------------------------------------------------


def test_correct_solution_verifies_with_a_sensible_report(sigmoid_solution):
    verified = verify(sigmoid_solution)
    report = verified.report
    assert isinstance(verified, VerifiedSolution)
    assert verified.solution is sigmoid_solution
    assert verified.problem is sigmoid_solution.problem
    # 2-2-1 with bias, one example: losses 2, layer 1: z a W b delta gW gb = 2+2+4+2+2+4+2,
    # layer 2: 1+1+2+1+1+2+1
    assert report.quantities_checked == 3 + 18 + 9 + 2 == numbers_compared(sigmoid_solution)
    assert report.gradients_checked_fd == 9  # 6 weights + 3 biases
    assert report.fd_skipped == ()
    assert 0 <= report.max_abs_diff_numpy < 1e-12
    assert 0 <= report.max_rel_diff_numpy < 1e-12
    assert 0 <= report.max_abs_diff_finite_difference < 1e-8
    assert report.proofs == sum(p.instances for p in sigmoid_solution.derivation.proofs) > 0
    summary = report.summary()
    assert summary.startswith("verified: 32 numbers agree")
    assert "9 gradients with central finite differences" in summary


# ng-4layer-regularised is left out for speed (its end-to-end proof takes seconds); it is
# solved and verified through the CLI in test_hand_checked.py.
@pytest.mark.parametrize(
    "path", sorted(p for p in PROBLEMS.glob("*.yaml") if p.stem != "ng-4layer-regularised"), ids=lambda p: p.stem
)
def test_shipped_problems_verify(path):
    problem = load_problem(path)
    solution = substitute(problem, derive(problem.network))
    report = verify(solution).report
    assert report.quantities_checked == numbers_compared(solution)
    assert report.max_rel_diff_numpy < 1e-9
    params = sum(len(W) * len(W[0]) + len(b) * problem.network.bias for W, b in zip(problem.weights, problem.biases))
    assert report.gradients_checked_fd + len(report.fd_skipped) == params * problem.training.steps


def test_relu_at_the_kink_verifies_and_skips_only_finite_differences():
    solution = solution_of(RELU_AT_KINK)
    assert solution.steps[0].layers[0].z[0, 0] == 0.0
    report = verify(solution).report
    assert report.fd_skipped, "the central difference straddles the kink and should be skipped"
    assert all("layer 1" in label for label in report.fd_skipped)
    assert any("ReLU'(0)" in note for note in solution.steps[0].notes)
    # ReLU'(0) = 0: neuron 1 of layer 1 gets no gradient at all
    np.testing.assert_array_equal(solution.steps[0].layers[0].grad_W[0], [0.0, 0.0])
    assert solution.steps[0].layers[0].grad_b[0] == 0.0


def test_forward_only_solution_verifies_without_gradients():
    solution = solution_of(FORWARD_ONLY)
    report = verify(solution).report
    assert report.gradients_checked_fd == 0
    # z: 1*0 - 0 + 0.25, 0 - 1 + 0.25, 1 - 0 + 0.25; step(z) = 1, 0, 1
    layer = solution.steps[0].layers[0]
    np.testing.assert_allclose(layer.z[:, 0], [0.25, -0.75, 1.25])
    np.testing.assert_array_equal(layer.a[:, 0], [1.0, 0.0, 1.0])
    assert layer.delta is None and solution.steps[0].loss_after is None
    assert report.quantities_checked == 2 + 3 + 3 + 2 + 1


# --------------------------------------------------------------------------------------------
# tampered solutions are refused
# --------------------------------------------------------------------------------------------


def with_layer(solution: Solution, step: int, layer: int, **changes) -> Solution:
    steps = list(solution.steps)
    layers = list(steps[step].layers)
    layers[layer] = dataclasses.replace(layers[layer], **changes)
    steps[step] = dataclasses.replace(steps[step], layers=tuple(layers))
    return dataclasses.replace(solution, steps=tuple(steps))


def with_step(solution: Solution, step: int, **changes) -> Solution:
    steps = list(solution.steps)
    steps[step] = dataclasses.replace(steps[step], **changes)
    return dataclasses.replace(solution, steps=tuple(steps))


def nudged(array: np.ndarray, index: tuple, by: float) -> np.ndarray:
    changed = np.array(array, dtype=float, copy=True)
    changed[index] += by
    return changed


@pytest.mark.parametrize(
    "field, index, label",
    [
        ("grad_W", (0, 0), "step 1 layer 1 grad_W[1,1]"),
        ("grad_W", (1, 0), "step 1 layer 1 grad_W[2,1]"),
        ("grad_b", (1,), "step 1 layer 1 grad_b[2]"),
        ("W", (0, 1), "step 1 layer 1 W[1,2]"),
        ("b", (0,), "step 1 layer 1 b[1]"),
        ("z", (0, 1), "step 1 layer 1 z[1,2]"),
        ("a", (0, 0), "step 1 layer 1 a[1,1]"),
        ("delta", (0, 1), "step 1 layer 1 delta[1,2]"),
    ],
)
def test_tampered_layer_value_is_refused(sigmoid_solution, field, index, label):
    original = float(getattr(sigmoid_solution.steps[0].layers[0], field)[index])
    tampered = with_layer(sigmoid_solution, 0, 0, **{field: nudged(getattr(sigmoid_solution.steps[0].layers[0], field), index, 1e-6)})
    with pytest.raises(VerificationError) as info:
        verify(tampered)
    message = str(info.value)
    line = next(d for d in info.value.disagreements if d.startswith(label + ":"))
    assert repr(original + 1e-6) in line, line
    assert repr(original) in line, line
    assert "answer key" in line and "NumPy" in line
    assert "none was written" in message


def test_tampered_output_layer_gradient_is_refused(softmax_solution):
    layer = softmax_solution.steps[0].layers[1]
    tampered = with_layer(softmax_solution, 0, 1, grad_W=nudged(layer.grad_W, (2, 1), -1e-6))
    with pytest.raises(VerificationError) as info:
        verify(tampered)
    assert any(d.startswith("step 1 layer 2 grad_W[3,2]:") for d in info.value.disagreements)


@pytest.mark.parametrize("field, label", [("loss", "step 1 loss"), ("loss_after", "step 1 loss after")])
def test_tampered_loss_is_refused(sigmoid_solution, field, label):
    original = getattr(sigmoid_solution.steps[0], field)
    with pytest.raises(VerificationError) as info:
        verify(with_step(sigmoid_solution, 0, **{field: original + 1e-6}))
    assert info.value.disagreements == [f"{label}: answer key {original + 1e-6!r}, NumPy {original!r}"]


def test_large_grad_W_error_also_fails_finite_differences(sigmoid_solution):
    layer = sigmoid_solution.steps[0].layers[1]
    tampered = with_layer(sigmoid_solution, 0, 1, grad_W=nudged(layer.grad_W, (0, 0), 0.01))
    with pytest.raises(VerificationError) as info:
        verify(tampered)
    assert any("finite differences" in d and "grad_W[1,1]" in d for d in info.value.disagreements)


def test_nan_is_refused(sigmoid_solution):
    with pytest.raises(VerificationError) as info:
        verify(with_step(sigmoid_solution, 0, loss=float("nan")))
    assert "step 1 loss: answer key nan" in str(info.value)


def test_wrong_shape_is_refused(sigmoid_solution):
    layer = sigmoid_solution.steps[0].layers[0]
    with pytest.raises(VerificationError) as info:
        verify(with_layer(sigmoid_solution, 0, 0, grad_b=np.append(layer.grad_b, 0.0)))
    assert any("grad_b: shape (3,)" in d for d in info.value.disagreements)


def test_too_short_array_is_refused(sigmoid_solution):
    layer = sigmoid_solution.steps[0].layers[0]
    with pytest.raises(VerificationError) as info:
        verify(with_layer(sigmoid_solution, 0, 0, grad_b=layer.grad_b[:1]))
    assert "step 1 layer 1 grad_b: shape (1,) in the answer key, (2,) in NumPy" in info.value.disagreements


def test_rounding_noise_below_tolerance_is_accepted(sigmoid_solution):
    layer = sigmoid_solution.steps[0].layers[0]
    noisy = with_layer(sigmoid_solution, 0, 0, grad_W=layer.grad_W * (1 + 1e-13))
    assert verify(noisy).report.max_rel_diff_numpy < 1e-12


def test_failed_proof_is_refused(sigmoid_solution):
    broken = Proof(claim="1 = 2", method="deliberately false", instances=1, holds=False)
    derivation = dataclasses.replace(sigmoid_solution.derivation, proofs=(*sigmoid_solution.derivation.proofs, broken))
    with pytest.raises(VerificationError) as info:
        verify(dataclasses.replace(sigmoid_solution, derivation=derivation))
    assert info.value.disagreements == ["derivation: 1 = 2 did not hold (deliberately false)"]


def test_many_disagreements_are_summarised(sigmoid_solution):
    layer = sigmoid_solution.steps[0].layers[0]
    with pytest.raises(VerificationError) as info:
        verify(with_layer(sigmoid_solution, 0, 0, z=layer.z + 1.0, a=layer.a + 1.0, W=layer.W + 1.0))
    assert len(info.value.disagreements) == 2 + 2 + 4
    assert "... and 0 more" not in str(info.value)
    with pytest.raises(VerificationError) as info:
        verify(with_layer(sigmoid_solution, 0, 0, z=layer.z + 1, a=layer.a + 1, W=layer.W + 1, grad_W=layer.grad_W + 1))
    extra = len(info.value.disagreements) - 10
    assert extra > 0 and f"... and {extra} more" in str(info.value)


def test_verification_error_exit_code():
    err = VerificationError(["x: answer key 1.0, NumPy 2.0"])
    assert isinstance(err, DeriveError) and err.exit_code == 3


def test_tampered_data_loss_is_refused(sigmoid_solution):
    step = sigmoid_solution.steps[0]
    with pytest.raises(VerificationError):
        verify(with_step(sigmoid_solution, 0, data_loss=step.data_loss + 1e-6))


# --------------------------------------------------------------------------------------------
# only verify() makes a VerifiedSolution; renderers take nothing else
# --------------------------------------------------------------------------------------------


def dummy_report() -> VerificationReport:
    return VerificationReport(1, 0.0, 0.0, 0, 0.0, (), 0)


def test_verified_solution_cannot_be_constructed_directly(sigmoid_solution):
    with pytest.raises(TypeError):
        VerifiedSolution(sigmoid_solution, dummy_report())
    with pytest.raises(TypeError):
        VerifiedSolution(sigmoid_solution, dummy_report(), object())


def test_verified_solution_is_frozen(sigmoid_solution):
    verified = verify(sigmoid_solution)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.solution = sigmoid_solution  # type: ignore[misc]


def test_worked_arrays_are_read_only(sigmoid_solution):
    with pytest.raises(ValueError):
        sigmoid_solution.steps[0].layers[0].grad_W[0, 0] = 1.0


@pytest.mark.parametrize("renderer", [answer_key, worked_solution, epoch_losses, require_verified])
def test_renderers_refuse_an_unverified_solution(sigmoid_solution, renderer):
    with pytest.raises(TypeError, match="VerifiedSolution"):
        renderer(sigmoid_solution)


@pytest.mark.parametrize("renderer", [answer_key, worked_solution])
def test_renderers_refuse_other_objects(renderer):
    for value in (None, {"steps": []}, "solution"):
        with pytest.raises(TypeError):
            renderer(value)


def test_renderers_accept_a_verified_solution(sigmoid_solution):
    verified = verify(sigmoid_solution)
    key = answer_key(verified)
    assert key["verification"]["verified"] is True
    assert key["verification"]["quantities_checked"] == 32  # 30 numbers + 2 chain-rule products
    text = worked_solution(verified)
    assert text.startswith("2-2-1 sigmoid\n")
    assert text.rstrip().endswith(verified.report.summary())
