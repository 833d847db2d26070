"""The notation: how every quantity of a sheet is written, in one place.

Every output names the same numbers: z, a, delta per layer, neuron and example, the losses, the
gradients and the updated parameters. This module owns their spelling in each form an output
needs:

* ``latex``: as a worked line or a table shows it (``\\delta^{(2)}_{1}[3]``, the gradient as
  ``\\frac{\\partial J}{\\partial w^{(1)}_{12}}``); ``inline=True`` gives the compact form a table
  cell or a quiz label uses (``\\partial J/\\partial w^{(1)}_{12}``);
* ``text``: plain text for the terminal (``delta(2)_1[3]``, ``dJ/dw(1)_12``);
* ``label``: the name a student types in an answers file (``delta2_1[3]``, ``dW1_12``), with the
  other spellings accepted for it (``aliases``);
* ``words``: what the quantity is, in a sentence (``delta = dL/dz of hidden layer 1, neuron 2``).

A :class:`Notation` is data: format strings, no branches. :data:`NIELSEN` is derive's default
(w^l_jk, z^l, a^l, delta^l); a course's own notation is another instance of the same class.

>>> NIELSEN.latex(QuantityName("delta", 2, (0,), 2), example=3)
'\\\\delta^{(2)}_{1}[3]'
>>> NIELSEN.text(QuantityName("dW", 1, (0, 1)))
'dJ/dw(1)_12'
>>> NIELSEN.label(QuantityName("W", 2, (0, 1)))
'new_W2_12'
"""

from __future__ import annotations

import functools

from dataclasses import dataclass, replace
from typing import Any, Callable


@dataclass(frozen=True, order=True)
class QuantityName:
    """One number of a step: ``kind``, ``layer`` from 1 (0 for losses), ``index`` and ``example``
    from 0 (``example`` is the row within the step's batch, None when not per example).

    Kinds: ``z``, ``a``, ``delta`` (per example and neuron), ``L`` (per example), ``J`` (the batch
    cost), ``dW``, ``db`` (gradients), ``W``, ``b`` (the parameters *after* the update) and
    ``L_after`` (the loss after the update). ``step`` is the SGD step, from 0 (the first).
    """

    kind: str
    layer: int = 0
    index: tuple[int, ...] = ()
    example: int | None = None
    step: int = 0


@dataclass(frozen=True)
class Spelling:
    """How one kind of symbol is written: ``{l}`` the layer, ``{j}`` the neuron, ``{jk}`` the
    neuron pair of a weight, in LaTeX, in plain text and as an answers-file label."""

    latex: str
    text: str
    label: str = ""


@dataclass(frozen=True)
class Notation:
    """One way of writing a network's quantities (see the module docstring)."""

    name: str
    pre_activation: Spelling = Spelling("z^{{({l})}}_{{{j}}}", "z({l})_{j}", "z{l}_{j}")
    activation: Spelling = Spelling("a^{{({l})}}_{{{j}}}", "a({l})_{j}", "a{l}_{j}")
    input: Spelling = Spelling("x_{{{j}}}", "x_{j}", "x_{j}")
    target: Spelling = Spelling("y_{{{j}}}", "y_{j}", "y_{j}")
    delta: Spelling = Spelling("\\delta^{{({l})}}_{{{j}}}", "delta({l})_{j}", "delta{l}_{j}")
    weight: Spelling = Spelling("w^{{({l})}}_{{{jk}}}", "w({l})_{jk}", "w{l}_{jk}")
    bias: Spelling = Spelling("b^{{({l})}}_{{{j}}}", "b({l})_{j}", "b{l}_{j}")
    weight_matrix: Spelling = Spelling("W^{{({l})}}", "W({l})", "W{l}")
    bias_vector: Spelling = Spelling("b^{{({l})}}", "b({l})", "b{l}")
    loss: Spelling = Spelling("L", "L", "L")
    cost: Spelling = Spelling("J", "J", "J")
    cost_after: Spelling = Spelling("J'", "J'", "L_after")
    weight_gradient: Spelling = Spelling("\\frac{{\\partial J}}{{\\partial {w}}}", "dJ/d{w}", "dW{l}_{jk}")
    bias_gradient: Spelling = Spelling("\\frac{{\\partial J}}{{\\partial {b}}}", "dJ/d{b}", "db{l}_{j}")
    inline_gradient: str = "\\partial J/\\partial {p}"
    updated: Spelling = Spelling("{{{p}}}'", "{p}'", "new_{p}")
    example_suffix: Spelling = Spelling("[{i}]", "[{i}]", "[{i}]")
    learning_rate: Spelling = Spelling("\\eta", "eta", "eta")
    penalty: Spelling = Spelling("\\lambda", "lambda", "lambda")
    # ---- in general formulas: the batch, a summation's running index, vectors, partials
    batch_size: Spelling = Spelling("m", "m")
    example_index: str = "i"  # the running index over a batch's examples
    neuron_index: str = "k"  # the running index over a layer's neurons
    summed_pre_activation: Spelling = Spelling("z^{{({l})}}_{j}", "z({l})_{j}")
    example_loss: Spelling = Spelling("L^{{[{i}]}}", "L[{i}]")
    example_delta: Spelling = Spelling("\\delta^{{({l})[{i}]}}_{{{j}}}", "delta({l})[{i}]_{j}")
    example_input: Spelling = Spelling("x^{{[{i}]}}_{{{j}}}", "x[{i}]_{j}")
    example_activation: Spelling = Spelling("a^{{({l})[{i}]}}_{{{j}}}", "a({l})[{i}]_{j}")
    all_weights: Spelling = Spelling("W", "W")
    all_biases: Spelling = Spelling("b", "b")
    unlayered_activation: Spelling = Spelling("a_{{{j}}}", "a_{j}")  # the output layer's, in its loss
    unlayered_pre_activation: Spelling = Spelling("z_{{{j}}}", "z_{j}")
    short_delta: Spelling = Spelling("\\delta^{{({l})}}_{j}", "delta({l})_{j}")
    example_delta_vector: Spelling = Spelling("\\delta^{{({l})[{i}]}}", "delta[{i}]")
    example_activation_vector: Spelling = Spelling("a^{{({l})[{i}]}}", "a[{i}]")
    cost_after_formula: Spelling = Spelling("J(W', b')", "J(W', b')")
    partial: Spelling = Spelling("\\frac{{\\partial {top}}}{{\\partial {bottom}}}", "d{top}/d{bottom}")
    pre_activation_vector: Spelling = Spelling("z^{{({l})}}", "z({l})")
    activation_vector: Spelling = Spelling("a^{{({l})}}", "a({l})")
    delta_vector: Spelling = Spelling("\\delta^{{({l})}}", "delta({l})")
    # ---- column heads of a layer's table of gradients and updated parameters (row j)
    weight_gradient_column: Spelling = Spelling("\\partial w_{{j{k}}}", "dw_j{k}")
    bias_gradient_column: Spelling = Spelling("\\partial b_j", "db_j")
    weight_updated_column: Spelling = Spelling("w'_{{j{k}}}", "w'_j{k}")
    bias_updated_column: Spelling = Spelling("b'_j", "b'_j")
    # ---- a parameter's own answers-file name, from which ``new_...`` and ``...'`` are made
    weight_name: str = "W{l}_{jk}"
    bias_name: str = "b{l}_{j}"
    #: The profile's own statement of the rules (LaTeX lines the answer key shows beside the
    #: derivation), and further lines for a loss of that name (a form the course writes out).
    rules: tuple[str, ...] = ()
    #: How the answers template explains the names (its comment lines, after "Notation: ...").
    layer_number: str = "{l}"  # how the words number a layer ("{l1}": the input layer is 1)
    template_intro: str = "Notation: layer 1 is the first hidden layer, neurons and inputs count from 1."
    template_help: tuple[str, ...] = (
        "z1_2 / a1_2   pre-activation / activation of layer 1, neuron 2",
        "delta2_1      dL/dz of layer 2, neuron 1",
        "dW2_12        dJ/dw for layer 2, neuron 1, input 2 (the weight in row 1, column 2 of W2)",
        "db2_1         dJ/db for layer 2, neuron 1",
        "new_W2_12     the weight after the update (W2_12' is accepted too); new_b2_1 likewise",
    )
    loss_rules: tuple[tuple[str, str], ...] = ()
    #: The rules in the row layout (a batch's examples are the rows of X, A and Delta).
    row_rules: tuple[str, ...] = (
        "U = X W + b \\ (W: \\text{inputs} \\times \\text{neurons}),\\quad "
        "\\frac{\\partial J}{\\partial W} = \\tfrac{1}{m} A_{\\mathrm{prev}}^T \\Delta,\\quad "
        "\\frac{\\partial J}{\\partial b} = \\tfrac{1}{m} \\textstyle\\sum_{\\mathrm{rows}} \\Delta,\\quad "
        "\\Delta_{\\mathrm{prev}} = \\Delta W^T \\odot f'(U_{\\mathrm{prev}})",
    )
    # ---- bound to a network (:meth:`bound`): layer sizes (numbered names) and the row layout
    sizes: tuple[int, ...] = ()
    row: bool = False

    def bound(self, sizes: tuple[int, ...], row: bool = False) -> "Notation":
        """This notation for a network of ``sizes`` (input first); ``row``: weights are written
        (inputs, neurons), so a weight's index pair is (input, neuron)."""
        return replace(self, sizes=tuple(sizes), row=row)

    def _fields(self, layer, j=None, k=None) -> dict:
        """The fields a spelling may use: ``l`` the layer (derive's, from 1), ``l1`` the layer
        after it (courses numbering the input layer 1), ``j``, ``k``, ``jk``, ``u`` a numbered
        unit name (i1, h2, o1), ``n`` a weight's number across the network, ``nb`` a bias's.
        Made once per (layer, j, k): a large network spells each neuron's fields many times."""
        return self.spelled(("fields", layer, j, k), lambda: self._make_fields(layer, j, k))

    def spelled(self, key: tuple, spell: Callable[[], Any]) -> Any:
        """``spell()``, made once per ``key`` for this (bound) notation: every variant of an exam
        spells the same names, and a large network each neuron's fields many times."""
        found = self._spellings.get(key)
        if found is None:
            found = self._spellings[key] = spell()
        return found

    @functools.cached_property  # per object, outside the fields: not compared, hashed or replaced
    def _spellings(self) -> dict:
        return {}

    def _make_fields(self, layer, j, k) -> dict:
        fields = {"l": layer, "l1": _shifted(layer), "j": j, "k": k, "jk": f"{j}{k}", "u": f"u{j}", "n": "", "nb": ""}
        if isinstance(layer, int) and len(self.sizes) > layer:
            fields["u"] = self._unit(layer, j)
        if isinstance(layer, int) and isinstance(j, int) and len(self.sizes) > layer:
            fields["nb"] = sum(self.sizes[1:layer]) + j if layer > 0 else ""
            if isinstance(k, int) and layer > 0:
                fields["n"] = sum(a * b for a, b in zip(self.sizes[:layer - 1], self.sizes[1:layer])) \
                    + (j - 1) * self.sizes[layer - 1] + k
        return fields

    def _unit(self, layer: int, j) -> str:
        """Neuron j of a layer as i1, h3, o1 (hidden neurons numbered across the hidden layers)."""
        if layer == 0:
            return f"i{j}"
        if layer == len(self.sizes) - 1:
            return f"o{j}"
        return f"h{sum(self.sizes[1:layer]) + j}" if isinstance(j, int) else f"h{j}"

    def _format(self, spelling: Spelling, form: str, layer, j=None, k=None, **extra) -> str:
        return getattr(spelling, form).format(**{**self._fields(layer, j, k), **extra})

    # ---- building blocks (layer l from 1, neuron j and input k from 1)

    def pair(self, j: int, k: int, wide: bool = False, form: str = "latex") -> str:
        """The neuron pair of a weight: '12', or '1_2' in labels ('1,2' in LaTeX) when a layer has
        10 or more neurons."""
        if not wide:
            return f"{j}{k}"
        return f"{j},{k}" if form == "latex" else f"{j}_{k}"

    def node(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The value neuron j of a layer passes on: x_j for the input layer, a^(l)_j otherwise."""
        return self._format(self.input if layer == 0 else self.activation, form, layer, j)

    def z(self, layer: int, j: int | str, form: str = "latex") -> str:
        return self._format(self.pre_activation, form, layer, j)

    def a(self, layer: int, j: int | str, form: str = "latex") -> str:
        return self._format(self.activation, form, layer, j)

    def y(self, j: int | str, form: str = "latex") -> str:
        return self._format(self.target, form, len(self.sizes) - 1 if self.sizes else "L", j)

    def d(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer."""
        return self._format(self.delta, form, layer, j)

    def w(self, layer: int, j: int | str, k: int | str, form: str = "latex", wide: bool = False) -> str:
        return self._format(self.weight, form, layer, j, k, jk=self._jk(j, k, wide, form))

    def _jk(self, j, k, wide: bool, form: str) -> str:
        """A weight's index pair as written: (neuron, input), or (input, neuron) in row layout."""
        first, second = (k, j) if self.row else (j, k)
        if isinstance(j, str) or isinstance(k, str):
            return f"{first}{second}"
        return self.pair(first, second, wide, form)

    def b(self, layer: int, j: int | str, form: str = "latex") -> str:
        return self._format(self.bias, form, layer, j)

    def W(self, layer: int | str, form: str = "latex") -> str:
        return self._format(self.weight_matrix, form, layer)

    def b_vector(self, layer: int | str, form: str = "latex") -> str:
        return self._format(self.bias_vector, form, layer)

    def eta(self, form: str = "latex") -> str:
        return getattr(self.learning_rate, form)

    def lam(self, form: str = "latex") -> str:
        """The L2 penalty's weight, lambda."""
        return getattr(self.penalty, form)

    def m(self, form: str = "latex") -> str:
        """The number of examples in a batch."""
        return getattr(self.batch_size, form)

    def z_summed(self, layer: int, form: str = "latex") -> str:
        """z of a layer's neuron k, under a sum over the layer's neurons."""
        return self._format(self.summed_pre_activation, form, layer, self.neuron_index)

    def node_of_example(self, layer: int, j: int | str, form: str = "latex") -> str:
        """x or a of neuron j of a layer for example i, under a sum over the batch."""
        spelling = self.example_input if layer == 0 else self.example_activation
        return self._format(spelling, form, layer, j, i=self.example_index)

    def d_of_example(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer for example i, under a sum over the batch."""
        return self._format(self.example_delta, form, layer, j, i=self.example_index)

    def loss_of_example(self, form: str = "latex") -> str:
        """The loss of example i, under a sum over the batch."""
        return getattr(self.example_loss, form).format(i=self.example_index)

    def d_dx(self, top: str, bottom: str, form: str = "latex") -> str:
        """The partial derivative of ``top`` with respect to ``bottom`` (both already spelled)."""
        return getattr(self.partial, form).format(top=top, bottom=bottom)

    def vector(self, kind: str, layer: int | str, form: str = "latex") -> str:
        """A layer's whole vector: ``z``, ``a`` or ``delta``."""
        spelling = {"z": self.pre_activation_vector, "a": self.activation_vector, "delta": self.delta_vector}[kind]
        return self._format(spelling, form, layer)

    def unlayered(self, kind: str, j: int | str, form: str = "latex") -> str:
        """``a`` or ``z`` of neuron j without a layer (the output layer's, in the loss's terms)."""
        spelling = self.unlayered_activation if kind == "a" else self.unlayered_pre_activation
        return getattr(spelling, form).format(j=j)

    def d_short(self, layer: int | str, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer, as a general formula writes it."""
        return self._format(self.short_delta, form, layer, j)

    def example_vector(self, kind: str, layer: int | str, form: str = "latex") -> str:
        """A layer's ``delta`` or ``a`` vector for example i, under a sum over the batch."""
        spelling = self.example_delta_vector if kind == "delta" else self.example_activation_vector
        return self._format(spelling, form, layer, i=self.example_index)

    def column(self, kind: str, k: int | str | None = None, form: str = "latex") -> str:
        """The head of a column of a layer's parameter table: ``dW``, ``db``, ``W``, ``b``."""
        spelling = {"dW": self.weight_gradient_column, "db": self.bias_gradient_column,
                    "W": self.weight_updated_column, "b": self.bias_updated_column}[kind]
        return getattr(spelling, form).format(k=k)

    def suffix(self, example: int | None, form: str = "latex") -> str:
        """The mark naming example ``example`` (from 1) of a batch; empty for None."""
        return "" if example is None else getattr(self.example_suffix, form).format(i=example)

    # ---- whole quantities

    def latex(self, q: QuantityName, example: int | None = None, inline: bool = False, wide: bool = False) -> str:
        """LaTeX for ``q``; ``example`` (from 1) is appended as the example mark when given."""
        return self._spell(q, "latex", inline, wide) + self.suffix(example)

    def text(self, q: QuantityName, example: int | None = None, wide: bool = False) -> str:
        """Plain text for ``q`` (the terminal's spelling)."""
        return self._spell(q, "text", False, wide) + self.suffix(example, "text")

    def _spell(self, q: QuantityName, form: str, inline: bool, wide: bool) -> str:
        l, index = q.layer, tuple(i + 1 for i in q.index)
        if q.kind in ("z", "a", "delta"):
            return {"z": self.z, "a": self.a, "delta": self.d}[q.kind](l, index[0], form)
        if q.kind in ("L", "J", "L_after"):
            return getattr({"L": self.loss, "J": self.cost, "L_after": self.cost_after}[q.kind], form)
        parameter = self.w(l, *index, form=form, wide=wide) if q.kind in ("dW", "W") else self.b(l, index[0], form)
        if q.kind in ("W", "b"):
            return getattr(self.updated, form).format(p=parameter)
        if inline and form == "latex":
            return self.inline_gradient.format(p=parameter)
        spelling = self.weight_gradient if q.kind == "dW" else self.bias_gradient
        return self._format(spelling, form, l, *index, jk=self._jk(*index, wide, form) if q.kind == "dW" else "",
                            w=parameter, b=parameter)

    def label(self, q: QuantityName, example: int | None = None, wide: bool = False, cost: bool = False) -> str:
        """The name a student types for ``q`` in an answers file (``cost``: the sheet has a cost J,
        so the loss after the update is ``J_after``)."""
        return self._label(q, wide, cost) + self.suffix(example, "label")

    def aliases(self, q: QuantityName, example: int | None = None, wide: bool = False, cost: bool = False) -> tuple[str, ...]:
        """Other spellings an answers file may use for ``q``."""
        own = self._label(q, wide, cost)
        spellings = [self._label(q, not wide, cost)]
        if q.kind in ("W", "b"):
            spellings += [self._parameter_label(q, w) + "'" for w in (wide, not wide)]
        if q.kind == "L_after":
            spellings = ["J_after" if own == "L_after" else "L_after"]
        suffix = self.suffix(example, "label")
        return tuple(dict.fromkeys(s + suffix for s in spellings if s != own))

    def _parameter_label(self, q: QuantityName, wide: bool) -> str:
        index = tuple(i + 1 for i in q.index)
        if q.kind in ("dW", "W"):
            return self.weight_name.format(**{**self._fields(q.layer, *index), "jk": self._jk(*index, wide, "label")})
        return self.bias_name.format(**self._fields(q.layer, index[0]))

    def _label(self, q: QuantityName, wide: bool, cost: bool) -> str:
        l, index = q.layer, tuple(i + 1 for i in q.index)
        if q.kind in ("z", "a", "delta"):
            spelling = {"z": self.pre_activation, "a": self.activation, "delta": self.delta}[q.kind]
            return self._format(spelling, "label", l, index[0])
        if q.kind == "L_after":
            return "J_after" if cost else self.cost_after.label
        if q.kind in ("L", "J"):
            return (self.loss if q.kind == "L" else self.cost).label
        if q.kind in ("W", "b"):
            return self.updated.label.format(p=self._parameter_label(q, wide))
        spelling = self.weight_gradient if q.kind == "dW" else self.bias_gradient
        return self._format(spelling, "label", l, *index, jk=self._jk(*index, wide, "label") if q.kind == "dW" else "")

    def words(self, q: QuantityName, example: int | None = None, depth: int = 0, l2: bool = False,
              cost: bool = False) -> str:
        """What ``q`` is, in a sentence fragment (``depth``: the output layer's number; ``l2``: the
        cost has an L2 term; ``cost``: the sheet has a cost J)."""
        l, index = q.layer, tuple(i + 1 for i in q.index)
        shown = self.layer_number.format(**self._fields(l))  # the layer as the profile numbers it
        of_example = "" if example is None else f" for example {example}"
        if q.kind in ("z", "a"):
            what = "pre-activation z" if q.kind == "z" else "activation a = f(z)"
            return f"{what} of layer {shown}, neuron {index[0]}{of_example}"
        if q.kind == "delta":
            where = "output" if l == depth else "hidden"
            return f"delta = dL/dz of {where} layer {shown}, neuron {index[0]}{of_example}"
        if q.kind == "L":
            return f"loss L{of_example}"
        if q.kind == "J":
            return "cost J: mean of the examples' losses" + (" plus the L2 term" if l2 else "")
        if q.kind == "L_after":
            return f"{'cost J' if cost else 'loss L'} on the same example(s) after the update"
        where = f"of layer {shown}, neuron {index[0]}" + (f", input {index[1]}" if q.kind in ("dW", "W") else "")
        return {
            "dW": f"gradient dJ/dw {where}",
            "db": f"gradient dJ/db {where}",
            "W": f"updated weight w' = w - eta dJ/dw {where}",
            "b": f"updated bias b' = b - eta dJ/db {where}",
        }[q.kind]


#: derive's default notation (Nielsen's): w^(l)_jk from neuron k of layer l-1 to neuron j of layer l.
NIELSEN = Notation("nielsen")


def _shifted(layer):
    """The layer after ``layer``: 2 for 1, ``l+1`` for ``l``, ``l`` for ``l-1``."""
    if isinstance(layer, int):
        return layer + 1
    if layer is None:
        return None
    base, _, step = str(layer).replace("-", "+-").partition("+")
    offset = int(step) + 1 if step else 1
    return base if offset == 0 else f"{base}{offset:+d}"


#: Ng's lecture: Theta^(l) maps layer l to l+1, layers numbered from 1 with a^(1) = x, the bias
#: as column 0 of Theta (bias unit a_0 = 1), the gradient D^(l) from the accumulator Delta^(l).
NG = Notation(
    "ng",
    pre_activation=Spelling("z^{{({l1})}}_{{{j}}}", "z({l1})_{j}", "z{l1}_{j}"),
    activation=Spelling("a^{{({l1})}}_{{{j}}}", "a({l1})_{j}", "a{l1}_{j}"),
    input=Spelling("a^{{(1)}}_{{{j}}}", "a(1)_{j}", "a1_{j}"),
    delta=Spelling("\\delta^{{({l1})}}_{{{j}}}", "delta({l1})_{j}", "delta{l1}_{j}"),
    weight=Spelling("\\Theta^{{({l})}}_{{{jk}}}", "Theta({l})_{jk}", "Theta{l}_{jk}"),
    bias=Spelling("\\Theta^{{({l})}}_{{{j}0}}", "Theta({l})_{j}0", "Theta{l}_{j}0"),
    weight_matrix=Spelling("\\Theta^{{({l})}}", "Theta({l})", "Theta{l}"),
    bias_vector=Spelling("\\Theta^{{({l})}}_{{\\cdot 0}}", "Theta({l})_.0", "Theta{l}_0"),
    cost=Spelling("J(\\Theta)", "J(Theta)", "J"),
    weight_gradient=Spelling("D^{{({l})}}_{{{jk}}}", "D({l})_{jk}", "D{l}_{jk}"),
    bias_gradient=Spelling("D^{{({l})}}_{{{j}0}}", "D({l})_{j}0", "D{l}_{j}0"),
    summed_pre_activation=Spelling("z^{{({l1})}}_{j}", "z({l1})_{j}"),
    example_delta=Spelling("\\delta^{{({l1})[{i}]}}_{{{j}}}", "delta({l1})[{i}]_{j}"),
    example_input=Spelling("a^{{(1)[{i}]}}_{{{j}}}", "a(1)[{i}]_{j}"),
    example_activation=Spelling("a^{{({l1})[{i}]}}_{{{j}}}", "a({l1})[{i}]_{j}"),
    all_weights=Spelling("\\Theta", "Theta"),
    short_delta=Spelling("\\delta^{{({l1})}}_{j}", "delta({l1})_{j}"),
    example_delta_vector=Spelling("\\delta^{{({l1})[{i}]}}", "delta[{i}]"),
    example_activation_vector=Spelling("a^{{({l1})[{i}]}}", "a[{i}]"),
    cost_after_formula=Spelling("J(\\Theta')", "J(Theta')"),
    pre_activation_vector=Spelling("z^{{({l1})}}", "z({l1})"),
    activation_vector=Spelling("a^{{({l1})}}", "a({l1})"),
    delta_vector=Spelling("\\delta^{{({l1})}}", "delta({l1})"),
    weight_gradient_column=Spelling("D_{{j{k}}}", "D_j{k}"),
    bias_gradient_column=Spelling("D_{{j0}}", "D_j0"),
    weight_updated_column=Spelling("\\Theta'_{{j{k}}}", "Theta'_j{k}"),
    bias_updated_column=Spelling("\\Theta'_{{j0}}", "Theta'_j0"),
    weight_name="Theta{l}_{jk}",
    bias_name="Theta{l}_{j}0",
    layer_number="{l1}",
    template_intro="Notation: layer 1 is the input layer (a1 = x), so the first hidden layer is layer 2; Theta1 maps 1 to 2.",
    template_help=(
        "z2_1 / a2_1   z and a of layer 2 (the first hidden layer: a1 = x), unit 1",
        "delta3_1      delta of layer 3, unit 1",
        "D1_12         dJ/dTheta for Theta1_12 (row 1, column 2 of Theta1); D1_10 for the bias column",
        "new_Theta1_12 Theta1_12 after the update (Theta1_12' is accepted too)",
    ),
    rules=(
        "a^{(1)} = x,\\quad z^{(l+1)} = \\Theta^{(l)} a^{(l)} \\text{ (with the bias unit } a^{(l)}_0 = 1),"
        "\\quad a^{(l+1)} = g(z^{(l+1)}),\\quad h_\\Theta(x) = a^{(L)}",
        "\\delta^{(l)} = (\\Theta^{(l)})^T \\delta^{(l+1)} \\odot g'(z^{(l)})",
        "\\Delta^{(l)} := 0;\\quad \\Delta^{(l)} := \\Delta^{(l)} + \\delta^{(l+1)} (a^{(l)})^T"
        " \\text{ for each of the } m \\text{ examples}",
        "D^{(l)}_{ij} = \\tfrac{1}{m} \\Delta^{(l)}_{ij} + \\tfrac{\\lambda}{m} \\Theta^{(l)}_{ij} \\ (j \\ne 0),"
        "\\quad D^{(l)}_{i0} = \\tfrac{1}{m} \\Delta^{(l)}_{i0},\\quad \\frac{\\partial J(\\Theta)}{\\partial \\Theta^{(l)}_{ij}}"
        " = D^{(l)}_{ij}",
    ),
)

#: A from-scratch NumPy course: per layer dz, dW, db and da_prev, layers in brackets.
CODE = Notation(
    "code",
    pre_activation=Spelling("z^{{[{l}]}}_{{{j}}}", "z[{l}]_{j}", "z{l}_{j}"),
    activation=Spelling("a^{{[{l}]}}_{{{j}}}", "a[{l}]_{j}", "a{l}_{j}"),
    delta=Spelling("\\mathit{{dz}}^{{[{l}]}}_{{{j}}}", "dz[{l}]_{j}", "dz{l}_{j}"),
    weight=Spelling("W^{{[{l}]}}_{{{jk}}}", "W[{l}]_{jk}", "W{l}_{jk}"),
    bias=Spelling("b^{{[{l}]}}_{{{j}}}", "b[{l}]_{j}", "b{l}_{j}"),
    weight_matrix=Spelling("W^{{[{l}]}}", "W[{l}]", "W{l}"),
    bias_vector=Spelling("b^{{[{l}]}}", "b[{l}]", "b{l}"),
    weight_gradient=Spelling("\\mathit{{dW}}^{{[{l}]}}_{{{jk}}}", "dW[{l}]_{jk}", "dW{l}_{jk}"),
    bias_gradient=Spelling("\\mathit{{db}}^{{[{l}]}}_{{{j}}}", "db[{l}]_{j}", "db{l}_{j}"),
    pre_activation_vector=Spelling("z^{{[{l}]}}", "z[{l}]"),
    activation_vector=Spelling("a^{{[{l}]}}", "a[{l}]"),
    delta_vector=Spelling("\\mathit{{dz}}^{{[{l}]}}", "dz[{l}]"),
    weight_gradient_column=Spelling("\\mathit{{dW}}_{{j{k}}}", "dW_j{k}"),
    bias_gradient_column=Spelling("\\mathit{{db}}_j", "db_j"),
    rules=(
        "\\mathit{dz} = \\mathit{da} \\odot f'(z),\\quad \\mathit{dW} = \\mathit{dz} \\cdot a_{\\mathrm{prev}}^T,"
        "\\quad \\mathit{db} = \\mathit{dz},\\quad \\mathit{da}_{\\mathrm{prev}} = W^T \\cdot \\mathit{dz}",
        "W \\mathrel{-}= \\eta\\, \\mathit{dW},\\quad b \\mathrel{-}= \\eta\\, \\mathit{db}",
    ),
    template_help=(
        "z1_2 / a1_2   z and a of layer 1 (the first hidden layer), unit 2",
        "dz2_1         dL/dz of layer 2, unit 1",
        "dW2_12        dW of layer 2, row 1, column 2; db2_1 likewise",
        "new_W2_12     the weight after the update (W2_12' is accepted too); new_b2_1 likewise",
    ),
    loss_rules=(("bce", "\\mathit{da} = \\frac{\\hat y - y}{\\hat y (1 - \\hat y)}"
                 "\\ \\text{(then } \\mathit{dz} = \\mathit{da} \\odot \\hat y (1 - \\hat y) = \\hat y - y)"),),
)

#: The pen-and-paper blog style: weights numbered w1, w2, ... across the network, neurons i1, h1,
#: o1, net and out of each neuron, the total error E_total.
NUMBERED = Notation(
    "numbered",
    pre_activation=Spelling("\\mathit{{net}}_{{{u}}}", "net_{u}", "net_{u}"),
    activation=Spelling("\\mathit{{out}}_{{{u}}}", "out_{u}", "out_{u}"),
    input=Spelling("i_{{{j}}}", "i{j}", "i{j}"),
    target=Spelling("\\mathit{{target}}_{{{u}}}", "target_{u}", "target_{u}"),
    delta=Spelling("\\delta_{{{u}}}", "delta_{u}", "delta_{u}"),
    weight=Spelling("w_{{{n}}}", "w{n}", "w{n}"),
    bias=Spelling("b_{{{nb}}}", "b{nb}", "b{nb}"),
    loss=Spelling("E_{\\mathrm{total}}", "E_total", "E_total"),
    cost_after=Spelling("E_{\\mathrm{total}}'", "E_total'", "E_total_after"),
    weight_gradient=Spelling("\\frac{{\\partial E_{{\\mathrm{{total}}}}}}{{\\partial {w}}}", "dE_total/d{w}", "dE_total_dw{n}"),
    bias_gradient=Spelling("\\frac{{\\partial E_{{\\mathrm{{total}}}}}}{{\\partial {b}}}", "dE_total/d{b}", "dE_total_db{nb}"),
    unlayered_activation=Spelling("\\mathit{{out}}_{{o{j}}}", "out_o{j}"),
    unlayered_pre_activation=Spelling("\\mathit{{net}}_{{o{j}}}", "net_o{j}"),
    weight_name="w{n}",
    bias_name="b{nb}",
    template_intro="Notation: weights w1, w2, ... and neurons i1, h1, o1 are numbered as in the worked example.",
    template_help=(
        "net_h1 / out_h1   net input / output of hidden neuron h1 (i1, i2 are the inputs, o1 an output)",
        "delta_o1          dE_total/dnet_o1",
        "dE_total_dw5      dE_total/dw5 (w1, w2, ... numbered across the network, row by row)",
        "new_w5            w5 after the update (w5' is accepted too)",
    ),
    rules=("\\frac{\\partial E_{\\mathrm{total}}}{\\partial w} = \\frac{\\partial E_{\\mathrm{total}}}{\\partial \\mathit{out}}"
           " \\cdot \\frac{\\partial \\mathit{out}}{\\partial \\mathit{net}} \\cdot \\frac{\\partial \\mathit{net}}{\\partial w},"
           "\\quad w^{+} = w - \\eta \\frac{\\partial E_{\\mathrm{total}}}{\\partial w}",),
)

#: Every notation profile a problem file (``notation:``) or ``--notation`` may name.
PROFILES: dict[str, Notation] = {n.name: n for n in (NIELSEN, NG, CODE, NUMBERED)}


def for_problem(problem) -> Notation:
    """The notation of ``problem`` (its ``notation`` profile, bound to its network and layout)."""
    return _bound(problem.notation, tuple(problem.network.layers), problem.layout == "row")


@functools.lru_cache(maxsize=256)  # one object per network: the variants of an exam share it, and its memos
def _bound(profile: str, sizes: tuple[int, ...], row: bool) -> Notation:
    return PROFILES[profile].bound(sizes, row)

