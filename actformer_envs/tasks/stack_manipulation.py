"""StackManipulation: run PUSH and POP actions on a stack, then read it off (Chomsky hierarchy,
deterministic context-free)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, fill_from
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

#: Input symbols (the paper's encoding): the initial stack's bits, then actions.
POP, PUSH_0, PUSH_1 = 2, 3, 4
SYMBOLS = 5

_ONE = instruction_index("INC R2")  # R2 = 1, the bit PUSH_1 writes (R1 stays 0, PUSH_0's)
_PUSH_0, _PUSH_1 = instruction_index("WRITE R1->P2"), instruction_index("WRITE R2->P2")
_UP, _DOWN = instruction_index("MOVE P2 RIGHT"), instruction_index("MOVE P2 LEFT")
_NEXT = instruction_index("MOVE P0 RIGHT")
_READ_TOP = instruction_index("READ P2->R0")
_WRITE = instruction_index("WRITE R0->P1")
_NEXT_OUT = instruction_index("MOVE P1 RIGHT")
_HALT = instruction_index("HALT")


def run_stacks(inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every input row's actions: (stacks (n, width) bottom to top, heights (n,), the expert's
    steps on the input (n,): 1 per POP of an empty stack, 2 per other POP, 3 per push).

    No loop over the symbols: the height is the walk of pushes (+1) and POPs (-1) held at 0 (the walk
    minus its running minimum, where negative), and a pushed bit is on the final stack exactly when
    the height never falls below its own after it."""
    live = np.arange(inputs.shape[1]) < lengths[:, None]
    pop = live & (inputs == POP)
    push = live & ~pop
    walk = np.cumsum(push.astype(np.int64) - pop, axis=1)
    heights = walk - np.minimum(np.minimum.accumulate(walk, axis=1), 0)  # after each symbol
    before = np.zeros_like(heights)
    before[:, 1:] = heights[:, :-1]
    steps = (3 * push + 2 * pop - (pop & (before == 0))).sum(axis=1)
    lowest_after = np.full_like(heights, np.iinfo(np.int64).max)
    lowest_after[:, :-1] = np.minimum.accumulate(heights[:, ::-1], axis=1)[:, ::-1][:, 1:]
    rows, columns = np.nonzero(push & (lowest_after >= heights))
    bits = np.where(inputs >= PUSH_0, inputs - PUSH_0, inputs)
    stacks = np.zeros(inputs.shape, dtype=inputs.dtype)
    stacks[rows, heights[rows, columns] - 1] = bits[rows, columns]
    return stacks, heights[:, -1], steps


class StackManipulation(SequenceTask):
    """``Actformer/StackManipulation-v0``: run the actions on the stack and write the stack out.

    ## Description
    The *Stack Manipulation* task of Delétang et al. (2023), "Neural Networks and the Chomsky
    Hierarchy" (deterministic context-free). ``IN`` holds a stack of bits, bottom to top (0s and
    1s), then actions, 2 (POP), 3 (PUSH 0) or 4 (PUSH 1), the paper's encoding, then a BLANK; a
    POP of the empty stack does nothing. Write the final stack on ``OUT``, top to bottom. The
    paper ends the answer with a termination token and pads it; here the answer is the written
    cells of ``OUT`` (an empty stack: none). The work row ``STACK`` is the machine's stack.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows INC R2, WRITE R1/R2->P2, READ P2->R0,
    WRITE R0->P1, MOVE of P0, P1 and P2, and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the final stack, top first, on ``OUT``.

    ## Starting State
    As the paper draws them: a stack of k uniform random bits, k uniform in 1..n-1, then n - k
    uniform random actions (length 1: one bit). ``options={"problem": [0, 1, 3, 2, ...]}`` poses
    yours: bits, then actions (either part may be empty).

    ## Episode End
    HALT, or twice the expert's program length. ``P0`` reads ``IN``, ``P2`` marks the top of the
    stack on ``STACK`` (the cell above it), ``P1`` writes ``OUT``. The expert sets R2 = 1 (INC R2),
    then per input cell: a bit or a push writes its bit on the stack (WRITE R1->P2 for 0,
    WRITE R2->P2 for 1, then MOVE P2 RIGHT), a POP moves ``P2`` down (MOVE P2 LEFT; nothing where
    ``P2`` is at the start: the stack is empty), then MOVE P0 RIGHT. On the BLANK after the input
    it copies the stack out, top first: MOVE P2 LEFT, READ P2->R0, WRITE R0->P1, MOVE P1 RIGHT, until
    ``P2`` is back at the start, and HALTs (1 + 3 per bit or push + 2 per POP, 1 if the stack was
    empty + 4 per bit left on the stack + 1 steps).

    ## Arguments
    ``base`` must be 5; lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/StackManipulation-v0``.

    ## Version History
    v0: initial release.
    """

    name = "StackManipulation"
    rows: ClassVar[tuple[str, ...]] = ("IN", "OUT", "STACK")
    pointer_rows: ClassVar[tuple[int | None, ...]] = (0, 1, 2, None)
    reads = ExpertReads(values=("last_action", "symbols[P0.under]", "boundaries[P2.start]"))
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = SYMBOLS
    base_range = (SYMBOLS, SYMBOLS)
    allowed_instructions = (
        "INC R2", "WRITE R1->P2", "WRITE R2->P2", "READ P2->R0", "WRITE R0->P1", "MOVE P0 LEFT",
        "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT", "MOVE P2 LEFT", "MOVE P2 RIGHT", "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        bits = random.integers(2, width)
        actions = POP + random.integers(3, width)
        stack_length = np.where(lengths > 1, 1 + random.integers(np.maximum(lengths - 1, 1))[:, 0], 1)
        inputs = np.where(np.arange(width) < stack_length[:, None], bits, actions).astype(np.int8)
        return self._pose(fill_from(inputs, lengths, BLANK), lengths)

    def encode(self, problem: Any, width: int) -> Problems:
        return super().encode(self._check(problem), width)

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem))

    def problem_count(self, length: int) -> int:
        """The paper's problems: k bits (1 <= k < length; length 1: one bit), then actions."""
        if length == 1:
            return 2
        return sum(2**bits * 3 ** (length - bits) for bits in range(1, length))

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The problems by number of bits (fewest first), each part in ``itertools.product`` order."""
        splits = [1] if length == 1 else list(range(1, length))
        sizes = np.array([2**bits * 3 ** (length - bits) for bits in splits], dtype=np.int64)
        firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

        def rows_at(indices: np.ndarray) -> np.ndarray:
            split = np.searchsorted(firsts, indices, side="right") - 1
            offset = indices - firsts[split]
            bits = np.array(splits)[split]
            rows = np.zeros((len(indices), length), dtype=np.int64)
            for column in range(length):
                # Column c is a bit (c < bits) or an action; the offset's digits, most significant
                # first, are the bits' (radix 2) then the actions' (radix 3).
                later_bits = np.maximum(bits - column - 1, 0)
                later_actions = np.minimum(length - column - 1, length - bits)
                is_bit = column < bits
                radix = np.where(is_bit, 2, 3)
                place = 2**later_bits * 3**later_actions
                digit = (offset // place) % radix
                rows[:, column] = np.where(is_bit, digit, POP + digit)
            return rows

        return self._sequences(length, count, rows_at)

    def adversarial_problems(self, length: int) -> list[Any]:
        """Pushes only (the deepest stack), a POP of the empty stack after every bit popped, pushes
        then as many POPs, alternating PUSH and POP, and every bit 1 then POPs to empty."""
        if length == 1:
            return [[0], [1]]
        half = length // 2
        families = [
            [1] + [PUSH_1] * (length - 1),
            [0] + [POP] * (length - 1),
            [1] + [PUSH_0, PUSH_1] * (half - 1) + [PUSH_0] * (length - 1 - 2 * (half - 1)),
            [0] * half + [POP] * (length - half),
            [1] + [PUSH_1, POP] * ((length - 1) // 2) + [PUSH_0] * ((length - 1) % 2),
            [1] * (length - 1) + [POP],
        ]
        return [list(family) for family in dict.fromkeys(tuple(f) for f in families)]

    def _check(self, problem: Any) -> list[int]:
        """The posed input as a list of ints; ``ValueError`` unless it is bits then actions."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        first_action = next((i for i, s in enumerate(symbols) if s >= POP), len(symbols))
        late = [s for s in symbols[first_action:] if s < POP]
        if late:
            raise ValueError(
                f"{self.name} problem must be stack bits (0, 1) then actions (2 POP, 3 PUSH 0, 4 PUSH 1); "
                f"got bit {late[0]} after an action"
            )
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        stacks, heights, _ = run_stacks(inputs, lengths)
        columns = np.arange(inputs.shape[1])
        from_top = np.clip(heights[:, None] - 1 - columns, 0, None)
        top_first = np.take_along_axis(stacks, from_top, axis=1)
        return np.where(columns < heights[:, None], top_first, BLANK).astype(inputs.dtype)

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        _, heights, steps = run_stacks(inputs, lengths)
        return 1 + steps + 4 * heights + 1

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        under = view.under(P0)
        empty = view.at_start(P2)
        at_cell = (last == _ONE) | (last == _NEXT) | (last == _NEXT_OUT)
        return np.select(
            [
                last == NO_ACTION,
                (last == _PUSH_0) | (last == _PUSH_1),
                (last == _UP) | ((last == _DOWN) & (under != BLANK)),
                last == _DOWN,
                last == _READ_TOP,
                last == _WRITE,
                at_cell & (under == BLANK) & empty,
                at_cell & (under == BLANK),
                at_cell & (under == POP) & empty,
                at_cell & (under == POP),
                at_cell & ((under == 0) | (under == PUSH_0)),
            ],
            [_ONE, _UP, _NEXT, _READ_TOP, _WRITE, _NEXT_OUT, _HALT, _DOWN, _NEXT, _DOWN, _PUSH_0],
            default=_PUSH_1,
        )
