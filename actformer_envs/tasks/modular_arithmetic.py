"""ModularArithmetic: the value mod 5 of an expression of +, - and * (Chomsky hierarchy, regular)."""

from __future__ import annotations

from typing import Any

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, distinct, index_digits
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

#: The modulus, and the operators' symbols after the numbers 0..4 (the paper's encoding).
MODULUS = 5
PLUS, MINUS, TIMES = 5, 6, 7
SYMBOLS = 8

_I = instruction_index
_FIVE = _I("INC R3")  # R3 = 5, the modulus, built once
_READ_TERM, _READ_FACTOR = _I("READ P0->R1"), _I("READ P0->R2")
_NEXT = _I("MOVE P0 RIGHT")
_FOLD = _I("ADD R0,R1")  # the sum so far (R0) takes the finished term (R1)
_TEST_SUM, _REDUCE_SUM = _I("CMP R0,R3"), _I("SUB R0,R3")
_CLEAR_TERM, _TERM_FIVE, _NEGATE = _I("CLR R1"), _I("ADD R1,R3"), _I("SUB R1,R2")  # R1 = 5 - x
_MULTIPLY = _I("MUL R1,R2")
_TEST_TERM, _REDUCE_TERM = _I("CMP R1,R3"), _I("SUB R1,R3")
_WRITE = _I("WRITE R0->P1")
_HALT = _I("HALT")
_R3 = 3


#: The discrete logarithm base 2 of the residues 1..4 mod 5 (2 generates them: 1, 2, 4, 3), and back.
_LOG = np.array([0, 0, 1, 3, 2])
_POWER = np.array([1, 2, 4, 3])
_MINUS_ONE_LOG = 2  # -1 = 4 = 2**2 mod 5


def run_programs(inputs: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values mod 5, the expert's steps) of expressions of ``terms`` numbers, (n,) each, as the
    expert computes them: a sum of finished terms and a current term, both kept below 5.

    No loop over the symbols: a term's running product mod 5 is 0 once a factor is 0, else 2 to the
    sum of its factors' logarithms (a minus sign adds the logarithm of -1), summed within each term
    from a cumulative sum; the sum before each fold is a cumulative sum over the terms' values."""
    width = int(terms.max(initial=1))
    numbers = inputs[:, : 2 * width - 1 : 2].astype(np.int64)  # (n, width): number i of each row
    live = np.arange(width) < terms[:, None]
    numbers = np.where(live, numbers, 1)
    operators = np.full(numbers.shape, PLUS, dtype=np.int64)  # (the operator before number i)
    operators[:, 1:] = inputs[:, 1 : 2 * width - 2 : 2]
    operators = np.where(live, operators, PLUS)
    starts = operators != TIMES  # number i starts a term (number 0 too: PLUS before it)
    columns = np.arange(width)
    start_of = np.maximum.accumulate(np.where(starts, columns, 0), axis=1)  # each number's term start

    def within_term(values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` from each number's term start to it (inclusive)."""
        total = np.cumsum(values, axis=1)
        before = np.take_along_axis(total - values, start_of, axis=1)
        return total - before

    logs = _LOG[numbers] + np.where(operators == MINUS, _MINUS_ONE_LOG, 0)
    zeros = within_term((numbers == 0).astype(np.int64))
    running = np.where(zeros > 0, 0, _POWER[within_term(logs) % 4])  # the term after number i
    ends = np.zeros_like(starts)
    ends[:, :-1] = starts[:, 1:]
    ends |= columns == (terms - 1)[:, None]
    ends &= live
    values = np.where(ends, running, 0)  # each finished term's value, where it ends
    before_fold = (np.cumsum(values, axis=1) - values) % MODULUS
    fold_steps = np.where(ends, 2 + 2 * ((before_fold + values) // MODULUS), 0)  # ADD, CMP (SUB, CMP)
    previous = np.ones_like(running)
    previous[:, 1:] = running[:, :-1]
    later = live & (columns > 0)
    number_steps = np.select(
        [operators == PLUS, operators == MINUS],
        [3, 7 + 2 * (numbers == 0)],  # MOVE, READ, MOVE; MOVE, READ, CLR, ADD, SUB, CMP (SUB, CMP), MOVE
        default=5 + 2 * ((previous * numbers) // MODULUS),  # MOVE, READ, MUL, CMP (SUB, CMP), MOVE
    )
    steps = MODULUS + 2 + (fold_steps.sum(axis=1) + np.where(later, number_steps, 0).sum(axis=1)) + 2
    return values.sum(axis=1) % MODULUS, steps


class ModularArithmetic(SequenceTask):
    """``Actformer/ModularArithmetic-v0``: the value mod 5 of ``a op b op c ...``, op in +, -, *.

    ## Description
    The *Modular Arithmetic (Simple)* task of Delétang et al. (2023), "Neural Networks and the
    Chomsky Hierarchy" (a regular language). ``IN`` holds n numbers in 0..4 with an operator
    between each two, 5 (+), 6 (-) or 7 (*), the paper's encoding, then a BLANK (2n - 1 symbols:
    the paper's length L is 2n - 1); write the expression's value mod 5, with the usual precedence
    (products first), into the first cell of ``OUT``. The length of a problem is n, its numbers.
    The alphabet holds 8 symbols, so the machine's base is 8 and CARRY would reduce mod 8: the
    expert reduces mod 5 by compare and subtract instead, with 5 built in R3.

    ## Action Space
    The shared ``Discrete(139)`` table; this task allows INC R3, READ P0->R1/R2, MOVE P0,
    ADD R0,R1, ADD R1,R3, SUB R0,R3, SUB R1,R3, SUB R1,R2, MUL R1,R2, CMP R0,R3, CMP R1,R3,
    CLR R1, WRITE R0->P1 and HALT.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one symbol (0..4) on ``OUT``.

    ## Starting State
    As the paper draws them: n uniform numbers in 0..4 and n - 1 uniform operators.
    ``options={"problem": [1, 5, 2, 7, 3]}`` (1 + 2 * 3) poses yours.

    ## Episode End
    HALT, or twice the expert's program length. The expert builds 5 in R3 (5 INC R3), keeps the sum
    of finished terms in R0 and the current term in R1, both below 5, and reads the operator before
    a number as the cell left of ``P0``. It reads the first number into R1 (READ P0->R1), then moves
    right (MOVE P0 RIGHT) from cell to cell: on + or - (and on the BLANK at the end) it adds the term
    to the sum (ADD R0,R1) and reduces it (CMP R0,R3, then SUB R0,R3 while the compare says R0 >= 5);
    on * it moves on. On a number after +, the number is the new term (READ P0->R1); after -, the
    term is 5 - the number (READ P0->R2, CLR R1, ADD R1,R3, SUB R1,R2, reduced as the sum is); after
    *, the term times the number (READ P0->R2, MUL R1,R2, reduced). At the end it writes the sum
    (WRITE R0->P1) and HALTs. Steps: 5 + 2, then per further number 3 (+), 7 (-) or 5 (*) plus the
    reductions (2 per fold and per reduced term, and 2 per 5 taken off), then 2 for the last fold,
    its reduction, WRITE and HALT.

    ## Arguments
    ``base`` must be 8 (numbers 0..4 and three operators); lengths default to 1..10.

    ## Registered Configurations
    ``Actformer/ModularArithmetic-v0``.

    ## Version History
    v0: initial release.
    """

    name = "ModularArithmetic"
    reads = ExpertReads(
        values=(
            "last_action",
            "symbols[P0.under]",
            "symbols[P0.left]",
            "registers[R3]",
            "flags[compare]",
        )
    )
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one number 0..4)
    recipe = Recipe(5, (5, 50, 500), 200)
    default_base = SYMBOLS
    base_range = (SYMBOLS, SYMBOLS)
    allowed_instructions = (
        "INC R3", "READ P0->R1", "READ P0->R2", "MOVE P0 LEFT", "MOVE P0 RIGHT", "ADD R0,R1",
        "ADD R1,R3", "SUB R0,R3", "SUB R1,R3", "SUB R1,R2", "MUL R1,R2", "CMP R0,R3", "CMP R1,R3",
        "CLR R1", "WRITE R0->P1", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return 2 * max_length

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        numbers = random.integers(MODULUS, width)
        operators = PLUS + random.integers(3, width)
        inputs = np.where(np.arange(width) % 2 == 0, numbers, operators)
        cells = 2 * lengths - 1
        inputs = np.where(np.arange(width) < cells[:, None], inputs, BLANK).astype(np.int8)
        return self._pose(inputs, cells)

    def problem_length(self, problem: Any) -> int:
        return (len(self._check(problem)) + 1) // 2

    def encode(self, problem: Any, width: int) -> Problems:
        return super().encode(self._check(problem), width)

    def problem_count(self, length: int) -> int:
        return MODULUS**length * 3 ** (length - 1)

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The numbers in ``itertools.product`` order, for each the operators in that order."""

        def rows_at(indices: np.ndarray) -> np.ndarray:
            operators = 3 ** (length - 1)
            numbers = index_digits(indices // operators, MODULUS, length)
            rows = np.empty((len(indices), 2 * length - 1), dtype=np.int64)
            rows[:, ::2] = numbers
            rows[:, 1::2] = PLUS + index_digits(indices % operators, 3, length - 1)
            return rows

        return self._sequences(length, count, rows_at, cells=2 * length - 1)

    def adversarial_problems(self, length: int) -> list[Any]:
        """One operator throughout, over 4s (the largest products and sums) and over 0s, and the
        operators in turn over alternating 4s and 1s."""
        families = []
        for numbers in ([4] * length, [0] * length, [4 if i % 2 else 1 for i in range(length)]):
            for operators in ([PLUS], [MINUS], [TIMES], [PLUS, MINUS, TIMES]):
                row = [numbers[0]]
                for i in range(1, length):
                    row += [operators[(i - 1) % len(operators)], numbers[i]]
                families.append(row)
        return distinct(families)

    def _check(self, problem: Any) -> list[int]:
        """The posed input as a list of ints; ``ValueError`` unless numbers and operators alternate."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        for i, symbol in enumerate(symbols):
            if (symbol < MODULUS) != (i % 2 == 0):
                raise ValueError(
                    f"{self.name} problem must alternate numbers (0..4) and operators (5 +, 6 -, 7 *), "
                    f"starting and ending with a number; got {symbol} at position {i}"
                )
        if len(symbols) % 2 == 0:
            raise ValueError(f"{self.name} problem must end with a number, got {symbols!r}")
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The value; ``lengths`` are the inputs' cells (2n - 1)."""
        value, _ = run_programs(inputs, (lengths + 1) // 2)
        target = np.full_like(inputs, BLANK)
        target[:, 0] = value
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return run_programs(inputs, (lengths + 1) // 2)[1]

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        under, before = view.under(P0), view.left(P0)
        at_least_five = view.compare >= 0
        on_fold = (under == PLUS) | (under == MINUS) | (under == BLANK)
        on_number = under < MODULUS
        return np.select(
            [
                (last == NO_ACTION) | ((last == _FIVE) & (view.register(_R3) < MODULUS)),
                last == _FIVE,
                (last == _TEST_SUM) & at_least_five,
                (last == _TEST_SUM) & (under == BLANK),
                (last == _TEST_TERM) & at_least_five,
                (last == _REDUCE_SUM),
                (last == _FOLD),
                (last == _REDUCE_TERM) | (last == _NEGATE) | (last == _MULTIPLY),
                last == _CLEAR_TERM,
                last == _TERM_FIVE,
                (last == _READ_FACTOR) & (before == MINUS),
                last == _READ_FACTOR,
                last == _WRITE,
                (last == _NEXT) & on_fold,
                (last == _NEXT) & on_number & (before == PLUS),
                (last == _NEXT) & on_number,
            ],
            [
                _FIVE,
                _READ_TERM,
                _REDUCE_SUM,
                _WRITE,
                _REDUCE_TERM,
                _TEST_SUM,
                _TEST_SUM,
                _TEST_TERM,
                _TERM_FIVE,
                _NEGATE,
                _CLEAR_TERM,
                _MULTIPLY,
                _HALT,
                _FOLD,
                _READ_TERM,
                _READ_FACTOR,
            ],
            default=_NEXT,  # after READ P0->R1, a reduced sum on + or -, a reduced term, and on *
        )
