"""NumPy's ``PCG64(SeedSequence(key)).random_raw(n)`` for many keys at once.

An exam draws each attempt of each variant from its own generator, seeded by the key
``(seed, variant, attempt)``, so that variant k does not depend on how many variants are made.
Made one by one, a SeedSequence and a PCG64 cost about 12 microseconds, most of a draw; a
large exam makes hundreds of thousands of them. Both algorithms are fixed by NumPy's
compatibility guarantee for a seeded stream (O'Neill's seed_seq-style hash for SeedSequence, the
128-bit LCG with the XSL-RR output for PCG64), so they are written here on arrays with the keys
as the leading axis: the same integer operations, modulo 2^32 and 2^128, give the same bits.
:func:`raw` equals NumPy for every key; the drawing code checks that once per process against
the NumPy it runs with (``randomise._same_as_numpy``) and uses NumPy's own generators otherwise.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# SeedSequence's constants (numpy/random/bit_generator.pyx)
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_POOL_SIZE = 4
_MASK32 = 0xFFFFFFFF
# PCG64's multiplier, as its high and low 64-bit halves
_MULTIPLIER = (0x2360ED051FC65DA4, 0x4385DF649FCCF645)
_U32 = np.uint32
_U64 = np.uint64


def raw(keys: Sequence[Sequence[int]], count: int) -> np.ndarray:
    """``np.random.PCG64(np.random.SeedSequence(list(key))).random_raw(count)`` for each key,
    one row per key (keys of nonnegative integers below 2^32, all of the same length)."""
    if not fits(keys):
        raise ValueError("keys must be rows of equal length of integers in [0, 2^32)")
    if not keys:
        return np.empty((0, count), dtype=_U64)
    entropy = np.array(keys, dtype=np.int64)
    words = _generate_state(_pool(entropy.astype(_U32)), 8).astype(_U64)
    # generate_state(4, np.uint64): each uint64 two uint32 words, low word first; PCG64 seeds its
    # state from the first two (high half, low half) and its increment from the last two.
    seed = (words[:, 1] << _U64(32) | words[:, 0], words[:, 3] << _U64(32) | words[:, 2])
    inc = (words[:, 5] << _U64(32) | words[:, 4], words[:, 7] << _U64(32) | words[:, 6])
    return _pcg64(seed, inc, count)


def fits(keys: Sequence[Sequence[int]]) -> bool:
    """Whether :func:`raw` takes these keys: rows of one length, of integers in [0, 2^32) (each
    then one entropy word of SeedSequence)."""
    return len({len(key) for key in keys}) <= 1 and all(0 <= k <= _MASK32 for key in keys for k in key)


# ----------------------------------------------------------------------------------------------
# SeedSequence: the entropy words hashed into a pool of four, the pool hashed into the state


class _Hash:
    """SeedSequence's hash of one word, whose multiplier moves on with every word it hashes
    (the same sequence for every key, so it is kept as plain integers)."""

    def __init__(self, start: int, multiplier: int) -> None:
        self.constant, self.multiplier = start, multiplier

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = value ^ _U32(self.constant)
        self.constant = (self.constant * self.multiplier) & _MASK32
        value = value * _U32(self.constant)
        return value ^ (value >> _U32(16))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = _U32(_MIX_MULT_L) * x - _U32(_MIX_MULT_R) * y
    return result ^ (result >> _U32(16))


def _pool(entropy: np.ndarray) -> list[np.ndarray]:
    """SeedSequence.mix_entropy: the pool of each key (four uint32 columns)."""
    hashmix = _Hash(_INIT_A, _MULT_A)
    zeros = np.zeros(len(entropy), dtype=_U32)
    pool = [hashmix(entropy[:, i] if i < entropy.shape[1] else zeros) for i in range(_POOL_SIZE)]
    for source in range(_POOL_SIZE):
        for target in range(_POOL_SIZE):
            if source != target:
                pool[target] = _mix(pool[target], hashmix(pool[source]))
    for source in range(_POOL_SIZE, entropy.shape[1]):
        for target in range(_POOL_SIZE):
            pool[target] = _mix(pool[target], hashmix(entropy[:, source]))
    return pool


def _generate_state(pool: list[np.ndarray], words: int) -> np.ndarray:
    """SeedSequence.generate_state(words, np.uint32) of each key, one row per key."""
    hashed = _Hash(_INIT_B, _MULT_B)
    return np.stack([hashed(pool[i % _POOL_SIZE]) for i in range(words)], axis=1)


# ----------------------------------------------------------------------------------------------
# PCG64: a 128-bit LCG (as pairs of uint64 halves), each output the XSL-RR of the new state


def _multiply_64(a: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The 128-bit product of 64-bit ``a`` and ``b``, as (high, low) halves."""
    low32 = _U64(_MASK32)
    a0, a1 = a & low32, a >> _U64(32)
    b0, b1 = _U64(b & _MASK32), _U64(b >> 32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> _U64(32)) + (p01 & low32) + (p10 & low32)
    return p11 + (p01 >> _U64(32)) + (p10 >> _U64(32)) + (middle >> _U64(32)), (middle << _U64(32)) | (p00 & low32)


def _step(state: tuple[np.ndarray, np.ndarray], inc: tuple[np.ndarray, np.ndarray]):
    """state * multiplier + inc, modulo 2^128."""
    high, low = state
    product_high, product_low = _multiply_64(low, _MULTIPLIER[1])
    product_high = product_high + high * _U64(_MULTIPLIER[1]) + low * _U64(_MULTIPLIER[0])
    new_low = product_low + inc[1]
    carry = (new_low < product_low).astype(_U64)
    return product_high + inc[0] + carry, new_low


def _add(x: tuple[np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray]):
    low = x[1] + y[1]
    return x[0] + y[0] + (low < x[1]).astype(_U64), low


def _pcg64(seed, inc, count: int) -> np.ndarray:
    """pcg64_set_seed, then ``count`` outputs, for each key."""
    with np.errstate(over="ignore"):  # every operation is meant modulo 2^64
        increment = ((inc[0] << _U64(1)) | (inc[1] >> _U64(63)), (inc[1] << _U64(1)) | _U64(1))
        zero = np.zeros_like(seed[0])
        state = _add(_step((zero, zero), increment), seed)
        state = _step(state, increment)
        out = np.empty((len(seed[0]), count), dtype=_U64)
        for i in range(count):
            state = _step(state, increment)
            high, low = state
            value, rotation = high ^ low, high >> _U64(58)
            out[:, i] = (value >> rotation) | (value << ((_U64(64) - rotation) & _U64(63)))
    return out
