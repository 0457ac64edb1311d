"""EvenPairs: whether a bit string has an odd number of unequal neighbours (Chomsky hierarchy, regular)."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

_READ_FIRST = instruction_index("READ P0->R0")
_READ_LAST = instruction_index("READ P0->R1")
_ADD = instruction_index("ADD R0,R1")
_CARRY = instruction_index("CARRY R0")
_SEEK = instruction_index("MOVE P0 RIGHT")
_BACK = instruction_index("MOVE P0 LEFT")
_WRITE = instruction_index("WRITE R0->P1")
_HALT = instruction_index("HALT")


class EvenPairs(SequenceTask):
    """``Actformer/EvenPairs-v0``: is the number of unequal neighbouring bits (``01`` and ``10``) odd?

    ## Description
    The *Even Pairs* task of Delétang et al. (2023), "Neural Networks and the Chomsky Hierarchy"
    (a regular language). ``IN`` holds n bits then a BLANK; write 1 into the first cell of ``OUT``
    if the number of neighbouring pairs ``01`` and ``10`` is odd, else 0 (the paper's class). The
    count is odd exactly when the first and last bits differ, which is what the expert computes.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0/R1, ADD R0,R1, CARRY R0,
    MOVE P0, WRITE R0->P1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one bit on ``OUT``.

    ## Starting State
    n uniform random bits, as the paper draws them; ``options={"problem": [1, 0, ...]}`` poses yours.

    ## Episode End
    HALT, or twice the expert's program length: the expert reads the first bit (READ P0->R0),
    seeks the BLANK after the input (n MOVE P0 RIGHT), steps back onto the last bit, reads it
    (READ P0->R1), adds the two (ADD R0,R1), keeps the sum mod 2 (CARRY R0), writes it and HALTs
    (n + 7 steps).

    ## Arguments
    ``base`` must be 2; lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/EvenPairs-v0``.

    ## Version History
    v0: initial release.
    """

    name = "EvenPairs"
    reads = ExpertReads(values=("last_action",), kinds=("symbols[P0.under]",))
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one bit)
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = 2
    base_range = (2, 2)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "ADD R0,R1", "CARRY R0", "MOVE P0 LEFT", "MOVE P0 RIGHT",
        "WRITE R0->P1", "HALT",
    )  # fmt: skip

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        last = np.take_along_axis(inputs, (lengths - 1)[:, None], axis=1)[:, 0]
        target = np.full_like(inputs, BLANK)
        target[:, 0] = inputs[:, 0] != last
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return lengths + 7

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        on_blank = view.under(P0) == BLANK
        return np.select(
            [
                last == NO_ACTION,
                last == _READ_FIRST,
                (last == _SEEK) & on_blank,
                last == _SEEK,
                last == _BACK,
                last == _READ_LAST,
                last == _ADD,
                last == _CARRY,
            ],
            [_READ_FIRST, _SEEK, _BACK, _SEEK, _READ_LAST, _ADD, _CARRY, _WRITE],
            default=_HALT,
        )
