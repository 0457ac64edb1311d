"""ComputeSqrt: the integer square root of a binary number, digit by digit (Chomsky hierarchy,
context-sensitive)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from actformer_envs.instructions import NO_ACTION, NUM_ACTIONS, instruction_index
from actformer_envs.observation import P0, P1, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import distinct
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask, symbol_families
from actformer_envs.tasks.text import SymbolString

_I = instruction_index
_SET_HIGH_MARK = _I("INC R2")  # R2 = 1, the mark of a pair's high column (R3 = 0 marks the low one)
_ADVANCE = _I("ADVANCE")
_IN_RIGHT, _MARK_RIGHT = _I("MOVE P0 RIGHT"), _I("MOVE P2 RIGHT")
_IN_LEFT, _OUT_LEFT, _MARK_LEFT = _I("MOVE P0 LEFT"), _I("MOVE P1 LEFT"), _I("MOVE P2 LEFT")
_READ_ROOT = _I("READ P1->R1")  # a bit of the trial 4y + 1: y's, off OUT
_TRIAL_UNIT = _I("INC R1")  # ... and its units bit, 1
_READ_REST = _I("READ P0->R0")  # a bit of the remainder, off IN
_SUBTRACT = _I("SUB R0,R1")
_BORROW = _I("CARRY R0")
_WRITE_REST = _I("WRITE R0->P0")
_SUBTRACTING = _I("INC R3")  # R3 = 1: the trial fits, subtract it (and the root's bit is 1)
_WRITE_BIT = _I("WRITE R3->P1")
_CLEAR_PHASE, _CLEAR_BORROW = _I("CLR R3"), _I("CLR C")
_MARK_HIGH, _MARK_LOW = _I("WRITE R2->P2"), _I("WRITE R3->P2")
_HALT = _I("HALT")
_R3 = 3


class ComputeSqrt(SequenceTask):
    """``Actformer/ComputeSqrt-v0``: the integer square root of a binary number, bit by bit.

    ## Description
    The *Compute Sqrt* task of Delétang et al. (2023), "Neural Networks and the Chomsky Hierarchy"
    (context-sensitive). ``IN`` holds a number ``x`` of n bits, least significant first as every
    number here and as the paper defines the task (its published code writes it most significant
    first), leading zeros allowed; write ``floor(sqrt(x))`` on ``OUT`` in exactly ``ceil(n / 2)``
    bits, least significant first (zero-padded, as the paper's fixed-length answer).

    The expert takes the digit-by-digit method: the bits of ``x`` are brought down in pairs from
    the top, and each pair decides one bit of the root ``y``, from the top. With ``r`` the remainder
    so far, the pair makes ``r' = 4r + pair``; if the trial ``t = 4y + 1`` is at most ``r'``, the
    bit is 1 and ``r'`` becomes ``r' - t``, else the bit is 0. The remainder lives on ``IN`` in
    place: after bringing down the pair at columns ``c, c + 1``, ``IN`` from column ``c`` up *is*
    ``r'``. The root's bits go straight to their place on ``OUT`` (bit ``k`` from the top to column
    ``m - 1 - k``, m = ceil(n / 2)), so ``t``'s bits are ``OUT``'s, a fixed offset from ``IN``'s.
    A work row ``PAIRS`` marks the columns brought down so far (its lowest mark is ``c``), which is
    how the expert finds ``c`` again after each pass.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0, READ P1->R1, SUB R0,R1,
    CARRY R0, WRITE R0->P0, WRITE R3->P1, WRITE R2->P2, WRITE R3->P2, INC R1, INC R2, INC R3,
    CLR R3, CLR C, ADVANCE, MOVE of P0..P2 (left and right) and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is ``floor(sqrt(x))`` in ``ceil(n / 2)`` bits on ``OUT``.

    ## Starting State
    n uniform random bits (the paper draws ``x`` uniform in ``1..2**n - 1``: it leaves out 0);
    ``options={"problem": [b0, b1, ...]}`` poses yours (bits, least significant first; at most
    ``max_length``). Every row has ``2 * ceil(n / 2) + 1`` columns: ``IN`` holds the bits, then
    BLANKs, which read as 0 (an odd n's top pair is a 0 and its top bit).

    ## Episode End
    HALT, or twice the expert's program length. The expert: INC R2 (the high mark); then ``P0``,
    ``P2`` walk two columns for each of ``P1``'s one (ADVANCE, MOVE P0 RIGHT, MOVE P2 RIGHT) until
    ``P0`` is past the input, at column 2m. Then for each pair, from the top (k = 0..m-1, the pair
    at c = 2(m - 1 - k), its width w = n - c):

    - bring the pair down: MOVE P1 LEFT, then MOVE P0 LEFT, MOVE P2 LEFT, WRITE R2->P2 and MOVE P0
      LEFT, MOVE P2 LEFT, WRITE R3->P2 (``PAIRS`` marks c + 1 with 1, c with 0);
    - compare: ``r' - t`` column by column from c to the top without writing it, a borrow in ``C``
      (READ P1->R1, INC R1 in column c only, READ P0->R0, SUB R0,R1, CARRY R0; then MOVE P0 RIGHT,
      MOVE P2 RIGHT from column c, ADVANCE from the others, ``P1`` one column behind) until ``P0``
      is on the BLANK after the input; back to c (MOVE P0 LEFT, MOVE P2 LEFT, and MOVE P1 LEFT but
      at c, whose left ``PAIRS`` cell is not marked);
    - if the trial fits (no borrow): INC R3, the same pass again writing each difference bit
      (WRITE R0->P0 after CARRY R0), and back again;
    - WRITE R3->P1 (the bit: R3), then CLR R3 and CLR C; after the last bit, HALT instead.

    That is ``3m + sum_k (8 w_k + 11) + sum_k b_k (9 w_k + 2)`` steps, ``b_k`` the root's bit k
    from the top: 22 or 33 at n = 1, about 5,500 at n = 40 and 32,000 at n = 100 (it grows with
    the square of n).

    ## Arguments
    ``base`` must be 2; lengths default to 1..8 (bits).

    ## Registered Configurations
    ``Actformer/ComputeSqrt-v0``.

    ## Version History
    v0: initial release.
    """

    name = "ComputeSqrt"
    rows = ("IN", "OUT", "PAIRS")
    pointer_rows = (0, 1, 2, None)
    reads = ExpertReads(
        values=(
            "last_action",
            "registers[R3]",
            "flags[carry]",
            "boundaries[P1.start]",
            "symbols[P2.right]",
        ),
        kinds=("symbols[P0.under]", "symbols[P2.left]", "symbols[P2.under]"),
    )
    text_format = SymbolString()
    # (quadratic programs: about 300 steps at 8 bits; what the expert reads repeats from there)
    recipe = Recipe(8, (8, 40, 80), 50, history_length=0)
    default_base = 2
    base_range = (2, 2)
    default_lengths = (1, 8)
    allowed_instructions = (
        "READ P0->R0", "READ P1->R1", "SUB R0,R1", "CARRY R0", "WRITE R0->P0", "WRITE R3->P1",
        "WRITE R2->P2", "WRITE R3->P2", "INC R1", "INC R2", "INC R3", "CLR R3", "CLR C", "ADVANCE",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT", "MOVE P2 LEFT",
        "MOVE P2 RIGHT", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return 2 * ((max_length + 1) // 2) + 1

    def extent(self, lengths: np.ndarray) -> np.ndarray:
        return 2 * ((lengths + 1) // 2) + 1  # the input's pairs and a BLANK column

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.solve(inputs, lengths)[0]

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.solve(inputs, lengths)[1]

    def solve(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The roots' bits, zero-padded to ceil(n / 2), and the expert's steps, which depend on
        them: Python's ``math.isqrt`` of each number, its bits through bytes both ways."""
        width = inputs.shape[1]
        bits = np.where(inputs < BLANK, inputs, 0).astype(np.uint8)
        packed = np.packbits(bits, axis=1, bitorder="little")
        size = packed.shape[1]
        roots = np.zeros((len(inputs), size), dtype=np.uint8)
        for row, number in enumerate(packed):
            root = math.isqrt(int.from_bytes(number.tobytes(), "little"))
            roots[row] = np.frombuffer(root.to_bytes(size, "little"), dtype=np.uint8)
        root_bits = np.unpackbits(roots, axis=1, count=width, bitorder="little").astype(np.int64)
        half = (lengths + 1) // 2
        columns = np.arange(width)
        target = np.where(columns < half[:, None], root_bits, BLANK).astype(inputs.dtype)
        n = lengths.astype(np.int64)
        m = half.astype(np.int64)
        ones = root_bits.sum(axis=1)
        weighted = root_bits @ columns  # sum of i * b_i over the root's bits
        # sum over k of 8 w_k + 11 with w = n - 2i for the root's bit i = m - 1 - k, and the
        # subtract passes' 9 w + 2 for each bit that is 1.
        steps = 3 * m + m * (8 * n + 11) - 8 * m * (m - 1) + ones * (9 * n + 2) - 18 * weighted
        return target, steps

    def adversarial_problems(self, length: int) -> list[Any]:
        """The symbol families (all zeros, all ones: the largest remainders, alternating bits) and
        the numbers the method turns on: the largest square of n bits, one less than it and one
        more, the top bit alone, and one less than the square of the top root bit."""
        half = (length + 1) // 2
        largest_root = math.isqrt(2**length - 1)
        numbers = [
            largest_root**2,
            largest_root**2 - 1,
            min(largest_root**2 + 1, 2**length - 1),
            2 ** (length - 1),
            4 ** (half - 1) - 1,
        ]
        as_bits = [[(x >> i) & 1 for i in range(length)] for x in numbers if x >= 0]
        return distinct([*symbol_families(2, length), *as_bits])

    def decide(self, view: ObservationView) -> np.ndarray:
        seen = (
            (view.under(P0) == BLANK)
            + 2 * (view.left(P2) >= BLANK)
            + 4 * (view.under(P2) < BLANK)
            + 8 * (view.register(_R3) == 1)
            + 16 * (view.carry == 0)
            + 32 * (view.right(P2) == 1)
            + 64 * view.at_start(P1)
        )
        return _EXPERT[view.last_action, seen]


def _next_action(
    last: np.ndarray,
    past_input: np.ndarray,
    lowest: np.ndarray,
    marked: np.ndarray,
    subtracting: np.ndarray,
    fits: np.ndarray,
    high_mark_right: np.ndarray,
    out_at_start: np.ndarray,
) -> np.ndarray:
    """The expert's rule: the next action after ``last``, given whether ``P0`` is past the input,
    ``P2`` is on the lowest mark of ``PAIRS`` (its left cell unmarked: before the first pair, every
    cell is), ``P2`` is on a mark, R3 is 1 (subtracting), ``C`` is 0 (the trial fits), the mark right
    of ``P2`` is the high one (1), and ``P1`` is at the start of ``OUT``."""
    walking = lowest  # the opening walk: nothing is marked yet
    forward = np.where(past_input, _IN_LEFT, _READ_ROOT)  # on along a pass, or back at its end
    next_column = np.where(lowest, _IN_RIGHT, _ADVANCE)  # from column c, P1 stays one behind
    return np.select(
        [
            last == NO_ACTION,
            last == _SET_HIGH_MARK,
            (last == _ADVANCE) & walking,
            (last == _MARK_RIGHT) & walking,
            (last == _ADVANCE) | (last == _MARK_RIGHT),
            last == _IN_RIGHT,
            last == _READ_ROOT,
            last == _TRIAL_UNIT,
            last == _READ_REST,
            last == _SUBTRACT,
            last == _BORROW,
            last == _WRITE_REST,
            last == _IN_LEFT,
            (last == _MARK_LEFT) & ~marked,
            (last == _MARK_LEFT) & lowest,
            last == _MARK_LEFT,
            last == _OUT_LEFT,
            last == _SUBTRACTING,
            last == _WRITE_BIT,
            last == _CLEAR_PHASE,
            last == _CLEAR_BORROW,
            last == _MARK_HIGH,
        ],
        [
            _SET_HIGH_MARK,
            _ADVANCE,
            _IN_RIGHT,
            np.where(past_input, _OUT_LEFT, _ADVANCE),
            forward,
            _MARK_RIGHT,
            np.where(lowest, _TRIAL_UNIT, _READ_REST),
            _READ_REST,
            _SUBTRACT,
            _BORROW,
            np.where(subtracting, _WRITE_REST, next_column),
            next_column,
            _MARK_LEFT,
            np.where(high_mark_right, _MARK_LOW, _MARK_HIGH),
            np.where(subtracting | ~fits, _WRITE_BIT, _SUBTRACTING),
            _OUT_LEFT,
            _IN_LEFT,
            _READ_ROOT,
            np.where(out_at_start, _HALT, _CLEAR_PHASE),
            _CLEAR_BORROW,
            _OUT_LEFT,
            _IN_LEFT,
        ],
        default=_READ_ROOT,  # after WRITE R3->P2: the pair is down, compare
    )


def _expert_table() -> np.ndarray:
    """``_next_action`` for every last action and every combination of its seven flags, indexed by
    (last action, flags as the bits of ``decide``'s ``seen``): one lookup per step."""
    last, seen = np.meshgrid(np.arange(NUM_ACTIONS + 1), np.arange(2**7), indexing="ij")
    return _next_action(last, *(((seen >> bit) & 1).astype(bool) for bit in range(7))).astype(np.int64)


_EXPERT = _expert_table()
