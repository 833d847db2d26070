"""Code generation (`derive code`): a verified problem as a standalone NumPy, PyTorch or Keras script.

A driver over one verified solution, like the answer key and the sheets: Python prepares the
facts (the problem's numbers as Python literals, and each activation's and loss's code forms
from its registry entry) and the Jinja2 templates under ``templates/code/`` hold the scripts'
layout. Pure: text in, text out; the CLI writes the file.
"""

from __future__ import annotations

import textwrap
from enum import Enum
from typing import Any

from .notation import NIELSEN, Notation
from .registry import ACTIVATIONS, LOSSES
from .sheet import environment
from .spec import Network, Problem
from .verify import VerifiedSolution, require_verified


class Framework(str, Enum):
    """The frameworks a script can be written for."""

    NUMPY = "numpy"
    PYTORCH = "pytorch"
    KERAS = "keras"


_TITLES = {
    Framework.NUMPY: "the problem in NumPy, from scratch",
    Framework.PYTORCH: "the problem in PyTorch (autograd, float64)",
    Framework.KERAS: "the problem in Keras",
}

# The sheets' Jinja2 set-up (same delimiters, undefined names are errors) with two filters for prose.
_ENVIRONMENT = environment().overlay()
_ENVIRONMENT.filters = {
    **_ENVIRONMENT.filters,
    "sentence": lambda text: text[:1].upper() + text[1:],
    "plural": lambda count, word: f"{count} {word}" + ("" if count == 1 else "s"),
}


def code_script(verified: VerifiedSolution, framework: Framework | str, exercise: bool = False) -> str:
    """The script for ``framework``; ``exercise`` (NumPy only) leaves the backward pass as TODOs."""
    problem = require_verified(verified).problem
    framework = Framework(framework)
    if exercise and framework is not Framework.NUMPY:
        raise ValueError("only the NumPy script has an exercise version")
    context = script_context(problem, framework, exercise)
    return _ENVIRONMENT.get_template(f"code/{framework.value}.py.j2").render(**context)


def numpy_model_source(network: Network) -> str:
    """The generated NumPy implementation alone (activations, loss, Layer, Network) for
    ``network``, as the NumPy script holds it; ``derive lab`` trains with it."""
    context = {**_code_forms(network), "exercise": False, "bias": network.bias}
    return "import numpy as np\n\n" + _ENVIRONMENT.get_template("code/numpy_model.py.j2").render(**context)


def script_context(problem: Problem, framework: Framework, exercise: bool) -> dict[str, Any]:
    """Everything the templates show: the problem's numbers as literals, settings, code forms."""
    network, training = problem.network, problem.training
    examples = problem.examples
    batch_size = training.batch_size or examples
    steps_comment = f"  # {training.epochs} epochs of {training.steps_per_epoch(examples)} batches" if training.epochs else ""
    return {
        **_code_forms(network),
        "title": problem.title,
        "source": problem.source,
        "framework": framework.value,
        "framework_title": _TITLES[framework],
        "exercise": exercise,
        "network_text": f"layers {list(network.layers)}, activations {', '.join(network.activations)}",
        "loss_description": LOSSES[network.loss].description,
        "bias": network.bias,
        "layers": [
            {"index": l, "inputs": network.layers[l - 1], "neurons": network.layers[l],
             "activation": network.activations[l - 1],
             # an activation without a derivative (the step) serves forward-only problems
             "backward": f"{network.activations[l - 1]}_backward" if ACTIVATIONS[network.activations[l - 1]].differentiable else "None",
             "W": _literal(problem.weights[l - 1]), "b": _literal(problem.biases[l - 1])}
            for l in range(1, network.depth + 1)
        ],
        "inputs": _literal(problem.inputs),
        "targets": _literal(problem.targets),
        "examples": examples,
        "learning_rate": repr(float(training.learning_rate)),
        "steps": training.steps,
        "steps_comment": steps_comment,
        "epochs": training.epochs,
        "steps_per_epoch": training.steps_per_epoch(examples),
        "batch_size": batch_size,
        "batch_comment": "  # the full batch" if training.batch_size is None else "",
        "l2": repr(float(training.l2)),
        "l2_on": training.l2 != 0,
        "activation_code": {name: _activation_code(name, framework) for name in network.activations},
        "keras_note_lines": textwrap.wrap("The loss convention: " + LOSSES[network.loss].keras_note, 94),
        "labels": printed_labels(),
    }


def printed_labels(notation: Notation = NIELSEN) -> dict[str, str]:
    """How the scripts label what they print: the notation's plain text, as `derive solve` writes
    it (dJ/dW(1), W(1)', J'); ``{l}`` stays a placeholder the script's f-string fills with the layer."""
    weights, biases = notation.weight_matrix.text.format(l="{l}"), notation.bias_vector.text.format(l="{l}")
    cost = notation.cost.text
    return {
        "J": cost, "J_after": notation.cost_after.text,
        "dW": notation.partial.text.format(top=cost, bottom=weights),
        "db": notation.partial.text.format(top=cost, bottom=biases),
        "W": notation.updated.text.format(p=weights), "b": notation.updated.text.format(p=biases),
    }


def _activation_code(name: str, framework: Framework) -> str:
    """How a script applies the activation: an expression of z (PyTorch) or Dense's activation= (Keras)."""
    entry = ACTIVATIONS[name]
    return {Framework.PYTORCH: entry.torch_code, Framework.KERAS: entry.keras_code}.get(framework, entry.numpy_code)


def _code_forms(network: Network) -> dict[str, Any]:
    """The registry's code forms of the network's activations (each once, in order) and loss."""
    names = list(dict.fromkeys(network.activations))
    return {"activations": [ACTIVATIONS[name] for name in names], "loss": LOSSES[network.loss]}


def _literal(values) -> str:
    """A vector or matrix of floats as a Python list literal, every float at full precision."""
    if isinstance(values, (tuple, list)):
        return "[" + ", ".join(_literal(v) for v in values) + "]"
    return repr(float(values))
