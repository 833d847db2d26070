"""The lab's report: figures (matplotlib, PNG bytes), the LaTeX report and the results as JSON.

Pure: a :class:`~derive.lab.LabResult` in, file contents out; the PDF builder compiles the
LaTeX (with the figures beside it) and the CLI writes the folder.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np

from .errors import DeriveError
from .lab import AGREEMENT, LabResult
from .sheet import environment, escape

FIGURES = ("loss.png", "weight-difference.png", "accuracy.png", "confusion-matrix.png", "misclassified.png")
TABLE_ROWS = 40  # more epochs than this: the table shows every k-th epoch and the last
_SIZES = {"confusion-matrix.png": (5.2, 4.6), "misclassified.png": (8.0, 1.9)}
_FLOOR = 1e-18  # a difference of exactly 0 is drawn here on the log axis


def figures(result: LabResult) -> dict[str, bytes]:
    """Every figure of the report as PNG bytes, by file name."""
    try:
        import matplotlib
    except ImportError:
        raise DeriveError("matplotlib is needed for the lab's figures: pip install 'derive[lab]'") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    drawers = (_loss, _weight_difference, _accuracy, _confusion, _misclassified)
    pictures = {}
    for name, draw in zip(FIGURES, drawers):
        figure = plt.figure(figsize=_SIZES.get(name, (6.4, 3.6)))
        try:
            draw(figure, result)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
            pictures[name] = buffer.getvalue()
        finally:
            plt.close(figure)
    return pictures


def _epochs(result: LabResult) -> list[int]:
    return [e.epoch for e in result.epochs]


def _loss(figure, result: LabResult) -> None:
    axes = figure.add_subplot()
    axes.plot(_epochs(result), [e.numpy_loss for e in result.epochs], "-", lw=2.5, label="NumPy (generated)")
    if result.torch_version is not None:
        axes.plot(_epochs(result), [e.torch_loss for e in result.epochs], "--", marker="o", ms=3, label="PyTorch autograd")
    axes.set(xlabel="epoch", ylabel="mean training loss", title="Loss per epoch")
    axes.legend()
    axes.grid(alpha=0.3)


def _weight_difference(figure, result: LabResult) -> None:
    axes = figure.add_subplot()
    if result.torch_version is None:
        axes.text(0.5, 0.5, "not measured: PyTorch is not installed", ha="center", va="center", transform=axes.transAxes)
    else:
        values = [max(e.max_weight_difference, _FLOOR) for e in result.epochs]
        axes.semilogy(_epochs(result), values, marker="o", ms=3)
    axes.set(xlabel="epoch", ylabel="max |W_NumPy - W_PyTorch|", title="Largest difference between the two weight sets")
    axes.grid(alpha=0.3, which="both")


def _accuracy(figure, result: LabResult) -> None:
    axes = figure.add_subplot()
    axes.plot(_epochs(result), [100 * e.numpy_accuracy for e in result.epochs], "-", lw=2.5, label="NumPy (generated)")
    if result.torch_version is not None:
        axes.plot(_epochs(result), [100 * e.torch_accuracy for e in result.epochs], "--", marker="o", ms=3, label="PyTorch autograd")
    axes.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    axes.legend()
    axes.grid(alpha=0.3)


def _confusion(figure, result: LabResult) -> None:
    axes = figure.add_subplot()
    matrix = result.confusion
    axes.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            axes.text(j, i, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > matrix.max() / 2 else "black")
    ticks = range(matrix.shape[0])
    axes.set(xticks=ticks, yticks=ticks, xlabel="predicted class", ylabel="true class",
             title=f"Confusion matrix ({result.test_size} test examples)")


def _misclassified(figure, result: LabResult) -> None:
    shown = result.misclassified
    if not shown:
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, "no test example is misclassified", ha="center", va="center")
        axes.axis("off")
        return
    figure.suptitle("Misclassified test examples (true class \u2192 predicted class)", fontsize=10)
    for k, (index, true, predicted) in enumerate(shown, start=1):
        axes = figure.add_subplot(1, len(shown), k)
        axes.imshow(result.dataset.images[index], cmap="gray_r")
        axes.set_title(f"{true} \u2192 {predicted}", fontsize=10)
        axes.axis("off")


def agreement_text(result: LabResult) -> str:
    """What the report says about the two trainings: a claim only when it was measured."""
    largest = result.largest_relative_difference
    if largest is None:
        return "PyTorch is not installed, so the NumPy training was not compared with PyTorch autograd."
    bound = f"1e{round(math.log10(AGREEMENT))}"
    verdict = (f"The two trainings agree to {bound} relative."
               if result.agree else f"The two trainings do not agree to {bound} relative.")
    return (f"After every epoch the largest difference between the two weight sets, divided by the largest "
            f"weight, was measured: at most {largest:.1e} over the {len(result.epochs)} epochs. {verdict}")


def report_tex(result: LabResult) -> str:
    """The LaTeX report (it includes the PNG figures by file name)."""
    lab = result.lab
    network = lab.network
    last = result.epochs[-1]
    step = max(1, -(-len(result.epochs) // TABLE_ROWS))
    rows = [e for e in result.epochs if (e.epoch - 1) % step == 0 or e is last]
    settings = [
        ("dataset", result.dataset.description),
        ("examples", f"{result.train_size} for training, {result.test_size} for testing (test fraction {lab.test_fraction:g})"),
        ("layers", "-".join(map(str, network.layers))),
        ("activations", ", ".join(network.activations)),
        ("loss", f"{network.loss} (mean over each mini-batch)"),
        ("training", f"{lab.epochs} epochs, mini-batches of {lab.batch_size}, learning rate {lab.learning_rate:g}"
                     + (f", L2 lambda {lab.l2:g}" if lab.l2 else "")),
        ("seed", f"{lab.seed} (test split, Glorot-uniform initial weights, each epoch's order)"),
        ("PyTorch", result.torch_version or "not installed"),
    ]
    return environment().get_template("lab/report.tex.j2").render(
        title=escape(lab.title), source=escape(lab.source),
        settings=[(escape(k), escape(v)) for k, v in settings],
        agreement=escape(agreement_text(result)), torch=result.torch_version is not None,
        numpy_accuracy=f"{100 * last.numpy_accuracy:.1f}",
        torch_accuracy=None if last.torch_accuracy is None else f"{100 * last.torch_accuracy:.1f}",
        rows=[_row(e) for e in rows], misclassified=bool(result.misclassified),
        errors=int(result.confusion.sum() - np.trace(result.confusion)),
    )


def _row(e) -> dict[str, str]:
    missing = "--"
    return {
        "epoch": str(e.epoch), "numpy_loss": f"{e.numpy_loss:.6f}",
        "torch_loss": missing if e.torch_loss is None else f"{e.torch_loss:.6f}",
        "difference": missing if e.max_weight_difference is None else f"{e.max_weight_difference:.1e}",
        "accuracy": f"{100 * e.numpy_accuracy:.1f}",
        "torch_accuracy": missing if e.torch_accuracy is None else f"{100 * e.torch_accuracy:.1f}",
    }


def results_json(result: LabResult) -> str:
    """The measured numbers as JSON: per epoch, the confusion matrix, the misclassified examples."""
    data: dict[str, Any] = {
        "schema": 1,
        "title": result.lab.title,
        "source": result.lab.source,
        "train_size": result.train_size,
        "test_size": result.test_size,
        "torch_version": result.torch_version,
        "largest_relative_difference": result.largest_relative_difference,
        "agree_to_1e-9": result.agree,
        "epochs": [vars(e) for e in result.epochs],
        "confusion_matrix": result.confusion.tolist(),
        "misclassified": [{"index": i, "true": t, "predicted": p} for i, t, p in result.misclassified],
    }
    return json.dumps(data, indent=2) + "\n"
