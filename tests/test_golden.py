"""Every shipped problem's outputs are byte-identical to the reviewed golden copies.

An intended change of output is made by ``python tests/golden_outputs.py`` and reviewed in the
diff of ``tests/golden/``.
"""

from __future__ import annotations

import os

import pytest

from golden_outputs import GOLDEN, PROBLEMS, ROOT, outputs


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_outputs_match_golden_files(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    produced = outputs(path)
    folder = GOLDEN / path.stem
    assert sorted(produced) == sorted(p.name for p in folder.iterdir())
    for name, text in produced.items():
        expected = (folder / name).read_text(encoding="utf-8")
        assert text == expected, f"{path.stem}/{name} differs from its golden copy"
