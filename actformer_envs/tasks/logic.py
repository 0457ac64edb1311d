"""Logic: Graves' ACT logic task, a chain of two-input boolean gates, each one computed on the machine."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from actformer_envs.instructions import NO_ACTION, NUM_ACTIONS, instruction_index
from actformer_envs.observation import P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, EDGE
from actformer_envs.tasks.base import (
    Enumeration,
    Problems,
    Task,
    distinct,
    index_digits,
    is_sequence,
    pad_rows,
)
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import decode_single_symbols
from actformer_envs.tasks.text import PythonLiteral

#: The gates by id: (name, truth table [x][y], program, result register). x = b_i (read into R1),
#: y = b_{i-1} (read into R0); each program leaves the gate's value in its result register and C = 0.
GATES: tuple[tuple[str, tuple[tuple[int, int], tuple[int, int]], tuple[str, ...], int], ...] = (
    ("AND", ((0, 0), (0, 1)), ("MUL R0,R1",), 0),  # x*y
    ("OR", ((0, 1), (1, 1)), ("INC R0", "CARRY R0", "MUL R0,R1"), 0),  # R0 = 1-y, C = y; x(1-y) + y
    ("XOR", ((0, 1), (1, 0)), ("ADD R0,R1", "CARRY R0", "CLR C"), 0),  # (x+y) mod 2
    ("NAND", ((1, 1), (1, 0)), ("MUL R0,R1", "DEC R0", "CARRY R0", "CLR C"), 0),  # (xy-1) mod 2
    ("NOR", ((1, 0), (0, 0)), ("DEC R0", "DEC R1", "MUL R0,R1"), 0),  # (y-1)(x-1)
    ("XNOR", ((1, 0), (0, 1)), ("ADD R0,R1", "INC R0", "CARRY R0", "CLR C"), 0),  # (x+y+1) mod 2
    ("x AND NOT y", ((0, 0), (1, 0)), ("MUL R0,R1", "SUB R1,R0"), 1),  # x - xy
    ("NOT x AND y", ((0, 1), (0, 0)), ("MUL R1,R0", "SUB R0,R1"), 0),  # y - xy
    ("x OR NOT y", ((1, 0), (1, 1)), ("DEC R1", "MUL R0,R1", "INC R0"), 0),  # 1 + y(x-1)
    ("NOT x OR y", ((1, 1), (0, 1)), ("DEC R0", "MUL R1,R0", "INC R1"), 1),  # 1 + x(y-1)
)
NUM_GATES = len(GATES)

_SETUP_BIT = instruction_index("MOVE P1 RIGHT")
_SETUP_GATE = instruction_index("MOVE P2 RIGHT")
_READ_OLD = instruction_index("READ P0->R0")
_READ_NEW = instruction_index("READ P1->R1")
_ADVANCE = instruction_index("ADVANCE")
_HALT = instruction_index("HALT")
_WRITE_BIT = [instruction_index(f"WRITE R{r}->P1") for r in range(2)]
_WRITE_OUT = [instruction_index(f"WRITE R{r}->P3") for r in range(2)]

#: Expert steps per gate besides its program: READ P0->R0, READ P1->R1, ADVANCE, WRITE Rk->P1.
STEPS_PER_GATE = 4
#: Expert steps outside the gates: MOVE P1 RIGHT, MOVE P2 RIGHT first, WRITE Rk->P3 and HALT last.
FIXED_STEPS = 4
#: Expert steps per gate id.
GATE_STEPS = np.array([STEPS_PER_GATE + len(program) for _, _, program, _ in GATES], dtype=np.int64)

# The state of the recurrence is s = 2 b_{i-1} + b_i; gate g maps it to 2 b_i + g(b_i, b_{i-1}).
_TRUTH = np.array([truth for _, truth, _, _ in GATES], dtype=np.int8)  # (gate, x, y)
_STATES = np.arange(4)
_TRANSITIONS = (2 * (_STATES & 1) + _TRUTH[:, _STATES & 1, _STATES >> 1]).astype(np.int8)  # (gate, s)
_IDENTITY = _STATES.astype(np.int8)


def _expert_table() -> np.ndarray:
    """The expert's next action by (gate under P2, last action); row NUM_GATES: no gate in view.

    Every gate's program is a distinct sequence of distinct arithmetic instructions, so the gate in
    view and the last action say where in the program the machine stands. Entries off the
    expert's path restart the gate (READ P0->R0).
    """
    table = np.full((NUM_GATES + 1, NUM_ACTIONS + 1), _READ_OLD, dtype=np.int64)
    table[:, NO_ACTION] = _SETUP_BIT
    table[:, _SETUP_BIT] = _SETUP_GATE
    table[:, _READ_OLD] = _READ_NEW
    table[:, _READ_NEW] = _ADVANCE
    table[:, _WRITE_OUT] = _HALT
    for gate, (_, _, program, result) in enumerate(GATES):
        steps = [_ADVANCE, *(instruction_index(name) for name in program), _WRITE_BIT[result]]
        table[gate, steps[:-1]] = steps[1:]
        # After the last gate's bit is written (no gate follows), the bit goes to OUT.
        table[gate, _WRITE_BIT[result]] = _WRITE_OUT[result]
    return table


_NEXT = _expert_table()
_IS_WRITE_BIT = np.isin(np.arange(NUM_ACTIONS + 1), _WRITE_BIT)


class Logic(Task):
    """``Actformer/Logic-v0``: the final bit of a chain of boolean gates (Graves' ACT logic task).

    ## Description
    Two bits b0, b1 and B gates T_1..T_B define b_{i+1} = T_i(b_i, b_{i-1}) for i = 1..B; the answer
    is b_{B+1}. Gates are symbols 0..9, the ten two-input boolean functions that depend on both
    inputs (x = b_i, the newer bit; y = b_{i-1}):

    ====  ===========  ========================================  ===========
    id    gate         program (R0 = y, R1 = x)                  result in
    ====  ===========  ========================================  ===========
    0     x AND y      MUL R0,R1                                 R0
    1     x OR y       INC R0, CARRY R0, MUL R0,R1               R0
    2     x XOR y      ADD R0,R1, CARRY R0, CLR C                R0
    3     x NAND y     MUL R0,R1, DEC R0, CARRY R0, CLR C        R0
    4     x NOR y      DEC R0, DEC R1, MUL R0,R1                 R0
    5     x XNOR y     ADD R0,R1, INC R0, CARRY R0, CLR C        R0
    6     x AND NOT y  MUL R0,R1, SUB R1,R0                      R1
    7     NOT x AND y  MUL R1,R0, SUB R0,R1                      R0
    8     x OR NOT y   DEC R1, MUL R0,R1, INC R0                 R0
    9     NOT x OR y   DEC R0, MUL R1,R0, INC R1                 R1
    ====  ===========  ========================================  ===========

    The programs compute the gate as arithmetic on the bits, in base 2: OR is x(1 - y) + y, where
    CARRY of y + 1 splits it into 1 - y and the carry y; XOR is (x + y) mod 2; NAND (xy - 1) mod 2
    (CARRY of -1 gives 1, with the borrow C = -1 cleared); NOR (y - 1)(x - 1); XNOR (x + y + 1) mod 2;
    x AND NOT y is x - xy; x OR NOT y is 1 + y(x - 1). Each leaves C = 0.

    Rows: ``BITS`` holds b0, b1 and receives b2..b_{B+1} (B + 2 columns); ``GATES`` holds T_i in
    column i + 1, under the bit it produces (columns 0 and 1 are BLANK); ``OUT`` is a single cell
    that receives the answer. ``P0`` and ``P1`` both stand on ``BITS``, ``P2`` on ``GATES``, ``P3``
    on ``OUT`` (a one-cell row, so ADVANCE never moves it).

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows READ P0/P1->R0/R1, ADD/SUB/MUL R0,R1 and
    R1,R0, CARRY/INC/DEC/CLR R0/R1, CLR C, WRITE R0/R1->P1/P3, MOVE of P0..P2, ADVANCE and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the final bit in ``OUT``.

    ## Starting State
    Uniform random bits b0, b1 and B uniform random gates. Posed problems:
    ``options={"problem": (b0, b1, [g1, ..., gB])}``, bits 0 or 1, gate ids ints 0..9,
    1 <= B <= ``max_length``. ``info["output"]`` is the final bit (an int).

    ## Episode End
    HALT, or twice the expert's program length. The expert: MOVE P1 RIGHT, MOVE P2 RIGHT (P0 on
    b_{i-1}, P1 on b_i); per gate READ P0->R0, READ P1->R1, ADVANCE (P1 on the cell to write, P2 on
    the gate), the gate's program, WRITE Rk->P1; after the last gate WRITE Rk->P3 and HALT. Its
    action depends on the gate in view and the last action only, never on the bits:
    4 + sum over the gates of (4 + program length) steps, i.e. 5 (AND), 6 (AND NOT gates),
    7 (OR, XOR, NOR, OR NOT gates) or 8 (NAND, XNOR) steps per gate.

    ## Arguments
    ``base`` must be 2; lengths (B, the number of gates) default to 1..10.

    ## Registered Configurations
    ``Actformer/Logic-v0``.

    ## Version History
    v0: initial release.
    """

    name = "Logic"
    reads = ExpertReads(values=("last_action", "symbols[P2.under]"), kinds=("symbols[P2.right]",))
    text_format = PythonLiteral()  # (b0, b1, [g1, ..., gB])
    recipe = Recipe(5, (5, 50, 500), 200)
    rows = ("BITS", "GATES", "OUT")
    output_row = 2
    pointer_rows = (0, 0, 1, 2)
    default_base = 2
    base_range = (2, 2)
    allowed_instructions = (
        "READ P0->R0", "READ P0->R1", "READ P1->R0", "READ P1->R1",
        "ADD R0,R1", "ADD R1,R0", "SUB R0,R1", "SUB R1,R0", "MUL R0,R1", "MUL R1,R0",
        "CARRY R0", "CARRY R1", "INC R0", "INC R1", "DEC R0", "DEC R1", "CLR R0", "CLR R1", "CLR C",
        "WRITE R0->P1", "WRITE R1->P1", "WRITE R0->P3", "WRITE R1->P3",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P1 LEFT", "MOVE P1 RIGHT", "MOVE P2 LEFT", "MOVE P2 RIGHT",
        "ADVANCE", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return max_length + 2

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        bits = random.integers(2, 2).astype(np.int8)
        gates = random.integers(NUM_GATES, width - 2).astype(np.int8)
        return self._pose(bits, gates, lengths, width)

    def problem_length(self, problem: Any) -> int:
        return len(_check_problem(problem)[2])

    def encode(self, problem: Any, width: int) -> Problems:
        b0, b1, gates = _check_problem(problem)
        if len(gates) > width - 2:
            raise ValueError(f"Logic problem has {len(gates)} gates; at most {width - 2} fit")
        row = np.zeros((1, width - 2), dtype=np.int8)
        row[0, : len(gates)] = gates
        return self._pose(np.array([[b0, b1]], dtype=np.int8), row, np.array([len(gates)]), width)

    def problem_count(self, length: int) -> int:
        """4 pairs of starting bits times ``NUM_GATES ** length`` chains of gates."""
        return 4 * NUM_GATES**length

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """``(b0, b1, [g1, ..., gB])`` in ``itertools.product`` order of ``b0, b1, g1, ..., gB``."""

        def parts(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            bits, chains = np.divmod(np.asarray(indices, dtype=np.int64), NUM_GATES**length)
            return index_digits(bits, 2, 2), index_digits(chains, NUM_GATES, length)

        def problems_at(indices: np.ndarray) -> list[Any]:
            bits, gates = parts(indices)
            return [(b0, b1, chain) for (b0, b1), chain in zip(bits.tolist(), gates.tolist(), strict=True)]

        def pose_at(indices: np.ndarray, width: int) -> Problems:
            bits, gates = parts(indices)
            row = np.zeros((len(indices), width - 2), dtype=np.int8)
            row[:, :length] = gates
            lengths = np.full(len(indices), length, dtype=np.int64)
            return self._pose(bits.astype(np.int8), row, lengths, width)

        return Enumeration(self, length, count, problems_at, pose_at)

    def _pose(self, bits: np.ndarray, gates: np.ndarray, lengths: np.ndarray, width: int) -> Problems:
        """Lay out bits (n, 2) and gates (n, width - 2; those beyond each length are ignored)."""
        n = len(lengths)
        beyond = np.arange(width - 2) >= lengths[:, None]
        scratchpad = np.full((n, 3, width), BLANK, dtype=np.int8)
        scratchpad[:, 0, :2] = bits
        scratchpad[:, 1, 2:] = np.where(beyond, np.int8(BLANK), gates)
        scratchpad = pad_rows(scratchpad, lengths + 2)
        scratchpad[:, 2, 1:] = EDGE  # OUT is one cell
        target = np.full((n, width), EDGE, dtype=np.int8)
        target[:, 0] = _final_bits(bits, gates, beyond)
        program = FIXED_STEPS + np.where(beyond, 0, GATE_STEPS[gates]).sum(axis=1)
        return Problems(scratchpad, target, program.astype(np.int64))

    def decode_batch(self, rows: np.ndarray) -> list[int | None]:
        return decode_single_symbols(rows)

    @property
    def decoding(self) -> Hashable:
        return decode_single_symbols

    def adversarial_problems(self, length: int) -> list[Any]:
        """Each gate throughout, from both unequal starting bits, and every gate in turn."""
        cycle = [gate % NUM_GATES for gate in range(length)]
        return distinct(
            [(b0, 1 - b0, [gate] * length) for gate in range(NUM_GATES) for b0 in (0, 1)] + [(0, 1, cycle)]
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        gate = np.minimum(view.under(P2), NUM_GATES)  # NUM_GATES: none (BLANK)
        another = view.right(P2) < NUM_GATES  # a gate right of P2: the chain goes on
        return np.where(_IS_WRITE_BIT[last] & another, _READ_OLD, _NEXT[gate, last])


def _final_bits(bits: np.ndarray, gates: np.ndarray, beyond: np.ndarray) -> np.ndarray:
    """b_{B+1} of each problem, composing the gates' state maps pairwise (log2(width) NumPy steps)."""
    maps = np.where(beyond[:, :, None], _IDENTITY, _TRANSITIONS[gates])  # (n, gates, 4)
    while maps.shape[1] > 1:
        if maps.shape[1] % 2:
            maps = np.concatenate([maps, np.broadcast_to(_IDENTITY, (len(maps), 1, 4))], axis=1)
        maps = np.take_along_axis(maps[:, 1::2], maps[:, 0::2].astype(np.intp), axis=2)  # later ∘ earlier
    state = 2 * bits[:, 0] + bits[:, 1]
    return (maps[np.arange(len(maps)), 0, state] & 1).astype(np.int8)


def _check_problem(problem: Any) -> tuple[int, int, list[int]]:
    """A user-posed (b0, b1, gates) as ints, or ``ValueError`` saying what is wrong."""
    if not isinstance(problem, (tuple, list)) or len(problem) != 3:
        raise ValueError(f"Logic problem must be (b0, b1, [g1, ..., gB]), got {problem!r}")
    b0, b1, gates = problem
    for bit in (b0, b1):
        if isinstance(bit, (bool, np.bool_)) or not isinstance(bit, (int, np.integer)) or bit not in (0, 1):
            raise ValueError(f"Logic problem bits b0, b1 must be ints 0 or 1, got {bit!r}")
    if not is_sequence(gates):
        raise ValueError(
            f"Logic problem gates must be a list, tuple or 1-D array of gate ids 0..9, got {gates!r}"
        )
    gates = list(gates)
    for g in gates:
        if isinstance(g, (bool, np.bool_)) or not isinstance(g, (int, np.integer)) or not 0 <= g < NUM_GATES:
            raise ValueError(f"Logic problem gate ids must be ints 0..{NUM_GATES - 1}, got {g!r}")
    if not gates:
        raise ValueError("Logic problem must hold at least one gate")
    return int(b0), int(b1), [int(g) for g in gates]
