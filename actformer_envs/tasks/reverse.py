"""Reverse: write the input sequence to the output row back to front."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.copy import SEQUENCE_INSTRUCTIONS
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_SEEK = instruction_index("MOVE P0 RIGHT")
_BACK = instruction_index("MOVE P0 LEFT")
_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_NEXT_OUT = instruction_index("MOVE P1 RIGHT")
_HALT = instruction_index("HALT")


class Reverse(SequenceTask):
    """``Actformer/Reverse-v0``: write the input row back to front.

    ## Description
    ``IN`` holds n symbols then a BLANK; write them on ``OUT`` in reverse order, from column 0.

    ## Action Space
    The shared ``Discrete(139)`` table; the same subset as Copy: READ P0->R0/R1, WRITE R0/R1->P1,
    MOVE of P0 and P1, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the reversed sequence on ``OUT``.

    ## Starting State
    As Copy: n uniform random symbols, or ``options={"problem": [...]}``.

    ## Episode End
    HALT, or twice the expert's program length: the expert seeks the BLANK after the input with
    P0 (n MOVE P0 RIGHT), then per symbol MOVE P0 LEFT, READ P0->R0, WRITE R0->P1, MOVE P1 RIGHT,
    and HALTs once P0 is back at the start (5n steps).

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Reverse-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Reverse"
    reads = ExpertReads(values=("last_action", "boundaries[P0.start]"), kinds=("symbols[P0.under]",))
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50, 500), 200)
    allowed_instructions = SEQUENCE_INSTRUCTIONS

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        columns = np.arange(inputs.shape[1])
        source = np.clip(lengths[:, None] - 1 - columns, 0, None)
        reversed_ = np.take_along_axis(inputs, source, axis=1)
        return np.where(columns < lengths[:, None], reversed_, BLANK)

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 5 * lengths

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        on_blank = view.under(P0) == BLANK
        at_start = view.at_start(P0)
        return np.select(
            [
                last == _BACK,
                last == _READ,
                (last == _WRITE) & at_start,
                last == _WRITE,
                last == _NEXT_OUT,
                on_blank,
            ],
            [_READ, _WRITE, _HALT, _NEXT_OUT, _BACK, _BACK],
            default=_SEEK,
        )
