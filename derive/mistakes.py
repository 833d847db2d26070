"""Catalogue of common backpropagation mistakes, one small entry per mistake (marking stage).

Each entry is a mutation of the correct computation: a function from the problem to the
:class:`~derive.recompute.Method` variants that make the mistake (several when the mistake can
be made in more than one way, e.g. which input the bias was multiplied by). The marking runs
the engine of :mod:`derive.recompute` with each variant and names the entries that reproduce a
wrong value. Adding a mistake means adding one entry to ``MISTAKES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .recompute import BiasTimesInput, BiasUpdate, FPrime, Method, NextWeights, ShiftedWeights
from .registry import ACTIVATIONS, LOSSES
from .spec import Problem


@dataclass(frozen=True)
class Mistake:
    """One common mistake: an id, the sentence a student reads, and its mutations."""

    id: str
    explanation: str
    variants: Callable[[Problem], tuple[Method, ...]]


def _always(*methods: Method) -> Callable[[Problem], tuple[Method, ...]]:
    return lambda problem: methods


def _other_squared_error(problem: Problem) -> tuple[Method, ...]:
    """Keras mse where 1/2 sum was meant (factor 2/n), or the other way round, or no 1/2 at all."""
    return tuple(Method(loss=other) for other in LOSSES[problem.network.loss].confused_with)


def _other_reduction(problem: Problem) -> tuple[Method, ...]:
    """Summed over the batch instead of averaged; averaged over outputs instead of summed (or back)."""
    averaged_outputs = LOSSES[problem.network.loss].output_mean
    return (Method(batch_sum=True), Method(output_mean=not averaged_outputs))


def _wrong_hidden_weight(problem: Problem) -> tuple[Method, ...]:
    """W^(l+1) instead of its transpose; for a non-square W, another neuron's weights."""
    widest = max(problem.network.layers[1:-1], default=1)
    return (Method(hidden_weights=NextWeights.TRANSPOSED),) + tuple(
        Method(hidden_weights=ShiftedWeights(s)) for s in range(1, widest)
    )


def _bias_times_input(problem: Problem) -> tuple[Method, ...]:
    return tuple(Method(bias=BiasTimesInput(k)) for k in range(max(problem.network.layers[:-1])))


def _relu_kink(problem: Problem) -> tuple[Method, ...]:
    kinked = any(ACTIVATIONS[name].kink is not None for name in problem.network.activations)
    return (Method(fprime=FPrime.KINK_ONE),) if kinked else ()


MISTAKES: dict[str, Mistake] = {
    m.id: m
    for m in [
        Mistake("derivative_forgotten", "the derivative of the activation f'(z) was left out",
                _always(Method(fprime=FPrime.FORGOTTEN))),
        Mistake("derivative_at_a", "f' was evaluated at a instead of z (e.g. sigma(a)(1 - sigma(a)) "
                "instead of sigma(z)(1 - sigma(z)) = a(1 - a), or tanh' applied twice)",
                _always(Method(fprime=FPrime.AT_A))),
        Mistake("update_sign_flipped", "the update went uphill: w + eta dJ/dw instead of w - eta dJ/dw",
                _always(Method(update_sign=1.0))),
        Mistake("squared_error_form", "the wrong squared error: 1/2 sum (y - a)^2 and Keras' mse "
                "(mean over outputs, no 1/2) differ by a factor 2/n", _other_squared_error),
        Mistake("updated_weights_in_delta", "the hidden delta used the already-updated weights of the "
                "next layer instead of the old ones", _always(Method(hidden_weights=NextWeights.UPDATED))),
        Mistake("bias_not_updated", "the bias was not updated (b' = b)", _always(Method(bias=BiasUpdate.FIXED))),
        Mistake("bias_times_input", "the bias gradient was multiplied by an input, as for a weight "
                "(the bias's input is the constant 1)", _bias_times_input),
        Mistake("wrong_weight_in_delta", "the wrong weight in the hidden delta: W used instead of W^T "
                "(w_jk instead of w_kj)", _wrong_hidden_weight),
        Mistake("learning_rate_forgotten", "the learning rate was not applied (w - dJ/dw)",
                _always(Method(apply_eta=False))),
        Mistake("relu_kink_one", "ReLU'(0) was taken as 1; at z = 0 this sheet takes the left derivative 0",
                _relu_kink),
        Mistake("loss_reduction", "the loss (and its gradient) was summed where it should be averaged, "
                "or averaged where it should be summed (over the batch or over the output neurons)",
                _other_reduction),
    ]
}


def mistake_variants(problem: Problem) -> tuple[tuple[Mistake, Method], ...]:
    """Every (mistake, method) pair that applies to ``problem``, in catalogue order."""
    return tuple((mistake, method) for mistake in MISTAKES.values() for method in mistake.variants(problem))
