"""Compare: which of two numbers is larger, scanning from the most significant digit."""

from __future__ import annotations

from typing import Any

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, P1, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, answer_lengths, distinct, pad_rows
from actformer_envs.tasks.numbers import TwoNumbers, extreme_numbers
from actformer_envs.tasks.pairs import compare_rows, random_pairs
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import NumberPair

_SEEK_A = instruction_index("MOVE P0 RIGHT")
_SEEK_B = instruction_index("MOVE P1 RIGHT")
_BACK_A = instruction_index("MOVE P0 LEFT")
_BACK_B = instruction_index("MOVE P1 LEFT")
_READ_A = instruction_index("READ P0->R0")
_READ_B = instruction_index("READ P1->R1")
_CMP = instruction_index("CMP R0,R1")
_CLEAR = instruction_index("CLR R0")
_INC = instruction_index("INC R0")
_WRITE = instruction_index("WRITE R0->P2")
_HALT = instruction_index("HALT")


#: One problem in this many has numbers sharing their top digits (equal about half of those times):
#: a quarter of all answers are "equal", and deep scans are common.
SHARED_ONE_IN = 2


class Compare(TwoNumbers):
    """``Actformer/Compare-v0``: say whether a < b, a = b or a > b.

    ## Description
    Rows ``A`` and ``B`` hold a and b, least significant digit first (column 0 = units); ``P0``,
    ``P1``, ``P2`` stand on ``A``, ``B``, ``OUT``. The answer is sign(a - b), written as the one
    symbol sign + 1 (0: a < b, 1: equal, 2: a > b) in column 0 of ``OUT``; ``info["output"]`` is the
    int -1, 0 or 1. Numbers are compared from the most significant column down, the first unequal
    column deciding; BLANK reads as 0, so numbers of unequal length need no special case.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ from P0/P1 into R0/R1, CMP R0,R1,
    CLR R0/R1, INC R0/R1, WRITE R0/R1 to P2, MOVE of P0..P2, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``; the CMP result is ``flags[1]``.

    ## Rewards
    As ``ActformerEnv``; the target is the one answer symbol on ``OUT``.

    ## Starting State
    A problem of length n has one number of exactly n digits and one of 1..n digits (which is
    which, at random), no leading zeros; one problem in two has both of n digits sharing their top
    digits (equal about half of those times), so "equal" and deep scans are common. n + 1 columns.
    Posed problems: ``options={"problem": (a, b)}`` with non-negative ints of at most
    ``max_length`` digits.

    ## Episode End
    HALT, or twice the expert's program length. The expert seeks the column past both numbers with
    MOVE P0 RIGHT, MOVE P1 RIGHT (P2 stays on column 0, where the answer goes; 2n steps), then scans
    left, per column MOVE P0 LEFT, MOVE P1 LEFT, READ P0->R0, READ P1->R1, CMP R0,R1 (5 steps),
    up to the first unequal column (or column 0): k = n - j columns, j the most significant column
    where the numbers differ (j = 0 if they are equal). It then builds the answer in R0 as the CMP
    flag says (CLR R0, then INC R0 sign + 1 times), WRITE R0->P2 and HALT:
    2n + 5k + sign + 4 steps.

    ## Arguments
    ``base`` 3..36 (default 10): the answer is one ternary digit (0, 1 or 2), which base 2 cannot
    write. Lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Compare-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Compare"
    reads = ExpertReads(
        values=("last_action", "boundaries[P0.start]", "flags[compare]", "registers[R0]"),
        kinds=("symbols[P0.under]", "symbols[P1.under]"),
    )
    text_format = NumberPair(("<>", "?"))
    # Its projected set closes only from length 4: one observation the expert reads first occurs there.
    recipe = Recipe(3, (3, 30, 300), 200, certify_length=4)
    base_range = (3, 36)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "READ P1->R0", "READ P1->R1", "CMP R0,R1",
        "CLR R0", "CLR R1", "INC R0", "INC R1", "WRITE R0->P2", "WRITE R1->P2",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "ADVANCE", "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        digits = random_pairs(random, lengths, width, self.base, SHARED_ONE_IN)
        return self.pose_numbers(digits[:, 0], digits[:, 1], lengths)

    def pose_numbers(self, a: np.ndarray, b: np.ndarray, length: np.ndarray) -> Problems:
        """Lay out numbers (n, width) int8 of digits/BLANK; the answer symbol and the expert's length."""
        sign, column = compare_rows(a, b)
        target = np.full_like(a, BLANK)
        target[:, 0] = sign + 1
        extent = length + 1
        scratchpad = np.empty((len(length), 3, a.shape[1]), dtype=np.int8)
        scratchpad[:, 0], scratchpad[:, 1], scratchpad[:, 2] = a, b, BLANK
        program = 2 * length + 5 * (length - column) + sign + 4
        return Problems(pad_rows(scratchpad, extent), pad_rows(target, extent), program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> list[int | None]:
        answer = rows[:, 0].astype(np.int64) - 1
        ok = (answer_lengths(rows) == 1) & (answer <= 1)
        answers = answer.astype(object)  # Python ints
        answers[~ok] = None
        return answers.tolist()

    def adversarial_problems(self, length: int) -> list[Any]:
        """Numbers that agree as far as they can: equal, differing only in the last digit (each
        way round), only in the top digit, and the largest against the smallest."""
        all_top, power, _ = extreme_numbers(self.base, length)
        return distinct(
            [
                (all_top, all_top),
                (power, power),
                (all_top, all_top - 1),
                (all_top - 1, all_top),
                (all_top, all_top - power),
                (power, all_top),
            ]
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        past_both = (view.under(P0) == BLANK) & (view.under(P1) == BLANK)
        at_column_0 = view.at_start(P0)
        undecided = (view.compare == 0) & ~at_column_0
        building = (last == _CLEAR) | (last == _INC)
        answer_ready = view.register(0) == view.compare + 1
        return np.select(
            [
                last == _SEEK_A,
                last == _BACK_A,
                last == _BACK_B,
                last == _READ_A,
                last == _READ_B,
                (last == _CMP) & undecided,
                last == _CMP,
                building & answer_ready,
                building,
                last == _WRITE,
                past_both,
            ],
            [_SEEK_B, _BACK_B, _READ_A, _READ_B, _CMP, _BACK_A, _CLEAR, _WRITE, _INC, _HALT, _BACK_A],
            default=_SEEK_A,
        )
