"""OddsFirst: the symbols at odd positions, then those at even ones (Chomsky hierarchy,
context-sensitive)."""

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
_SKIP = instruction_index("MOVE P0 RIGHT")
_SECOND = instruction_index("INC R3")  # R3 = 1: the second pass
_REWIND = instruction_index("MOVE P0 LEFT")
_HALT = instruction_index("HALT")
_R3 = 3


class OddsFirst(SequenceTask):
    """``Actformer/OddsFirst-v0``: the symbols at odd positions (1st, 3rd, ...), then the others.

    ## Description
    The *Odds First* task of Delétang et al. (2023), "Neural Networks and the Chomsky Hierarchy"
    (context-sensitive; the paper uses bits). ``IN`` holds n symbols ``s1 s2 ... sn`` then a BLANK;
    write ``s1 s3 s5 ... s2 s4 s6 ...`` on ``OUT``, the paper's definition (counting from 1; its
    published code takes ``s2 s4 ...`` first, the same task mirrored).

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows Copy's instructions (READ P0->R0/R1,
    WRITE R0/R1->P1, MOVE of P0 and P1, ADVANCE, HALT) and INC R3.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the reordered input on ``OUT``.

    ## Starting State
    n uniform random symbols; ``options={"problem": [s0, s1, ...]}`` poses yours (ints in
    ``[0, base)``, at most ``max_length`` of them).

    ## Episode End
    HALT, or twice the expert's program length: two passes over ``IN``, each copying every other
    symbol: READ P0->R0, WRITE R0->P1, ADVANCE, then MOVE P0 RIGHT to skip one, ending on the BLANK
    after the input. The first pass starts at column 0; then the expert counts it (INC R3), rewinds
    ``P0`` (n MOVE P0 LEFT) and starts the second at column 1 (MOVE P0 RIGHT); after the second,
    HALT (5n + 2 steps).

    ## Arguments
    ``base`` 2..36: the alphabet size (default 2, the paper's); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/OddsFirst-v0``.

    ## Version History
    v0: initial release.
    """

    name = "OddsFirst"
    reads = ExpertReads(
        values=("last_action", "boundaries[P0.start]", "registers[R3]"), kinds=("symbols[P0.under]",)
    )
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = 2
    allowed_instructions = (*SEQUENCE_INSTRUCTIONS, "INC R3")

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        columns = np.arange(inputs.shape[1])
        firsts = (lengths[:, None] + 1) // 2  # symbols at odd positions (from 1)
        source = np.where(columns < firsts, 2 * columns, 2 * (columns - firsts) + 1)
        reordered = np.take_along_axis(inputs, np.minimum(source, inputs.shape[1] - 1), axis=1)
        return np.where(columns < lengths[:, None], reordered, BLANK).astype(inputs.dtype)

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 5 * lengths + 2

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK
        at_start = view.at_start(P0)
        pass_done = ((last == _ADVANCE) | (last == _SKIP)) & input_done
        return np.select(
            [
                last == NO_ACTION,
                last == _READ,
                last == _WRITE,
                pass_done & (view.register(_R3) == 0),
                pass_done,
                last == _ADVANCE,
                last == _SECOND,
                (last == _REWIND) & ~at_start,
                last == _REWIND,
            ],
            [_READ, _WRITE, _ADVANCE, _SECOND, _HALT, _SKIP, _REWIND, _REWIND, _SKIP],
            default=_READ,
        )
