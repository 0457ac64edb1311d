"""Addition: multi-digit addition in any base, operands of unequal length, column by column."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, P1, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, distinct, fill_from, pad_rows
from actformer_envs.tasks.numbers import TwoNumbers, carries_in, decode_numbers, extreme_numbers
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import NumberPair

_READ_A = instruction_index("READ P0->R0")
_READ_B = instruction_index("READ P1->R1")
_ADD = instruction_index("ADD R0,R1")
_CARRY = instruction_index("CARRY R0")
_WRITE = instruction_index("WRITE R0->P2")
_ADVANCE = instruction_index("ADVANCE")
_HALT = instruction_index("HALT")

#: Expert steps per column: READ, READ, ADD, CARRY, WRITE, ADVANCE.
STEPS_PER_COLUMN = 6


class Addition(TwoNumbers):
    """``Actformer/Addition-v0``: add two numbers of any base, column by column, with carries.

    ## Description
    Rows ``A`` and ``B`` hold the operands, ``OUT`` receives the sum; numbers are stored least
    significant digit first (column 0 = units). ``P0``, ``P1``, ``P2`` stand on ``A``, ``B``, ``OUT``.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ from P0/P1 into R0/R1, ADD R0,R1 and
    R1,R0, CARRY R0/R1, CLR C, WRITE R0/R1 to P2, MOVE of P0..P2, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the sum's digits on ``OUT``.

    ## Starting State
    A problem of length n has one operand of exactly n digits and one of 1..n digits (which is
    which, at random), no leading zeros, and n + 1 columns (room for the last carry). Posed
    problems: ``options={"problem": (a, b)}`` with non-negative ints of at most ``max_length``
    digits.

    ## Episode End
    HALT, or twice the expert's program length: per column READ P0->R0, READ P1->R1, ADD R0,R1,
    CARRY R0, WRITE R0->P2, ADVANCE (6 steps), then HALT.

    ## Arguments
    ``base`` 2..36 (default 10); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Addition-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Addition"
    reads = ExpertReads(
        values=("last_action", "flags[carry]", "boundaries[P2.end]"),
        kinds=("symbols[P0.under]", "symbols[P1.under]"),
    )
    text_format = NumberPair(("+",))
    recipe = Recipe(3, (3, 30, 300, 1000), 1000)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "READ P1->R0", "READ P1->R1",
        "ADD R0,R1", "ADD R1,R0", "CARRY R0", "CARRY R1", "CLR C",
        "WRITE R0->P2", "WRITE R1->P2",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "ADVANCE", "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        n = len(lengths)
        bounds = np.empty((n, 4), dtype=np.int64)
        bounds[:, 0], bounds[:, 1], bounds[:, 2:] = lengths, 2, self.base - 1
        draws = random.integers(bounds, 4)
        shorter, swap, leads = 1 + draws[:, 0], draws[:, 1] == 1, draws[:, 2:]
        operand_lengths = np.stack([np.where(swap, shorter, lengths), np.where(swap, lengths, shorter)], 1)
        digits = random.integers(self.base, 2 * width).astype(np.int8).reshape(n, 2, width)
        # The most significant digit is not 0, unless the operand is a single digit (flat indices
        # and arithmetic: 3-D fancy indexing and ``where`` are several times slower).
        top = operand_lengths - 1
        cells = np.arange(0, 2 * n * width, width).reshape(n, 2) + top
        flat, first = digits.reshape(-1), (top > 0).astype(np.int8)
        flat[cells] = flat.take(cells) * (1 - first) + (1 + leads) * first
        digits = fill_from(digits, operand_lengths, BLANK)
        return self.pose_numbers(digits[:, 0], digits[:, 1], lengths)

    def pose_numbers(self, a: np.ndarray, b: np.ndarray, length: np.ndarray) -> Problems:
        """Lay out operands (n, width) int8 of digits/BLANK; compute the sum row and the expert's length."""
        # Column sums, BLANK counting 0 (arithmetic: a lookup table would be a slow gather).
        total = np.add(a * (a < BLANK), b * (b < BLANK), dtype=np.int16)
        carry_in = carries_in(total >= self.base, total == self.base - 1)
        total += carry_in  # below 2 * base: the digit is the sum less base where it reaches base
        total -= (total >= self.base) * np.int16(self.base)
        digits = total.astype(np.int8)
        carry_out = carry_in[np.arange(len(length)), length]  # into the column after the operands
        answer_length = length + carry_out
        target = fill_from(digits, answer_length, BLANK)
        extent = length + 1
        scratchpad = np.empty((len(length), 3, a.shape[1]), dtype=np.int8)
        scratchpad[:, 0], scratchpad[:, 1], scratchpad[:, 2] = a, b, BLANK
        scratchpad = pad_rows(scratchpad, extent)
        program = STEPS_PER_COLUMN * length + np.where(carry_out == 1, STEPS_PER_COLUMN, 1)
        return Problems(scratchpad, pad_rows(target, extent), program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> np.ndarray:
        return decode_numbers(rows, self.base)

    @property
    def decoding(self) -> Hashable:
        return decode_numbers, self.base, False

    def adversarial_problems(self, length: int) -> list[Any]:
        """Carries that ripple the furthest: through every column into a new one, out of every
        column, generated everywhere (``55..5 + 55..5``), propagated through all (``44..45 +
        55..5``), and none at all."""
        all_top, power, ones = extreme_numbers(self.base, length)
        half = self.base // 2
        return distinct(
            [
                (all_top, 1),
                (1, all_top),
                (all_top, all_top),
                (ones * half, ones * half),
                (ones * (half - 1) + 1, ones * half),
                (power, all_top - power),
            ]
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        operands_done = (view.under(P0) == BLANK) & (view.under(P1) == BLANK) & (view.carry == 0)
        out_at_end = view.at_end(P2)
        return np.select(
            [
                last == _READ_A,
                last == _READ_B,
                last == _ADD,
                last == _CARRY,
                (last == _WRITE) & out_at_end,
                last == _WRITE,
                ((last == _ADVANCE) | (last == NO_ACTION)) & operands_done,
            ],
            [_READ_B, _ADD, _CARRY, _WRITE, _HALT, _ADVANCE, _HALT],
            default=_READ_A,
        )
