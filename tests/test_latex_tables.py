"""derive.latex_tables: a table built once per shape and filled equals pylatex building it.

``tabular`` builds a table of each shape (header, row widths) once with pylatex, each cell an
open place, and fills the places with a variant's cells; here pylatex builds every table itself.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pylatex import NoEscape, Tabular

from derive.latex_tables import columns, tabular

# Cells as a sheet has them (numbers in math) and text with every character LaTeX and
# str.format treat specially; never NUL (the loader refuses control characters).
cell = st.one_of(st.from_regex(r"\$-?[0-9]{1,3}\.[0-9]{1,4}\$", fullmatch=True),
                 st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12),
                 st.sampled_from(["{0}", "{", "}}", "{0[1]}", r"\frac{1}{2}", "%", "&", "\\\\"]))


def pylatex_tabular(spec: str, header: list[str], rows: list[list[str]]) -> str:
    table = Tabular(spec, booktabs=True)
    table.add_row([NoEscape(h) for h in header])
    table.add_hline()
    for row in rows:
        table.add_row([NoEscape(c) for c in row])
    return table.dumps()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda width: st.tuples(
    st.lists(cell, min_size=width, max_size=width),
    st.lists(st.lists(cell, min_size=width, max_size=width), max_size=4))))
def test_filled_table_is_the_table_pylatex_builds(table):
    header, rows = table
    spec = columns(1, len(header) - 1) if len(header) > 1 else "r"
    assert tabular(spec, header, rows) == pylatex_tabular(spec, header, rows)


def test_tables_of_one_shape_differ_only_in_their_cells():
    spec = columns(1, 2)
    first = tabular(spec, ["ex.", "$a$", "$b$"], [["1", "$0.5$", "$-0.25$"]])
    second = tabular(spec, ["ex.", "$a$", "$b$"], [["1", "$0.75$", "$0$"]])
    assert first == pylatex_tabular(spec, ["ex.", "$a$", "$b$"], [["1", "$0.5$", "$-0.25$"]])
    assert second == first.replace("$0.5$", "$0.75$").replace("$-0.25$", "$0$")
