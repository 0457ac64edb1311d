"""Numbers on the scratchpad, shared by the arithmetic tasks: digits, operand checks, decoding.

A number is a row of digits stored least significant first (column 0 = units), ended by BLANK.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from typing import Any, cast

import numpy as np

from actformer_envs.arrays import constant
from actformer_envs.digits import digit_count, digits_of, from_digits, shown
from actformer_envs.symbols import BLANK, SYMBOL_VALUE
from actformer_envs.tasks.base import Enumeration, Problems, Task, written_prefix

_BLANK = constant(BLANK, np.int8)
_DIGIT_VALUES = SYMBOL_VALUE.astype(np.int64)


def number_rows(values: tuple[int, ...], base: int, width: int) -> np.ndarray:
    """Numbers laid out as rows (len(values), width) of digits, then BLANK."""
    rows = np.full((len(values), width), BLANK, dtype=np.int8)
    for row, value in zip(rows, values, strict=True):
        digits = digits_of(value, base)
        row[: len(digits)] = digits
    return rows


def digit_rows(values: np.ndarray, base: int, digits: int, width: int) -> np.ndarray:
    """Numbers below ``base ** digits`` laid out as :func:`number_rows` lays them out, a batch at once:
    (len(values), width) int8 of digits, least significant first, then BLANK."""
    powers = base ** np.arange(digits, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)[:, None]
    counts = 1 + (values >= powers[1:]).sum(axis=1)  # (0 has one digit)
    rows = np.full((len(values), width), BLANK, dtype=np.int8)
    rows[:, :digits] = np.where(np.arange(digits) < counts[:, None], (values // powers) % base, BLANK)
    return rows


def digit_range(base: int, length: int) -> tuple[int, int]:
    """(high, low): the numbers of at most ``length`` digits are those below ``high``, of fewer those
    below ``low`` (none for one digit: 0 has one)."""
    return base**length, (base ** (length - 1) if length > 1 else 0)


def check_operands(problem: Any, task: str, count: int = 2) -> tuple[int, ...]:
    """A user-posed tuple of ``count`` non-negative ints, or ``ValueError`` saying what is wrong."""
    if not isinstance(problem, (tuple, list)) or len(problem) != count:
        what = "a pair (a, b)" if count == 2 else f"a tuple of {count}"
        raise ValueError(f"{task} problem must be {what} of non-negative ints, got {shown(problem)}")
    for x in problem:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < 0:
            raise ValueError(f"{task} operands must be non-negative ints, got {shown(x)}")
    return tuple(int(x) for x in problem)


def carries_in(generates: np.ndarray, propagates: np.ndarray) -> np.ndarray:
    """The carry (0 or 1) into each column of a column-by-column sum, as a parallel prefix scan.

    ``generates`` and ``propagates`` (n, width) bool: a column generates a carry, or passes on the
    one it receives. Addition's carries and Subtraction's borrows are both this scan. It takes
    log2(width) passes over the whole batch (Kogge-Stone), each of a few fast boolean ufuncs.
    """
    rows, columns = generates.shape
    # After the pass of shift s, (g, p) of a column say whether the block of the 2s columns ending
    # there sends a carry out with none coming in, and whether it passes one through. Rows are
    # padded in front with as many columns as the largest shift, that neither generate nor
    # propagate, so a pass shifts the flattened arrays: what slides in from the row before is padding.
    pad = 1 << (columns - 1).bit_length() - 1 if columns > 1 else 0
    g = np.zeros((rows, pad + columns), dtype=bool)
    p = np.zeros_like(g)
    g[:, pad:], p[:, pad:] = generates, propagates
    flat_g, flat_p = g.reshape(-1), p.reshape(-1)
    shift = 1
    while shift < columns:
        flat_g[shift:] |= flat_p[shift:] & flat_g[:-shift]
        if 2 * shift < columns:  # (the last pass needs no p)
            flat_p[shift:] &= flat_p[:-shift]
        shift *= 2
    carry = np.zeros((rows, columns), dtype=np.int16)
    carry[:, 1:] = g[:, pad:-1]  # the carry out of the columns before each
    return carry


def decode_numbers(rows: np.ndarray, base: int, leading_zeros: bool = False) -> np.ndarray:
    """The numbers that output rows (n, width) hold, as an (n,) object array of ints; ``None``
    where a row is not a number.

    A row is a number if it has digits from column 0 on and no gap. Unless ``leading_zeros``
    (tasks whose answer has a fixed number of digits), its most significant digit is not 0 either,
    except for 0 itself: one canonical row per number.
    """
    width = rows.shape[1]
    cells = np.ascontiguousarray(rows.T)  # column by column: see ``written_prefix``
    written = cells < _BLANK  # BLANK and EDGE are not digits
    lengths, is_prefix = written_prefix(written)
    # Numbers of up to ``short`` digits fit an int64: convert those all at once, the rest one by one.
    short = min(_int64_digits(base), width)
    digits = _DIGIT_VALUES.take(cells[:short])  # (a digit's value; BLANK and EDGE: 0)
    digits *= _place_values(base, short)[:, None]
    values = np.add.reduce(digits, axis=0)
    # Canonical, in one comparison: at least the least canonical number of its length.
    least = _least_values(base, short, leading_zeros)
    canonical = is_prefix & (values >= least.take(lengths, mode="clip"))
    # (An object array of Python ints and None; NumPy's stubs take a None operand for np.where's
    # one-argument form.)
    answers = cast(np.ndarray, np.where(canonical, values, None))
    if short < width:
        for i in np.flatnonzero(is_prefix & (lengths > short)).tolist():
            digits = rows[i, : lengths[i]]
            if leading_zeros or digits[-1] != 0:
                answers[i] = from_digits(digits, base)
    return answers


@functools.cache
def _int64_digits(base: int) -> int:
    """How many digits of ``base`` any number below 2**62 has at most (so sums of them fit an int64)."""
    return int(62 / np.log2(base))


@functools.cache
def _place_values(base: int, digits: int) -> np.ndarray:
    """``base ** [0, 1, ..., digits - 1]`` as int64 (read-only: cached)."""
    values = base ** np.arange(digits, dtype=np.int64)
    values.flags.writeable = False
    return values


@functools.cache
def _least_values(base: int, short: int, leading_zeros: bool) -> np.ndarray:
    """Entry ``length`` (0..short + 1, longer rows clipped to the last): the least value of a
    canonical row of that many digits.

    No digits is no number, and rows of more than ``short`` digits are decoded one by one: their
    entry is above any product of ``short`` digits. One digit holds 0 up; more digits hold
    ``base ** (length - 1)`` up, or 0 up with leading zeros.
    """
    least = np.full(short + 2, np.iinfo(np.int64).max, dtype=np.int64)
    least[1 : short + 1] = 0 if leading_zeros else base ** np.arange(short, dtype=np.int64)
    least[1] = 0
    least.flags.writeable = False
    return least


def extreme_numbers(base: int, length: int) -> tuple[int, int, int]:
    """``(all_top, power, repunit)`` of ``length`` digits in ``base``: the largest number
    (``99..9``), the smallest (``10..0``) and ``11..1``, the building blocks of adversarial families."""
    all_top = base**length - 1
    return all_top, base ** (length - 1), all_top // (base - 1)


class TwoNumbers(Task):
    """The layout of the tasks on two numbers: operands on rows ``A`` and ``B`` (``P0``, ``P1``), the
    answer on ``OUT`` (``P2``), least significant digit first, shown most significant first.

    Subclasses pose laid-out operands in :meth:`pose_numbers`; a problem is a pair of ints.
    """

    rows = ("A", "B", "OUT")
    output_row = 2
    pointer_rows = (0, 1, 2, None)
    render_reversed = True

    def operands(self, problem: Any) -> tuple[int, int]:
        """The pair ``(a, b)`` of a user-posed problem, or ``ValueError`` saying what is wrong."""
        a, b = check_operands(problem, self.name)
        return a, b

    def problem_length(self, problem: Any) -> int:
        a, b = self.operands(problem)
        return max(digit_count(a, self.base), digit_count(b, self.base))

    def problem_count(self, length: int) -> int:
        """The pairs whose longer operand has ``length`` digits: ``high ** 2 - low ** 2`` (see
        :func:`digit_range`)."""
        high, low = digit_range(self.base, length)
        return high**2 - low**2

    def pairs_at(self, indices: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
        """The problems (a, b) of ``length`` numbered ``indices``, two int64 arrays: first each a of
        ``length`` digits with every b of at most that many (a-major), then each shorter a with
        every b of ``length`` digits. A task with fewer problems (Subtraction's a >= b) overrides it."""
        high, low = digit_range(self.base, length)
        indices = np.asarray(indices, dtype=np.int64)
        long_a = indices < (high - low) * high
        rest = indices - (high - low) * high
        a = np.where(long_a, low + indices // high, rest // (high - low))
        b = np.where(long_a, indices % high, low + rest % (high - low))
        return a, b

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The pairs of :meth:`pairs_at`, as tuples ``(a, b)``."""

        def problems_at(indices: np.ndarray) -> list[Any]:
            a, b = self.pairs_at(indices, length)
            return list(zip(a.tolist(), b.tolist(), strict=True))

        def pose_at(indices: np.ndarray, width: int) -> Problems:
            a, b = self.pairs_at(indices, length)
            lengths = np.full(len(indices), length, dtype=np.int64)
            return self.pose_numbers(
                digit_rows(a, self.base, length, width), digit_rows(b, self.base, length, width), lengths
            )

        return Enumeration(self, length, count, problems_at, pose_at)

    def encode(self, problem: Any, width: int) -> Problems:
        a, b = self.operands(problem)
        rows = number_rows((a, b), self.base, width)
        return self.pose_numbers(rows[:1], rows[1:], np.array([self.problem_length(problem)]))

    @abstractmethod
    def pose_numbers(self, a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> Problems:
        """Problems from operand rows (n, width) of digits then BLANK, of the given lengths."""
