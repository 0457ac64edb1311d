"""The vectorized helpers under the tasks and the machine, against plain-Python references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actformer_envs.machine import memory_images, row_items
from actformer_envs.symbols import BLANK, EDGE, SYMBOL_CHARS
from actformer_envs.tasks.base import answer_lengths, count_per_row, fill_from
from actformer_envs.tasks.numbers import carries_in, decode_numbers


def reference_carries(a: list[int], b: list[int], base: int, sign: int) -> list[int]:
    """Carry (sign=+1) or borrow (sign=-1) into each column of a + b or a - b, digit by digit."""
    carry, out = 0, []
    for x, y in zip(a, b, strict=True):
        out.append(carry)
        column = x + sign * y + sign * carry
        carry = int(column >= base) if sign > 0 else int(column < 0)
    return out


@settings(max_examples=60, deadline=None)
@given(
    base=st.integers(2, 36),
    width=st.integers(1, 40),
    rows=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_carries_in_matches_column_by_column_addition_and_subtraction(base, width, rows, seed) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, base, (rows, width))
    b = rng.integers(0, base, (rows, width))
    # Long carry chains: a third of the columns pass a carry on (a + b = base - 1), a third a
    # borrow (a = b).
    kind = rng.integers(0, 3, (rows, width))
    b = np.select([kind == 1, kind == 2], [base - 1 - a, a], b)
    total, difference = a + b, a - b
    carries = carries_in(total >= base, total == base - 1)
    borrows = carries_in(difference < 0, difference == 0)
    for i in range(rows):
        assert carries[i].tolist() == reference_carries(a[i].tolist(), b[i].tolist(), base, +1)
        assert borrows[i].tolist() == reference_carries(a[i].tolist(), b[i].tolist(), base, -1)


@settings(max_examples=100, deadline=None)
@given(
    width=st.integers(1, 70),
    rows=st.integers(1, 8),
    density=st.floats(0.3, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_carries_in_matches_a_sequential_scan(width, rows, density, seed) -> None:
    """Any pattern of generating and propagating columns, with long propagate runs."""
    rng = np.random.default_rng(seed)
    propagates = rng.random((rows, width)) < density
    generates = ~propagates & (rng.random((rows, width)) < 0.5)
    carries = carries_in(generates, propagates)
    rows_of = zip(generates.tolist(), propagates.tolist(), carries.tolist(), strict=True)
    for g_row, p_row, carry_row in rows_of:
        carry, expected = 0, []
        for g, p in zip(g_row, p_row, strict=True):
            expected.append(carry)
            carry = int(g or (p and carry))
        assert carry_row == expected


def reference_decode(row: list[int], base: int, leading_zeros: bool) -> int | None:
    """A row's number: digits from column 0, least significant first, then only non-digits."""
    length = next((i for i, s in enumerate(row) if s >= BLANK), len(row))
    if length == 0 or any(s < BLANK for s in row[length:]):
        return None
    if not leading_zeros and length > 1 and row[length - 1] == 0:
        return None
    return int("".join(SYMBOL_CHARS[s] for s in reversed(row[:length])), base)


@pytest.mark.parametrize("leading_zeros", [False, True])
@pytest.mark.parametrize("base", [2, 10, 36])
@pytest.mark.parametrize("width", [1, 5, 30, 80])
def test_decode_numbers_matches_a_digit_by_digit_reference(
    base: int, width: int, leading_zeros: bool
) -> None:
    """Long rows (past int64) included, and malformed ones: gaps, EDGE, empty, leading zeros."""
    rng = np.random.default_rng(base * 1000 + width)
    rows = rng.integers(0, base, (400, width)).astype(np.int8)
    lengths = rng.integers(0, width + 1, 400)
    rows[np.arange(width) >= lengths[:, None]] = BLANK
    noise = rng.random((400, width)) < 0.03
    rows[noise] = rng.choice([BLANK, EDGE, 0], noise.sum())
    rows[rng.random(400) < 0.2, -1] = EDGE
    decoded = decode_numbers(rows, base, leading_zeros=leading_zeros).tolist()
    assert decoded == [reference_decode(row, base, leading_zeros) for row in rows.tolist()]


@pytest.mark.parametrize("width", [1, 7, 62, 63, 130])
def test_answer_lengths_matches_a_cell_by_cell_reference(width: int) -> None:
    rng = np.random.default_rng(width)
    rows = rng.integers(0, 10, (300, width)).astype(np.int8)
    rows[np.arange(width) >= rng.integers(0, width + 1, 300)[:, None]] = BLANK
    gaps = rng.random((300, width)) < 0.02
    rows[gaps] = rng.choice([BLANK, EDGE, 3], gaps.sum())
    expected = []
    for row in rows.tolist():
        length = next((i for i, s in enumerate(row) if s >= BLANK), width)
        expected.append(-1 if any(s < BLANK for s in row[length:]) else length)
    assert answer_lengths(rows).tolist() == expected


@pytest.mark.parametrize("width", [1, 11, 255, 256, 1001])  # both sides of the uint8 sum's limit
def test_count_per_row_counts_the_true_cells_of_each_row(width: int) -> None:
    columns = np.random.default_rng(width).random((width, 5)) < 0.5
    columns[:, 0] = True  # a full row: as many as the sum's type holds at the limit
    counts = count_per_row(columns)
    assert counts.dtype == np.intp
    assert counts.tolist() == [int(column.sum()) for column in columns.T]


@pytest.mark.parametrize("shape", [(40, 9), (40, 3, 9)])
@pytest.mark.parametrize("symbol", [BLANK, EDGE])
def test_fill_from_fills_each_row_from_its_start(shape: tuple[int, ...], symbol: int) -> None:
    rng = np.random.default_rng(len(shape) + symbol)
    rows = rng.integers(0, symbol + 1, shape).astype(np.int8)  # symbol is the largest value there
    starts = rng.integers(0, shape[-1] + 3, shape[:1])  # past the width too: nothing filled
    expected = rows.copy()
    for i, start in enumerate(starts.tolist()):
        expected[i, ..., start:] = symbol
    filled = fill_from(rows, starts, symbol)
    assert filled.dtype == np.int8 and np.array_equal(filled, expected)


def test_row_items_moves_whole_rows_like_fancy_indexing() -> None:
    rng = np.random.default_rng(0)
    for dtype, shape in (
        (np.int8, (50, 12)),
        (np.int32, (50, 14)),
        (np.intp, (50, 4)),
        (np.int8, (50, 3, 7)),
    ):
        state, expected = np.zeros(shape, dtype), np.zeros(shape, dtype)
        envs = rng.permutation(50)[:20]
        rows = rng.integers(-100, 100, (20, *shape[1:])).astype(dtype)
        row_items(state)[envs] = row_items(rows)
        expected[envs] = rows
        np.testing.assert_array_equal(state, expected)
        np.testing.assert_array_equal(row_items(state).take(envs).view(dtype).reshape(rows.shape), rows)


def test_memory_images_frame_the_problem_for_the_machine() -> None:
    scratchpad = np.arange(2 * 3 * 4, dtype=np.int8).reshape(2, 3, 4)
    target = np.array([[1, 2, BLANK, EDGE], [3, 4, 5, 6]], dtype=np.int8)
    images, targets = memory_images(scratchpad, target, np.array([2, 0]))
    images = images.view(np.int8).reshape(2, 4, 6)
    targets = targets.view(np.int8).reshape(2, 4, 6)
    np.testing.assert_array_equal(images[:, :3, 1:-1], scratchpad)
    assert (images[:, 3] == EDGE).all() and (images[:, :, [0, -1]] == EDGE).all()
    np.testing.assert_array_equal(targets[0, 2, 1:-1], target[0])
    np.testing.assert_array_equal(targets[1, 0, 1:-1], target[1])
    untouched = np.ones((2, 4, 6), bool)
    untouched[0, 2, 1:-1] = untouched[1, 0, 1:-1] = False
    assert (targets[untouched] == EDGE).all()
