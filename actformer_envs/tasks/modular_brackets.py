"""ModularArithmeticBrackets: the value mod 5 of a bracketed expression of +, - and * (Chomsky
hierarchy, deterministic context-free)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, P2, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, distinct
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.tasks.text import SymbolString

#: The modulus, and the other symbols after the numbers 0..4 (the paper's encoding).
MODULUS = 5
PLUS, MINUS, TIMES, OPEN, CLOSE = 5, 6, 7, 8, 9
SYMBOLS = 10
OPERATORS = (PLUS, MINUS, TIMES)
#: The expressions of lengths 1 to 4 by length: ``d``, ``-d``, ``(d)``, ``(-d)`` (None: the number).
TERMINALS: dict[int, tuple[int | None, ...]] = {
    1: (None,),
    2: (MINUS, None),
    3: (OPEN, None, CLOSE),
    4: (OPEN, MINUS, None, CLOSE),
}

_I = instruction_index
_FIVE = _I("INC R3")  # R3 = 5, the modulus, built once
_READ_NUMBER, _READ_SYMBOL, _ZERO = _I("READ P0->R0"), _I("READ P0->R1"), _I("CLR R0")
_PUSH_SYMBOL, _PUSH_VALUE = _I("WRITE R1->P2"), _I("WRITE R0->P2")
_UP, _DOWN = _I("MOVE P2 RIGHT"), _I("MOVE P2 LEFT")
_NEXT = _I("MOVE P0 RIGHT")
_READ_OPERATOR, _READ_LEFT = _I("READ P2->R1"), _I("READ P2->R2")
_ADD, _MULTIPLY, _DIFFERENCE = _I("ADD R0,R2"), _I("MUL R0,R2"), _I("SUB R2,R0")
_ADD_FIVE = _I("ADD R0,R3")
_TEST, _REDUCE = _I("CMP R0,R3"), _I("SUB R0,R3")
_WRITE, _HALT = _I("WRITE R0->P1"), _I("HALT")
_R1, _R3 = 1, 3

#: Steps of a combine beyond its reduction, by operator: MOVE P2 LEFT, READ P2->R1, MOVE P2 LEFT,
#: READ P2->R2, the arithmetic (ADD; SUB, CLR, ADD, ADD; MUL), CMP R0,R3.
_COMBINE_STEPS = {PLUS: 6, MINUS: 9, TIMES: 6}


@functools.cache
def expression_count(length: int) -> int:
    """How many expressions of ``length`` symbols the paper's grammar makes: 5 terminals for each of
    ``d``, ``-d``, ``(d)``, ``(-d)`` (lengths 1 to 4), else ``(left op right)`` over every split."""
    if length <= 4:
        return MODULUS
    return sum(
        3 * expression_count(left) * expression_count(length - 3 - left) for left in range(1, length - 3)
    )


def unrank(length: int, index: int) -> list[int]:
    """Expression ``index`` of ``length`` (0 <= index < ``expression_count(length)``): terminals by
    digit; larger ones by the left part's length, then the operator, then the left and the right
    part's own indices (the right fastest)."""
    if length in TERMINALS:
        return [index if symbol is None else symbol for symbol in TERMINALS[length]]
    for left in range(1, length - 3):
        right = length - 3 - left
        block = 3 * expression_count(left) * expression_count(right)
        if index < block:
            operator, rest = divmod(index, expression_count(left) * expression_count(right))
            left_index, right_index = divmod(rest, expression_count(right))
            return [OPEN, *unrank(left, left_index), OPERATORS[operator], *unrank(right, right_index), CLOSE]
        index -= block
    raise ValueError(f"index out of range for length {length}")  # (callers check the count)


def parse(symbols: list[int], name: str) -> None:
    """``ValueError`` unless ``symbols`` is an expression of the paper's grammar: ``d``, ``-d``,
    ``(d)``, ``(-d)`` or ``(E op E)``, d a number 0..4 and op one of 5 (+), 6 (-), 7 (*)."""

    def at(index: int) -> int:  # the symbol at ``index``, -1 past the end
        return symbols[index] if index < len(symbols) else -1

    def expect(index: int, wanted: str, ok: bool) -> None:
        if not ok:
            found = f"{symbols[index]} at position {index}" if index < len(symbols) else "the end"
            raise ValueError(
                f"{name} problem must be an expression of the paper's grammar (d, -d, (d), (-d), (E op E); "
                f"numbers 0..4, 5 +, 6 -, 7 *, 8 (, 9 )): expected {wanted}, got {found}"
            )

    def expression(start: int) -> int:
        """The index just after the expression that starts at ``start``."""
        if at(start) == MINUS:
            expect(start + 1, "a number after the sign", 0 <= at(start + 1) < MODULUS)
            return start + 2
        if at(start) != OPEN:
            expect(start, "a number, a sign or (", 0 <= at(start) < MODULUS)
            return start + 1
        inner = start + 1
        terminal = inner + (2 if at(inner) == MINUS else 1)
        if (at(inner) == MINUS or 0 <= at(inner) < MODULUS) and at(terminal) == CLOSE:
            expression(inner)  # (d) or (-d): the sign must have its number
            return terminal + 1
        middle = expression(inner)
        expect(middle, "an operator", at(middle) in OPERATORS)
        end = expression(middle + 1)
        expect(end, ")", at(end) == CLOSE)
        return end + 1

    end = expression(0)
    if end != len(symbols):
        raise ValueError(
            f"{name} problem must be one expression of the paper's grammar; it ends at position {end - 1}, "
            f"before {len(symbols) - end} more symbol(s)"
        )


def run_programs(inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values mod 5, the expert's steps) of the expressions on ``inputs`` (n, width) of ``lengths``
    symbols, as the expert computes them, column by column over every row at once.

    The value at hand (a number, or a part in brackets once closed) stays in R0 until an operator
    follows it; then it is pushed under the operator. Once a value is complete, while an operator is
    on top of the stack, the operator and its left operand are popped and applied."""
    n, width = inputs.shape
    rows = np.arange(n)
    stack = np.zeros((n, width + 2), dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.int64)
    steps = np.full(n, MODULUS + 3, dtype=np.int64)  # 5 INC R3, CMP R0,R3; WRITE R0->P1, HALT

    def push(where: np.ndarray, symbols: np.ndarray) -> None:
        stack[rows[where], height[where]] = symbols[where]
        height[where] += 1

    def complete(where: np.ndarray) -> None:
        """Apply the operators on top to the value of the rows ``where``, then MOVE P0 RIGHT."""
        pending = where.copy()
        while True:
            top = stack[rows, np.maximum(height - 1, 0)]
            pending &= (height >= 2) & (top >= PLUS) & (top <= TIMES)
            if not pending.any():
                break
            left = stack[rows, np.maximum(height - 2, 0)]
            plus, times = top == PLUS, top == TIMES
            raw = np.select([plus, times], [left + value, left * value], left - value + MODULUS)
            cost = np.select(
                [plus, times], [_COMBINE_STEPS[PLUS], _COMBINE_STEPS[TIMES]], _COMBINE_STEPS[MINUS]
            )
            steps[pending] += (cost + 2 * (raw // MODULUS))[pending]
            value[pending] = (raw % MODULUS)[pending]
            height[pending] -= 2
        steps[where] += 1

    for column in range(width):
        symbol = inputs[:, column].astype(np.int64)
        live = column < lengths
        before = inputs[:, column - 1].astype(np.int64) if column else np.full(n, OPEN)
        operator = live & (symbol >= PLUS) & (symbol <= TIMES)
        unary = operator & (symbol == MINUS) & (before >= MODULUS) & (before != CLOSE)
        number = live & (symbol < MODULUS)
        opening, closing = live & (symbol == OPEN), live & (symbol == CLOSE)
        push(opening, symbol)
        steps[opening] += 4  # READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT
        value[unary] = 0
        steps[unary] += 1  # CLR R0
        push(operator, value)
        push(operator, symbol)
        steps[operator] += (
            6  # WRITE R0->P2, MOVE P2 RIGHT, READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT
        )
        value[number] = symbol[number]
        steps[number] += 1  # READ P0->R0
        height[closing] -= 1  # its "("
        steps[closing] += 2  # READ P0->R1, MOVE P2 LEFT
        complete(number | closing)
    return value, steps


class ModularArithmeticBrackets(SequenceTask):
    """``Actformer/ModularArithmeticBrackets-v0``: the value mod 5 of a bracketed expression.

        ## Description
        The *Modular Arithmetic* task (with brackets) of Delétang et al. (2023), "Neural Networks and
        the Chomsky Hierarchy" (deterministic context-free), with multiplication as the paper runs it.
        ``IN`` holds an expression of the paper's grammar, ``d``, ``-d``, ``(d)``, ``(-d)`` or
        ``(E op E)``, in the paper's encoding: numbers 0..4, 5 (+), 6 (-), 7 (*), 8 ( and 9 ), then a
        BLANK; write its value mod 5 into the first cell of ``OUT``. The length of a problem is its
        number of symbols, the paper's length. The work row ``STACK`` is the machine's stack.

        ## Action Space
        The shared ``Discrete(139)`` table; this task allows INC R3, READ P0->R0, READ P0->R1,
        READ P2->R1, READ P2->R2, CLR R0, WRITE R1->P2, WRITE R0->P2, WRITE R0->P1, ADD R0,R2,
        ADD R0,R3, SUB R2,R0, SUB R0,R3, MUL R0,R2, CMP R0,R3, MOVE of P0 and P2, and HALT.

        ## Observation Space
        As ``ActformerEnv``.

        ## Rewards
        As ``ActformerEnv``; the target is one symbol (0..4) on ``OUT``.

        ## Starting State
        As the paper draws them: length 1 to 4 is ``d``, ``-d``, ``(d)``, ``(-d)`` with d uniform in
        0..4; a longer one is ``(left op right)``, the left part's length uniform in 1..n-4, the
        operator uniform. ``options={"problem": [8, 1, 5, 2, 9]}`` ((1 + 2)) poses yours.

        ## Episode End
        HALT, or twice the expert's program length. ``P0`` reads ``IN``, ``P2`` marks the top of the
        stack on ``STACK`` (the cell above it), ``P1`` writes ``OUT``; R3 holds 5, R0 the value at hand,
        R1 the last symbol read, R2 a left operand. The expert builds 5 in R3 (5 INC R3) and compares R0
    with it once (CMP R0,R3: the compare reads -1 from then on, as after every reduction), then per
        input symbol: a ``(`` is pushed (READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT); a
        binary operator goes on the stack with the value at hand under it (WRITE R0->P2, MOVE P2 RIGHT,
        READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT); a unary minus (at the start, or after
        ``(`` or an operator) first sets the value at hand to 0 (CLR R0), so that ``-d`` is
        ``0 - d``; a number is read (READ P0->R0) and a ``)`` pops its ``(`` (READ P0->R1,
        MOVE P2 LEFT): either completes a value, and while an operator is on top of the stack the
        expert pops it (MOVE P2 LEFT, READ P2->R1) and its left operand (MOVE P2 LEFT, READ P2->R2) and
        applies it to R0 (ADD R0,R2; MUL R0,R2; or SUB R2,R0, CLR R0, ADD R0,R2, ADD R0,R3 for
        left - R0 + 5), reducing R0 below 5 (CMP R0,R3, then SUB R0,R3 while the compare says
        R0 >= 5); then it moves on (MOVE P0 RIGHT). On the BLANK at the end it writes R0
        (WRITE R0->P1) and HALTs.

        ## Arguments
        ``base`` must be 10 (numbers 0..4, three operators, two brackets); lengths default to 1..10.

        ## Registered Configurations
        ``Actformer/ModularArithmeticBrackets-v0``.

        ## Version History
        v0: initial release.
    """

    name = "ModularArithmeticBrackets"
    rows = ("IN", "OUT", "STACK")
    pointer_rows = (0, 1, 2, None)
    reads = ExpertReads(
        values=(
            "last_action",
            "symbols[P0.left]",
            "symbols[P0.under]",
            "symbols[P2.left]",
            "registers[R1]",
            "registers[R3]",
            "flags[compare]",
        )
    )
    answer_is_one_symbol = True
    text_format = SymbolString(single_symbol_answer=True)  # (the answer: one number 0..4)
    recipe = Recipe(20, (20, 200, 500), 200)  # (what the expert reads closes from length 20)
    default_base = SYMBOLS
    base_range = (SYMBOLS, SYMBOLS)
    allowed_instructions = (
        "INC R3", "READ P0->R0", "READ P0->R1", "READ P2->R1", "READ P2->R2", "CLR R0", "WRITE R1->P2",
        "WRITE R0->P2", "WRITE R0->P1", "ADD R0,R2", "ADD R0,R3", "SUB R2,R0", "SUB R0,R3",
        "MUL R0,R2", "CMP R0,R3", "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P2 LEFT", "MOVE P2 RIGHT",
        "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        """The paper's recursive draw, one level of the expressions' trees at a time over every row:
        each part's draws (its digit, its split, its operator) are those of its first column, so a
        row's problem does not depend on the rest of the batch."""
        digits = random.integers(MODULUS, width)
        splits = random.integers(2**32, width)  # raw 32-bit draws, scaled per part below
        operators = random.integers(3, width)
        inputs = np.full((len(lengths), width), BLANK, dtype=np.int64)
        row, start, length = (
            np.arange(len(lengths)),
            np.zeros(len(lengths), dtype=np.int64),
            lengths.astype(np.int64),
        )
        while len(row):
            small = length <= 4
            for size, layout in TERMINALS.items():
                part = small & (length == size)
                for offset, symbol in enumerate(layout):
                    inputs[row[part], start[part] + offset] = (
                        digits[row[part], start[part]] if symbol is None else symbol
                    )
            big = ~small
            row, start, length = row[big], start[big], length[big]
            left = 1 + ((splits[row, start] * (length - 4)) >> 32)
            inputs[row, start] = OPEN
            inputs[row, start + 1 + left] = PLUS + operators[row, start]
            inputs[row, start + length - 1] = CLOSE
            row = np.concatenate([row, row])
            start = np.concatenate([start + 1, start + 2 + left])
            length = np.concatenate([left, length - 3 - left])
        return self._pose(inputs.astype(np.int8), lengths)

    def encode(self, problem: Any, width: int) -> Problems:
        return super().encode(self._check(problem), width)

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem))

    def problem_count(self, length: int) -> int:
        return expression_count(length)

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The expressions in :func:`unrank`'s order."""
        return self._sequences(
            length, count, lambda indices: np.array([unrank(length, int(i)) for i in indices])
        )

    def adversarial_problems(self, length: int) -> list[Any]:
        """Nested to the left and to the right with one operator throughout over 4s (the largest
        products and sums), subtractions of 0s and of 4s (every sign of left - right), and unary
        minus wherever it fits."""
        families = []
        for operator in OPERATORS:
            for number, sign in ((4, False), (0, True), (4, True)):
                families.append(self._chain(length, operator, number, sign, nest_left=True))
                families.append(self._chain(length, operator, number, sign, nest_left=False))
        return distinct([family for family in families if family is not None])

    @staticmethod
    def _chain(length: int, operator: int, number: int, sign: bool, nest_left: bool) -> list[int] | None:
        """``(((t op t) op t) ...)`` (or nested to the right) of exactly ``length`` symbols, the
        terms ``t`` = ``number`` or ``-number`` (``sign``), padded by one ``(t)`` where the lengths
        do not divide; None where no such expression exists."""
        term = [MINUS, number] if sign else [number]
        for terminal in (term, [OPEN, *term, CLOSE], [number], [MINUS, number], [OPEN, number, CLOSE]):
            expression = list(terminal)
            while len(expression) + 3 + len(term) <= length:
                parts = [expression, [operator], term] if nest_left else [term, [operator], expression]
                expression = [OPEN, *parts[0], *parts[1], *parts[2], CLOSE]
            if len(expression) == length:
                return expression
        return None

    def _check(self, problem: Any) -> list[int]:
        """The posed input as a list of ints; ``ValueError`` unless it is an expression of the grammar."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        parse(symbols, self.name)
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        value, _ = run_programs(inputs, lengths)
        target = np.full_like(inputs, BLANK)
        target[:, 0] = value
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return run_programs(inputs, lengths)[1]

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        under, before, top = view.under(P0), view.left(P0), view.left(P2)
        symbol = view.register(_R1)  # the operator being applied, or the last symbol read
        operator_on_top = (top >= PLUS) & (top <= TIMES)
        complete = np.where(operator_on_top, _DOWN, _NEXT)
        unary = (under == MINUS) & ~((before < MODULUS) | (before == CLOSE))
        dispatch = np.select(
            [under == BLANK, under < MODULUS, under == CLOSE, unary, under == OPEN],
            [_WRITE, _READ_NUMBER, _READ_SYMBOL, _ZERO, _READ_SYMBOL],
            default=_PUSH_VALUE,  # a binary operator: the value at hand goes under it
        )
        return np.select(
            [
                (last == NO_ACTION) | ((last == _FIVE) & (view.register(_R3) < MODULUS)),
                last == _FIVE,  # 5 built: compare R0 = 0 with it once, so the compare reads -1 from here on
                last == _NEXT,
                last == _READ_NUMBER,
                (last == _READ_SYMBOL) & (under == CLOSE),
                last == _READ_SYMBOL,
                (last == _ZERO) & (under == MINUS),
                (last == _PUSH_SYMBOL) | (last == _PUSH_VALUE),
                (last == _UP) & (top < MODULUS),
                last == _UP,
                (last == _DOWN) & (top < MODULUS),
                (last == _DOWN) & (symbol == CLOSE),
                last == _DOWN,
                last == _READ_OPERATOR,
                (last == _READ_LEFT) & (symbol == PLUS),
                (last == _READ_LEFT) & (symbol == TIMES),
                last == _READ_LEFT,
                (last == _ADD) & (symbol == MINUS),
                (last == _ADD) | (last == _MULTIPLY) | (last == _ADD_FIVE) | (last == _REDUCE),
                last == _DIFFERENCE,
                last == _ZERO,
                (last == _TEST) & (view.compare >= 0),
                (last == _TEST) & (symbol == 0),  # the first compare (R1 is 0 until a symbol is read)
                last == _TEST,
                last == _WRITE,
            ],
            [
                _FIVE,
                _TEST,
                dispatch,
                complete,
                _DOWN,  # ")": its "(" popped
                _PUSH_SYMBOL,
                _PUSH_VALUE,  # a unary minus: 0 goes under it
                _UP,
                _READ_SYMBOL,  # a value pushed: its operator next
                _NEXT,
                _READ_OPERATOR,  # onto an operator: the left operand is on top
                complete,  # a "(" popped
                _READ_LEFT,  # onto the left operand
                _DOWN,
                _ADD,
                _MULTIPLY,
                _DIFFERENCE,
                _ADD_FIVE,
                _TEST,
                _ZERO,
                _ADD,  # CLR R0 of a subtraction: R0 = left - value + 5
                _REDUCE,
                dispatch,
                complete,
                _HALT,
            ],
            default=_HALT,
        )
