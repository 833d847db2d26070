"""Worked lines: built once as trees, printed by the LaTeX and the text printer.

Flat one-line assertions in the style of SymPy's printer tests. The numbers in them are worked
by hand from the problem files (noted beside each), never copied from derive's output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy as sp
from click.testing import CliRunner

from derive import cli, tree
from derive.loader import load_problem
from derive.notation import QuantityName
from derive.pipeline import solve
from derive.printing import latex, text
from derive.registry import ACTIVATIONS
from derive.worked_lines import LineBuilder, function_name

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
n = lambda v: tree.Num(v, 4)  # noqa: E731
x1 = tree.Name("x_{1}", "x_1")
m = tree.Name("m", "m")


# ---- the printers, node by node

def test_numbers_are_rounded_and_negative_ones_bracketed():
    assert latex(n(-0.12345)) == text(n(-0.12345)) == "(-0.1235)"
    assert latex(tree.Num(-0.5, 4, bracket=False)) == "-0.5"
    assert text(n(2.0)) == "2"


def test_products_print_a_dot_a_space_or_nothing_in_latex_and_a_star_in_text():
    assert latex(tree.Times((n(0.5), n(-0.25)))) == r"0.5 \cdot (-0.25)"
    assert text(tree.Times((n(0.5), n(-0.25)))) == "0.5 * (-0.25)"
    assert latex(tree.Times((tree.Name("w", "w"), x1), "space")) == "w x_{1}"
    assert text(tree.Times((tree.Name("w", "w"), x1), "space")) == "w * x_1"
    assert latex(tree.Times((tree.Over(n(1), n(3)), tree.Paren(n(2))), "none")) == r"\frac{1}{3}(2)"


def test_sums_differences_and_brackets():
    assert latex(tree.Plus((n(0.1), n(-0.2), n(0.3)))) == "0.1 + (-0.2) + 0.3"
    assert text(tree.Minus(n(0.1), tree.Times((n(0.5), n(0.2))))) == "0.1 - 0.5 * 0.2"
    assert latex(tree.Paren(n(1), big=True)) == r"\left(1\right)"
    assert text(tree.Paren(n(1), big=True)) == "(1)"


def test_fractions_bracket_a_compound_denominator_in_text():
    assert latex(tree.Over(n(1), m)) == r"\frac{1}{m}"
    assert text(tree.Over(n(1), m)) == "1/m"
    two_m = tree.Times((n(2), m), "none")
    assert latex(tree.Over(tree.Name(r"\lambda", "lambda"), two_m)) == r"\frac{\lambda}{2m}"
    assert text(tree.Over(tree.Name(r"\lambda", "lambda"), two_m)) == "lambda/(2 * m)"
    assert latex(tree.Over(n(1), n(2), inline=True)) == text(tree.Over(n(1), n(2), inline=True)) == "1 / 2"


def test_functions_exponentials_sums_and_powers():
    assert latex(tree.Apply(r"\operatorname{step}", "step", (n(0.11),))) == r"\operatorname{step}(0.11)"
    assert text(tree.Apply(r"\operatorname{step}", "step", (n(0.11),))) == "step(0.11)"
    assert latex(tree.Exp(n(-0.5))) == "e^{(-0.5)}" and text(tree.Exp(n(-0.5))) == "exp((-0.5))"
    assert latex(tree.SumOver("i", tree.Name("L^{[i]}", "L[i]"))) == r"\sum_i L^{[i]}"
    assert text(tree.SumOver("", tree.Power(tree.Name("W", "W"), 2))) == "sum W^2"
    assert latex(tree.Power(tree.Name("W", "W"), 10)) == "W^{10}" and text(tree.Power(tree.Name("W", "W"), 10)) == "W^10"
    assert latex(tree.Words("forward pass")) == r"\text{forward pass}" and text(tree.Words("forward pass")) == "forward pass"


def test_a_formula_leaf_prints_its_symbols_as_their_nodes():
    a = sp.Symbol("a")
    assert latex(tree.formula(a * (1 - a), {a: n(0.5076)})) == r"0.5076 \cdot \left(1 - 0.5076\right)"
    assert text(tree.formula(a * (1 - a), {a: n(0.5076)})) == "0.5076*(1 - 0.5076)"
    assert text(tree.formula(a * (1 - a), {a: n(0.5076)}, "hand")) == "0.5076 * (1 - 0.5076)"
    assert text(tree.formula(1 - a**2, {a: n(0.1096)}, "hand")) == "1 - 0.1096^2"
    assert text(tree.formula(1 - a**2, {a: tree.Name("a(1)_1", "a(1)_1")})) == "1 - a(1)_1**2"


# ---- worked lines of a shipped problem (2-2-1, tanh hidden, sigmoid output, x = (0.5, 0.9), y = 1)

@pytest.fixture(scope="module")
def tanh_lines():
    step = solve(load_problem(PROBLEMS / "sgd-tanh-hidden.yaml")).solution.steps[0]
    return {q.name: q for q in step.worked}


def line_text(q) -> str:
    return f"{text(q.symbol)} = {text(q.substituted)}"


def test_pre_activation_line(tanh_lines):
    z = tanh_lines[QuantityName("z", 1, (0,), 0)]  # 0.2 * 0.5 - 0.1 * 0.9 + 0.1 = 0.11
    assert line_text(z) == "z(1)_1 = 0.2 * 0.5 + (-0.1) * 0.9 + 0.1"
    assert latex(z.symbol) == "z^{(1)}_{1}"
    assert latex(z.formula) == "w^{(1)}_{11} x_{1} + w^{(1)}_{12} x_{2} + b^{(1)}_{1}"
    assert latex(z.substituted) == r"0.2 \cdot 0.5 + (-0.1) \cdot 0.9 + 0.1"
    assert z.value == pytest.approx(0.11) and z.section == "forward"


def test_activation_line_uses_the_registry_names(tanh_lines):
    a = tanh_lines[QuantityName("a", 1, (0,), 0)]
    assert line_text(a) == "a(1)_1 = tanh(0.11)"
    assert latex(a.formula) == r"\tanh(z^{(1)}_{1})" and latex(a.substituted) == r"\tanh(0.11)"
    assert a.value == pytest.approx(math.tanh(0.11))


def test_hidden_delta_line_prints_the_derivative_as_written_by_hand(tanh_lines):
    a1 = math.tanh(0.11)  # 0.1096
    out = 1 / (1 + math.exp(-(0.5 * a1 - 0.6 * math.tanh(0.37) + 0.2)))
    delta2 = (out - 1) * out * (1 - out)  # -0.1223
    d = tanh_lines[QuantityName("delta", 1, (0,), 0)]
    assert line_text(d) == "delta(1)_1 = (0.5 * (-0.1223)) * (1 - 0.1096^2)"
    assert latex(d.formula) == r"(w^{(2)}_{11} \delta^{(2)}_{1}) \cdot \left(1 - \left(a^{(1)}_{1}\right)^{2}\right)"
    assert latex(d.substituted) == r"(0.5 \cdot (-0.1223)) \cdot \left(1 - 0.1096^{2}\right)"
    assert d.value == pytest.approx(0.5 * delta2 * (1 - a1**2)) and d.section == "hidden_delta"


def test_output_delta_gradient_and_update_lines(tanh_lines):
    assert text(tanh_lines[QuantityName("delta", 2, (0,), 0)].symbol) == "delta(2)_1"
    grad = tanh_lines[QuantityName("dW", 1, (0, 0))]
    assert line_text(grad) == "dJ/dw(1)_11 = (-0.0604) * 0.5"
    assert latex(grad.symbol) == r"\frac{\partial J}{\partial w^{(1)}_{11}}"
    assert latex(grad.formula) == r"\delta^{(1)}_{1} x_{1}"
    new = tanh_lines[QuantityName("W", 1, (0, 0))]  # eta = 0.5
    assert line_text(new) == "w(1)_11' = 0.2 - 0.5 * (-0.0302)"
    assert latex(new.formula) == r"w^{(1)}_{11} - \eta \frac{\partial J}{\partial w^{(1)}_{11}}"
    after = tanh_lines[QuantityName("L_after")]
    assert line_text(after) == "J' = forward pass with the updated weights"
    assert latex(after.formula) == "J(W', b')" and after.section == "loss_after"


def test_batch_mean_lines():
    step = solve(load_problem(PROBLEMS / "relu-2-3-3-1-batch.yaml")).solution.steps[0]
    lines = {q.name: q for q in step.worked}
    cost = lines[QuantityName("J")]  # losses (0.5 - 0.394)^2/2, (0.2 - 0.7155)^2/2, (1 - 0.5545)^2/2
    assert line_text(cost) == "J = 1/3 * (0.0056 + 0.1329 + 0.0992)"
    assert latex(cost.formula) == r"\frac{1}{m}\sum_i L^{[i]}"
    assert latex(cost.substituted) == r"\frac{1}{3}(0.0056 + 0.1329 + 0.0992)"
    grad = lines[QuantityName("db", 3, (0,))]
    assert latex(grad.formula) == r"\frac{1}{m}\sum_i \delta^{(3)[i]}_{1}"
    assert text(lines[QuantityName("L", 0, (), 1)].symbol) == "L[2]"
    assert [q.section for q in step.worked][:1] == ["forward"]


def test_softmax_line_is_printed_from_its_sympy_form():
    builder = LineBuilder(None, 4, (0,))
    formula, substituted = builder.coupled(ACTIVATIONS["softmax"], 2, 0, [0.0, 1.0])
    assert latex(formula) == r"e^{z^{(2)}_{1}} / \sum_k e^{z^{(2)}_k}"
    assert text(formula) == "exp(z(2)_1) / sum_k exp(z(2)_k)"
    assert latex(substituted) == r"e^{0} / (e^{0} + e^{1})"
    assert text(substituted) == "exp(0) / (exp(0) + exp(1))"


def test_function_names_come_from_the_registry():
    assert function_name(ACTIVATIONS["identity"]) == (r"\operatorname{id}", "id")
    assert function_name(ACTIVATIONS["step"]) == (r"\operatorname{step}", "step")
    assert function_name(ACTIVATIONS["sigmoid"]) == (r"\sigma", "sigmoid")


def test_solve_prints_a_step_activation_by_its_name(tmp_path):
    problem = tmp_path / "perceptron.yaml"
    problem.write_text(
        "title: Perceptron\nnetwork: {layers: [2, 2, 1], activations: [step, step], loss: half_mse}\n"
        "parameters: {W1: [[0.2, -0.1], [0.4, 0.3]], b1: [0.1, -0.1], W2: [[0.5, -0.6]], b2: [0.2]}\n"
        "data: {inputs: [[0.5, 0.9]], targets: [[1.0]]}\ntraining: {learning_rate: 0.5, steps: 0}\n"
    )
    result = CliRunner().invoke(cli.main, ["solve", str(problem)])
    assert result.exit_code == 0, result.output
    # z(1)_1 = 0.2 * 0.5 - 0.1 * 0.9 + 0.1 = 0.11 >= 0, so step gives 1; z(2)_1 = 0.5 - 0.6 + 0.2 = 0.1
    assert "a(1)_1 = step(0.11) = 1" in result.output
    assert "a(2)_1 = step(0.1) = 1" in result.output
    assert "operatorname" not in result.output
