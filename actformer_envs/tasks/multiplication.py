"""Multiplication: long multiplication in any base, one partial product per digit of the multiplier."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from actformer_envs.digits import digits_of, from_digits
from actformer_envs.instructions import NUM_ACTIONS, instruction_index
from actformer_envs.observation import P0, P1, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, distinct, fill_from, pad_rows
from actformer_envs.tasks.numbers import TwoNumbers, decode_numbers, extreme_numbers
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import NumberPair

_READ_A = instruction_index("READ P0->R0")
_READ_B = instruction_index("READ P1->R1")
_READ_OUT = instruction_index("READ P2->R2")
_MUL = instruction_index("MUL R0,R1")
_ADD = instruction_index("ADD R0,R2")
_CARRY = instruction_index("CARRY R0")
_WRITE = instruction_index("WRITE R0->P2")
_A_LEFT = instruction_index("MOVE P0 LEFT")
_A_RIGHT = instruction_index("MOVE P0 RIGHT")
_B_RIGHT = instruction_index("MOVE P1 RIGHT")
_OUT_LEFT = instruction_index("MOVE P2 LEFT")
_OUT_RIGHT = instruction_index("MOVE P2 RIGHT")
_HALT = instruction_index("HALT")


def _expert_table() -> np.ndarray:
    """The expert's next action, indexed by (last action, what the pointers see).

    The second index holds three bits: 1 if P0 is on a BLANK (the carry column after ``a``), 2 if P0
    is at the start of ``A``, 4 if P1 is on a BLANK (past the last digit of ``b``).
    """
    table = np.full((NUM_ACTIONS + 1, 8), _READ_B, dtype=np.int64)  # NO_ACTION, or off the path
    chain = [_READ_B, _READ_A, _MUL, _READ_OUT, _ADD, _CARRY, _WRITE]
    table[chain[:-1]] = np.array(chain[1:])[:, None]
    table[[_A_RIGHT, _OUT_RIGHT, _OUT_LEFT]] = np.array([_OUT_RIGHT, _READ_A, _A_LEFT])[:, None]
    seen = np.arange(8)
    # After WRITE: on to the next column, or, past the carry column, back to the start.
    table[_WRITE] = np.where(seen & 1, _A_LEFT, _A_RIGHT)
    # Going back, P0 and P2 step left in turn until P0 reaches the start of A; then b's next digit.
    table[_A_LEFT] = np.where(seen & 2, _B_RIGHT, _OUT_LEFT)
    # On b's next digit: read it, or HALT on the BLANK after b.
    table[_B_RIGHT] = np.where(seen & 4, _HALT, _READ_B)
    return table


_EXPERT = _expert_table()
#: Multipliers of more digits are multiplied as Python ints (see ``_product_digits``).
LONG_MULTIPLIER = 1000


class Multiplication(TwoNumbers):
    """``Actformer/Multiplication-v0``: multiply two numbers of any base by long multiplication.

    ## Description
    Rows ``A`` and ``B`` hold the operands, ``OUT`` receives the product; numbers are stored least
    significant digit first (column 0 = units). ``P0``, ``P1``, ``P2`` stand on ``A``, ``B``, ``OUT``.
    For each digit ``b_j`` the expert adds the partial product ``a * b_j`` into ``OUT`` from column
    ``j`` on, digit by digit (``a_i * b_j`` + carry + the digit already there), one carry at a time.

    Long multiplication leaves exactly ``len(a) + len(b)`` digits on ``OUT``, so the target is the
    product zero-padded to that many digits, and ``info["output"]`` decodes it with leading zeros
    allowed (``decode_numbers(..., leading_zeros=True)``): it is the product as an ``int``.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0, P1->R1, P2->R2, MUL R0,R1,
    ADD R0,R2, CARRY R0, CLR C, WRITE R0->P2, MOVE of P0..P2 (left and right) and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the product's ``len(a) + len(b)`` digits on ``OUT``.

    ## Starting State
    A problem of length n has two operands of exactly n digits each, no leading zeros (unless
    n = 1), and 2n columns. Posed problems: ``options={"problem": (a, b)}`` with non-negative ints
    of at most ``max_length`` digits each; their length is the longer one's digit count, and they
    take ``len(a) + len(b)`` columns. The scratchpad has ``2 * max_length`` columns.

    ## Episode End
    HALT, or twice the expert's program length. For each digit of ``b``: READ P1->R1; then for
    each column i = 0..len(a) (the last is the BLANK after ``a``, which reads 0 and flushes the
    carry) READ P0->R0, MUL R0,R1, READ P2->R2, ADD R0,R2, CARRY R0, WRITE R0->P2, and, but for
    the last column, MOVE P0 RIGHT, MOVE P2 RIGHT; then back: MOVE P0 LEFT and MOVE P2 LEFT in
    turn until P0 is at the start of ``A`` (P2 is then one column right of where the row began),
    and MOVE P1 RIGHT. On the BLANK after ``b``, HALT. That is
    ``len(b) * (10 * len(a) + 7) + 1`` steps (100,701 for 100 x 100 digits). Values stay below
    ``base**2``.

    ## Arguments
    ``base`` 2..36 (default 10); lengths default to 1..4 (the program grows as the square of the
    length: 18 steps at 1, 189 at 4).

    ## Registered Configurations
    ``Actformer/Multiplication-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Multiplication"
    reads = ExpertReads(
        values=("last_action", "boundaries[P0.start]"), kinds=("symbols[P0.under]", "symbols[P1.under]")
    )
    text_format = NumberPair(("*", "x"))
    # Long episodes: more expert data and no history (see ``Recipe``).
    recipe = Recipe(3, (3, 30, 100), 50, expert_pairs=60_000, history_length=0)
    default_lengths = (1, 4)  # programs of 18 to 189 steps: quadratic in the length
    allowed_instructions = (
        "READ P0->R0", "READ P1->R1", "READ P2->R2", "MUL R0,R1", "ADD R0,R2", "CARRY R0", "CLR C",
        "WRITE R0->P2", "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return 2 * max_length  # the product of two max_length-digit numbers

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        n = len(lengths)
        digits = random.integers(self.base, 2 * width).astype(np.int8).reshape(n, 2, width)
        leads = random.integers(self.base - 1, 2).astype(np.int8)
        # The most significant digit is not 0, unless the operand is a single digit.
        top = lengths - 1
        rows = np.arange(n)
        digits[rows, :, top] = np.where(top[:, None] > 0, 1 + leads, digits[rows, :, top])
        digits = fill_from(digits, lengths, BLANK)
        return self.pose_numbers(digits[:, 0], digits[:, 1], lengths)

    def pose_numbers(self, a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> Problems:
        """Lay out operands (n, width) int8 of digits/BLANK; compute the product."""
        la, lb = (a < BLANK).sum(axis=1), (b < BLANK).sum(axis=1)
        extent = la + lb
        width = a.shape[1]
        target = _product_digits(a, b, int(la.max(initial=0)), int(lb.max(initial=0)), self.base, width)
        scratchpad = np.empty((len(la), 3, width), dtype=np.int8)
        scratchpad[:, 0], scratchpad[:, 1], scratchpad[:, 2] = a, b, BLANK
        program = lb * (10 * la + 7) + 1
        return Problems(pad_rows(scratchpad, extent), pad_rows(target, extent), program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> np.ndarray:
        return decode_numbers(rows, self.base, leading_zeros=True)

    @property
    def decoding(self) -> Hashable:
        return decode_numbers, self.base, True

    def adversarial_problems(self, length: int) -> list[Any]:
        """The largest carries (``99..9 * 99..9``), partial products of zeros (``10..0 * 10..0``),
        and the two mixed, each way round."""
        all_top, power, ones = extreme_numbers(self.base, length)
        return distinct(
            [(all_top, all_top), (power, power), (all_top, power), (power, all_top), (ones, all_top)]
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        seen = (view.under(P0) == BLANK) + 2 * view.at_start(P0) + 4 * (view.under(P1) == BLANK)
        return _EXPERT[view.last_action, seen]


def _product_digits(a: np.ndarray, b: np.ndarray, la: int, lb: int, base: int, width: int) -> np.ndarray:
    """Digits (n, width) int8 of a * b, zero-padded to la + lb columns (BLANK beyond).

    Columns are summed partial product by partial product, then the carries are propagated column
    by column: loops over columns, each vectorized over the batch. That takes time in proportion to
    la * lb; past ``LONG_MULTIPLIER`` digits each product is Python's, one problem at a time.
    """
    x = np.where(a[:, :la] < base, a[:, :la], 0).astype(np.int64)  # BLANK reads as 0
    y = np.where(b[:, :lb] < base, b[:, :lb], 0).astype(np.int64)
    if lb > LONG_MULTIPLIER:
        digits = np.full((len(a), width), BLANK, dtype=np.int8)
        digits[:, : la + lb] = 0
        for row, p, q in zip(digits, x, y, strict=True):
            product = digits_of(from_digits(p, base) * from_digits(q, base), base)
            row[: len(product)] = product
        return digits
    sums = np.zeros((len(a), la + lb), dtype=np.int64)
    for j in range(lb):
        sums[:, j : j + la] += x * y[:, j : j + 1]
    digits = np.full((len(a), width), BLANK, dtype=np.int8)
    carry = np.zeros(len(a), dtype=np.int64)
    for k in range(la + lb):
        carry, digits[:, k] = np.divmod(sums[:, k] + carry, base)
    return digits
