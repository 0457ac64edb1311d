"""CycleNavigation: where a walk on a cycle of five states ends (Chomsky hierarchy, regular)."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

#: The moves, as input symbols: a step to the left, staying put, a step to the right.
LEFT_STEP, STAY, RIGHT_STEP = 0, 1, 2
MOVES = 3
#: States on the cycle (the paper's cycle length): the machine's base, so CARRY wraps the walk.
CYCLE = 5

_LEFT = instruction_index("DEC R0")
_RIGHT = instruction_index("INC R0")
_WRAP = instruction_index("CARRY R0")
_NEXT = instruction_index("MOVE P0 RIGHT")
_WRITE = instruction_index("WRITE R0->P1")
_HALT = instruction_index("HALT")


class CycleNavigation(SequenceTask):
    """``Actformer/CycleNavigation-v0``: the state a walk of moves ends on, on a cycle of 5 states.

    ## Description
    The *Cycle Navigation* task of Delétang et al. (2023), "Neural Networks and the Chomsky
    Hierarchy" (a regular language). ``IN`` holds n moves then a BLANK, each 0 (a step left), 1
    (stay) or 2 (a step right), the paper's encoding; the walk starts on state 0 of a cycle of 5
    states. Write the state it ends on, ``sum(move - 1) mod 5``, into the first cell of ``OUT``.
    The machine's base is 5, the cycle's length, so CARRY R0 is the wrap around the cycle.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows INC R0, DEC R0, CARRY R0, MOVE P0,
    WRITE R0->P1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one symbol (0..4) on ``OUT``.

    ## Starting State
    n uniform random moves, as the paper draws them; ``options={"problem": [2, 0, 1, ...]}`` poses
    yours (ints in ``[0, 3)``).

    ## Episode End
    HALT, or twice the expert's program length: the expert keeps the state in R0; per move it
    steps (DEC R0 on a 0, INC R0 on a 2) and wraps (CARRY R0), then MOVE P0 RIGHT; on the BLANK
    after the input, WRITE R0->P1 and HALT (n + 2 steps, plus 2 per move that is not a stay).

    ## Arguments
    ``base`` must be 5; lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/CycleNavigation-v0``.

    ## Version History
    v0: initial release.
    """

    name = "CycleNavigation"
    reads = ExpertReads(values=("last_action", "symbols[P0.under]"))
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one state)
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = CYCLE
    base_range = (CYCLE, CYCLE)
    allowed_instructions = (
        "INC R0", "DEC R0", "CARRY R0", "MOVE P0 LEFT", "MOVE P0 RIGHT", "WRITE R0->P1", "HALT",
    )  # fmt: skip

    @property
    def alphabet(self) -> int:
        """The three moves (the base is the cycle's length, 5)."""
        return MOVES

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        written = np.arange(inputs.shape[1]) < lengths[:, None]
        steps = np.where(written, inputs.astype(np.int64) - STAY, 0)
        target = np.full_like(inputs, BLANK)
        target[:, 0] = steps.sum(axis=1) % CYCLE
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        written = np.arange(inputs.shape[1]) < lengths[:, None]
        turns = (written & (inputs != STAY)).sum(axis=1)
        return lengths + 2 * turns + 2

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        under = view.under(P0)
        return np.select(
            [
                (last == _LEFT) | (last == _RIGHT),
                last == _WRAP,
                last == _WRITE,
                under == BLANK,
                under == LEFT_STEP,
                under == RIGHT_STEP,
            ],
            [_WRAP, _NEXT, _HALT, _WRITE, _LEFT, _RIGHT],
            default=_NEXT,
        )
