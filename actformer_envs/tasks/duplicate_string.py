"""DuplicateString: write the input twice (Chomsky hierarchy, context-sensitive)."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.copy import SEQUENCE_INSTRUCTIONS
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_ADVANCE = instruction_index("ADVANCE")
_SECOND = instruction_index("INC R3")  # R3 = 1: the second copy
_REWIND = instruction_index("MOVE P0 LEFT")
_HALT = instruction_index("HALT")
_R3 = 3


class DuplicateString(SequenceTask):
    """``Actformer/DuplicateString-v0``: write the input sequence twice, back to back.

    ## Description
    The *Duplicate String* task of Delétang et al. (2023), "Neural Networks and the Chomsky
    Hierarchy" (context-sensitive; the paper uses bits). ``IN`` holds n symbols then BLANKs; write
    them twice on ``OUT`` (2n symbols, ``s1..sn s1..sn``). Both rows have 2n + 1 columns.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows Copy's instructions (READ P0->R0/R1,
    WRITE R0/R1->P1, MOVE of P0 and P1, ADVANCE, HALT) and INC R3.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the input twice on ``OUT``.

    ## Starting State
    n uniform random symbols; ``options={"problem": [s0, s1, ...]}`` poses yours (ints in
    ``[0, base)``, at most ``max_length`` of them).

    ## Episode End
    HALT, or twice the expert's program length: the expert copies the input as Copy does (READ
    P0->R0, WRITE R0->P1, ADVANCE per symbol); on the BLANK after the first copy it counts the copy
    (INC R3: R3 = 1), rewinds ``P0`` (n MOVE P0 LEFT) and copies again; on the BLANK after the
    second, HALT (7n + 2 steps).

    ## Arguments
    ``base`` 2..36: the alphabet size (default 2, the paper's); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/DuplicateString-v0``.

    ## Version History
    v0: initial release.
    """

    name = "DuplicateString"
    reads = ExpertReads(
        values=("last_action", "boundaries[P0.start]", "registers[R3]"), kinds=("symbols[P0.under]",)
    )
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = 2
    allowed_instructions = (*SEQUENCE_INSTRUCTIONS, "INC R3")

    def width(self, max_length: int) -> int:
        return 2 * max_length + 1

    def extent(self, lengths: np.ndarray) -> np.ndarray:
        return 2 * lengths + 1

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        columns = np.arange(inputs.shape[1])
        source = columns % np.maximum(lengths, 1)[:, None]
        twice = np.take_along_axis(inputs, source, axis=1)
        return np.where(columns < 2 * lengths[:, None], twice, BLANK).astype(inputs.dtype)

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 7 * lengths + 2

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK
        rewinding = (last == _SECOND) | ((last == _REWIND) & ~view.at_start(P0))
        return np.select(
            [
                last == NO_ACTION,
                last == _READ,
                last == _WRITE,
                rewinding,
                (last == _ADVANCE) & input_done & (view.register(_R3) == 0),
                (last == _ADVANCE) & input_done,
            ],
            [_READ, _WRITE, _ADVANCE, _REWIND, _SECOND, _HALT],
            default=_READ,
        )
