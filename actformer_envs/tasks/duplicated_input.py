"""DuplicatedInput: the input holds every symbol twice in a row; write each once."""

from __future__ import annotations

from typing import Any

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, fill_from, index_digits
from actformer_envs.tasks.copy import SEQUENCE_INSTRUCTIONS
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask, symbol_families
from actformer_envs.tasks.text import SymbolString

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_ADVANCE = instruction_index("ADVANCE")
_SKIP = instruction_index("MOVE P0 RIGHT")
_HALT = instruction_index("HALT")


class DuplicatedInput(SequenceTask):
    """``Actformer/DuplicatedInput-v0``: undo a duplication (the Gym algorithmic DuplicatedInput task).

    ## Description
    ``IN`` holds 2n symbols, each symbol twice in a row (``s0 s0 s1 s1 ...``), then a BLANK; write
    each symbol once on ``OUT`` (``s0 s1 ...``). The length of a problem is n, the output's length.
    ``P0`` stands on ``IN``, ``P1`` on ``OUT``; the rows have 2n + 1 columns.

    ## Action Space
    The shared ``Discrete(139)`` table; the same subset as Copy: READ P0->R0/R1, WRITE R0/R1->P1,
    MOVE of P0 and P1, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is each pair's symbol, once, on ``OUT`` (n symbols).

    ## Starting State
    n uniform random symbols, each written twice; ``options={"problem": [s0, s0, s1, s1, ...]}``
    poses yours, as it appears on ``IN`` (an even number of ints in ``[0, base)``, equal in pairs,
    at most ``2 * max_length`` of them).

    ## Episode End
    HALT, or twice the expert's program length: per output symbol READ P0->R0, WRITE R0->P1,
    ADVANCE (P0 and P1 one right), MOVE P0 RIGHT (past the copy), then HALT on the BLANK after the
    input (4n + 1 steps). ADVANCE rather than MOVE P1 RIGHT keeps every step's last action distinct,
    so the expert reads its phase off ``last_action`` alone.

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/DuplicatedInput-v0``.

    ## Version History
    v0: initial release.
    """

    name = "DuplicatedInput"
    reads = ExpertReads(values=("last_action",), kinds=("symbols[P0.under]",))
    text_format = SymbolString()  # (the input as posed: each symbol twice)
    recipe = Recipe(5, (5, 50, 500), 200)
    allowed_instructions = SEQUENCE_INSTRUCTIONS

    def width(self, max_length: int) -> int:
        return 2 * max_length + 1

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        symbols = random.integers(self.base, (width + 1) // 2).astype(np.int8)
        inputs = np.repeat(symbols, 2, axis=1)[:, :width]
        return self._pose(fill_from(inputs, 2 * lengths, BLANK), 2 * lengths)

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem)) // 2

    def encode(self, problem: Any, width: int) -> Problems:
        return super().encode(self._check(problem), width)

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The ``base ** length`` inputs as posed, each symbol twice (``[s0, s0, s1, s1, ...]``), in
        ``itertools.product`` order of ``s0, s1, ...``."""

        def doubled(indices: np.ndarray) -> np.ndarray:
            return np.repeat(index_digits(indices, self.base, length), 2, axis=1)

        def pose_at(indices: np.ndarray, width: int) -> Problems:
            inputs = np.full((len(indices), width), BLANK, dtype=np.int8)
            inputs[:, : 2 * length] = doubled(indices)
            return self._pose(inputs, np.full(len(indices), 2 * length, dtype=np.int64))

        return Enumeration(self, length, count, lambda indices: doubled(indices).tolist(), pose_at)

    def _check(self, problem: Any) -> list[int]:
        """The posed input row as a list of ints; ``ValueError`` unless it is a duplicated sequence."""
        symbols = check_sequence(problem, self.base, self.name)
        if len(symbols) % 2:
            raise ValueError(
                f"{self.name} problem must hold an even number of symbols (each one twice), "
                f"got {len(symbols)}"
            )
        for i in range(0, len(symbols), 2):
            if symbols[i] != symbols[i + 1]:
                raise ValueError(
                    f"{self.name} problem must repeat each symbol twice in a row; symbols {i} and {i + 1} "
                    f"differ ({symbols[i]} != {symbols[i + 1]})"
                )
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Every other input symbol; ``lengths`` are the inputs' lengths (2n), so BLANK follows n."""
        target = np.full_like(inputs, BLANK)
        once = inputs[:, ::2]
        target[:, : once.shape[1]] = once
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Steps on inputs of ``lengths`` = 2n symbols: 4 per output symbol, then HALT."""
        return 2 * lengths + 1

    def adversarial_problems(self, length: int) -> list[Any]:
        """The symbol families (``symbol_families``), each symbol posed twice."""
        return [
            [symbol for symbol in family for _ in range(2)] for family in symbol_families(self.base, length)
        ]

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK
        return np.select(
            [last == _READ, last == _WRITE, last == _ADVANCE, input_done],
            [_WRITE, _ADVANCE, _SKIP, _HALT],
            default=_READ,
        )
