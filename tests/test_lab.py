"""`derive lab`: training on the digits with the generated NumPy code and with PyTorch, the report.

The small lab (2 epochs) checks what the report claims against the numbers it wrote; the
shipped labs reach 90 % test accuracy. PyTorch, scikit-learn and matplotlib are optional here
and the tests that need them skip without them, except under CI (``CI`` set).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from derive.cli import main

SMALL_LAB = """\
title: Small digits lab
dataset: digits
test_fraction: 0.2
network:
  layers: [64, 16, 10]
  activations: [tanh, softmax]
  loss: cross_entropy
training:
  learning_rate: 0.3
  epochs: 2
  batch: 32
  l2: 0.1
seed: 7
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            if _in_ci():
                pytest.fail(f"{module} is not installed; under CI it is required (scripts/test.sh installs it)")
            pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory):
    _require("torch", "sklearn", "matplotlib")
    folder = tmp_path_factory.mktemp("lab")
    lab_file = folder / "small.yaml"
    lab_file.write_text(SMALL_LAB, encoding="utf-8")
    out = folder / "out"
    arguments = ["lab", str(lab_file), "-o", str(out)] + ([] if shutil.which("pdflatex") else ["--tex-only"])
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text(encoding="utf-8")), result.output


def test_small_lab_writes_the_report_files(small_lab):
    out, _, _ = small_lab
    expected = {"loss.png", "weight-difference.png", "accuracy.png", "confusion-matrix.png", "misclassified.png",
                "report.tex", "results.json", "derive-manifest.json"} | ({"report.pdf"} if shutil.which("pdflatex") else set())
    assert {p.name for p in out.iterdir()} == expected
    for name in expected:
        content = (out / name).read_bytes()
        assert content, name
        if name.endswith(".png"):
            assert content.startswith(b"\x89PNG")
        if name.endswith(".pdf"):
            assert content.startswith(b"%PDF")


def test_small_lab_numpy_and_pytorch_agree(small_lab):
    _, results, output = small_lab
    assert len(results["epochs"]) == 2
    for epoch in results["epochs"]:
        np.testing.assert_allclose(epoch["torch_loss"], epoch["numpy_loss"], rtol=1e-9)
        assert epoch["relative_difference"] <= 1e-9
        assert epoch["torch_accuracy"] == epoch["numpy_accuracy"]
    assert results["agree_to_1e-9"] is True
    assert "agree to 1e-9 relative" in output


def test_small_lab_confusion_matrix_counts_the_test_set(small_lab):
    out, results, _ = small_lab
    confusion = np.array(results["confusion_matrix"])
    assert confusion.shape == (10, 10)
    assert confusion.sum() == results["test_size"] == round(1797 * 0.2)
    assert results["train_size"] + results["test_size"] == 1797
    assert np.trace(confusion) / confusion.sum() == pytest.approx(results["epochs"][-1]["numpy_accuracy"])
    for wrong in results["misclassified"]:
        assert wrong["true"] != wrong["predicted"]
    tex = (out / "report.tex").read_text(encoding="utf-8").replace("{-}", "-")  # LaTeX's escaped hyphen
    assert "agree to 1e-9 relative" in tex


def test_small_lab_is_deterministic(small_lab, tmp_path):
    out, _, _ = small_lab
    result = CliRunner().invoke(main, ["lab", str(out.parent / "small.yaml"), "-o", str(tmp_path / "again"), "--tex-only"])
    assert result.exit_code == 0, result.output
    for name in ("results.json", "loss.png", "confusion-matrix.png"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_without_pytorch_the_report_claims_no_agreement():
    _require("sklearn")
    from derive.lab import run_lab
    from derive.lab_loader import load_dataset, parse_lab
    from derive.lab_report import agreement_text

    lab = replace(parse_lab(SMALL_LAB, "small.yaml"), epochs=1)
    result = run_lab(lab, load_dataset("digits"), torch=None)
    assert result.largest_relative_difference is None and not result.agree
    assert "agree" not in agreement_text(result).replace("not compared", "")
    assert result.confusion.sum() == result.test_size


def test_a_measured_disagreement_is_reported_as_such():
    _require("sklearn")
    from derive.lab import LabResult, run_lab
    from derive.lab_loader import load_dataset, parse_lab
    from derive.lab_report import agreement_text

    result = run_lab(replace(parse_lab(SMALL_LAB, "small.yaml"), epochs=1), load_dataset("digits"), torch=None)
    off = replace(result.epochs[0], torch_loss=1.0, torch_accuracy=0.5, max_weight_difference=1e-3, relative_difference=1e-4)
    measured = LabResult(**{**vars(result), "epochs": (off,)})
    assert "do not agree to 1e-9 relative" in agreement_text(measured)


@pytest.mark.parametrize("lab_file", sorted(Path("labs").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_labs_reach_90_percent(lab_file):
    _require("sklearn")
    from derive.lab import run_lab
    from derive.lab_loader import load_dataset, load_lab

    lab = load_lab(lab_file)
    assert lab.network.layers == (64, 32, 10) and lab.batch_size == 32 and lab.network.loss == "cross_entropy"
    result = run_lab(lab, load_dataset(lab.dataset), torch=None)
    assert result.epochs[-1].numpy_accuracy >= 0.90


@pytest.mark.parametrize("change, field", [
    (("layers: [64, 16, 10]", "layers: [63, 16, 10]"), "network.layers[0]"),
    (("layers: [64, 16, 10]", "layers: [64, 16, 9]"), "network.layers[2]"),
    (("layers: [64, 16, 10]", "layers: [64, 5000, 10]"), "network.layers[1]"),
    (("[tanh, softmax]", "[tanhh, softmax]"), "network.activations[0]"),
    (("[tanh, softmax]", "[step, softmax]"), "network.activations[0]"),
    (("[tanh, softmax]", "[tanh, sigmoid]"), "network.loss"),
    (("epochs: 2", "epochs: 100000"), "training.epochs"),
    (("epochs: 2", "epochs: 0"), "training.epochs"),
    (("batch: 32", "batch: 5000"), "training.batch"),
    (("dataset: digits", "dataset: mnist"), "dataset"),
    (("test_fraction: 0.2", "test_fraction: 1.5"), "test_fraction"),
    (("seed: 7", "seed: -1"), "seed"),
    (("seed: 7", "seed: 7\ncolour: red"), "colour"),
    (("learning_rate: 0.3", "learning_rate: fast"), "training.learning_rate"),
])
def test_bad_lab_file_is_one_line_naming_file_and_field(tmp_path, change, field):
    lab_file = tmp_path / "bad.yaml"
    lab_file.write_text(SMALL_LAB.replace(*change), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["lab", str(lab_file), "-o", str(out), "--tex-only"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {lab_file}: {field}:"), result.output
    assert not out.exists()


def test_missing_lab_file_is_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["lab", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output
