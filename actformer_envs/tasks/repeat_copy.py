"""RepeatCopy: copy the input sequence n times, n given in unary on the scratchpad."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import (
    Enumeration,
    Problems,
    Task,
    check_sequence,
    fill_from,
    index_digits,
    pad_rows,
)
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import decode_symbol_lists, symbol_families
from actformer_envs.tasks.text import PythonLiteral

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_NEXT_OUT = instruction_index("MOVE P1 RIGHT")
_NEXT_IN = instruction_index("MOVE P0 RIGHT")
_REWIND = instruction_index("MOVE P0 LEFT")
_COUNT = instruction_index("MOVE P2 RIGHT")
_HALT = instruction_index("HALT")

#: The tally mark of the ``COUNT`` row: a digit of every base.
MARK = 1
#: The largest repeat count allowed (the NTM repeat-copy experiments drew 1..10).
MAX_REPEATS = 10


class RepeatCopy(Task):
    """``Actformer/RepeatCopy-v0``: write the input sequence n times (the NTM repeat-copy task).

    ## Description
    ``IN`` holds L symbols then a BLANK; ``COUNT`` holds the repeat count n in unary, n tally marks
    (the symbol 1, a digit of every base, so n needs no base-dependent encoding) then a BLANK;
    write the sequence n times on ``OUT``, back to back (n * L symbols). ``P0`` stands on ``IN``,
    ``P1`` on ``OUT`` and ``P2`` on ``COUNT``; the rows have n * L + 1 columns. The length of a
    problem is L.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0->R0/R1, WRITE R0/R1->P1, MOVE of
    P0, P1 and P2, and HALT (no ADVANCE: it would move ``P2`` too).

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the sequence repeated n times on ``OUT``.

    ## Starting State
    L uniform random symbols and n uniform in ``1..max_repeats``; ``options={"problem": (sequence,
    n)}`` poses yours (a sequence of at most ``max_length`` ints in ``[0, base)``, an int n in
    ``[1, max_repeats]``).

    ## Episode End
    HALT, or twice the expert's program length. The expert counts passes with ``P2``: per pass, per
    symbol READ P0->R0, WRITE R0->P1, MOVE P1 RIGHT, MOVE P0 RIGHT; on the BLANK after the input,
    MOVE P2 RIGHT (one mark used); HALT if ``P2`` is on the BLANK after the marks, else MOVE P0 LEFT
    back to the start of ``IN`` (L steps) and copy again: n * (4L + 1) + (n - 1) * L + 1 steps.

    ## Arguments
    ``base`` 2..36: the alphabet size (default 10); lengths default to 1..10; ``max_repeats``
    1..10: the largest repeat count drawn (default 3).

    ## Registered Configurations
    ``Actformer/RepeatCopy-v0``.

    ## Version History
    v0: initial release.
    """

    name = "RepeatCopy"
    reads = ExpertReads(
        values=("last_action", "boundaries[P0.start]"), kinds=("symbols[P0.under]", "symbols[P2.under]")
    )
    text_format = PythonLiteral()  # (sequence, n)
    recipe = Recipe(5, (5, 50, 500), 200)
    rows = ("IN", "COUNT", "OUT")
    output_row = 2
    pointer_rows = (0, 2, 1, None)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "WRITE R0->P1", "WRITE R1->P1",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT",
        "MOVE P2 LEFT", "MOVE P2 RIGHT", "HALT",
    )  # fmt: skip
    option_defaults = {"max_repeats": 3}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        value = options.get("max_repeats", cls.option_defaults["max_repeats"])
        if not _int_in(value, 1, MAX_REPEATS):
            raise ValueError(f"max_repeats must be an int in [1, {MAX_REPEATS}], got {value!r}")

    @property
    def max_repeats(self) -> int:
        return int(self.options["max_repeats"])

    def width(self, max_length: int) -> int:
        return self.max_repeats * max_length + 1

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        repeats = 1 + random.integers(self.max_repeats)[:, 0]
        max_length = (width - 1) // self.max_repeats
        symbols = np.full((len(lengths), width), BLANK, dtype=np.int8)
        symbols[:, : max_length + 1] = random.integers(self.base, max_length + 1)
        return self._pose_repeats(fill_from(symbols, lengths, BLANK), lengths, repeats)

    def _check(self, problem: Any) -> tuple[list[int], int]:
        """``(sequence, n)`` of a posed problem; ``ValueError`` saying what is wrong."""
        if not isinstance(problem, (tuple, list)) or len(problem) != 2:
            raise ValueError(f"{self.name} problem must be a pair (sequence, n), got {problem!r}")
        sequence, repeats = problem
        symbols = check_sequence(sequence, self.base, self.name)
        if not _int_in(repeats, 1, self.max_repeats):
            raise ValueError(
                f"{self.name} problem's repeat count n must be an int in "
                f"[1, max_repeats={self.max_repeats}], got {repeats!r}"
            )
        return symbols, int(repeats)

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem)[0])

    def encode(self, problem: Any, width: int) -> Problems:
        symbols, repeats = self._check(problem)
        row = np.full((1, width), BLANK, dtype=np.int8)
        row[0, : len(symbols)] = symbols
        return self._pose_repeats(row, np.array([len(symbols)]), np.array([repeats]))

    def problem_count(self, length: int) -> int:
        """``base ** length`` sequences, each with every repeat count 1..max_repeats."""
        return self.base**length * self.max_repeats

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """``(sequence, n)`` pairs: the sequences in ``itertools.product`` order, each with n = 1,
        2, ... max_repeats in turn."""

        def parts(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sequences, repeats = np.divmod(np.asarray(indices, dtype=np.int64), self.max_repeats)
            return index_digits(sequences, self.base, length), repeats + 1

        def problems_at(indices: np.ndarray) -> list[Any]:
            symbols, repeats = parts(indices)
            return list(zip(symbols.tolist(), repeats.tolist(), strict=True))

        def pose_at(indices: np.ndarray, width: int) -> Problems:
            symbols, repeats = parts(indices)
            rows = np.full((len(indices), width), BLANK, dtype=np.int8)
            rows[:, :length] = symbols
            return self._pose_repeats(rows, np.full(len(indices), length, dtype=np.int64), repeats)

        return Enumeration(self, length, count, problems_at, pose_at)

    def _pose_repeats(self, inputs: np.ndarray, lengths: np.ndarray, repeats: np.ndarray) -> Problems:
        """Lay out inputs (n, width) of the given lengths, to be repeated ``repeats`` times."""
        columns = np.arange(inputs.shape[1])
        count = np.where(columns < repeats[:, None], np.int8(MARK), np.int8(BLANK))
        scratchpad = np.stack([inputs, count, np.full_like(inputs, BLANK)], axis=1)
        source = columns % lengths[:, None]
        target = fill_from(np.take_along_axis(inputs, source, axis=1), repeats * lengths, BLANK)
        extent = repeats * lengths + 1
        program = repeats * (4 * lengths + 1) + (repeats - 1) * lengths + 1
        return Problems(pad_rows(scratchpad, extent), pad_rows(target, extent), program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> list[list[int] | None]:
        return decode_symbol_lists(rows)

    @property
    def decoding(self) -> Hashable:
        return decode_symbol_lists

    def adversarial_problems(self, length: int) -> list[Any]:
        """The symbol families (``symbol_families``), copied once and the most times allowed."""
        counts = sorted({1, self.max_repeats})
        return [(family, count) for family in symbol_families(self.base, length) for count in counts]

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        input_done = view.under(P0) == BLANK  # P0 on the BLANK after the input
        counted = view.under(P2) == BLANK  # P2 on the BLANK after the marks: n passes done
        rewound = view.at_start(P0)  # P0 at the start of IN
        return np.select(
            [
                last == _READ,
                last == _WRITE,
                last == _NEXT_OUT,
                (last == _NEXT_IN) & input_done,
                (last == _COUNT) & counted,
                last == _COUNT,
                (last == _REWIND) & ~rewound,
            ],
            [_WRITE, _NEXT_OUT, _NEXT_IN, _COUNT, _HALT, _REWIND, _REWIND],
            default=_READ,
        )


def _int_in(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is an int (not a bool) in ``[low, high]``."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    return is_int and low <= value <= high
