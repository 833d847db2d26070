"""Grid arithmetic of randomisation draws: every value a draw can give, as exact decimals.

Beside :mod:`derive.randomise`, which picks from these grids; the loader's checks use it too, to
refuse a draw with no value before any variant is made.
"""

from __future__ import annotations

import math
from decimal import Decimal

from .spec import Draw


def grid_values(draw: Draw) -> tuple[Decimal, ...]:
    """Every value a draw can give, exactly, in increasing order."""
    if draw.choices:
        return tuple(Decimal(repr(v)) for v in draw.choices if not (draw.nonzero and v == 0))
    step = Decimal(repr(draw.step))
    low = math.ceil(Decimal(repr(draw.minimum)) / step)
    high = math.floor(Decimal(repr(draw.maximum)) / step)
    return tuple(k * step for k in range(low, high + 1) if not (draw.nonzero and k == 0))

