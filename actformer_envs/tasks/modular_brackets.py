"""ModularArithmeticBrackets: the value mod 5 of a bracketed expression of +, - and * (Chomsky
hierarchy, deterministic context-free)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

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

#: The modulus: the numbers are 0..4.
MODULUS = 5
ABSENT = -1  # (a symbol an alphabet does not have)


@dataclass(frozen=True)
class Alphabet:
    """The symbols of a bracketed expression after the numbers 0..4, as the paper encodes them."""

    plus: int
    minus: int
    times: int
    """``ABSENT`` where the expressions have no products (Solve Equation's)."""
    open: int
    close: int
    unknown: int = ABSENT
    """The unknown ``x``, a number whose value is sought (Solve Equation's)."""

    @property
    def operators(self) -> tuple[int, ...]:
        return tuple(op for op in (self.plus, self.minus, self.times) if op != ABSENT)

    def terminal(self, length: int, number: int) -> list[int]:
        """The expression of ``length`` 1 to 4 over ``number``: ``d``, ``-d``, ``(d)``, ``(-d)``."""
        return {
            1: [number],
            2: [self.minus, number],
            3: [self.open, number, self.close],
            4: [self.open, self.minus, number, self.close],
        }[length]

    def is_operator(self, symbols: Any) -> Any:
        """Whether each symbol is a binary operator (an array of bools for an array)."""
        return (symbols == self.plus) | (symbols == self.minus) | (symbols == self.times)

    def is_number(self, symbols: Any) -> Any:
        """Whether each symbol stands for a number: 0..4, or the unknown."""
        return ((symbols >= 0) & (symbols < MODULUS)) | (symbols == self.unknown)


#: Modular Arithmetic's alphabet (the paper's: numbers, 5 +, 6 -, 7 *, 8 (, 9 )).
BRACKETS = Alphabet(plus=5, minus=6, times=7, open=8, close=9)
SYMBOLS = 10

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

#: Steps of a combine beyond its reduction: MOVE P2 LEFT, READ P2->R1, MOVE P2 LEFT, READ P2->R2,
#: the arithmetic (ADD or MUL: 1; a difference, SUB, CLR, ADD, ADD: 4), CMP R0,R3.
_COMBINE_STEPS, _DIFFERENCE_STEPS = 6, 9
#: Steps before the first symbol (5 INC R3, CMP R0,R3) and, for Modular Arithmetic, after the last
#: (WRITE R0->P1, HALT).
SETUP_STEPS, FINISH_STEPS = MODULUS + 1, 2


@functools.cache
def expression_count(length: int, operators: int = 3) -> int:
    """How many expressions of ``length`` symbols the paper's grammar makes with ``operators``
    binary operators: 5 for each of ``d``, ``-d``, ``(d)``, ``(-d)`` (lengths 1 to 4), else
    ``(left op right)`` over every split."""
    if length <= 4:
        return MODULUS
    return sum(
        operators * expression_count(left, operators) * expression_count(length - 3 - left, operators)
        for left in range(1, length - 3)
    )


def unrank(length: int, index: int, alphabet: Alphabet = BRACKETS) -> list[int]:
    """Expression ``index`` of ``length`` (0 <= index < ``expression_count``): terminals by number;
    larger ones by the left part's length, then the operator, then the left and the right part's
    own indices (the right fastest)."""
    operators = alphabet.operators
    if length <= 4:
        return alphabet.terminal(length, index)
    for left in range(1, length - 3):
        right = length - 3 - left
        each = expression_count(left, len(operators)) * expression_count(right, len(operators))
        if index < len(operators) * each:
            operator, rest = divmod(index, each)
            left_index, right_index = divmod(rest, expression_count(right, len(operators)))
            return [
                alphabet.open,
                *unrank(left, left_index, alphabet),
                operators[operator],
                *unrank(right, right_index, alphabet),
                alphabet.close,
            ]
        index -= len(operators) * each
    raise ValueError(f"index out of range for length {length}")  # (callers check the count)


def parse(symbols: list[int], name: str, alphabet: Alphabet = BRACKETS, end: int | None = None) -> None:
    """``ValueError`` unless ``symbols[:end]`` is one expression of the paper's grammar: ``d``, ``-d``,
    ``(d)``, ``(-d)`` or ``(E op E)``, d a number (or the unknown) and op a binary operator."""
    end = len(symbols) if end is None else end
    legend = (
        f"numbers 0..4, operators {list(alphabet.operators)}, brackets {alphabet.open} and {alphabet.close}"
    )

    def at(index: int) -> int:  # the symbol at ``index``, -1 past the end
        return symbols[index] if index < end else -1

    def expect(index: int, wanted: str, ok: bool) -> None:
        if not ok:
            found = f"{symbols[index]} at position {index}" if index < end else "the end"
            raise ValueError(
                f"{name} problem must be an expression of the paper's grammar (d, -d, (d), (-d), (E op E); "
                f"{legend}): expected {wanted}, got {found}"
            )

    def expression(start: int) -> int:
        """The index just after the expression that starts at ``start``."""
        if at(start) == alphabet.minus:
            expect(start + 1, "a number after the sign", bool(alphabet.is_number(at(start + 1))))
            return start + 2
        if at(start) != alphabet.open:
            expect(start, "a number, a sign or (", bool(alphabet.is_number(at(start))))
            return start + 1
        inner = start + 1
        terminal = inner + (2 if at(inner) == alphabet.minus else 1)
        if (at(inner) == alphabet.minus or alphabet.is_number(at(inner))) and at(terminal) == alphabet.close:
            expression(inner)  # (d) or (-d): the sign must have its number
            return terminal + 1
        middle = expression(inner)
        expect(middle, "an operator", at(middle) in alphabet.operators)
        after = expression(middle + 1)
        expect(after, ")", at(after) == alphabet.close)
        return after + 1

    last = expression(0)
    if last != end:
        raise ValueError(
            f"{name} problem must be one expression of the paper's grammar; it ends at position {last - 1}, "
            f"before {end - last} more symbol(s)"
        )


def draw_expressions(random: BatchRandom, lengths: np.ndarray, width: int, alphabet: Alphabet) -> np.ndarray:
    """Expressions of ``lengths`` symbols (n, width; BLANK after them) drawn as the paper draws them,
    one level of the trees at a time over every row: length 1 to 4 is a terminal over a uniform
    number, a longer one ``(left op right)`` with the left part's length uniform in 1..n-4 and the
    operator uniform. Each part's draws (its number, its split, its operator) are those of its first
    column, so a row's expression does not depend on the rest of the batch."""
    operators = np.array(alphabet.operators)
    numbers = random.integers(MODULUS, width)
    splits = random.integers(2**32, width)  # raw 32-bit draws, scaled per part below
    chosen = random.integers(len(operators), width)
    inputs = np.full((len(lengths), width), BLANK, dtype=np.int64)
    row, start, length = (
        np.arange(len(lengths)),
        np.zeros(len(lengths), dtype=np.int64),
        lengths.astype(np.int64),
    )
    while len(row):
        for size in range(1, 5):
            part = length == size
            number = numbers[row[part], start[part]]
            for offset, symbol in enumerate(alphabet.terminal(size, ABSENT)):
                inputs[row[part], start[part] + offset] = number if symbol == ABSENT else symbol
        big = length > 4
        row, start, length = row[big], start[big], length[big]
        left = 1 + ((splits[row, start] * (length - 4)) >> 32)
        inputs[row, start] = alphabet.open
        inputs[row, start + 1 + left] = operators[chosen[row, start]]
        inputs[row, start + length - 1] = alphabet.close
        row = np.concatenate([row, row])
        start = np.concatenate([start + 1, start + 2 + left])
        length = np.concatenate([left, length - 3 - left])
    return inputs


def evaluate(
    inputs: np.ndarray, lengths: np.ndarray, alphabet: Alphabet, unknown: np.ndarray | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(values mod 5, the expert's steps on the symbols) of the expressions on ``inputs`` (n, width)
    of ``lengths`` symbols, the unknown (if any) taking the value ``unknown``, as the expert computes
    them, column by column over every row at once (``SETUP_STEPS`` and what follows the expression
    not counted).

    The value at hand (a number, or a part in brackets once closed) stays in R0 until an operator
    follows it; then it is pushed under the operator. Once a value is complete, while an operator is
    on top of the stack, the operator and its left operand are popped and applied."""
    n, width = inputs.shape
    rows = np.arange(n)
    stack = np.zeros((n, width + 2), dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.int64)
    steps = np.zeros(n, dtype=np.int64)
    unknown_values = np.broadcast_to(np.asarray(unknown, dtype=np.int64), (n,))

    def push(where: np.ndarray, symbols: np.ndarray) -> None:
        stack[rows[where], height[where]] = symbols[where]
        height[where] += 1

    def complete(where: np.ndarray) -> None:
        """Apply the operators on top to the value of the rows ``where``, then MOVE P0 RIGHT."""
        pending = where.copy()
        while True:
            top = stack[rows, np.maximum(height - 1, 0)]
            pending &= (height >= 2) & alphabet.is_operator(top)
            if not pending.any():
                break
            left = stack[rows, np.maximum(height - 2, 0)]
            plus, times = top == alphabet.plus, top == alphabet.times
            raw = np.select([plus, times], [left + value, left * value], left - value + MODULUS)
            cost = np.where(plus | times, _COMBINE_STEPS, _DIFFERENCE_STEPS)
            steps[pending] += (cost + 2 * (raw // MODULUS))[pending]
            value[pending] = (raw % MODULUS)[pending]
            height[pending] -= 2
        steps[where] += 1

    for column in range(width):
        symbol = inputs[:, column].astype(np.int64)
        live = column < lengths
        before = inputs[:, column - 1].astype(np.int64) if column else np.full(n, alphabet.open)
        operator = live & alphabet.is_operator(symbol)
        unary = (
            operator & (symbol == alphabet.minus) & ~alphabet.is_number(before) & (before != alphabet.close)
        )
        number = live & alphabet.is_number(symbol)
        opening, closing = live & (symbol == alphabet.open), live & (symbol == alphabet.close)
        push(opening, symbol)
        steps[opening] += 4  # READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT
        value[unary] = 0
        steps[unary] += 1  # CLR R0
        push(operator, value)
        push(operator, symbol)
        steps[operator] += (
            6  # WRITE R0->P2, MOVE P2 RIGHT, READ P0->R1, WRITE R1->P2, MOVE P2 RIGHT, MOVE P0 RIGHT
        )
        value[number] = np.where(symbol == alphabet.unknown, unknown_values, symbol)[number]
        steps[number] += 1  # READ P0->R0 (the unknown: LOAD M0->R0)
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
    ``(`` or an operator) first sets the value at hand to 0 (CLR R0), so that ``-d`` is ``0 - d``;
    a number is read (READ P0->R0) and a ``)`` pops its ``(`` (READ P0->R1, MOVE P2 LEFT): either
    completes a value, and while an operator is on top of the stack the expert pops it
    (MOVE P2 LEFT, READ P2->R1) and its left operand (MOVE P2 LEFT, READ P2->R2) and applies it to
    R0 (ADD R0,R2; MUL R0,R2; or SUB R2,R0, CLR R0, ADD R0,R2, ADD R0,R3 for left - R0 + 5),
    reducing R0 below 5 (CMP R0,R3, then SUB R0,R3 while the compare says R0 >= 5); then it moves
    on (MOVE P0 RIGHT). On the BLANK at the end it writes R0 (WRITE R0->P1) and HALTs.

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
    #: The expressions' symbols.
    notation: Alphabet = BRACKETS
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
    allowed_instructions: ClassVar[tuple[str, ...]] = (
        "INC R3", "READ P0->R0", "READ P0->R1", "READ P2->R1", "READ P2->R2", "CLR R0", "WRITE R1->P2",
        "WRITE R0->P2", "WRITE R0->P1", "ADD R0,R2", "ADD R0,R3", "SUB R2,R0", "SUB R0,R3",
        "MUL R0,R2", "CMP R0,R3", "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P2 LEFT", "MOVE P2 RIGHT",
        "HALT",
    )  # fmt: skip

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        """The paper's recursive draw (:func:`draw_expressions`)."""
        return self._pose(draw_expressions(random, lengths, width, self.notation).astype(np.int8), lengths)

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
        for operator in self.notation.operators:
            for number, sign in ((4, False), (0, True), (4, True)):
                for nest_left in (True, False):
                    families.append(self._chain(length, operator, number, sign, nest_left))
        return distinct([family for family in families if family is not None])

    def _chain(
        self, length: int, operator: int, number: int, sign: bool, nest_left: bool
    ) -> list[int] | None:
        """``(((t op t) op t) ...)`` (or nested to the right) of exactly ``length`` symbols, the
        terms ``t`` = ``number`` or ``-number`` (``sign``), started from the terminal that makes the
        lengths fit; None where none does."""
        a = self.notation
        term = [a.minus, number] if sign else [number]
        for size in (len(term), 1, 2, 3, 4):
            expression = a.terminal(size, number)
            while len(expression) + 3 + len(term) <= length:
                parts = (expression, [operator], term) if nest_left else (term, [operator], expression)
                expression = [a.open, *parts[0], *parts[1], *parts[2], a.close]
            if len(expression) == length:
                return expression
        return None

    def _check(self, problem: Any) -> list[int]:
        """The posed input as a list of ints; ``ValueError`` unless it is an expression of the grammar."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        parse(symbols, self.name, self.notation)
        return symbols

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        value, _ = evaluate(inputs, lengths, self.notation)
        target = np.full_like(inputs, BLANK)
        target[:, 0] = value
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return SETUP_STEPS + evaluate(inputs, lengths, self.notation)[1] + FINISH_STEPS

    def complete(self, view: ObservationView) -> np.ndarray:
        """Once a value is complete: pop the operator on top of the stack, if any, else move on."""
        return np.where(self.notation.is_operator(view.left(P2)), _DOWN, _NEXT)

    def dispatch(self, view: ObservationView) -> np.ndarray:
        """The first action on the input symbol under ``P0``."""
        a = self.notation
        under, before = view.under(P0), view.left(P0)
        unary = (under == a.minus) & ~(a.is_number(before) | (before == a.close))
        return np.select(
            [under == BLANK, a.is_number(under), under == a.close, unary, under == a.open],
            [_WRITE, _READ_NUMBER, _READ_SYMBOL, _ZERO, _READ_SYMBOL],
            default=_PUSH_VALUE,  # a binary operator: the value at hand goes under it
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        a = self.notation
        last = view.last_action
        under, top = view.under(P0), view.left(P2)
        symbol = view.register(_R1)  # the operator being applied, or the last symbol read
        complete, dispatch = self.complete(view), self.dispatch(view)
        return np.select(
            [
                (last == NO_ACTION) | ((last == _FIVE) & (view.register(_R3) < MODULUS)),
                last == _FIVE,  # 5 built: compare R0 = 0 with it once, so the compare reads -1 from here on
                last == _NEXT,
                last == _READ_NUMBER,
                (last == _READ_SYMBOL) & (under == a.close),
                last == _READ_SYMBOL,
                (last == _ZERO) & (under == a.minus),
                (last == _PUSH_SYMBOL) | (last == _PUSH_VALUE),
                (last == _UP) & (top < MODULUS),
                last == _UP,
                (last == _DOWN) & (top < MODULUS),
                (last == _DOWN) & (symbol == a.close),
                last == _DOWN,
                last == _READ_OPERATOR,
                (last == _READ_LEFT) & (symbol == a.plus),
                (last == _READ_LEFT) & (symbol == a.times),
                last == _READ_LEFT,
                (last == _ADD) & (symbol == a.minus),
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
