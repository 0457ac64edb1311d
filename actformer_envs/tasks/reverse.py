"""Reverse: write the input sequence to the output row back to front."""

from __future__ import annotations

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.copy import SEQUENCE_INSTRUCTIONS
from actformer_envs.tasks.sequence import SequenceTask

_SEEK = instruction_index("MOVE P0 RIGHT")
_BACK = instruction_index("MOVE P0 LEFT")
_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_NEXT_OUT = instruction_index("MOVE P1 RIGHT")
_HALT = instruction_index("HALT")


class Reverse(SequenceTask):
    """The expert seeks the BLANK after the input with ``P0``, then walks back copying to ``P1``.

    Per symbol: MOVE P0 LEFT, READ P0->R0, WRITE R0->P1, MOVE P1 RIGHT; HALT once ``P0`` is back at
    the start.
    """

    name = "Reverse"
    allowed_instructions = SEQUENCE_INSTRUCTIONS

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        columns = np.arange(inputs.shape[1])
        source = np.clip(lengths[:, None] - 1 - columns, 0, None)
        reversed_ = np.take_along_axis(inputs, source, axis=1)
        return np.where(columns < lengths[:, None], reversed_, BLANK)

    def program_length(self, lengths: np.ndarray) -> np.ndarray:
        return 5 * lengths

    def expert(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        last = observation["last_action"]
        on_blank = observation["symbols"][:, 1] == BLANK
        at_start = observation["boundaries"][:, 0] == 1
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
