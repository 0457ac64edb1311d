"""Expression: a·b + c, (a·b + c) - d or (a·b + c) - d·e in any base, with a phase counter in memory."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any, TypeVar

import numpy as np

from actformer_envs.digits import digit_count, digits_of, from_digits, shown
from actformer_envs.instructions import NO_ACTION, NUM_ACTIONS, instruction_index
from actformer_envs.observation import P0, P1, P2, P3, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, EDGE
from actformer_envs.tasks.base import Problems, Task, distinct
from actformer_envs.tasks.numbers import check_operands, decode_numbers, extreme_numbers
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import PythonLiteral

STAGES = (0, 1, 2)
#: Operands of each stage's problem: (a, b, c), (a, b, c, d), (a, b, c, d, e).
OPERANDS = {0: 3, 1: 4, 2: 5}
_NAMES = "abcde"
_Length = TypeVar("_Length", int, np.ndarray)  # a length, or an array of lengths

# The kinds of pass in the expert's program, and the passes of each stage in order (phase 0, 1, ...).
MUL_AB, ADD_C, SUB_D, MUL_DE, SUB_U = range(5)
PLANS = {0: (MUL_AB, ADD_C), 1: (MUL_AB, ADD_C, SUB_D), 2: (MUL_AB, ADD_C, MUL_DE, SUB_U)}

_I = instruction_index
_HALT = _I("HALT")
_READ_A, _READ_B = _I("READ P0->R0"), _I("READ P1->R1")
_MUL, _ADD_PRODUCT, _CARRY_PRODUCT = _I("MUL R1,R0"), _I("ADD R1,R2"), _I("CARRY R1")
_READ_OUT, _ADD, _SUB, _CARRY = _I("READ P2->R0"), _I("ADD R0,R1"), _I("SUB R0,R1"), _I("CARRY R0")
_WRITE_OUT = _I("WRITE R0->P2")
_LOAD, _INC, _STORE = _I("LOAD M0->R3"), _I("INC R3"), _I("STORE R3->M0")
_LEFT = [_I(f"MOVE P{p} LEFT") for p in range(4)]
_RIGHT = [_I(f"MOVE P{p} RIGHT") for p in range(4)]

# Per pass kind: the product row's pointer (P2 for a·b on OUT, P3 for d·e on U) and the operand
# pointer of a column pass (P0 on X for c and d, P3 for U).
_PRODUCT_POINTER = np.array([2, 2, 2, 3, 2])
_OPERAND_POINTER = np.array([0, 0, 0, 0, 3])
_READ_PRODUCT = np.array([_I(f"READ P{p}->R2") for p in _PRODUCT_POINTER])
_WRITE_PRODUCT = np.array([_I(f"WRITE R1->P{p}") for p in _PRODUCT_POINTER])
_PRODUCT_RIGHT = np.array([_RIGHT[p] for p in _PRODUCT_POINTER])
_PRODUCT_LEFT = np.array([_LEFT[p] for p in _PRODUCT_POINTER])
_READ_OPERAND = np.array([_I(f"READ P{p}->R1") for p in _OPERAND_POINTER])
_OPERAND_RIGHT = np.array([_RIGHT[p] for p in _OPERAND_POINTER])
_COLUMN_OP = np.array([_ADD, _ADD, _SUB, _ADD, _SUB])

# Successors that depend on more than the last action: codes in the successor table (negative).
(_PREP_MUL, _MUL_WRITTEN, _MUL_B_RIGHT, _MUL_OUT_RIGHT, _MUL_OUT_LEFT, _MUL_A_RIGHT, _PREP_COLUMN,
 _COLUMN_WRITTEN, _COLUMN_OUT_RIGHT, _MUL_DONE, _WRITE_PRODUCT_CODE, _PRODUCT_LEFT_CODE,
 _READ_OPERAND_CODE, _COLUMN_OP_CODE) = range(-14, 0)  # fmt: skip


def _successors() -> np.ndarray:
    """(kinds, last_action + 1): the expert's next action, or a negative code for a conditional one."""
    table = np.full((5, NUM_ACTIONS + 1), _READ_A, dtype=np.int64)
    common = {_LOAD: _INC, _INC: _STORE}
    multiply = {
        NO_ACTION: _READ_A, _STORE: _PREP_MUL, _READ_A: _READ_B, _READ_B: _MUL,
        _MUL: _MUL_DONE, _ADD_PRODUCT: _CARRY_PRODUCT, _CARRY_PRODUCT: _WRITE_PRODUCT_CODE,
        _RIGHT[1]: _MUL_B_RIGHT, _LEFT[1]: _PRODUCT_LEFT_CODE, _RIGHT[0]: _MUL_A_RIGHT,
    }  # fmt: skip
    column = {
        _STORE: _PREP_COLUMN, _LEFT[2]: _PREP_COLUMN, _LEFT[3]: _PREP_COLUMN, _RIGHT[0]: _READ_OUT,
        _RIGHT[3]: _READ_OUT, _READ_OUT: _READ_OPERAND_CODE, _ADD: _CARRY, _SUB: _CARRY,
        _CARRY: _WRITE_OUT, _WRITE_OUT: _COLUMN_WRITTEN, _RIGHT[2]: _COLUMN_OUT_RIGHT,
    }  # fmt: skip
    for p in (0, 3):
        column[_I(f"READ P{p}->R1")] = _COLUMN_OP_CODE
    for kind in range(5):
        steps = dict(common)
        if kind in (MUL_AB, MUL_DE):
            p = _PRODUCT_POINTER[kind]
            steps |= multiply
            steps |= {
                _I(f"READ P{p}->R2"): _ADD_PRODUCT,
                _I(f"WRITE R1->P{p}"): _MUL_WRITTEN,
                _RIGHT[p]: _MUL_OUT_RIGHT,
                _LEFT[p]: _MUL_OUT_LEFT,
            }
        else:
            steps |= column
        for last, action in steps.items():
            table[kind, last] = action
    return table


_SUCCESSORS = _successors()


def expression_value(operands: tuple[int, ...]) -> int:
    """The value of a problem's operands: ``a*b + c``, ``a*b + c - d`` or ``a*b + c - d*e``."""
    a, b, c, *rest = operands
    return a * b + c - (rest[0] if len(rest) == 1 else rest[0] * rest[1] if rest else 0)


class Expression(Task):
    """``Actformer/Expression-v0``: evaluate an arithmetic expression of multi-digit numbers.

    ## Description
    Model-native tool use: the machine's registers saturate at 4095, so every multi-digit value is
    computed digit by digit on scratchpad rows, and the expert keeps the number of the pass it is
    in (its *phase*) in memory slot ``M0`` (``LOAD M0->R3, INC R3, STORE R3->M0`` between passes).
    Three stages (the ``stage`` argument): 0: ``a·b + c``; 1: ``(a·b + c) - d``; 2:
    ``(a·b + c) - d·e``. Numbers are stored least significant digit first.

    Layout (4 rows, pointer ``Pi`` bound to row i):

    - ``X`` (P0): ``a _ c _ d _`` (stage 0: ``a _ c _``), operands separated by BLANK;
    - ``Y`` (P1): ``b _ e _`` (stages 0 and 1: ``b _``);
    - ``OUT`` (P2): the result, exactly 2n cells (EDGE beyond): a·b + c < base**(2n);
    - ``U`` (P3): a work row for d·e (stage 2).

    The expert's passes (a function of the observation: ``M0``, the last action, the cells beside
    each pointer and the row boundaries; an operand ends where a BLANK follows it):

    1. ``OUT = a·b``, long multiplication: per digit a_i (READ P0->R0), per digit b_j: READ P1->R1,
       MUL R1,R0 (which adds the carry), READ P2->R2, ADD R1,R2, CARRY R1, WRITE R1->P2,
       MOVE P1 RIGHT, MOVE P2 RIGHT; then one more column for the last carry, where P1 reads the
       BLANK after b as 0 and the OUT cell is still BLANK: READ P1->R1, MUL R1,R0, WRITE R1->P2.
       P1 and P2 step back left together until P1 is at the start of b, and MOVE P0 RIGHT,
       MOVE P2 RIGHT start the next row: 10·len(b) + 6 steps a row.
    2. ``OUT += c``: P2 back to column 0, P0 onto c, then over all 2n columns READ P2->R0,
       READ P0->R1, ADD R0,R1, CARRY R0, WRITE R0->P2, MOVE P2 RIGHT, and MOVE P0 RIGHT while P0
       is on a digit of c (beyond it, P0 rests on the BLANK, which reads as 0).
    3. Stage 1: ``OUT -= d``, the same column pass with SUB R0,R1 (CARRY's floor division turns a
       negative column into a borrow of -1). Stage 2: ``U = d·e`` (P1 walks on to e, P0 onto d,
       then pass 1 with P3 on ``U``), then ``OUT -= U``, the column pass reading P3.
    4. HALT once the last pass has written column 2n - 1.

    Every column pass writes all 2n cells of ``OUT``, so the result is zero-padded to exactly 2n
    digits: that fixed-width row is the target, decoded with leading zeros allowed.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows what the expert uses (29 instructions):
    READ P0->R0, P1->R1, P2->R2, P3->R2 (products) and P2->R0, P0->R1, P3->R1 (column passes),
    MUL R1,R0, ADD R1,R2, ADD R0,R1, SUB R0,R1, CARRY R0/R1, CLR C, WRITE R1->P2/P3 and R0->P2,
    MOVE of every pointer, LOAD M0->R3, INC R3, STORE R3->M0 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is the value's 2n digits on ``OUT``.

    ## Starting State
    A problem of length n has operands of 1..n digits, at least one of exactly n, no leading
    zeros (0 is the digit 0). The result is never negative: stage 1 swaps c and d if a·b + c < d,
    stage 2 swaps (a, b) and (d, e) if a·b + c < d·e. Posed problems: ``options={"problem":
    (a, b, c)}``, ``(a, b, c, d)`` or ``(a, b, c, d, e)`` as the stage says, non-negative ints of at
    most ``max_length`` digits whose value is not negative.

    ## Episode End
    HALT, or twice the expert's program length. With W = 2n and len(x) the digits of x, MUL(p, q)
    = p·(10q + 6): stage 0 takes MUL(len a, len b) + 3 + len a + 6W + len c + 1 steps; stage 1 adds
    3 + 7W - 1 + len d; stage 2 instead adds 3 + len b + 2 + MUL(len d, len e) + 3 + W - 1 + len d
    + 6W - 1 + min(len d + len e, W - 1).

    ## Arguments
    ``base`` 2..36 (default 10); ``stage`` 0, 1 or 2 (default 2); lengths default to 1..2 (an
    episode of stage 2 takes up to 73 steps at length 1, 177 at length 2, 19,329 at length 30).

    ## Registered Configurations
    ``Actformer/Expression-v0`` (``gym.make("Actformer/Expression-v0", stage=0)`` for stage 0).

    ## Version History
    v0: initial release.
    """

    name = "Expression"
    reads = ExpertReads(
        values=(
            "last_action",
            "memory[M0]",
            "boundaries[P2.start]",
            "boundaries[P2.end]",
            "boundaries[P3.start]",
        ),
        kinds=(
            "symbols[P0.under]",
            "symbols[P0.left]",
            "symbols[P1.left]",
            "symbols[P1.under]",
            "symbols[P3.under]",
        ),
    )
    text_format = PythonLiteral()  # (a, b, c, d, e) as the stage says
    # Long episodes: more expert data and no history (see ``Recipe``).
    # Its projected set closes only from length 3: P2 past the start of OUT, and a digit left of P0,
    # first occur in decisions there (210 observations; none new at 4, 5 or 30).
    recipe = Recipe(2, (2, 20, 40), 50, expert_pairs=60_000, history_length=0, certify_length=3)
    rows = ("X", "Y", "OUT", "U")
    output_row = 2
    pointer_rows = (0, 1, 2, 3)
    render_reversed = True
    default_lengths = (1, 2)
    option_defaults = {"stage": 2}
    allowed_instructions = (
        "READ P0->R0", "READ P1->R1", "READ P2->R2", "READ P3->R2", "MUL R1,R0", "ADD R1,R2", "CARRY R1",
        "WRITE R1->P2", "WRITE R1->P3", "READ P2->R0", "READ P0->R1", "READ P3->R1", "ADD R0,R1",
        "SUB R0,R1", "CARRY R0", "WRITE R0->P2", "CLR C",
        *(f"MOVE P{p} {d}" for p in range(4) for d in ("LEFT", "RIGHT")),
        "LOAD M0->R3", "INC R3", "STORE R3->M0", "HALT",
    )  # fmt: skip

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        stage = options.get("stage", 2)
        is_int = isinstance(stage, (int, np.integer)) and not isinstance(stage, (bool, np.bool_))
        if not is_int or stage not in STAGES:
            raise ValueError(f"stage must be an int in {{0, 1, 2}}, got {stage!r}")

    def __init__(self, base: int, **options: Any) -> None:
        super().__init__(base, **options)
        self.stage = int(self.options["stage"])
        self.operands = OPERANDS[self.stage]
        self._plan = PLANS[self.stage]
        self._table = _decision_table(self.stage)

    def width(self, max_length: int) -> int:
        return _width(max_length)

    # -- problems --------------------------------------------------------------------------------

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        n, k, base = len(lengths), self.operands, self.base
        bounds = np.empty((n, 2 * k + 1), dtype=np.int64)
        bounds[:, :k], bounds[:, k], bounds[:, k + 1 :] = lengths[:, None], k, base - 1
        draws = random.integers(bounds, 2 * k + 1)
        operand_lengths = 1 + draws[:, :k]
        operand_lengths[np.arange(n), draws[:, k]] = lengths  # one operand has exactly n digits
        digits = random.integers(base, k * width).reshape(n, k, width)[:, :, : int(lengths.max())]
        top = operand_lengths - 1
        rows, operand = np.arange(n)[:, None], np.arange(k)
        leads = np.where(top > 0, 1 + draws[:, k + 1 :], digits[rows, operand, top])
        digits[rows, operand, top] = leads  # no leading zero, unless the operand is one digit
        digits[np.arange(digits.shape[2]) >= operand_lengths[:, :, None]] = 0
        if k > 3:  # keep the value non-negative: swap c and d, or (a, b) and (d, e)
            swap = _value_digits(digits, base)[1] < 0
            order = np.array([0, 1, 3, 2] if k == 4 else [3, 4, 2, 0, 1])
            digits = np.where(swap[:, None, None], digits[:, order], digits)
            operand_lengths = np.where(swap[:, None], operand_lengths[:, order], operand_lengths)
        return self._pose(digits, operand_lengths, lengths, width)

    def _check(self, problem: Any) -> tuple[int, ...]:
        """The operands of a posed problem, or ``ValueError`` saying what is wrong."""
        if not isinstance(problem, (tuple, list)) or len(problem) != self.operands:
            shape = "(" + ", ".join(_NAMES[: self.operands]) + ")"
            raise ValueError(
                f"{self.name} stage {self.stage} problem must be a tuple {shape} of non-negative ints, "
                f"got {shown(problem)}"
            )
        return check_operands(problem, self.name, self.operands)

    def problem_length(self, problem: Any) -> int:
        return max(digit_count(x, self.base) for x in self._check(problem))

    def encode(self, problem: Any, width: int) -> Problems:
        operands = self._check(problem)
        value = expression_value(operands)
        if value < 0:
            raise ValueError(
                f"{self.name} problem {shown(operands)} has the value {shown(value)}; it must be >= 0"
            )
        length = self.problem_length(operands)
        if width < self.width(length):
            raise ValueError(f"{self.name} problem of length {length} does not fit width {width}")
        listed = [digits_of(x, self.base) for x in operands]
        digits = np.zeros((1, self.operands, length), dtype=np.int64)
        for i, d in enumerate(listed):
            digits[0, i, : len(d)] = d
        operand_lengths = np.array([[len(d) for d in listed]])
        return self._pose(digits, operand_lengths, np.array([length]), width)

    def _pose(self, digits: np.ndarray, lengths_of: np.ndarray, length: np.ndarray, width: int) -> Problems:
        """Lay out operands (n, k, m) of digits (0 beyond each operand) with their lengths (n, k)."""
        n, k, m = digits.shape
        columns = np.arange(width)
        result, _ = _value_digits(digits, self.base)
        target = np.full((n, width), EDGE, dtype=np.int8)
        target[:, : result.shape[1]] = result
        target[columns >= 2 * length[:, None]] = EDGE
        scratchpad = np.full((n, 4, width), BLANK, dtype=np.int8)
        for row, members in ((0, [0, 2, 3] if k > 3 else [0, 2]), (1, [1, 4] if k == 5 else [1])):
            start = np.zeros(n, dtype=np.int64)
            for i in members:
                offset = columns - start[:, None]
                inside = (offset >= 0) & (offset < lengths_of[:, i, None])
                placed = np.take_along_axis(digits[:, i], np.clip(offset, 0, m - 1), axis=1)
                scratchpad[:, row] = np.where(inside, placed, scratchpad[:, row])
                start += lengths_of[:, i] + 1
        scratchpad[:, 2] = np.where(columns < 2 * length[:, None], BLANK, EDGE)
        beyond = columns >= _width(length)[:, None]
        scratchpad[np.broadcast_to(beyond[:, None, :], scratchpad.shape)] = EDGE
        return Problems(scratchpad, target, self._program_length(lengths_of, length))

    def _program_length(self, lengths: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The expert's steps (see Episode End), from operand lengths (batch, k)."""
        la, lb, lc = lengths[:, 0], lengths[:, 1], lengths[:, 2]
        w = 2 * n
        steps = _multiply_steps(la, lb) + 3 + la + 6 * w + lc + 1
        if self.stage == 1:
            steps += 3 + 7 * w - 1 + lengths[:, 3]
        elif self.stage == 2:
            ld, le = lengths[:, 3], lengths[:, 4]
            steps += 3 + lb + 2 + _multiply_steps(ld, le) + 3 + w - 1 + ld + 6 * w - 1
            steps += np.minimum(ld + le, w - 1)
        return steps.astype(np.int64)

    def decode_batch(self, rows: np.ndarray) -> np.ndarray:
        return decode_numbers(rows, self.base, leading_zeros=True)

    @property
    def decoding(self) -> Hashable:
        return decode_numbers, self.base, True

    # -- the expert ------------------------------------------------------------------------------

    def adversarial_problems(self, length: int) -> list[Any]:
        """Every operand the largest of ``length`` digits, every one the smallest, and the two
        interleaved (the value stays >= 0: the families whose value would not are left out)."""
        all_top, power, _ = extreme_numbers(self.base, length)
        mixed = [all_top if i % 2 == 0 else power for i in range(self.operands)]
        families = [(all_top,) * self.operands, (power,) * self.operands, tuple(mixed)]
        return distinct([problem for problem in families if expression_value(problem) >= 0])

    def decide(self, view: ObservationView) -> np.ndarray:
        seen = np.stack(
            [
                view.under(P0) == BLANK,
                view.left(P0) == BLANK,
                view.left(P1) == BLANK,
                view.left(P1) == EDGE,
                view.under(P1) == BLANK,
                view.at_start(P2),  # P2 at the start of OUT
                view.at_end(P2),  # P2 at the end of OUT
                view.at_start(P3),  # P3 at the start of U
                view.under(P3) < BLANK,
            ],
            axis=1,
        )
        phase = np.clip(view.memory_slot(0), 0, len(self._plan) - 1)
        return self._table[phase, view.last_action, seen @ _FEATURE_WEIGHTS]


#: Operands of more digits are evaluated as Python ints (see ``_value_digits``).
LONG_OPERANDS = 1000

#: The observation bits the expert's rules read (see ``Expression.expert``).
_FEATURES = 9
_FEATURE_WEIGHTS = 1 << np.arange(_FEATURES)


@functools.cache
def _decision_table(stage: int) -> np.ndarray:
    """(phase, last_action, observation bits) -> the expert's action: :func:`_decide` evaluated once
    on every combination, so that a step of the expert costs a few NumPy calls at any batch size."""
    plan = np.array(PLANS[stage])
    shape = (len(plan), NUM_ACTIONS + 1, 2**_FEATURES)
    phase, last, bits = (grid.reshape(-1) for grid in np.indices(shape))
    seen = ((bits[:, None] >> np.arange(_FEATURES)) & 1).astype(bool)
    actions = _decide(plan[phase], phase == len(plan) - 1, last, seen)
    table = actions.reshape(shape).astype(np.int64)
    table.flags.writeable = False
    return table


def _decide(kind: np.ndarray, final: np.ndarray, last: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The expert's rules: the next action from the pass kind, whether it is the final pass, the
    last action and the observation bits ``seen`` (columns in the order ``Expression.expert`` stacks)."""
    (a_done, a_entered, b_before_blank, b_before_edge, b_blank, out_start, out_end, u_start, u_digit) = seen.T
    b_start = b_before_blank | b_before_edge  # P1 at the first digit of its operand
    finish = np.where(final, _HALT, _LOAD)
    product_right = _PRODUCT_RIGHT[kind]
    # Before a product: P1 walks on to e, then P0 onto d (P0 rests on the BLANK before d).
    prep_mul = np.where(a_done, np.where(b_before_blank, _RIGHT[0], _RIGHT[1]), _READ_A)
    operand = _OPERAND_POINTER[kind]
    prep_column = np.select(
        [~out_start, (operand == 3) & ~u_start, (operand == 0) & a_done],
        [_LEFT[2], _LEFT[3], _RIGHT[0]],
        _READ_OUT,
    )
    operand_digit = np.where(operand == 3, u_digit, ~a_done)
    successor = _SUCCESSORS[kind, last]
    codes = (
        (_PREP_MUL, prep_mul),
        (_MUL_WRITTEN, np.where(b_blank, _LEFT[1], _RIGHT[1])),
        (_MUL_B_RIGHT, np.where(a_done, prep_mul, product_right)),
        (_MUL_OUT_RIGHT, np.where(b_start, np.where(a_done, finish, _READ_A), _READ_B)),
        (_MUL_OUT_LEFT, np.where(b_start, _RIGHT[0], _LEFT[1])),
        (_MUL_A_RIGHT, np.where(a_entered, _READ_A, product_right)),
        (_PREP_COLUMN, prep_column),
        (_COLUMN_WRITTEN, np.where(out_end, finish, _RIGHT[2])),
        (_COLUMN_OUT_RIGHT, np.where(operand_digit, _OPERAND_RIGHT[kind], _READ_OUT)),
        (_MUL_DONE, np.where(b_blank, _WRITE_PRODUCT[kind], _READ_PRODUCT[kind])),
        (_WRITE_PRODUCT_CODE, _WRITE_PRODUCT[kind]),
        (_PRODUCT_LEFT_CODE, _PRODUCT_LEFT[kind]),
        (_READ_OPERAND_CODE, _READ_OPERAND[kind]),
        (_COLUMN_OP_CODE, _COLUMN_OP[kind]),
    )
    return np.select([successor == code for code, _ in codes], [value for _, value in codes], successor)


def _width(max_length: _Length) -> _Length:
    """Columns for operands of up to ``max_length`` digits (an int, or an array of them): X holds
    up to three operands, each followed by a BLANK."""
    return 3 * max_length + 3


def _multiply_steps(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Expert steps of a long multiplication of p digits by q digits."""
    return p * (10 * q + 6)


def _value_digits(digits: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits (n, 2m) of a·b + c [- d | - d·e] for operands (n, k, m), and the final carry
    (n,): -1 where the value is negative (the digits are then those of base**(2m) + value).

    Column sums, a loop over the m columns of a: time in proportion to m * m. Past
    ``LONG_OPERANDS`` digits the value is Python's, one problem at a time.
    """
    n, k, m = digits.shape
    if m > LONG_OPERANDS:
        columns = np.zeros((n, 2 * m), dtype=np.int8)
        carry = np.zeros(n, dtype=np.int64)
        for i, operands in enumerate(digits):
            a, b, c, *rest = (from_digits(x, base) for x in operands)
            value = a * b + c - (rest[0] if k == 4 else rest[0] * rest[1] if k == 5 else 0)
            carry[i] = -1 if value < 0 else 0
            result = digits_of(value + base ** (2 * m) if value < 0 else value, base)
            columns[i, : len(result)] = result
        return columns, carry
    digits = digits.astype(np.int64)
    columns = np.zeros((n, 2 * m), dtype=np.int64)  # column sums, carries not yet propagated
    for i in range(m):
        columns[:, i : i + m] += digits[:, 0, i : i + 1] * digits[:, 1]
        if k == 5:
            columns[:, i : i + m] -= digits[:, 3, i : i + 1] * digits[:, 4]
    columns[:, :m] += digits[:, 2]
    if k == 4:
        columns[:, :m] -= digits[:, 3]
    carry = np.zeros(n, dtype=np.int64)
    for j in range(2 * m):
        carry, columns[:, j] = np.divmod(columns[:, j] + carry, base)
    return columns.astype(np.int8), carry
