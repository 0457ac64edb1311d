"""SolveEquation: the unknown ``x`` of a bracketed equation mod 5 (Chomsky hierarchy, deterministic
context-free)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Enumeration, Problems, check_sequence, distinct
from actformer_envs.tasks.modular_brackets import (
    ABSENT,
    FINISH_STEPS,
    MODULUS,
    SETUP_STEPS,
    Alphabet,
    ModularArithmeticBrackets,
    draw_expressions,
    evaluate,
    expression_count,
    parse,
    unrank,
)
from actformer_envs.tasks.recipe import Recipe

#: Solve Equation's alphabet (the paper's: numbers, 5 +, 6 -, 7 (, 8 ), 9 x; no products).
UNKNOWN_BRACKETS = Alphabet(plus=5, minus=6, times=ABSENT, open=7, close=8, unknown=9)
#: The equals sign between the expression and its value.
EQUALS = 10
SYMBOLS = 11

_I = instruction_index
_READ_VALUE = _I("READ P0->R1")  # the value after "=" (as the brackets' READ P0->R1)
_CHECK = _I("CMP R0,R1")
_LOAD_X, _LOAD_TRIED, _TRY_NEXT, _STORE_TRIED = (
    _I("LOAD M0->R0"),
    _I("LOAD M0->R2"),
    _I("INC R2"),
    _I("STORE R2->M0"),
)
_BACK, _NEXT = _I("MOVE P0 LEFT"), _I("MOVE P0 RIGHT")
_WRITE = _I("WRITE R0->P1")
#: Steps at "=" after each pass: MOVE P0 RIGHT, READ P0->R1, CMP R0,R1; after a wrong value, before
#: the rewind: LOAD M0->R2, INC R2, STORE R2->M0.
_CHECK_STEPS, _NEXT_VALUE_STEPS = 3, 3


@functools.cache
def unknown_count(length: int) -> int:
    """How many expressions of ``length`` symbols over + and - hold the unknown exactly once, in
    place of one number: one for each of ``x``, ``-x``, ``(x)``, ``(-x)``, else ``(left op right)``
    with the unknown in one part."""
    if length <= 4:
        return 1
    return sum(
        2
        * (
            unknown_count(left) * expression_count(length - 3 - left, 2)
            + expression_count(left, 2) * unknown_count(length - 3 - left)
        )
        for left in range(1, length - 3)
    )


def unrank_unknown(length: int, index: int, alphabet: Alphabet = UNKNOWN_BRACKETS) -> list[int]:
    """Expression ``index`` of ``length`` with one unknown (0 <= index < ``unknown_count``): by the
    left part's length, then the operator, then the unknown in the left part before the right,
    then the parts' own indices (the right fastest)."""
    if length <= 4:
        return alphabet.terminal(length, alphabet.unknown)
    operators = alphabet.operators
    for left in range(1, length - 3):
        right = length - 3 - left
        in_left = unknown_count(left) * expression_count(right, 2)
        each = in_left + expression_count(left, 2) * unknown_count(right)
        if index < len(operators) * each:
            operator, rest = divmod(index, each)
            if rest < in_left:
                left_index, right_index = divmod(rest, expression_count(right, 2))
                parts = unrank_unknown(left, left_index, alphabet), unrank(right, right_index, alphabet)
            else:
                left_index, right_index = divmod(rest - in_left, unknown_count(right))
                parts = unrank(left, left_index, alphabet), unrank_unknown(right, right_index, alphabet)
            return [alphabet.open, *parts[0], operators[operator], *parts[1], alphabet.close]
        index -= len(operators) * each
    raise ValueError(f"index out of range for length {length}")  # (callers check the count)


class SolveEquation(ModularArithmeticBrackets):
    """``Actformer/SolveEquation-v0``: the value of ``x`` that solves a bracketed equation mod 5.

    ## Description
    The *Solve Equation* task of Delétang et al. (2023), "Neural Networks and the Chomsky
    Hierarchy" (deterministic context-free). ``IN`` holds an equation ``E = v``: ``E`` an expression
    of Modular Arithmetic's grammar over + and - (``d``, ``-d``, ``(d)``, ``(-d)`` or ``(E op E)``) in
    which exactly one number is the unknown ``x``, ``v`` a number, in the paper's encoding: numbers
    0..4, 5 (+), 6 (-), 7 (, 8 ), 9 (x), 10 (=), then a BLANK. Write the ``x`` in 0..4 for which
    ``E`` is ``v`` mod 5 into the first cell of ``OUT`` (with + and - only, ``x`` enters ``E`` as
    ``+x`` or ``-x``: exactly one value solves it). The length of a problem is the number of
    symbols of ``E``; the paper's length counts ``= v`` too (its length n is this task's n - 2).

    ## Action Space
    The shared ``Discrete(139)`` table; Modular Arithmetic with brackets' instructions without
    MUL R0,R2, and LOAD M0->R0, LOAD M0->R2, INC R2, STORE R2->M0 and CMP R0,R1.

    ## Observation Space
    As ``ActformerEnv``.

    ## Rewards
    As ``ActformerEnv``; the target is one symbol (0..4) on ``OUT``.

    ## Starting State
    As the paper draws them: ``E`` drawn as Modular Arithmetic with brackets draws its expressions
    (over + and -), then a position uniform in ``E``, moved right (cyclically) to the first number
    at or after it, which becomes ``x``; ``v`` is ``E``'s value with the number it replaced, which
    is the answer. ``options={"problem": [7, 9, 5, 2, 8, 10, 1]}`` ((x + 2) = 1) poses yours.

    ## Episode End
    HALT, or twice the expert's program length. The expert searches: ``M0`` holds the value tried
    for ``x`` (0 at the start). It evaluates ``E`` as Modular Arithmetic with brackets' expert does,
    loading ``x`` from ``M0`` where the unknown stands (LOAD M0->R0 in place of READ P0->R0). On
    ``=`` it moves onto ``v``, reads it (READ P0->R1) and compares (CMP R0,R1): equal, it writes the
    value tried (LOAD M0->R0, WRITE R0->P1) and HALTs; else it tries the next (LOAD M0->R2, INC R2,
    STORE R2->M0), walks ``P0`` back to the start (MOVE P0 LEFT) and evaluates ``E`` again. At most
    five passes; the stack is empty after each.

    ## Arguments
    ``base`` must be 11 (numbers 0..4, two operators, two brackets, ``x`` and ``=``); lengths
    default to 1..10 (symbols of ``E``).

    ## Registered Configurations
    ``Actformer/SolveEquation-v0``.

    ## Version History
    v0: initial release.
    """

    name = "SolveEquation"
    notation = UNKNOWN_BRACKETS
    #: The brackets' reads, and whether ``P0`` is back at the start (the rewind).
    reads = ExpertReads(values=(*ModularArithmeticBrackets.reads.values, "boundaries[P0.start]"))
    recipe = Recipe(20, (20, 200, 500), 200)  # (what the expert reads closes from length 20)
    default_base = SYMBOLS
    base_range = (SYMBOLS, SYMBOLS)
    allowed_instructions = (
        "INC R3", "READ P0->R0", "READ P0->R1", "READ P2->R1", "READ P2->R2", "CLR R0", "WRITE R1->P2",
        "WRITE R0->P2", "WRITE R0->P1", "ADD R0,R2", "ADD R0,R3", "SUB R2,R0", "SUB R0,R3",
        "CMP R0,R3", "CMP R0,R1", "LOAD M0->R0", "LOAD M0->R2", "INC R2", "STORE R2->M0",
        "MOVE P0 LEFT", "MOVE P0 RIGHT", "MOVE P2 LEFT", "MOVE P2 RIGHT", "HALT",
    )  # fmt: skip

    def width(self, max_length: int) -> int:
        return max_length + 3  # E, "=", v and a BLANK

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        """The paper's draw: an expression over + and -, then the number at or after a uniform
        position (cyclically) replaced by ``x``, then ``=`` and the expression's value."""
        a = self.notation
        inputs = draw_expressions(random, lengths, width, a)
        start = random.integers(np.maximum(lengths, 1))[:, 0]
        columns = np.arange(width)
        numbers = a.is_number(inputs) & (columns < lengths[:, None])
        after = np.where(numbers & (columns >= start[:, None]), columns, width).min(axis=1)
        first = np.where(numbers, columns, width).min(axis=1)
        replaced = np.where(after < width, after, first)
        value, _ = evaluate(inputs, lengths, a)
        rows = np.arange(len(lengths))
        inputs[rows, replaced] = a.unknown
        inputs[rows, lengths] = EQUALS
        inputs[rows, lengths + 1] = value
        return self._pose(inputs.astype(np.int8), lengths + 2)

    def problem_length(self, problem: Any) -> int:
        return len(self._check(problem)) - 2

    def problem_count(self, length: int) -> int:
        return MODULUS * unknown_count(length)

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The expressions with one unknown in :func:`unrank_unknown`'s order, each with every
        value ``v`` (the fastest)."""

        def rows_at(indices: np.ndarray) -> np.ndarray:
            return np.array(
                [[*unrank_unknown(length, int(i) // MODULUS), EQUALS, int(i) % MODULUS] for i in indices]
            )

        return self._sequences(length, count, rows_at, cells=length + 2)

    def adversarial_problems(self, length: int) -> list[Any]:
        """Modular Arithmetic with brackets' chains over + and - (nested both ways, over 4s, 0s and
        -4s), the unknown first with the answer 4 (all five passes) and last with the answer 0."""
        a = self.notation
        families = []
        for chain in super().adversarial_problems(length):
            numbers = [i for i, symbol in enumerate(chain) if a.is_number(symbol)]
            for position, solution in ((numbers[0], MODULUS - 1), (numbers[-1], 0)):
                expression = [*chain[:position], solution, *chain[position + 1 :]]
                value = int(evaluate(np.array([expression]), np.array([length]), a)[0][0])
                expression[position] = a.unknown
                families.append([*expression, EQUALS, value])
        return distinct(families)

    def _check(self, problem: Any) -> list[int]:
        """The posed equation as a list of ints; ``ValueError`` unless it is ``E = v`` with ``E`` an
        expression of the grammar holding the unknown exactly once and ``v`` a number 0..4."""
        symbols = check_sequence(problem, SYMBOLS, self.name)
        if len(symbols) < 3 or symbols[-2] != EQUALS or not 0 <= symbols[-1] < MODULUS:
            raise ValueError(
                f"{self.name} problem must be an expression, then = ({EQUALS}) and a number 0..4, "
                f"got {symbols!r}"
            )
        parse(symbols, self.name, self.notation, end=len(symbols) - 2)
        unknowns = symbols.count(self.notation.unknown)
        if unknowns != 1:
            raise ValueError(
                f"{self.name} problem must hold the unknown {self.notation.unknown} exactly once, "
                f"got {unknowns} of it"
            )
        return symbols

    def solve(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the target rows, the expert's steps) of equations on ``inputs`` whose lengths (cells,
        ``E = v``) are ``lengths``: every value of ``x`` evaluated in one pass over the columns
        (the rows tiled five times), then the passes the search makes, up to the solution."""
        a = self.notation
        count = len(lengths)
        tried = np.tile(np.arange(MODULUS), count)
        values, pass_steps = evaluate(
            np.repeat(inputs, MODULUS, axis=0), np.repeat(lengths - 2, MODULUS), a, unknown=tried
        )
        values, pass_steps = values.reshape(count, MODULUS), pass_steps.reshape(count, MODULUS)
        wanted = inputs[np.arange(count), lengths - 1].astype(np.int64)
        solution = np.argmax(values == wanted[:, None], axis=1)  # (exactly one: x enters as +x or -x)
        searched = np.arange(MODULUS) <= solution[:, None]
        steps = ((pass_steps + _CHECK_STEPS) * searched).sum(axis=1)
        steps += solution * (_NEXT_VALUE_STEPS + lengths - 1)  # each wrong value, then the rewind to 0
        # The finish: LOAD M0->R0, WRITE R0->P1, HALT.
        target = np.full_like(inputs, BLANK)
        target[:, 0] = solution
        return target, SETUP_STEPS + steps + FINISH_STEPS + 1

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.solve(inputs, lengths)[0]

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.solve(inputs, lengths)[1]

    def dispatch(self, view: ObservationView) -> np.ndarray:
        """As the brackets' dispatch, and: on ``=`` move onto ``v``; on ``v`` read it; on the
        unknown load the value tried."""
        under, before = view.under(P0), view.left(P0)
        return np.select(
            [before == EQUALS, under == EQUALS, under == self.notation.unknown],
            [_READ_VALUE, _NEXT, _LOAD_X],
            default=super().dispatch(view),
        )

    def decide(self, view: ObservationView) -> np.ndarray:
        last, before = view.last_action, view.left(P0)
        on_value = before == EQUALS
        return np.select(
            [
                (last == _READ_VALUE) & on_value,
                (last == _CHECK) & (view.compare == 0),
                last == _CHECK,
                last == _LOAD_TRIED,
                last == _TRY_NEXT,
                last == _STORE_TRIED,
                (last == _BACK) & view.at_start(P0),
                last == _BACK,
                (last == _LOAD_X) & on_value,
                last == _LOAD_X,
            ],
            [
                _CHECK,
                _LOAD_X,  # solved: the value tried is the answer
                _LOAD_TRIED,
                _TRY_NEXT,
                _STORE_TRIED,
                _BACK,
                self.dispatch(view),  # a new pass
                _BACK,
                _WRITE,
                self.complete(view),  # the unknown's value is at hand
            ],
            default=super().decide(view),
        )
