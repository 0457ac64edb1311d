"""Compare beyond the battery: what its generator draws and how output rows decode."""

from __future__ import annotations

import numpy as np
import pytest
from oracles.base import from_digits, row_prefix

from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks import Compare


@pytest.mark.parametrize("base", [3, 10, 36])
def test_generated_problems(base: int) -> None:
    """One number has exactly n digits, the other 1..n; every answer is common, and so are deep scans."""
    n, count = 6, 4000
    problems = Compare(base).generate(BatchRandom(np.arange(count)), np.full(count, n), n + 1)
    digits = [[row_prefix(row) for row in pair] for pair in problems.scratchpad[:, :2]]
    lengths = np.array([[len(d) for d in pair] for pair in digits])
    assert (lengths.max(axis=1) == n).all() and set(lengths.min(axis=1)) == set(range(1, n + 1))
    unequal = lengths[:, 0] != lengths[:, 1]
    assert 0.4 < (lengths[unequal, 0] == n).mean() < 0.6  # which number is the long one is random
    assert all(d[-1] != 0 for pair in digits for d in pair if len(d) > 1)  # no leading zeros
    a = np.array([from_digits(pair[0], base) for pair in digits], dtype=object)
    b = np.array([from_digits(pair[1], base) for pair in digits], dtype=object)
    signs = (a > b).astype(int) - (a < b).astype(int)
    assert (problems.target[:, 0] == signs + 1).all() and (problems.target[:, 1:] == BLANK).all()
    for sign in (-1, 0, 1):
        assert (signs == sign).mean() > 0.2, sign
    same_top = np.mean([pa[-1] == pb[-1] and len(pa) == len(pb) for pa, pb in digits])
    assert same_top > 0.4


def test_decode() -> None:
    task = Compare(10)
    rows = np.full((6, 4), BLANK, dtype=np.int8)
    rows[:3, 0] = [0, 1, 2]
    rows[3, 0] = 3  # not an answer symbol
    rows[4, :2] = [1, 1]  # two symbols
    rows[5, 1] = 1  # a gap before the symbol
    assert task.decode_batch(rows) == [-1, 0, 1, None, None, None]
    assert all(type(x) is int for x in task.decode_batch(rows)[:3])
