"""Copy: write the input sequence to the output row."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_ADVANCE = instruction_index("ADVANCE")
_HALT = instruction_index("HALT")

SEQUENCE_MOVES = ("MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT")
SEQUENCE_INSTRUCTIONS = (
    "READ P0->R0", "READ P0->R1", "WRITE R0->P1", "WRITE R1->P1", *SEQUENCE_MOVES, "ADVANCE", "HALT",
)  # fmt: skip


class Copy(SequenceTask):
    """``Actformer/Copy-v0``: copy the input row to the output row.

    ## Description
    ``IN`` holds n symbols of an alphabet of ``base`` symbols, then a BLANK; write them on ``OUT``.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0/R1, WRITE R0/R1->P1, MOVE of
    P0 and P1, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the input sequence on ``OUT``.

    ## Starting State
    n uniform random symbols; ``options={"problem": [s0, s1, ...]}`` poses yours (ints in
    ``[0, base)``, at most ``max_length`` of them).

    ## Episode End
    HALT, or twice the expert's program length: READ P0->R0, WRITE R0->P1, ADVANCE per symbol,
    HALT on the BLANK after the input (3n + 1 steps).

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Copy-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Copy"
    reads = ExpertReads(values=("last_action",), kinds=("symbols[P0.under]",))
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50, 500), 200)
    allowed_instructions = SEQUENCE_INSTRUCTIONS

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return inputs.copy()

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 3 * lengths + 1

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK
        return np.select(
            [last == _READ, last == _WRITE, input_done],
            [_WRITE, _ADVANCE, _HALT],
            default=_READ,
        )
