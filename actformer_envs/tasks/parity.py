"""Parity: the parity of a bit string, written to the output row once the input is read."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_READ = instruction_index("READ P0->R1")
_ADD = instruction_index("ADD R0,R1")
_CARRY = instruction_index("CARRY R0")
_CLEAR = instruction_index("CLR C")
_NEXT = instruction_index("MOVE P0 RIGHT")
_WRITE = instruction_index("WRITE R0->P1")
_HALT = instruction_index("HALT")


class Parity(SequenceTask):
    """``Actformer/Parity-v0``: the parity of a bit string (Graves' ACT parity task).

    ## Description
    ``IN`` holds n bits then a BLANK; once the input is read, write its parity (1 if the number of
    ones is odd) into the first cell of ``OUT``.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0/R1, ADD R0,R1 and R1,R0,
    CARRY R0/R1, CLR R0/R1/C, MOVE P0, WRITE R0/R1->P1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one bit on ``OUT``.

    ## Starting State
    n uniform random bits; ``options={"problem": [1, 0, ...]}`` poses yours.

    ## Episode End
    HALT, or twice the expert's program length: the expert keeps the running parity in R0, per bit
    READ P0->R1, ADD R0,R1, CARRY R0 (mod 2), CLR C, MOVE P0 RIGHT; on the BLANK after the input,
    WRITE R0->P1 and HALT (5n + 2 steps).

    ## Arguments
    ``base`` must be 2; lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/Parity-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Parity"
    reads = ExpertReads(values=("last_action",), kinds=("symbols[P0.under]",))
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one bit)
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = 2
    base_range = (2, 2)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "ADD R0,R1", "ADD R1,R0", "CARRY R0", "CARRY R1",
        "CLR R0", "CLR R1", "CLR C", "MOVE P0 LEFT", "MOVE P0 RIGHT",
        "WRITE R0->P1", "WRITE R1->P1", "HALT",
    )  # fmt: skip

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        parity = np.where(inputs == BLANK, 0, inputs).sum(axis=1) % 2
        target = np.full_like(inputs, BLANK)
        target[:, 0] = parity
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 5 * lengths + 2

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK
        return np.select(
            [last == _READ, last == _ADD, last == _CARRY, last == _CLEAR, last == _WRITE, input_done],
            [_ADD, _CARRY, _CLEAR, _NEXT, _HALT, _WRITE],
            default=_READ,
        )
