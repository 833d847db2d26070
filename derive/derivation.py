"""Stage 1, symbolic derivation: SymPy derives the backprop formulas for a network.

Nothing here is a hand-written derivative. For the problem's network SymPy

* differentiates every activation, and rewrites f'(z) in terms of a = f(z) where the
  activation can be inverted (sigma' = a(1 - a), tanh' = 1 - a^2);
* differentiates the per-example loss through the output activation to get the output delta
  dL/dz^L, checks it equals the delta rule dL/da^L (.) f'(z^L), and simplifies it
  (sigmoid + bce and softmax + cross-entropy give a - y);
* proves the hidden-layer rule delta^l = (W^(l+1))^T delta^(l+1) (.) f'(z^l) and the gradient
  rules dL/dW = delta a^T, dL/db = delta by differentiating the network's own layer maps, neuron
  by neuron, for the network at hand (cheap: each identity involves one layer only);
* and, for networks small enough (``END_TO_END_LIMIT`` parameters), differentiates the whole
  loss directly with respect to every parameter and shows that the delta-rule form minus that
  direct derivative cancels to 0.

The layer-by-layer proof is what keeps this fast for wide networks: expanding the loss and
differentiating it once per weight grows with the product of the layer widths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .identities import vanishes
from .notation import NIELSEN, Notation
from .registry import ACTIVATIONS, LOSSES, Activation, Loss
from .spec import Network
from .symbols import SymbolicNetwork, build_symbolic_network

N = NIELSEN  # the notation of the claims

#: Networks with at most this many weights and biases, and at most END_TO_END_DEPTH non-input
#: layers, also get the end-to-end proof (its cost grows with depth, not only with size).
END_TO_END_LIMIT = 40
END_TO_END_DEPTH = 3

Z, A = sp.symbols("z a")
ETA, LAMBDA, M = sp.symbols("eta lambda m", positive=True)


@dataclass(frozen=True)
class ActivationRule:
    """An activation's derivative as SymPy found it, in z and (where possible) in a."""

    name: str
    derivative_z: sp.Expr
    derivative_a: sp.Expr | None

    @property
    def derivative(self) -> sp.Expr:
        """f' in the form a student uses: in a when possible, else in z."""
        return self.derivative_a if self.derivative_a is not None else self.derivative_z


@dataclass(frozen=True)
class OutputRule:
    """The output-layer delta, per neuron, for one activation and loss.

    ``delta_rule[j]`` is dL/da (.) f'(z) as an unevaluated product (for display);
    ``delta[j]`` is the same, simplified by SymPy; ``direct[j]`` is SymPy's dL/dz_j of the
    loss written in z. Expressions use the symbols ``a``, ``y`` and ``z``.
    """

    activation: str
    loss: str
    a: tuple[sp.Symbol, ...]
    y: tuple[sp.Symbol, ...]
    z: tuple[sp.Symbol, ...]
    loss_expr: sp.Expr
    dL_da: tuple[sp.Expr, ...]
    delta_rule: tuple[sp.Expr, ...]
    delta: tuple[sp.Expr, ...]
    direct: tuple[sp.Expr, ...]
    assumptions: tuple[str, ...]


@dataclass(frozen=True)
class Proof:
    """One identity checked by SymPy: how many instances, and whether all held."""

    claim: str
    method: str  # plain text, for the terminal
    instances: int
    holds: bool
    method_latex: str = ""  # the same sentence for the answer key, with its math in $...$
    kind: tuple = ()  # which claim (see :func:`claim`), so that a sheet spells it in its notation

    def claim_in(self, notation: Notation) -> str:
        """The claim spelled in ``notation`` (the stored ``claim`` is in derive's default)."""
        return _CLAIMS[self.kind[0]](notation, *self.kind[1:]) if self.kind else self.claim


@dataclass(frozen=True)
class Derivation:
    """Everything SymPy derived for one network."""

    network: Network
    activations: tuple[ActivationRule, ...]
    output: OutputRule
    regularisation: sp.Expr
    proofs: tuple[Proof, ...]

    @property
    def proved(self) -> bool:
        return all(p.holds for p in self.proofs)


def derive(network: Network) -> Derivation:
    """Derive (and prove) the backprop formulas for ``network``."""
    rules = tuple(activation_rule(name) for name in network.activations)
    output = output_rule(network.activations[-1], network.loss, network.layers[-1])
    proofs = [
        _prove_output(output),
        *_prove_hidden_layers(network, rules),
        _prove_gradients(network),
    ]
    regularisation, reg_proof = _derive_regularisation()
    proofs.append(reg_proof)
    if parameter_count(network) <= END_TO_END_LIMIT and network.depth <= END_TO_END_DEPTH:
        proofs.append(prove_end_to_end(network))
    return Derivation(network, rules, output, regularisation, tuple(proofs))


def parameter_count(network: Network) -> int:
    sizes = network.layers
    per_layer = [sizes[l] * (sizes[l - 1] + (1 if network.bias else 0)) for l in range(1, len(sizes))]
    return sum(per_layer)


@lru_cache(maxsize=None)
def activation_rule(name: str) -> ActivationRule:
    """Differentiate an elementwise activation; rewrite f'(z) in a = f(z) when invertible."""
    activation = ACTIVATIONS[name]
    if not activation.elementwise:
        return ActivationRule(name, sp.nan, None)  # its Jacobian lives in the output rule
    derivative_z = sp.diff(activation.sympy([Z])[0], Z)
    derivative_a = None
    if activation.inverse is not None:
        derivative_a = tidy(sp.simplify(derivative_z.subs(Z, activation.inverse(A))))
    return ActivationRule(name, derivative_z, derivative_a)


@lru_cache(maxsize=None)
def output_rule(activation_name: str, loss_name: str, size: int) -> OutputRule:
    """Derive the output delta dL/dz^L for ``size`` output neurons."""
    activation, loss = ACTIVATIONS[activation_name], LOSSES[loss_name]
    a = sp.symbols(f"a_1:{size + 1}")
    y = sp.symbols(f"y_1:{size + 1}")
    z = sp.symbols(f"z_1:{size + 1}")
    loss_in_a = loss.sympy(a, y)
    dL_da = tuple(_as_neuron_one(tidy, sp.diff(loss_in_a, ak)) for ak in a)
    jacobian = _jacobian_in_a(activation, z, a)
    delta_rule = tuple(
        sp.Add(*[_shown_product(dL_da[k], jacobian[k][j]) for k in range(size) if jacobian[k][j] != 0])
        for j in range(size)
    )
    assumptions: list[str] = []
    if not activation.elementwise:
        assumptions.append(r"\sum_k a_k = 1")
    delta = tuple(_simplify_delta(d, y, j, loss, assumptions) for j, d in enumerate(delta_rule))
    # Direct derivative: the loss written through the activation, differentiated in z.
    loss_in_z = loss.sympy(activation.sympy(z), y)
    direct = tuple(sp.diff(loss_in_z, zj) for zj in z)
    return OutputRule(
        activation_name, loss_name, a, y, z, loss_in_a, dL_da, delta_rule, delta, direct, tuple(assumptions)
    )


def _shown_product(*factors: sp.Expr) -> sp.Expr:
    """The product left unevaluated (to show the delta rule), with the factors' signs and numbers
    gathered in front, so that a sum of such products prints "a - b", not "a + -b"."""
    coefficients, rests = zip(*(factor.as_coeff_Mul() for factor in factors))
    coefficient = sp.Mul(*coefficients)
    shown = sp.Mul(*rests, evaluate=False)
    return shown if coefficient == 1 else sp.Mul(coefficient, shown, evaluate=False)


def _jacobian_in_a(activation: Activation, z, a) -> list[list[sp.Expr]]:
    """da_k/dz_j, in terms of a where the activation has an inverse (else in z and a)."""
    outputs = activation.sympy(z)
    size = len(z)
    if activation.elementwise:
        rule = activation_rule(activation.name)
        diag = [rule.derivative.subs({A: a[j], Z: z[j]}) for j in range(size)]
        return [[diag[k] if k == j else sp.S.Zero for j in range(size)] for k in range(size)]
    back = {zk: activation.inverse(ak) for zk, ak in zip(z, a)}
    jacobian = sp.Matrix(outputs).jacobian(z)
    # The preimage z_k = log a_k only holds on the simplex: impose sum(a) = 1 before simplifying.
    return [
        [tidy(sp.simplify(jacobian[k, j].subs(back).xreplace({sp.Add(*a): 1}))) for j in range(size)]
        for k in range(size)
    ]


def _simplify_delta(delta_rule: sp.Expr, y, j: int, loss: Loss, assumptions: list[str]) -> sp.Expr:
    delta = _as_neuron_one(tidy, simplified_one_neuron(delta_rule))
    if loss.targets_sum_to_one:
        # With sum(y) = 1 (one-hot or a distribution), a_j * sum(y) - y_j collapses to a_j - y_j:
        # eliminate one target other than y_j through the constraint.
        e = len(y) - 1 if j != len(y) - 1 else 0
        others = sp.Add(*[y_k for k, y_k in enumerate(y) if k != e])
        delta = tidy(simplified(sp.expand(sp.expand(delta).subs(y[e], 1 - others))))
        if r"\sum_k y_k = 1" not in assumptions:
            assumptions.append(r"\sum_k y_k = 1")
    return delta


def simplified_one_neuron(expr: sp.Expr) -> sp.Expr:
    """:func:`simplified` ``(expr)``, remembered across the neurons of a layer (see :func:`_as_neuron_one`)."""
    return _as_neuron_one(simplified, expr)


def simplified(expr: sp.Expr) -> sp.Expr:
    """``sp.simplify(expr)``; a polynomial is only expanded.

    Expanding decides whether a polynomial is 0, and :func:`tidy` writes the result from its
    factored and expanded forms, which are the same however the polynomial was written: the
    delta of an identity or softmax output comes out as simplify gives it, without simplify's
    heuristics and without the import of ``sympy.physics.units`` its first call makes (0.1 s,
    most of a cold derivation for a ReLU network).
    """
    return sp.expand(expr) if expr.is_polynomial() else sp.simplify(expr)


def _as_neuron_one(function, expr: sp.Expr) -> sp.Expr:
    """``function(expr)``, remembered across neurons: an expression in one neuron's symbols
    (a_j, y_j, z_j) is worked as neuron 1's and renamed back, since every output neuron of an
    elementwise layer has the same formula; anything else is worked as it is."""
    symbols = sorted(expr.free_symbols, key=str)
    parts = [symbol.name.rpartition("_") for symbol in symbols]
    if len({index for _, _, index in parts}) != 1 or not all(stem for stem, _, _ in parts):
        return function(expr)
    first = {s: sp.Symbol(f"{stem}_1", **s.assumptions0) for s, (stem, _, _) in zip(symbols, parts)}
    if all(k == v for k, v in first.items()):
        return _remembered(function, expr)
    worked = _remembered(function, expr.xreplace(first))
    with sp.evaluate(False):  # renamed back as it is: 2*(a - y) must not turn into 2*a - 2*y
        return worked.xreplace({v: k for k, v in first.items()})


@lru_cache(maxsize=1024)
def _remembered(function, expr: sp.Expr) -> sp.Expr:
    return function(expr)


def tidy(expr: sp.Expr) -> sp.Expr:
    """The same expression in the form a lecturer writes: a(1 - a) rather than -a(a - 1).

    Picks, among the factored form (with a leading minus pushed into a factor such as
    (a - 1) -> (1 - a)) and the expanded form, one without a leading minus and with the fewest
    operations, preferring the factored one on a tie.
    """
    factored = sp.factor(expr)
    candidates = [_flip_sign(factored), factored, sp.expand(expr)]
    return min(candidates, key=lambda e: (str(e).startswith("-"), sp.count_ops(e)))


def _flip_sign(expr: sp.Expr) -> sp.Expr:
    coeff, rest = expr.as_coeff_Mul()
    if not coeff.is_negative:
        return expr
    factors = list(sp.Mul.make_args(rest))
    for i, factor in enumerate(factors):
        # (a - 1) -> (1 - a): a two-term sum with a negative constant
        if isinstance(factor, sp.Add) and len(factor.args) == 2 and any(t.is_number and t < 0 for t in factor.args):
            factors[i] = -factor
            return -coeff * sp.Mul(*factors)
    return expr


def _prove_output(rule: OutputRule) -> Proof:
    """delta rule (in a, with a = f(z)) minus SymPy's direct dL/dz simplifies to 0."""
    activation = ACTIVATIONS[rule.activation]
    in_z = dict(zip(rule.a, activation.sympy(rule.z)))
    holds = all(
        simplified_one_neuron(rule_j.subs(in_z) - direct_j) == 0 for rule_j, direct_j in zip(rule.delta_rule, rule.direct)
    )
    return Proof(
        claim=_output_claim(N),
        kind=("output",),
        method=f"dL/dz_j of the {rule.loss} loss through {rule.activation}, for each of the "
        f"{len(rule.z)} output neurons, minus the delta rule, simplifies to 0",
        instances=len(rule.z),
        holds=holds,
        method_latex=rf"$\partial L/\partial z_j$ of the {rule.loss.replace('_', ' ')} loss through "
        rf"{rule.activation.replace('_', ' ')}, for each of the {len(rule.z)} output neurons, minus the delta "
        "rule, simplifies to 0",
    )


def _prove_hidden_layers(network: Network, rules: tuple[ActivationRule, ...]) -> list[Proof]:
    """For each hidden layer: d z^(l+1) / d z^l from the layer map equals W^(l+1) f'(z^l)."""
    proofs = []
    sizes = network.layers
    for l in range(1, network.depth):
        n_l, n_next = sizes[l], sizes[l + 1]
        z = sp.symbols(f"z_1:{n_l + 1}")
        weights = _symbol_rows(n_next, n_l)
        bias = sp.symbols(f"b_1:{n_next + 1}")
        activation = ACTIVATIONS[network.activations[l - 1]]
        z_next = _affine(weights, activation.sympy(z), bias)
        # By the chain rule delta^l_j = sum_k dz^(l+1)_k/dz^l_j delta^(l+1)_k, which is linear in
        # delta^(l+1); so the rule holds exactly when every Jacobian entry is W_kj f'(z_j).
        fprime = [rules[l - 1].derivative_z.subs(Z, zj) for zj in z]

        holds = all(
            _entry_is(_partial_parts(z[j], by_symbol.get(z[j], [])), weights[k][j], fprime[j])
            for k, by_symbol in enumerate(_terms_by_symbol(z_next[k], z) for k in range(n_next)) for j in range(n_l)
        )
        proofs.append(
            Proof(
                claim=_hidden_claim(N, l),
                kind=("hidden", l),
                method=f"layer {l}: SymPy's Jacobian of {_layer_map(l, 'text')} "
                f"({n_next}x{n_l}) applied to {N.vector('delta', l + 1, 'text')} by the chain rule, minus the delta rule, "
                f"expands to 0 for each of the {n_l} neurons",
                instances=n_l,
                holds=holds,
                method_latex=rf"layer {l}: SymPy's Jacobian of ${_layer_map(l, 'latex')}$ "
                rf"(${n_next} \times {n_l}$) applied to ${N.vector('delta', l + 1)}$ by the chain rule, minus the "
                f"delta rule, expands to 0 for each of the {n_l} neurons",
            )
        )
    return proofs


def _output_claim(N: Notation) -> str:
    return (rf"{N.vector('delta', 'L')} = {N.d_dx('L', N.vector('a', 'L'))} \odot f'({N.vector('z', 'L')}) = "
            + N.d_dx("L", N.vector("z", "L")))


def _hidden_claim(N: Notation, l: int) -> str:
    return rf"{N.vector('delta', l)} = ({N.W(l + 1)})^T {N.vector('delta', l + 1)} \odot f'({N.vector('z', l)})"


def _gradients_claim(N: Notation) -> str:
    return (rf"{N.d_dx('L', N.W('l'))} = {N.vector('delta', 'l')} ({N.vector('a', 'l-1')})^T,\quad "
            rf"{N.d_dx('L', N.b_vector('l'))} = {N.vector('delta', 'l')}")


#: The claims a notation re-spells, by :attr:`Proof.kind`.
_CLAIMS = {"output": _output_claim, "hidden": _hidden_claim, "gradients": _gradients_claim}


def _terms_by_symbol(expr: sp.Expr, symbols) -> dict:
    """The terms of the sum ``expr`` in which each of ``symbols`` occurs (symbols occurring in
    none are left out): d expr/d s is the sum of those terms' derivatives, every other term
    being constant in s. Each term's free symbols are read once, which keeps a layer's
    Jacobian linear in its number of entries instead of quadratic."""
    wanted = set(symbols)
    found: dict = {}
    for term in sp.Add.make_args(expr):
        for symbol in term.free_symbols & wanted:
            found.setdefault(symbol, []).append(term)
    return found


def _partial_parts(symbol: sp.Symbol, terms) -> list[tuple[sp.Expr, sp.Expr]]:
    """d/d symbol of a sum of ``terms`` (the terms that hold ``symbol``) as (constant factor,
    derivative of the rest) per term: SymPy splits each term into a factor constant in
    ``symbol`` and the rest, whose derivative it takes once and remembers (the same f(z_j)
    recurs in every row of a Jacobian)."""
    parts = []
    for term in terms:
        constant, rest = _split(term, symbol)
        parts.append((constant, _diff(rest, symbol)))
    return parts


def _split(term: sp.Expr, symbol: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """(the factors of ``term`` free of ``symbol``, the other factors), as products."""
    factors = sp.Mul.make_args(term)
    holding = [f for f in factors if symbol in f.free_symbols]
    return sp.Mul(*[f for f in factors if symbol not in f.free_symbols]), sp.Mul(*holding)


def _partial(symbol: sp.Symbol, terms) -> sp.Expr:
    """d/d symbol of the sum of ``terms``."""
    return sp.Add(*[constant * derivative for constant, derivative in _partial_parts(symbol, terms)])


def _entry_is(parts: list[tuple[sp.Expr, sp.Expr]], factor: sp.Expr, derivative: sp.Expr) -> bool:
    """Whether the derivative ``parts`` equal ``factor * derivative``: at once when they are
    that very product, else by SymPy cancelling the difference to 0."""
    if len(parts) == 1 and parts[0] == (factor, derivative):
        return True
    return sp.Add(*[c * d for c, d in parts]) - factor * derivative == 0


@lru_cache(maxsize=4096)
def _diff(expr: sp.Expr, symbol: sp.Symbol) -> sp.Expr:
    """d expr/d symbol (remembered: the same f(z_j) recurs in every row of a Jacobian). A function of ``symbol`` alone (f(z_j) in every neuron j) is
    differentiated once in a generic variable and renamed: renaming commutes with
    differentiation, and SymPy's diff of a sigmoid costs tens of milliseconds."""
    if expr == symbol:
        return sp.S.One
    if expr.free_symbols == {symbol}:
        return _diff_generic(expr.xreplace({symbol: Z})).xreplace({Z: symbol})
    return sp.diff(expr, symbol)


@lru_cache(maxsize=4096)
def _diff_generic(expr: sp.Expr) -> sp.Expr:
    return sp.diff(expr, Z)


def _symbol_rows(rows: int, cols: int) -> list[list[sp.Symbol]]:
    """The weights w_jk of a layer, row by row."""
    return [[sp.Symbol(f"w_{j + 1}_{k + 1}") for k in range(cols)] for j in range(rows)]


def _affine(weights, inputs, bias) -> list[sp.Expr]:
    """W x + b, row by row: each row the sum of the products w_jk x_k and b_j, held as written
    (SymPy's automatic simplification of thousands of products w_jk f(z_k) would only sort
    and check what is already in order)."""
    return [sp.Add(*[sp.Mul(w, x, evaluate=False) for w, x in zip(row, inputs)], b, evaluate=False)
            for row, b in zip(weights, bias)]


def _layer_map(l: int, form: str) -> str:
    """z^(l+1) = W^(l+1) f(z^(l)) + b, in LaTeX or text."""
    return (f"{N.vector('z', l + 1, form)} = {N.W(l + 1, form)} f({N.vector('z', l, form)}) + "
            f"{getattr(N.all_biases, form)}")


def _prove_gradients(network: Network) -> Proof:
    """dz^l/dW^l and dz^l/db^l from z = W a + b give dL/dW = delta a^T and dL/db = delta."""
    instances, holds = 0, True
    for l in range(1, network.depth + 1):
        n_l, n_prev = network.layers[l], network.layers[l - 1]
        weights = _symbol_rows(n_l, n_prev)
        bias = sp.symbols(f"b_1:{n_l + 1}")
        a_prev = sp.symbols(f"a_1:{n_prev + 1}")
        z = _affine(weights, a_prev, bias)
        # dL/dtheta = sum_i delta_i dz_i/dtheta: check every dz_i/dtheta against the rule's
        # a_k (for w_jk, i = j), 1 (for b_j, i = j) and 0 (every other i).
        # (dz_i/dtheta = 0 for i != j is read off z_i's free symbols: theta does not occur in it.)
        parameters = [w for row in weights for w in row] + list(bias)
        terms = [_terms_by_symbol(z_i, parameters) for z_i in z]
        occurs: dict = {theta: [] for theta in parameters}  # where each parameter occurs: only in z_j of its neuron j
        for i, found in enumerate(terms):
            for theta in found:
                occurs[theta].append(i)
        for j in range(n_l):
            for k in range(n_prev):
                holds &= _partial(weights[j][k], terms[j].get(weights[j][k], [])) == a_prev[k] and occurs[weights[j][k]] == [j]
                instances += 1
            if network.bias:
                holds &= _partial(bias[j], terms[j].get(bias[j], [])) == 1 and occurs[bias[j]] == [j]
                instances += 1
    return Proof(
        claim=_gradients_claim(N),
        kind=("gradients",),
        method="every weight and bias of every layer: sum_i delta_i dz_i/dtheta minus the rule expands to 0",
        instances=instances,
        holds=holds,
        method_latex=r"every weight and bias of every layer: $\sum_i \delta_i\, \partial z_i/\partial\theta$ "
        "minus the rule expands to 0",
    )


def _derive_regularisation() -> tuple[sp.Expr, Proof]:
    """d/dw of lambda/(2m) w^2: the regularisation term of the weight gradient."""
    w = sp.Symbol("w")
    term = sp.diff(LAMBDA / (2 * M) * w**2, w)
    return term, Proof(
        claim=r"\frac{\partial}{\partial w}\frac{\lambda}{2m}\sum w^2 = \frac{\lambda}{m} w",
        method="SymPy differentiates the L2 penalty (biases are not penalised)",
        instances=1,
        holds=sp.simplify(term - LAMBDA * w / M) == 0,
        method_latex="SymPy differentiates the L2 penalty (biases are not penalised)",
    )


def prove_end_to_end(network: Network) -> Proof:
    """Differentiate the whole per-example loss once per parameter and compare with backprop.

    After differentiation every exponential, tanh, log and Piecewise branch is replaced by an
    independent symbol, which makes the difference a rational function of independent symbols.
    It is shown to be identically 0 by exact evaluation at random rational points: a nonzero
    rational function vanishes at such a point with negligible probability (Schwartz-Zippel),
    and exact arithmetic leaves no rounding to hide behind. This is far cheaper than
    ``simplify`` on deep networks, where the direct derivative is already large.
    """
    net = build_symbolic_network(network)
    constraint = {}
    if LOSSES[network.loss].targets_sum_to_one:
        constraint = {net.y[-1]: 1 - sp.Add(*net.y[:-1])}  # the output rule assumed sum(y) = 1
    holds = True
    for parameter, backprop_form in _backprop_gradients(network, net):
        difference = (sp.diff(net.loss, parameter) - backprop_form).xreplace(constraint)
        holds &= vanishes(difference)
    return Proof(
        claim=r"\frac{\partial L}{\partial \theta}\ \text{(direct)} = \text{delta-rule form, for every } \theta",
        method=f"SymPy differentiates the whole loss of this {'-'.join(map(str, network.layers))} network "
        f"with respect to each of its {len(net.parameters)} parameters; each difference with the "
        "delta-rule form is identically 0 (exact rational identity test)",
        instances=len(net.parameters),
        holds=holds,
        method_latex=f"SymPy differentiates the whole loss of this {'--'.join(map(str, network.layers))} network "
        f"with respect to each of its {len(net.parameters)} parameters; each difference with the "
        "delta-rule form is identically 0 (exact rational identity test)",
    )


def _backprop_gradients(network: Network, net: SymbolicNetwork):
    """(parameter, delta-rule gradient) pairs, the deltas built from the derived rules."""
    output = output_rule(network.activations[-1], network.loss, network.layers[-1])
    last = {**dict(zip(output.a, net.a[-1])), **dict(zip(output.y, net.y)), **dict(zip(output.z, net.z[-1]))}
    delta = [d.xreplace(last) for d in output.delta]
    inputs = (net.x, *net.a[:-1])
    for l in range(network.depth, 0, -1):
        W, b = net.weights[l - 1], net.biases[l - 1]
        for j in range(W.rows):
            for k in range(W.cols):
                yield W[j, k], delta[j] * inputs[l - 1][k]
            if network.bias:
                yield b[j], delta[j]
        if l > 1:
            rule = activation_rule(network.activations[l - 2])
            fprime = [
                rule.derivative.xreplace({A: a_j, Z: z_j}) for a_j, z_j in zip(net.a[l - 2], net.z[l - 2])
            ]
            delta = [sp.Add(*[W[k, j] * delta[k] for k in range(W.rows)]) * fprime[j] for j in range(W.cols)]
