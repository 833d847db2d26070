"""derive.pcg: NumPy's SeedSequence and PCG64 on arrays, against NumPy itself, key by key."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import pcg
from derive.randomise import _raw


def numpy_raw(key, count: int) -> np.ndarray:
    return np.random.PCG64(np.random.SeedSequence(list(key))).random_raw(count)


words = st.integers(0, 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 7), data=st.data(), count=st.integers(0, 12))
def test_raw_is_numpys_generator_for_every_key(length, data, count):
    """Keys shorter than SeedSequence's pool of four, as long and longer; words at 0 and at 2^32 - 1."""
    keys = data.draw(st.lists(st.tuples(*[words] * length), min_size=1, max_size=20))
    expected = np.stack([numpy_raw(key, count) for key in keys])
    assert pcg.raw(keys, count).dtype == np.uint64
    assert np.array_equal(pcg.raw(keys, count), expected)


def test_an_exams_keys_draw_as_numpy_does():
    """(seed, variant, attempt) as the drawing makes them, attempt 0 included, the extremes too."""
    keys = [(2026, v, a) for v in range(1, 40) for a in range(25)] + [(0, 0, 0), (2**32 - 1,) * 3]
    assert np.array_equal(pcg.raw(keys, 17), np.stack([numpy_raw(k, 17) for k in keys]))


def test_no_keys_no_rows():
    assert pcg.raw([], 5).shape == (0, 5)


@pytest.mark.parametrize("keys", [[(1, 2), (1, 2, 3)], [(2**32, 1)], [(-1, 1)]])
def test_keys_it_does_not_take(keys):
    """Keys of mixed lengths or with a word outside [0, 2^32) (SeedSequence splits a larger one in
    two words) are refused by raw, and the drawing gives them NumPy's own generators."""
    assert not pcg.fits(keys)
    with pytest.raises(ValueError):
        pcg.raw(keys, 3)
    if min(k for key in keys for k in key) >= 0:
        assert np.array_equal(_raw(keys, 3), np.stack([numpy_raw(k, 3) for k in keys]))
