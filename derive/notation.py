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

from dataclasses import dataclass


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

    # ---- building blocks (layer l from 1, neuron j and input k from 1)

    def pair(self, j: int, k: int, wide: bool = False, form: str = "latex") -> str:
        """The neuron pair of a weight: '12', or '1_2' in labels ('1,2' in LaTeX) when a layer has
        10 or more neurons."""
        if not wide:
            return f"{j}{k}"
        return f"{j},{k}" if form == "latex" else f"{j}_{k}"

    def node(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The value neuron j of a layer passes on: x_j for the input layer, a^(l)_j otherwise."""
        spelling = self.input if layer == 0 else self.activation
        return getattr(spelling, form).format(l=layer, j=j)

    def z(self, layer: int, j: int | str, form: str = "latex") -> str:
        return getattr(self.pre_activation, form).format(l=layer, j=j)

    def a(self, layer: int, j: int | str, form: str = "latex") -> str:
        return getattr(self.activation, form).format(l=layer, j=j)

    def y(self, j: int | str, form: str = "latex") -> str:
        return getattr(self.target, form).format(j=j)

    def d(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer."""
        return getattr(self.delta, form).format(l=layer, j=j)

    def w(self, layer: int, j: int | str, k: int | str, form: str = "latex", wide: bool = False) -> str:
        jk = f"{j}{k}" if isinstance(j, str) or isinstance(k, str) else self.pair(j, k, wide, form)
        return getattr(self.weight, form).format(l=layer, jk=jk)

    def b(self, layer: int, j: int | str, form: str = "latex") -> str:
        return getattr(self.bias, form).format(l=layer, j=j)

    def W(self, layer: int | str, form: str = "latex") -> str:
        return getattr(self.weight_matrix, form).format(l=layer)

    def b_vector(self, layer: int | str, form: str = "latex") -> str:
        return getattr(self.bias_vector, form).format(l=layer)

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
        return getattr(self.summed_pre_activation, form).format(l=layer, j=self.neuron_index)

    def node_of_example(self, layer: int, j: int | str, form: str = "latex") -> str:
        """x or a of neuron j of a layer for example i, under a sum over the batch."""
        if layer == 0:
            return getattr(self.example_input, form).format(i=self.example_index, j=j)
        return getattr(self.example_activation, form).format(l=layer, i=self.example_index, j=j)

    def d_of_example(self, layer: int, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer for example i, under a sum over the batch."""
        return getattr(self.example_delta, form).format(l=layer, i=self.example_index, j=j)

    def loss_of_example(self, form: str = "latex") -> str:
        """The loss of example i, under a sum over the batch."""
        return getattr(self.example_loss, form).format(i=self.example_index)

    def d_dx(self, top: str, bottom: str, form: str = "latex") -> str:
        """The partial derivative of ``top`` with respect to ``bottom`` (both already spelled)."""
        return getattr(self.partial, form).format(top=top, bottom=bottom)

    def vector(self, kind: str, layer: int | str, form: str = "latex") -> str:
        """A layer's whole vector: ``z``, ``a`` or ``delta``."""
        spelling = {"z": self.pre_activation_vector, "a": self.activation_vector, "delta": self.delta_vector}[kind]
        return getattr(spelling, form).format(l=layer)

    def unlayered(self, kind: str, j: int | str, form: str = "latex") -> str:
        """``a`` or ``z`` of neuron j without a layer (the output layer's, in the loss's terms)."""
        spelling = self.unlayered_activation if kind == "a" else self.unlayered_pre_activation
        return getattr(spelling, form).format(j=j)

    def d_short(self, layer: int | str, j: int | str, form: str = "latex") -> str:
        """The delta of neuron j of a layer, as a general formula writes it."""
        return getattr(self.short_delta, form).format(l=layer, j=j)

    def example_vector(self, kind: str, layer: int | str, form: str = "latex") -> str:
        """A layer's ``delta`` or ``a`` vector for example i, under a sum over the batch."""
        spelling = self.example_delta_vector if kind == "delta" else self.example_activation_vector
        return getattr(spelling, form).format(l=layer, i=self.example_index)

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
        return getattr(spelling, form).format(w=parameter, b=parameter)

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
            return self.weight_matrix.label.format(l=q.layer) + "_" + self.pair(*index, wide, "label")
        return self.bias_vector.label.format(l=q.layer) + f"_{index[0]}"

    def _label(self, q: QuantityName, wide: bool, cost: bool) -> str:
        l, index = q.layer, tuple(i + 1 for i in q.index)
        if q.kind in ("z", "a", "delta"):
            spelling = {"z": self.pre_activation, "a": self.activation, "delta": self.delta}[q.kind]
            return spelling.label.format(l=l, j=index[0])
        if q.kind == "L_after":
            return "J_after" if cost else self.cost_after.label
        if q.kind in ("L", "J"):
            return (self.loss if q.kind == "L" else self.cost).label
        if q.kind in ("W", "b"):
            return self.updated.label.format(p=self._parameter_label(q, wide))
        spelling = self.weight_gradient if q.kind == "dW" else self.bias_gradient
        return spelling.label.format(l=l, jk=self.pair(*index, wide, "label") if q.kind == "dW" else "", j=index[0])

    def words(self, q: QuantityName, example: int | None = None, depth: int = 0, l2: bool = False,
              cost: bool = False) -> str:
        """What ``q`` is, in a sentence fragment (``depth``: the output layer's number; ``l2``: the
        cost has an L2 term; ``cost``: the sheet has a cost J)."""
        l, index = q.layer, tuple(i + 1 for i in q.index)
        of_example = "" if example is None else f" for example {example}"
        if q.kind in ("z", "a"):
            what = "pre-activation z" if q.kind == "z" else "activation a = f(z)"
            return f"{what} of layer {l}, neuron {index[0]}{of_example}"
        if q.kind == "delta":
            where = "output" if l == depth else "hidden"
            return f"delta = dL/dz of {where} layer {l}, neuron {index[0]}{of_example}"
        if q.kind == "L":
            return f"loss L{of_example}"
        if q.kind == "J":
            return "cost J: mean of the examples' losses" + (" plus the L2 term" if l2 else "")
        if q.kind == "L_after":
            return f"{'cost J' if cost else 'loss L'} on the same example(s) after the update"
        where = f"of layer {l}, neuron {index[0]}" + (f", input {index[1]}" if q.kind in ("dW", "W") else "")
        return {
            "dW": f"gradient dJ/dw {where}",
            "db": f"gradient dJ/db {where}",
            "W": f"updated weight w' = w - eta dJ/dw {where}",
            "b": f"updated bias b' = b - eta dJ/db {where}",
        }[q.kind]


#: derive's default notation (Nielsen's): w^(l)_jk from neuron k of layer l-1 to neuron j of layer l.
NIELSEN = Notation("nielsen")
