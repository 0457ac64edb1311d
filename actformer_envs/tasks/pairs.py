"""Random pairs of numbers for the two-operand tasks whose answer depends on how the numbers compare
(Subtraction, Compare): drawing them, and comparing digit rows, a batch at a time."""

from __future__ import annotations

import numpy as np

from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, SYMBOL_VALUE
from actformer_envs.tasks.base import fill_from


def random_pairs(
    random: BatchRandom, lengths: np.ndarray, width: int, base: int, shared_one_in: int
) -> np.ndarray:
    """Digit rows (n, 2, width) int8 of two numbers, least significant digit first, then BLANK.

    One number has exactly ``lengths`` digits, the other 1..lengths (which is which, at random); no
    number has a leading zero unless it is a single digit. Uniform digits make equal numbers and long
    equal top runs vanishingly rare, so one pair in ``shared_one_in`` instead has both numbers of
    ``lengths`` digits sharing their top ``min(u, lengths)`` digits, u uniform in 0..2 * lengths:
    about half of those pairs are equal, the rest share a prefix of uniform length.
    """
    n = len(lengths)
    bounds = np.empty((n, 6), dtype=np.int64)
    bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3] = lengths, 2, shared_one_in, 2 * lengths + 1
    bounds[:, 4:] = base - 1
    draws = random.integers(bounds, 6)
    shared = draws[:, 2] == 0
    prefix = np.where(shared, np.minimum(draws[:, 3], lengths), 0)
    sizes = np.stack([lengths, np.where(shared, lengths, 1 + draws[:, 0])], axis=1)
    digits = random.integers(base, 2 * width).astype(np.int8).reshape(n, 2, width)
    # The most significant digit is not 0, unless the number is a single digit.
    rows, operand, top = np.arange(n)[:, None], np.arange(2), sizes - 1
    digits[rows, operand, top] = np.where(top > 0, 1 + draws[:, 4:], digits[rows, operand, top])
    copied = np.arange(width) >= (lengths - prefix)[:, None]
    digits[:, 1] = np.where(copied, digits[:, 0], digits[:, 1])
    digits = fill_from(digits, sizes, BLANK)
    return np.where((draws[:, 1] == 1)[:, None, None], digits[:, ::-1], digits)


def compare_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sign(a - b), the most significant column where they differ, 0 if none) of digit rows (n, width).

    BLANK reads as 0, so numbers of unequal length compare as numbers.
    """
    va, vb = SYMBOL_VALUE[a], SYMBOL_VALUE[b]
    differ = va != vb
    column = np.where(differ.any(axis=1), a.shape[1] - 1 - np.argmax(differ[:, ::-1], axis=1), 0)
    rows = np.arange(len(a))
    return np.sign(va[rows, column] - vb[rows, column]), column
