"""MissingDuplicate: the bit a placeholder hides in a string written twice (Chomsky hierarchy,
context-sensitive)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, P1, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, distinct, index_digits
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

#: The placeholder that hides one bit (the paper's token 2).
MISSING = 2
SYMBOLS = 3

_ADVANCE = instruction_index("ADVANCE")  # P0, P1 and P2 one cell right
_HALF = instruction_index("MOVE P2 RIGHT")  # P2's second cell per ADVANCE: P2 runs twice as fast
_REWIND_OUT, _REWIND = instruction_index("MOVE P1 LEFT"), instruction_index("MOVE P2 LEFT")
_NEXT = instruction_index("MOVE P0 RIGHT")  # then MOVE P2 RIGHT: the next pair of copies
_READ_SECOND, _READ_FIRST = instruction_index("READ P0->R0"), instruction_index("READ P2->R0")
_WRITE = instruction_index("WRITE R0->P1")
_HALT = instruction_index("HALT")


class MissingDuplicate(SequenceTask):
    """``Actformer/MissingDuplicate-v0``: the bit that the placeholder hides in ``w w``.

    ## Description
    The *Missing Duplicate* task of Delétang et al. (2023), "Neural Networks and the Chomsky
    Hierarchy" (context-sensitive). ``IN`` holds a string of n bits written twice (2n cells) with
    one cell replaced by the placeholder 2, then a BLANK; write the hidden bit into the first cell
    of ``OUT``. The length of a problem is n. The paper counts the length of its input, 2n, and
    pads odd lengths with a token that carries nothing (length 2n + 1 is this task's n).

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows ADVANCE, MOVE of P0, P1 and P2,
    READ P0->R0, READ P2->R0, WRITE R0->P1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one bit on ``OUT``.

    ## Starting State
    As the paper draws them: n uniform random bits, written twice, one of the 2n cells (uniform)
    hidden. ``options={"problem": [0, 1, 2, 0, 1, 1]}`` poses yours.

    ## Episode End
    HALT, or twice the expert's program length. ``P0`` and ``P2`` both stand on ``IN``, ``P1`` on
    ``OUT``. The expert finds the middle of the input by moving ``P2`` twice as fast as ``P0``
    (ADVANCE, MOVE P2 RIGHT, until ``P2`` is on the BLANK: ``P0`` is then on the second copy's first
    cell), rewinds ``P1`` and ``P2`` (MOVE P1 LEFT, MOVE P2 LEFT), then walks both copies in step
    (MOVE P0 RIGHT, MOVE P2 RIGHT) until one pointer is on the placeholder, reads the other's
    cell (READ P0->R0 or READ P2->R0), writes it and HALTs: 5n + 3 steps, + 2 per cell before the
    placeholder within its copy.

    ## Arguments
    ``base`` must be 3 (bits and the placeholder); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/MissingDuplicate-v0``.

    ## Version History
    v0: initial release.
    """

    name = "MissingDuplicate"
    pointer_rows: ClassVar[tuple[int | None, ...]] = (0, 1, 0, None)
    reads = ExpertReads(
        values=(
            "last_action",
            "symbols[P0.under]",
            "symbols[P2.under]",
            "boundaries[P1.start]",
            "boundaries[P2.start]",
        )
    )
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one bit)
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = SYMBOLS
    base_range = (SYMBOLS, SYMBOLS)
    allowed_instructions = (
        "ADVANCE", "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT", "MOVE P2 LEFT",
        "MOVE P2 RIGHT", "READ P0->R0", "READ P2->R0", "WRITE R0->P1", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return 2 * max_length + 1

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        bits = random.integers(2, (width - 1) // 2)
        hidden = random.integers(2 * lengths)[:, 0]
        return self._pose(*self._doubled(bits, lengths, hidden, width))

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem)) // 2

    def encode(self, problem: Any, width: int) -> Problems:
        return super().encode(self._check(problem), width)

    def problem_count(self, length: int) -> int:
        return 2**length * 2 * length

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """Strings in ``itertools.product`` order, each with the hidden cell 0, 1, ..., 2n - 1."""

        def rows_at(indices: np.ndarray) -> np.ndarray:
            bits = index_digits(indices // (2 * length), 2, length)
            lengths = np.full(len(indices), length, dtype=np.int64)
            inputs, _ = self._doubled(bits, lengths, indices % (2 * length), 2 * length)
            return inputs.astype(np.int64)

        return self._sequences(length, count, rows_at, cells=2 * length)

    def adversarial_problems(self, length: int) -> list[Any]:
        """Zeros, ones and alternating bits, hidden at the first, middle and last cell."""
        families = []
        for bits in ([0] * length, [1] * length, [i % 2 for i in range(length)]):
            for hidden in dict.fromkeys((0, length - 1, length, 2 * length - 1)):
                doubled = bits + bits
                doubled[hidden] = MISSING
                families.append(doubled)
        return distinct(families)  # (alternating bits of length 1 are the zeros)

    def _doubled(
        self, bits: np.ndarray, lengths: np.ndarray, hidden: np.ndarray, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Input rows (m, width): each row's first ``lengths`` bits twice, cell ``hidden`` the
        placeholder, BLANK after; and the inputs' lengths (2n)."""
        columns = np.arange(width)
        source = np.minimum(columns % np.maximum(lengths, 1)[:, None], bits.shape[1] - 1)
        inputs = np.take_along_axis(bits, source, axis=1)
        inputs = np.where(columns == hidden[:, None], MISSING, inputs)
        inputs = np.where(columns < 2 * lengths[:, None], inputs, BLANK).astype(np.int8)
        return inputs, 2 * lengths

    def _check(self, problem: Any) -> list[int]:
        """The posed input as a list of ints; ``ValueError`` unless it is a string of bits written
        twice with exactly one cell the placeholder."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        half = len(symbols) // 2
        if len(symbols) % 2 or symbols.count(MISSING) != 1:
            raise ValueError(
                f"{self.name} problem must be a string of bits written twice (an even number of "
                f"cells) with exactly one cell the placeholder {MISSING}, got {symbols!r}"
            )
        for i in range(half):
            first, second = symbols[i], symbols[i + half]
            if MISSING not in (first, second) and first != second:
                raise ValueError(
                    f"{self.name} problem must repeat its first half; cells {i} and {i + half} "
                    f"differ ({first} != {second})"
                )
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The hidden bit; ``lengths`` are the inputs' lengths (2n)."""
        hidden = np.argmax(inputs == MISSING, axis=1)
        twin = (hidden + lengths // 2) % np.maximum(lengths, 1)
        target = np.full_like(inputs, BLANK)
        target[:, 0] = np.take_along_axis(inputs, twin[:, None], axis=1)[:, 0]
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        half = lengths // 2
        hidden = np.argmax(inputs == MISSING, axis=1)
        return 5 * half + 3 + 2 * (hidden % np.maximum(half, 1))

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        comparing = view.at_start(P1)
        compare = ((last == _REWIND) & view.at_start(P2)) | ((last == _HALF) & comparing)
        return np.select(
            [
                last == NO_ACTION,
                (last == _ADVANCE) | (last == _NEXT),
                compare & (view.under(P2) == MISSING),
                compare & (view.under(P0) == MISSING),
                compare,
                (last == _HALF) & (view.under(P2) == BLANK),
                last == _HALF,
                (last == _REWIND_OUT) & ~view.at_start(P1),
                (last == _REWIND_OUT) | (last == _REWIND),
                (last == _READ_FIRST) | (last == _READ_SECOND),
            ],
            [
                _ADVANCE,
                _HALF,
                _READ_SECOND,
                _READ_FIRST,
                _NEXT,
                _REWIND_OUT,
                _ADVANCE,
                _REWIND_OUT,
                _REWIND,
                _WRITE,
            ],
            default=_HALT,
        )
