"""Sort: sort a sequence of symbols ascending, in place, by swapping cells."""

from __future__ import annotations

import itertools
import math

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, P1, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, index_digits
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_READ = instruction_index("READ P0->R2")
_CMP_LOW = instruction_index("CMP R0,R2")
_CMP_HIGH = instruction_index("CMP R1,R2")
_SWAP_LOW = instruction_index("SWAP P0,P1")
_SWAP_HIGH = instruction_index("SWAP P0,P2")
_RIGHT = instruction_index("MOVE P0 RIGHT")
_LEFT = instruction_index("MOVE P0 LEFT")
_GROW_LOW = instruction_index("MOVE P1 RIGHT")
_GROW_HIGH = instruction_index("MOVE P2 LEFT")
_SETUP_END = instruction_index("MOVE P2 RIGHT")
_SETUP_TOP = instruction_index("INC R1")
_LOW_DONE = instruction_index("INC R0")
_HIGH_DONE = instruction_index("DEC R1")
_HALT = instruction_index("HALT")
#: Distinct symbols of the rows in Sort's covering problems (``Sort.covering_problems``).
COVERING_VALUES = 3


class Sort(SequenceTask):
    """``Actformer/Sort-v0``: sort a sequence of symbols ascending, in place.

    ## Description
    One row ``IN`` holds n symbols then a BLANK; it is also the output row: leave the n symbols
    sorted ascending in it. Cells change only by SWAP of the cells under two pointers, so the
    row always holds the input's symbols (a permutation of them). ``P0``, ``P1`` and ``P2`` all
    stand on ``IN`` (column 0 at the start).

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows SWAP P0,P1 / P0,P2 / P1,P2, MOVE of P0,
    P1 and P2, ADVANCE, READ P0->R2, READ P1->R3, READ P2->R3, CMP R0,R2 / R1,R2 / R2,R3,
    INC R0, INC R1, DEC R1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the sorted sequence on ``IN``. Cells already in their
    sorted place count as correct from the start.

    ## Starting State
    n uniform random symbols; ``options={"problem": [s0, s1, ...]}`` poses yours (ints in
    ``[0, base)``, at most ``max_length`` of them).

    ## Episode End
    HALT, or twice the expert's program length. The expert sorts by value passes that alternate
    direction, a two-ended in-place partition (American flag style) that shrinks an unsorted
    middle ``[P1, P2)``: left of ``P1`` the values below R0, from ``P2`` on the values above R1
    (then the BLANK), in between the values R0..R1. R0 is the next low value, R1 the next high
    value; the pass is low (rightward) while R0 + R1 = base - 1, else high (leftward). Setup:
    n MOVE P2 RIGHT (P2 to the BLANK), then base - 1 INC R1. A low pass scans the middle from
    P1 with P0: READ P0->R2, CMP R0,R2, and on CMP = 0 (the machine found the value) SWAP P0,P1
    then MOVE P1 RIGHT; then MOVE P0 RIGHT, or INC R0 where P0 is the middle's last cell. A high
    pass mirrors it from there back to P1: READ P0->R2, CMP R1,R2, on CMP = 0 MOVE P2 LEFT then
    SWAP P0,P2; then MOVE P0 LEFT, or DEC R1 where P0 is on P1 (Lomuto's partition, one value
    at a time). The expert tells where pointers meet from four equalities of cells, as the sorted
    parts hold no value of the middle's range (left of P1: values up to R0, EDGE at column 0; from
    P2 on: values above R1, then BLANK): P1 is on P2 (the middle is empty) only where their cells
    and their left neighbours match; in a high pass P0 is on P1 only where their left neighbours
    match (left of P0 lies unscanned middle); in a low pass P0 is just left of P2 only where P0's
    right neighbour is P2's cell (right of P0 lies unscanned middle). It HALTs as soon as the
    middle is empty (also mid-pass, right after the move that empties it), or when R0 >= R1 (the
    middle holds one value). With c_v the number of symbols of value v, a pass over a middle of s
    symbols, m of them its value, takes 3 s + 2 m steps (READ, CMP, MOVE or end, 2 per symbol
    moved), and the pass that moves the whole middle takes 5 s - 1 (low) or 5 s - 2 (high), HALT
    next; the program is n + (base - 1) + the passes + 1 steps: at most 3 (base - 1) n + n + base,
    about 1.5 base n for uniform random symbols (the middle shrinks as passes go).

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10 (the expert's
    episodes grow with the base: about 1.5 base n steps, at most about 3 base n).

    ## Registered Configurations
    ``Actformer/Sort-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Sort"
    # Four equalities tell where the pointers meet (see Episode End): the sorted parts hold no value
    # of the middle's range, so these cells differ unless the pointers stand where the rule says.
    reads = ExpertReads(
        values=("last_action", "registers[R0]", "registers[R1]", "flags[compare]"),
        relations=(
            ("symbols[P1.left]", "symbols[P2.left]"),  # P1 on P2: the middle is empty
            ("symbols[P1.under]", "symbols[P2.under]"),
            ("symbols[P0.left]", "symbols[P1.left]"),  # P0 on P1 (a high pass's end)
            ("symbols[P0.right]", "symbols[P2.under]"),  # P0 just left of P2 (a low pass's end)
        ),
    )
    text_format = SymbolString()
    # Long episodes: more expert data and no history (see ``Recipe``).
    # Its projected set closes from length 6: every row of up to 5 symbols shows 1,394 observations,
    # the rows of 6 add 4 (``covering_problems``), and longer rows show none new (7, 8, 60, 600).
    recipe = Recipe(5, (5, 50, 500), 200, expert_pairs=60_000, history_length=0, certify_length=6)
    rows = ("IN",)
    output_row = 0
    pointer_rows = (0, 0, 0, None)
    default_lengths = (1, 10)
    allowed_instructions = (
        "SWAP P0,P1", "SWAP P0,P2", "SWAP P1,P2",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "ADVANCE",
        "READ P0->R2", "READ P1->R3", "READ P2->R3", "CMP R0,R2", "CMP R1,R2", "CMP R2,R3",
        "INC R0", "INC R1", "DEC R1", "HALT",
    )  # fmt: skip

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return np.sort(inputs, axis=1)  # BLANK sorts after every digit

    def _covering(self, length: int, cap: int) -> Enumeration | None:
        """Every row of ``length`` over at most ``COVERING_VALUES`` distinct symbols (every row where
        the base is that small), None if more than ``cap``. The observations that rows of 6 add to
        those of shorter rows (a low pass that swaps where P1's and P2's left neighbours are equal
        and P2 holds a higher value: 4 at base 10) need a value repeated around the pointers, which
        few-valued rows make common and random rows of 10 symbols rare (10,000 random rows of 6 miss
        some on some seeds). Ordered by the number of distinct symbols, then their values
        (``itertools.permutations``), then where each stands."""
        if self.base <= COVERING_VALUES:
            return self.all_problems(length, cap)
        count = few_valued_count(self.base, length, COVERING_VALUES)
        if count > cap:  # (then also 3**length > cap: the patterns below are never more than cap)
            return None
        rows = few_valued_rows(self.base, length, COVERING_VALUES)
        return self._sequences(length, count, lambda indices: rows[indices])

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Setup (n + base - 1), the passes over the shrinking middle, HALT; see Episode End. (It
        depends on the symbols: how many of each value there are.)"""
        counts = np.stack([(inputs == v).sum(axis=1) for v in range(self.base)], axis=1)
        steps = lengths + self.base  # setup and HALT
        running = np.ones(len(inputs), dtype=bool)  # the middle is not yet empty
        low, high = 0, self.base - 1
        for turn in range(self.base - 1):  # one pass a turn until R0 >= R1
            size = counts[:, low : high + 1].sum(axis=1)
            value = low if turn % 2 == 0 else high
            moved = counts[:, value]
            last = running & (moved == size)  # this pass empties the middle: HALT right after
            steps += np.where(last, 5 * size - 1 - turn % 2, np.where(running, 3 * size + 2 * moved, 0))
            running &= ~last
            low, high = (low + 1, high) if turn % 2 == 0 else (low, high - 1)
        return steps

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        low_value, high_value = view.register(0), view.register(1)
        found = view.compare == 0  # the cell holds the pass's value
        low = low_value + high_value == self.base - 1  # this pass goes right and gathers the low value
        # Where the pointers meet, from the four declared equalities (see Episode End).
        empty = (view.left(P1) == view.left(P2)) & (view.under(P1) == view.under(P2))  # P1 on P2
        at_low_end = view.left(P0) == view.left(P1)  # P0 on P1 (read in high passes only)
        at_high_end = view.right(P0) == view.under(P2)  # P0 just left of P2 (low passes only)
        scanned = (last == _CMP_LOW) | (last == _CMP_HIGH)
        return np.select(
            [
                (low_value == 0) & (high_value == 0) & (view.under(P2) != BLANK),  # P2 to the BLANK
                (low_value == 0) & (high_value < self.base - 1),  # R1 to base - 1
                empty | (low_value >= high_value),
                last == _READ,
                scanned & found & low,
                scanned & found & ~low,
                last == _SWAP_LOW,
                last == _GROW_HIGH,
                ~(scanned | (last == _GROW_LOW) | (last == _SWAP_HIGH)),  # a new cell: read it
                low & at_high_end,
                low,
                at_low_end,
            ],
            [
                _SETUP_END, _SETUP_TOP, _HALT,
                np.where(low, _CMP_LOW, _CMP_HIGH), _SWAP_LOW, _GROW_HIGH, _GROW_LOW, _SWAP_HIGH,
                _READ, _LOW_DONE, _RIGHT, _HIGH_DONE,
            ],
            default=_LEFT,
        )  # fmt: skip


def few_valued_count(base: int, length: int, values: int) -> int:
    """How many rows of ``length`` symbols of ``[0, base)`` hold at most ``values`` distinct ones:
    the sum over k of S(length, k) (the ways to split the columns into k classes, Stirling numbers
    of the second kind) times base! / (base - k)! (the classes' distinct symbols)."""
    classes = [1] + [0] * values  # S(n, k) for k = 0..values, from n = 0 up
    for _ in range(length):
        classes = [0] + [k * classes[k] + classes[k - 1] for k in range(1, values + 1)]
    return sum(classes[k] * math.perm(base, k) for k in range(1, values + 1))


def few_valued_rows(base: int, length: int, values: int) -> np.ndarray:
    """Every row of ``length`` symbols of ``[0, base)`` with at most ``values`` distinct ones, each
    once, (few_valued_count, length) int8: per k distinct symbols, per ordered choice of them, the
    rows whose i-th new symbol is the choice's i-th (class patterns in ``product`` order)."""
    patterns = index_digits(np.arange(values**length, dtype=np.int64), values, length)
    seen = np.maximum.accumulate(patterns, axis=1)
    before = np.concatenate([np.full((len(patterns), 1), -1), seen[:, :-1]], axis=1)
    patterns = patterns[(patterns <= before + 1).all(axis=1)]  # each new class takes the next label
    kinds = patterns.max(axis=1) + 1
    rows = [
        np.array(list(itertools.permutations(range(base), k)), dtype=np.int8)[:, patterns[kinds == k]]
        for k in range(1, min(values, base) + 1)
    ]
    return np.concatenate([part.reshape(-1, length) for part in rows])
