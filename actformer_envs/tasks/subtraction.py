"""Subtraction: a - b (a >= b) in any base, column by column, with borrows."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from actformer_envs.digits import shown
from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, SYMBOL_VALUE
from actformer_envs.tasks.base import Problems, distinct, fill_from, pad_rows
from actformer_envs.tasks.numbers import (
    TwoNumbers,
    carries_in,
    decode_numbers,
    digit_range,
    extreme_numbers,
)
from actformer_envs.tasks.pairs import compare_rows, random_pairs
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import NumberPair

_READ_A = instruction_index("READ P0->R0")
_READ_B = instruction_index("READ P1->R1")
_SUB = instruction_index("SUB R0,R1")
_CARRY = instruction_index("CARRY R0")
_WRITE = instruction_index("WRITE R0->P2")
_ADVANCE = instruction_index("ADVANCE")
_HALT = instruction_index("HALT")

#: Expert steps per column: READ, READ, SUB, CARRY, WRITE, ADVANCE.
STEPS_PER_COLUMN = 6


#: One problem in this many has b sharing a's top digits (b = a about half of those times).
SHARED_ONE_IN = 4


class Subtraction(TwoNumbers):
    """``Actformer/Subtraction-v0``: subtract b from a (a >= b) in any base, column by column.

    ## Description
    Rows ``A`` and ``B`` hold a and b, ``OUT`` receives a - b; numbers are stored least significant
    digit first (column 0 = units). ``P0``, ``P1``, ``P2`` stand on ``A``, ``B``, ``OUT``. The column
    procedure writes one digit per column of a, so the answer is a - b zero-padded to as many digits
    as a has (``7 - 5`` in base 10 is ``2``; ``100 - 99`` is ``001``); outputs are decoded with
    leading zeros allowed, and ``info["output"]`` is the int.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ from P0/P1 into R0/R1, SUB R0,R1 and
    R1,R0, CARRY R0/R1, CLR C, WRITE R0/R1 to P2, MOVE of P0..P2, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the digits of a - b on ``OUT``, as many as a has.

    ## Starting State
    A problem of length n has a of exactly n digits (no leading zero unless n = 1) and b <= a of
    1..n digits; one problem in four has b of n digits sharing a's top digits (b = a about half of
    those times), so long borrow chains and zero differences occur. n + 1 columns. Posed problems:
    ``options={"problem": (a, b)}`` with ints a >= b >= 0, a of at most ``max_length`` digits.

    ## Episode End
    HALT, or twice the expert's program length: per column of a READ P0->R0, READ P1->R1,
    SUB R0,R1 (which adds the pending borrow C), CARRY R0 (C = -1 on a borrow), WRITE R0->P2,
    ADVANCE (6 steps), then HALT on the BLANK after a: 6n + 1 steps.

    ## Arguments
    ``base`` 2..36 (default 10); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Subtraction-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Subtraction"
    reads = ExpertReads(values=("last_action",), kinds=("symbols[P0.under]",))
    text_format = NumberPair(("-",))
    recipe = Recipe(3, (3, 30, 300), 200)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "READ P1->R0", "READ P1->R1",
        "SUB R0,R1", "SUB R1,R0", "CARRY R0", "CARRY R1", "CLR C",
        "WRITE R0->P2", "WRITE R1->P2",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "ADVANCE", "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        digits = random_pairs(random, lengths, width, self.base, SHARED_ONE_IN)
        sign, _ = compare_rows(digits[:, 0], digits[:, 1])
        ordered = np.where((sign < 0)[:, None, None], digits[:, ::-1], digits)  # a >= b
        return self.pose_numbers(ordered[:, 0], ordered[:, 1], lengths)

    def operands(self, problem: Any) -> tuple[int, int]:
        a, b = super().operands(problem)
        if a < b:
            raise ValueError(
                f"{self.name} needs a >= b (the difference is not negative), got a={shown(a)} < b={shown(b)}"
            )
        return a, b

    def problem_count(self, length: int) -> int:
        """The pairs a >= b with a of ``length`` digits: ``T(high) - T(low)``, ``T(x) = x (x + 1) / 2``
        the pairs with a below x (see ``numbers.digit_range``)."""
        high, low = digit_range(self.base, length)
        return _triangle(high) - _triangle(low)

    def pairs_at(self, indices: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
        """The problems (a, b) of ``length`` numbered ``indices``: a-major, b = 0..a for each a."""
        _, low = digit_range(self.base, length)
        rank = np.asarray(indices, dtype=np.int64) + _triangle(low)  # pairs with a smaller a before it
        a = ((np.sqrt(8.0 * rank + 1) - 1) // 2).astype(np.int64)  # T(a) <= rank < T(a + 1), but for
        for _ in range(2):  # the rounding of the float square root, corrected here
            a += _triangle(a + 1) <= rank
            a -= _triangle(a) > rank
        return a, rank - _triangle(a)

    def pose_numbers(self, a: np.ndarray, b: np.ndarray, length: np.ndarray) -> Problems:
        """Lay out operands (n, width) int8 of digits/BLANK, a >= b; the n-digit difference is the target."""
        difference = SYMBOL_VALUE[a] - SYMBOL_VALUE[b]  # column by column, without borrows
        digits = ((difference - carries_in(difference < 0, difference == 0)) % self.base).astype(np.int8)
        target = fill_from(digits, length, BLANK)
        extent = length + 1
        scratchpad = np.empty((len(length), 3, a.shape[1]), dtype=np.int8)
        scratchpad[:, 0], scratchpad[:, 1], scratchpad[:, 2] = a, b, BLANK
        program = STEPS_PER_COLUMN * length + 1
        return Problems(pad_rows(scratchpad, extent), pad_rows(target, extent), program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> np.ndarray:
        return decode_numbers(rows, self.base, leading_zeros=True)

    @property
    def decoding(self) -> Hashable:
        return decode_numbers, self.base, True

    def adversarial_problems(self, length: int) -> list[Any]:
        """Borrows that ripple the furthest: ``10..0 - 1`` (through every column), ``10..0 -
        99..9`` (down to 1, leading zeros), ``a - a`` (0), and none at all (``99..9 - 1``, ``- 0``)."""
        all_top, power, _ = extreme_numbers(self.base, length)
        return distinct(
            [
                (power, 1),
                (power, max(power - 1, 0)),
                (all_top, all_top),
                (power, power),
                (all_top, 1),
                (all_top, 0),
            ]
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        a_done = view.under(P0) == BLANK
        return np.select(
            [
                last == _READ_A,
                last == _READ_B,
                last == _SUB,
                last == _CARRY,
                last == _WRITE,
                ((last == _ADVANCE) | (last == NO_ACTION)) & a_done,
            ],
            [_READ_B, _SUB, _CARRY, _WRITE, _ADVANCE, _HALT],
            default=_READ_A,
        )


def _triangle(x: Any) -> Any:
    """``x (x + 1) / 2``: the pairs (a, b), b <= a, with a below x (an int, or an int64 array)."""
    return x * (x + 1) // 2
