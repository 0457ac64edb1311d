"""Sort: sort a sequence of symbols ascending, in place, by swapping cells."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, pad_rows
from actformer_envs.tasks.sequence import SequenceTask

_SWAP_LOW = instruction_index("SWAP P0,P1")
_SWAP_HIGH = instruction_index("SWAP P0,P2")
_RIGHT = instruction_index("MOVE P0 RIGHT")
_LEFT = instruction_index("MOVE P0 LEFT")
_GROW_LOW = instruction_index("MOVE P1 RIGHT")
_GROW_HIGH = instruction_index("MOVE P2 LEFT")
_SETUP = instruction_index("MOVE P2 RIGHT")
_LOW_DONE = instruction_index("INC R0")
_HIGH_DONE = instruction_index("INC R1")
_HALT = instruction_index("HALT")


class Sort(SequenceTask):
    """``Actformer/Sort-v0``: sort a sequence of symbols ascending, in place.

    ## Description
    One row ``IN`` holds n symbols then a BLANK; it is also the output row: leave the n symbols
    sorted ascending in it. Cells change only by SWAP of the cells under two pointers, so the
    row always holds the input's symbols (a permutation of them). ``P0``, ``P1`` and ``P2`` all
    stand on ``IN`` (column 0 at the start).

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows SWAP P0,P1 / P0,P2 / P1,P2, MOVE of P0,
    P1 and P2, ADVANCE, READ P0->R2, READ P1->R3, READ P2->R3, CMP R2,R3, INC R0, INC R1 and HALT.

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
    direction, a two-ended in-place partition (American flag style), with P0 scanning, P1 the end
    of the sorted low part and P2 the start of the sorted high part. R0 counts low passes (the
    next low value is R0) and R1 high passes (the next high value is base - 1 - R1); the pass is
    low (rightward) while R0 = R1, else high (leftward). First P2 walks to the last symbol
    (n - 1 MOVE P2 RIGHT). A low pass goes over the whole row from column 0 with MOVE P0 RIGHT;
    on a symbol equal to R0 it issues SWAP P0,P1 then MOVE P1 RIGHT; at the last symbol, INC R0.
    A high pass mirrors it from the last symbol back to column 0 with MOVE P0 LEFT, SWAP P0,P2,
    MOVE P2 LEFT and INC R1. A pass may sweep the sorted ends too: they hold no symbol of its
    value, and P1 (P2) never passes P0 in a low (high) pass, so a SWAP only moves a symbol
    already swept (Lomuto's partition, one value at a time). After base - 1 passes every value
    but the middle one, base // 2, is in place, so the middle ones are too: HALT. The comparisons
    are read off the observation (the symbol under P0 against the counters), so the program is
    (base + 2) n - 2 m steps, m the number of symbols equal to base // 2: n steps per pass, 2 per
    symbol moved, n - 1 to set up, 1 to HALT. For base 10 and n = 200 that is at most 2400 steps.

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10 (the expert's
    episodes grow with the base: about (base + 2) n steps).

    ## Registered Configurations
    ``Actformer/Sort-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Sort"
    rows = ("IN",)
    output_row = 0
    pointer_rows = (0, 0, 0, None)
    default_lengths = (1, 10)
    allowed_instructions = (
        "SWAP P0,P1", "SWAP P0,P2", "SWAP P1,P2",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "ADVANCE",
        "READ P0->R2", "READ P1->R3", "READ P2->R3", "CMP R2,R3",
        "INC R0", "INC R1", "HALT",
    )  # fmt: skip

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return np.sort(inputs, axis=1)  # BLANK sorts after every digit

    def expert_steps(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(base + 2) n - 2 m, m the number of symbols equal to the middle value base // 2."""
        middle = (inputs == self.base // 2).sum(axis=1)
        return (self.base + 2) * lengths - 2 * middle

    def _pose(self, inputs: np.ndarray, lengths: np.ndarray) -> Problems:
        """One row: the input (n, width) is both the scratchpad and, sorted, the target."""
        extent = lengths + 1
        return Problems(
            pad_rows(inputs[:, None, :], extent),
            pad_rows(self.answer(inputs, lengths), extent),
            self.expert_steps(inputs, lengths).astype(np.int64),
        )

    def expert(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        last = observation["last_action"]
        symbols, registers = observation["symbols"], observation["registers"]
        low_passes, high_passes = registers[:, 0], registers[:, 1]
        low = low_passes == high_passes  # this pass goes right and gathers the low value
        value = np.where(low, low_passes, self.base - 1 - high_passes)
        match = symbols[:, 1] == value  # the symbol under P0 is the one this pass gathers
        setup = (low_passes == 0) & (high_passes == 0) & (symbols[:, 8] != BLANK)  # P2 not at the end
        return np.select(
            [
                low_passes + high_passes >= self.base - 1,
                setup,
                last == _SWAP_LOW,
                last == _SWAP_HIGH,
                match & low & (last != _GROW_LOW),
                match & ~low & (last != _GROW_HIGH),
                low & (symbols[:, 2] == BLANK),  # P0 on the last symbol
                ~low & (observation["boundaries"][:, 0] == 1),  # P0 on column 0
                low,
            ],
            [_HALT, _SETUP, _GROW_LOW, _GROW_HIGH, _SWAP_LOW, _SWAP_HIGH, _LOW_DONE, _HIGH_DONE, _RIGHT],
            default=_LEFT,
        )
