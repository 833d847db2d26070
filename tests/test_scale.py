"""Exam sets at scale: variants made, solved and verified together equal those made one by one.

Every comparison is against the one-by-one path (the NumPy reference run per problem, the
Generator's own draws, SymPy's own Float evaluation), never against stored numbers.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive import chain, derivation, identities, randomise, reference
from derive.errors import VerificationError
from derive.loader import load_problem
from derive.pipeline import solve, solve_many
from derive.printing import latex
from derive.verify import verify_many
from derive.worked import substitute_many

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
RANDOMISED = [PROBLEMS / "relu-2-3-3-1-batch.yaml", PROBLEMS / "sgd-sigmoid-hidden.yaml"]


def numbers_of(verified) -> list:
    """Every number of a verified solution, its report and the text of its first worked lines."""
    out = [verified.report]
    for step in verified.solution.steps:
        out += [step.loss, step.data_loss, step.loss_after, step.notes]
        for layer in step.layers:
            out += [None if v is None else v.tolist() for v in (layer.z, layer.a, layer.delta, layer.grad_W,
                                                                  layer.grad_b, layer.W, layer.b)]
    out += [rule.value for rule in verified.solution.chain_rules]
    out += [latex(q.substituted) for q in verified.solution.steps[0].worked[:40]]
    return out


@pytest.mark.parametrize("path", RANDOMISED, ids=lambda p: p.stem)
def test_a_batch_of_variants_equals_the_variants_one_by_one(path):
    problem = load_problem(path)
    together = solve_many(randomise.make_variants(problem, 2026, range(1, 7)))
    for k, verified in enumerate(together, start=1):
        alone = solve(randomise.make_variant(problem, 2026, k))
        assert verified.problem == alone.problem
        assert numbers_of(verified) == numbers_of(alone)  # to the last bit


@pytest.mark.parametrize("path", RANDOMISED, ids=lambda p: p.stem)
def test_variant_k_does_not_depend_on_how_many_are_made(path):
    problem = load_problem(path)
    few, many = randomise.make_variants(problem, 7, range(1, 6)), randomise.make_variants(problem, 7, range(1, 41))
    assert few == many[:5]
    assert randomise.make_variants(problem, 7, [23])[0] == many[22] == randomise.make_variant(problem, 7, 23)
    assert numbers_of(solve_many(many)[3]) == numbers_of(solve_many(few)[3])


def test_fast_draws_equal_the_generators_own():
    rng = random.Random(5)
    parts = [randomise._Part((rows, cols), ((0.0,) * cols,) * rows, np.arange(float(n)))
             for rows, cols, n in [(3, 2, 16), (1, 3, 1), (4, 4, 2), (2, 1, 1000003), (1, 1, 7)]]
    parts.append(randomise._Part((5, 3), ((0.0,) * 3,) * 5, classes=3))
    keys = [(rng.randrange(10**6), rng.randrange(1, 500), rng.randrange(1000)) for _ in range(300)]
    fast, _ = randomise._picks_fast(parts, keys)
    slow = randomise._rows([randomise._picks_slow(parts, key) for key in keys])
    for f, s in zip(fast, slow):
        assert np.array_equal(f, s)
    assert randomise._same_as_numpy()


@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_stacked_reference_equals_runs_one_by_one(path):
    problem = load_problem(path)
    shifted = dataclasses.replace(problem, weights=tuple(tuple(tuple(w * 0.9 for w in row) for row in W)
                                                         for W in problem.weights))
    stacked = reference.run_many([problem, shifted])
    for i, single in enumerate([reference.run(problem), reference.run(shifted)]):
        for one, many in zip(single, stacked):
            assert np.array_equal(one.loss, many.loss[i]) and np.array_equal(one.data_loss, many.data_loss[i])
            for name in ("z", "a", "delta", "grad_W", "grad_b", "new_W", "new_b"):
                if getattr(one, name) is not None:
                    assert all(np.array_equal(x, y[i]) for x, y in zip(getattr(one, name), getattr(many, name)))


def test_stacked_finite_differences_equal_one_parameter_at_a_time():
    problem = load_problem(PROBLEMS / "ng-4layer-regularised.yaml")
    step = reference.run(problem)[0]
    X, Y = np.array(problem.inputs), np.array(problem.targets)
    fd_W, fd_b = reference.finite_difference_gradients(problem, list(step.W), list(step.b), X, Y)
    h = 1e-6
    for l, W in enumerate(step.W):
        for index in np.ndindex(W.shape):
            plus, minus = [w.copy() for w in step.W], [w.copy() for w in step.W]
            plus[l][index] += h
            minus[l][index] -= h
            one = (reference.objective(problem, plus, list(step.b), X, Y)
                   - reference.objective(problem, minus, list(step.b), X, Y)) / (2 * h)
            assert fd_W[l][index] == one


def test_a_wrong_number_in_one_variant_stops_the_batch():
    problem = load_problem(RANDOMISED[0])
    solutions = list(substitute_many(randomise.make_variants(problem, 1, range(1, 4)), derivation.derive(problem.network)))
    step = solutions[1].steps[0]
    layer = step.layers[0]
    bad_z = layer.z.copy()
    bad_z[0, 0] += 1e-6
    layers = (dataclasses.replace(layer, z=bad_z), *step.layers[1:])
    solutions[1] = dataclasses.replace(solutions[1], steps=(dataclasses.replace(step, layers=layers), *solutions[1].steps[1:]))
    with pytest.raises(VerificationError, match="layer 1 z"):
        verify_many(solutions)


def test_the_modular_identity_test_tells_identities_from_near_misses():
    z = sp.Symbol("z")
    sigma = 1 / (1 + sp.exp(-z))
    assert identities.vanishes(sp.diff(sigma, z) - sigma * (1 - sigma))
    assert not identities.vanishes(sp.diff(sigma, z) - sigma * (1 - sigma) * (1 + sp.Rational(1, 10**12)))
    relu = sp.Piecewise((z, z > 0), (0, True))
    step = sp.Piecewise((1, z > 0), (0, True))
    assert identities.vanishes(sp.diff(3 * relu + z**2, z) - 3 * step - 2 * z)
    assert not identities.vanishes(sp.diff(3 * relu + z**2, z) - 3 * step)


def test_chain_rule_factors_are_evaluated_as_sympy_evaluates_them():
    a, y, z = sp.symbols("a_1 y_1 z_1")
    exprs = [derivation.activation_rule(name).derivative for name in ("sigmoid", "tanh", "relu", "identity")]
    exprs += list(derivation.output_rule("sigmoid", "bce", 2).dL_da) + list(derivation.output_rule("tanh", "mse", 3).delta)
    rng = random.Random(3)
    for expr in exprs:
        symbols = sorted(expr.free_symbols, key=str)
        for _ in range(200):
            values = {s: rng.choice([rng.uniform(0.01, 0.99), round(rng.uniform(-1, 1), 1)]) for s in symbols}
            try:
                expected = float(expr.xreplace({s: sp.Float(v) for s, v in values.items()}))
            except TypeError:  # not a real number there
                continue
            assert chain._evaluate(expr, values) == expected


def test_chain_rule_factors_at_30_digits_agree_with_sympy_evalf():
    z = sp.Symbol("z")
    exprs = [derivation.activation_rule(name).derivative_z for name in ("sigmoid", "tanh", "relu")]
    rng = random.Random(4)
    for expr in exprs:
        for _ in range(100):
            values = {z: rng.choice([rng.uniform(-40, 40), 0.0, round(rng.uniform(-3, 3), 1)])}
            expected = float(expr.xreplace({z: sp.Float(values[z], 30)}).evalf(30))
            assert chain._evaluate(expr, values, digits=30) == expected


# ---- the marking's recomputations and the quiz's accepted values, for a stack of variants


def _same_bits(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b))


@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_stacked_recomputation_equals_runs_one_by_one_for_every_method(path):
    from derive.mistakes import mistake_variants
    from derive.recompute import HONEST, recompute, recompute_many

    problem = load_problem(path)
    problems = randomise.make_variants(problem, 3, [1, 2, 3]) if problem.randomisation else (problem, problem)
    for method in [*HONEST, *(method for _, method in mistake_variants(problem))]:
        many = recompute_many(problems, method, {})
        for v, one_problem in enumerate(problems):
            for name, value in recompute(one_problem, method, {}).items():
                assert _same_bits(float(many[name][v]), value), (path.stem, method, name)


@pytest.mark.parametrize("path", RANDOMISED, ids=lambda p: p.stem)
def test_stacked_recomputation_puts_each_variants_own_answers_in(path):
    from derive.quantities import asked_quantities
    from derive.recompute import Method, recompute, recompute_many

    problems = randomise.make_variants(load_problem(path), 5, [1, 2, 3, 4])
    names = [item.name for item in asked_quantities(problems[0], steps=1)]
    rng = np.random.default_rng(0)
    given = {name: rng.normal(size=len(problems)).round(3) for name in names[::3]}
    many = recompute_many(problems, Method(), given)
    for v, problem in enumerate(problems):
        one = recompute(problem, Method(), {name: float(values[v]) for name, values in given.items()})
        assert all(_same_bits(float(many[name][v]), one[name]) for name in names)


@pytest.mark.parametrize("path", RANDOMISED, ids=lambda p: p.stem)
def test_accepted_values_of_a_batch_equal_those_made_one_by_one(path):
    from derive.marking import accepted_values, accepted_values_many

    solved = solve_many(randomise.make_variants(load_problem(path), 9, [1, 2, 3, 4, 5, 6]))
    assert accepted_values_many(solved) == [accepted_values(verified) for verified in solved]
    # and one by one, each is the old scalar rule: the exact value, then the rounded chains' values
    for verified, accepted in zip(solved, accepted_values_many(solved)):
        assert all(values and len(set(values)) == len(values) for values in accepted.values())


# ---- matrix products in a fixed order: the same bits on every machine


def test_fixed_order_matmul_is_the_product_summed_in_order():
    from derive.fixed_order import matmul

    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(4, 7)), rng.normal(size=(7, 3))
    expected = np.zeros((4, 3))
    for i in range(4):
        for j in range(3):
            total = A[i, 0] * B[0, j]
            for k in range(1, 7):
                total = total + A[i, k] * B[k, j]  # Python floats: one rounding per operation
            expected[i, j] = total
    assert np.array_equal(matmul(A, B), expected)
    stacked = rng.normal(size=(5, 4, 7))
    assert all(np.array_equal(matmul(stacked, B)[v], matmul(stacked[v], B)) for v in range(5))
    np.testing.assert_allclose(matmul(stacked, B), stacked @ B, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"), reason="OpenBLAS core types of x86")
def test_answer_keys_do_not_depend_on_the_blas_kernel(tmp_path):
    """OpenBLAS picks its kernel by CPU; two kernels any x86-64 machine runs must give the same
    keys to the bit (with A @ B, these two changed last bits of these keys)."""
    import os
    import subprocess
    import sys

    keys = {}
    for core in ("Prescott", "Sandybridge"):
        for name in ("bce-relu-epochs", "ng-4layer-regularised", "softmax-3class", "relu-2-3-3-1-batch"):
            key = tmp_path / f"{core}-{name}.json"
            result = subprocess.run([sys.executable, "-m", "derive", "solve", str(PROBLEMS / f"{name}.yaml"),
                                     "--json", str(key)], capture_output=True, text=True, cwd=tmp_path,
                                    env={**os.environ, "OPENBLAS_CORETYPE": core})
            assert result.returncode == 0, result.stderr
            keys.setdefault(name, set()).add(key.read_text(encoding="utf-8"))
    assert all(len(texts) == 1 for texts in keys.values()), [name for name, texts in keys.items() if len(texts) > 1]


# ----------------------------------------------------------------------------------------------
# Worked lines printed once per shape of step, each variant filling in its numbers


def every_problem():
    from derive.notation import PROFILES

    for path in sorted(PROBLEMS.glob("*.yaml")) + sorted((Path(__file__).parent / "problems").glob("*.yaml")):
        problem = load_problem(path)
        if problem.randomisation is not None:
            yield path.stem, randomise.make_variants(problem, 11, range(1, 5))
        else:
            yield path.stem, [problem]
    relu = load_problem(RANDOMISED[0])
    for name in PROFILES:
        for layout in ("column", "row"):
            yield f"{name}-{layout}", [dataclasses.replace(v, notation=name, layout=layout)
                                       for v in randomise.make_variants(relu, 3, range(1, 3))]


@pytest.mark.parametrize("name, problems", list(every_problem()), ids=lambda x: x if isinstance(x, str) else "")
def test_filled_line_templates_print_what_each_line_prints(name, problems):
    """sheet's worked lines come from templates printed once with the numbers as slots; filled
    with a variant's numbers they must be the lines printed one by one (latex, number)."""
    from derive.printing import number
    from derive.sheet import _printed_lines

    for verified in solve_many(problems):
        d = verified.problem.answers.decimals
        for step in verified.solution.steps[:3]:
            direct = [(q.section, q.example, latex(q.symbol), latex(q.formula), latex(q.substituted),
                       number(q.value, d, False)) for q in step.worked]
            filled = [(q.section, q.example, symbol, formula, substituted, value)
                      for q, symbol, formula, substituted, value in _printed_lines(step, d)]
            assert filled == direct
