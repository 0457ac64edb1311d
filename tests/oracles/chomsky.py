"""The tasks of the Chomsky-hierarchy benchmark (Delétang et al., 2023) that the suite adds:
EvenPairs, CycleNavigation, StackManipulation, DuplicateString, OddsFirst, MissingDuplicate,
ModularArithmetic, ModularArithmeticBrackets, SolveEquation and ComputeSqrt."""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, symbol_lists
from oracles.sequences import SequenceOracle

POP, PUSH_0, PUSH_1 = 2, 3, 4
MISSING = 2


class EvenPairsOracle(SequenceOracle):
    task = "EvenPairs"
    bases = (2,)

    def answer(self, problem: Any, base: int) -> Any:
        return sum(a != b for a, b in itertools.pairwise(problem)) % 2

    def program_length(self, problem: Any, base: int) -> int:
        return len(problem) + 7

    def edge_cases(self, base: int) -> list[Any]:
        return [[0], [1], [0, 1], [1, 0], [0] * 999 + [1], [1] + [0] * 998 + [1], [0, 1] * 500, [1] * 1000]


class CycleNavigationOracle(SequenceOracle):
    task = "CycleNavigation"
    bases = (5,)

    def answer(self, problem: Any, base: int) -> Any:
        position = 0
        for move in problem:
            position = (position + {0: -1, 1: 0, 2: +1}[move]) % 5
        return position

    def program_length(self, problem: Any, base: int) -> int:
        return len(problem) + 2 + 2 * sum(move != 1 for move in problem)

    def edge_cases(self, base: int) -> list[Any]:
        return [[0], [1], [2], [0] * 1000, [2] * 999, [1] * 1000, [0, 2] * 500, [2, 2, 2, 2, 2, 0] * 100]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*super().malformed(base, max_length), [3], [0, 4], [1, 5]]

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(3, self.property_length)


class StackManipulationOracle(SequenceOracle):
    task = "StackManipulation"
    bases = (5,)

    @staticmethod
    def _run(problem: list[int]) -> tuple[list[int], int]:
        stack: list[int] = []
        steps = 1  # R2 = 1
        for symbol in problem:
            if symbol == POP:
                steps += 2 if stack else 1
                if stack:
                    stack.pop()
            else:
                stack.append({0: 0, 1: 1, PUSH_0: 0, PUSH_1: 1}[symbol])
                steps += 3
        return stack, steps + 4 * len(stack) + 1

    def answer(self, problem: Any, base: int) -> Any:
        return self._run(list(problem))[0][::-1]

    def program_length(self, problem: Any, base: int) -> int:
        return self._run(list(problem))[1]

    def edge_cases(self, base: int) -> list[Any]:
        return [
            [0],
            [1],
            [0, POP],
            [1, POP, POP, PUSH_1],
            [1] + [PUSH_1] * 999,
            [0] + [POP] * 999,
            [1] * 500 + [POP] * 500,
            [0, 1] * 250 + [PUSH_0, POP] * 250,
            [POP] * 10 + [PUSH_0] * 10,
            [0, 1, 1, 0, PUSH_1, POP, POP],  # the paper's example: 1 1 0
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*super().malformed(base, max_length), [5], [POP, 0], [PUSH_1, 1, POP]]

    def problems(self, base: int) -> st.SearchStrategy:
        bits = st.lists(st.integers(0, 1), max_size=self.property_length // 2)
        actions = st.lists(st.integers(POP, PUSH_1), max_size=self.property_length // 2)
        return st.tuples(bits, actions).map(lambda parts: parts[0] + parts[1]).filter(bool)


class DuplicateStringOracle(SequenceOracle):
    task = "DuplicateString"

    def answer(self, problem: Any, base: int) -> Any:
        return list(problem) * 2

    def program_length(self, problem: Any, base: int) -> int:
        return 7 * len(problem) + 2


class OddsFirstOracle(SequenceOracle):
    task = "OddsFirst"

    def answer(self, problem: Any, base: int) -> Any:
        odd_positions = [s for position, s in enumerate(problem, start=1) if position % 2]
        even_positions = [s for position, s in enumerate(problem, start=1) if not position % 2]
        return odd_positions + even_positions

    def program_length(self, problem: Any, base: int) -> int:
        return 5 * len(problem) + 2


class MissingDuplicateOracle(SequenceOracle):
    task = "MissingDuplicate"
    bases = (3,)

    @staticmethod
    def _pose(bits: list[int], hidden: int) -> list[int]:
        cells = bits + bits
        cells[hidden] = MISSING
        return cells

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem) // 2

    def answer(self, problem: Any, base: int) -> Any:
        half = len(problem) // 2
        hidden = problem.index(MISSING)
        return problem[hidden - half] if hidden >= half else problem[hidden + half]

    def program_length(self, problem: Any, base: int) -> int:
        half = len(problem) // 2
        return 5 * half + 3 + 2 * (problem.index(MISSING) % half)

    def edge_cases(self, base: int) -> list[Any]:
        return [
            [MISSING, 0],
            [1, MISSING],
            self._pose([0] * 500, 0),
            self._pose([1] * 500, 999),
            self._pose([0, 1] * 250, 499),
            self._pose([1, 0] * 250, 500),
            self._pose([0] * 17, 20),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [0, 1],
            [MISSING, MISSING],
            [MISSING, 0, 1],
            [0, 1, 1, MISSING],
            [3, MISSING],
            self._pose([0] * (max_length + 1), 0),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return self._pose([1] * max_length, max_length)

    def problems(self, base: int) -> st.SearchStrategy:
        half = self.property_length // 2
        return st.lists(st.integers(0, 1), min_size=1, max_size=half).flatmap(
            lambda bits: st.integers(0, 2 * len(bits) - 1).map(lambda hidden: self._pose(bits, hidden))
        )


class ModularArithmeticOracle(SequenceOracle):
    """Numbers 0..4 and operators 5 (+), 6 (-), 7 (*), alternating; the value mod 5, products first."""

    task = "ModularArithmetic"
    bases = (8,)

    @staticmethod
    def _terms(problem: list[int]) -> list[tuple[int, list[int]]]:
        """The expression as signed products: (sign, factors) per term."""
        terms = [(1, [problem[0]])]
        for operator, number in zip(problem[1::2], problem[2::2], strict=True):
            if operator == 7:
                terms[-1][1].append(number)
            else:
                terms.append((1 if operator == 5 else -1, [number]))
        return terms

    def problem_length(self, problem: Any, base: int) -> int:
        return (len(problem) + 1) // 2

    def answer(self, problem: Any, base: int) -> Any:
        return sum(sign * math.prod(factors) for sign, factors in self._terms(list(problem))) % 5

    def program_length(self, problem: Any, base: int) -> int:
        """The documented procedure: 5 INC R3, READ, MOVE; per + number: fold, MOVE, READ, MOVE; per
        - number: fold, MOVE, 4 to negate, reduce, MOVE; per * number: MOVE, READ, MUL, reduce, MOVE;
        at the end a fold, WRITE, HALT. A fold is ADD then a reduction; a reduction is CMP, then SUB and
        CMP per 5 taken off."""
        steps, total, term = 7, 0, problem[0]
        for operator, number in zip(problem[1::2], problem[2::2], strict=True):
            if operator in (5, 6):
                steps += 2 + 2 * ((total + term) // 5)  # ADD, CMP (+ SUB, CMP)
                total = (total + term) % 5
                steps += 1  # MOVE onto the number
                if operator == 5:
                    steps += 2
                    term = number
                else:
                    steps += 4 + 1 + 2 * ((5 - number) // 5) + 1
                    term = (5 - number) % 5
            else:
                steps += 1 + 2 + 1 + 2 * ((term * number) // 5) + 1
                term = term * number % 5
        return steps + 2 + 2 * ((total + term) // 5) + 2

    def edge_cases(self, base: int) -> list[Any]:
        def chain(numbers: list[int], operators: list[int]) -> list[int]:
            row = [numbers[0]]
            for i, number in enumerate(numbers[1:]):
                row += [operators[i % len(operators)], number]
            return row

        return [
            [0],
            [4],
            [1, 5, 2, 7, 3],  # the paper's examples: 1 + 2 * 3 = 2
            [1, 6, 1, 6, 1],  # 1 - 1 - 1 = 4
            [0, 7, 1, 5, 4, 7, 3, 6, 2],  # 0 * 1 + 4 * 3 - 2 = 0
            chain([4] * 500, [7]),
            chain([4] * 500, [6]),
            chain([0, 4] * 250, [5, 6, 7]),
            chain([3] * 499 + [4], [6, 7]),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [5],
            [1, 5],
            [1, 2],
            [5, 1, 1],
            [1, 5, 8],
            [1, 5, 6, 2],
            [1, 5] * max_length + [1],
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return [4, 7] * (max_length - 1) + [4]

    def problems(self, base: int) -> st.SearchStrategy:
        numbers = st.lists(st.integers(0, 4), min_size=1, max_size=self.property_length // 2)
        return numbers.flatmap(
            lambda ns: st.lists(st.integers(5, 7), min_size=len(ns) - 1, max_size=len(ns) - 1).map(
                lambda ops: [x for pair in zip(ns, [*ops, None], strict=True) for x in pair if x is not None]
            )
        )


class ModularArithmeticBracketsOracle(SequenceOracle):
    """Expressions of the paper's grammar (d, -d, (d), (-d), (E op E)) over 0..4, 5 (+), 6 (-),
    7 (*), 8 ( and 9 ); the value mod 5."""

    task = "ModularArithmeticBrackets"
    bases = (10,)
    longest = 500

    @staticmethod
    def _tree(problem: list[int]) -> tuple[Any, int]:
        """(the parse tree, the index after it) of the expression at the start of ``problem``: a
        number, ("neg", d), or (op, left, right); ``(d)`` and ``(-d)`` parse as their term."""
        first = problem[0]
        if first < 5:
            return first, 1
        if first == 6:
            return ("neg", problem[1]), 2
        if problem[1] == 6 and problem[3] == 9:
            return ("neg", problem[2]), 4
        if problem[1] < 5 and problem[2] == 9:
            return problem[1], 3
        left, used = ModularArithmeticBracketsOracle._tree(problem[1:])
        right, used_right = ModularArithmeticBracketsOracle._tree(problem[2 + used :])
        return (problem[1 + used], left, right), used + used_right + 3

    def _walk(self, tree: Any) -> tuple[int, int]:
        """(the value mod 5, the steps of the combines): each combine of the documented expert is
        MOVE P2 LEFT, READ P2->R1, MOVE P2 LEFT, READ P2->R2, its arithmetic (ADD: 1; SUB, CLR,
        ADD, ADD: 4; MUL: 1), CMP R0,R3, and SUB R0,R3 and CMP R0,R3 per 5 taken off."""
        if isinstance(tree, int):
            return tree, 0
        if tree[0] == "neg":
            raw = 0 - tree[1] + 5
            return raw % 5, 9 + 2 * (raw // 5)
        operator, (left, left_steps), (right, right_steps) = tree[0], self._walk(tree[1]), self._walk(tree[2])
        raw = {5: left + right, 6: left - right + 5, 7: left * right}[operator]
        return raw % 5, left_steps + right_steps + (9 if operator == 6 else 6) + 2 * (raw // 5)

    def answer(self, problem: Any, base: int) -> Any:
        return self._walk(self._tree(list(problem))[0])[0]

    def program_length(self, problem: Any, base: int) -> int:
        """5 INC R3 and CMP R0,R3, then per symbol: ( 4 (READ, WRITE, MOVE, MOVE), a binary
        operator 6 (the value and the operator pushed, MOVE P0), a unary minus 7 (CLR R0 first), a
        number 2 (READ, and the MOVE P0 RIGHT once its value is complete), a ) 3 (READ,
        MOVE P2 LEFT, MOVE P0 RIGHT); the combines; WRITE R0->P1 and HALT."""
        problem = list(problem)
        unary = sum(
            symbol == 6 and (i == 0 or problem[i - 1] in (5, 6, 7, 8)) for i, symbol in enumerate(problem)
        )
        per_symbol = sum({8: 4, 5: 6, 6: 6, 7: 6, 9: 3}.get(symbol, 2) for symbol in problem) + unary
        return 6 + per_symbol + self._walk(self._tree(problem)[0])[1] + 2

    @staticmethod
    def _nested(length: int, operator: int, number: int) -> list[int]:
        """``(((t op n) op n) ...)`` of exactly ``length`` symbols, t a term of length 1..4."""
        size = (length - 1) % 4 + 1
        expression = [[number], [6, number], [8, number, 9], [8, 6, number, 9]][size - 1]
        while len(expression) < length:
            expression = [8, *expression, operator, number, 9]
        return expression

    def edge_cases(self, base: int) -> list[Any]:
        return [
            [0],
            [6, 0],
            [8, 4, 9],
            [8, 6, 4, 9],
            [8, 8, 1, 5, 2, 9, 7, 3, 9],  # the paper's kind of example: (1 + 2) * 3 = 4
            [8, 6, 3, 6, 6, 2, 9],  # -3 - -2 = 4
            [8, 8, 6, 1, 9, 7, 8, 6, 2, 9, 9],  # (-1) * (-2) = 2
            self._nested(500, 7, 4),
            self._nested(499, 6, 4),
            self._nested(498, 5, 4),
            self._nested(497, 6, 0),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [5],
            [9],
            [1, 5, 2],  # a binary operation without its brackets
            [8, 8, 1, 9, 9],  # ((1)): not of the grammar
            [6, 6, 1],
            [8, 1, 5, 2],
            [8, 1, 5, 2, 9, 9],
            [1, 1],
            [10],
            self._nested(max_length + 1, 5, 1),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return self._nested(max_length, 7, 4)

    def problems(self, base: int) -> st.SearchStrategy:
        terms = st.integers(0, 4).flatmap(lambda d: st.sampled_from([[d], [6, d], [8, d, 9], [8, 6, d, 9]]))
        return st.recursive(
            terms,
            lambda parts: st.tuples(parts, st.sampled_from([5, 6, 7]), parts).map(
                lambda t: [8, *t[0], t[1], *t[2], 9]
            ),
            max_leaves=10,
        )


class SolveEquationOracle(SequenceOracle):
    """Equations ``E = v`` over 0..4, 5 (+), 6 (-), 7 (, 8 ), 9 (x), 10 (=): ``E`` of the bracketed
    grammar over + and - with one unknown; the x in 0..4 for which ``E`` is ``v`` mod 5. Checked by
    substituting each value and evaluating with the brackets' oracle (its encoding: ( 8, ) 9)."""

    task = "SolveEquation"
    bases = (11,)
    longest = 100  # (up to five passes over the expression: 4,000 steps at 100 symbols)
    property_length = 20
    brackets = ModularArithmeticBracketsOracle()

    @staticmethod
    def _unknown_last(expression: list[int]) -> list[int]:
        """``expression`` (brackets' encoding) with its last number marked as the unknown (-1)."""
        last = max(i for i, s in enumerate(expression) if 0 <= s < 5)
        return [*expression[:last], -1, *expression[last + 1 :]]

    def _substituted(self, expression: list[int], x: int) -> list[int]:
        """``expression`` with ``x`` for the unknown, in the brackets' encoding."""
        return [{7: 8, 8: 9, 9: x}.get(symbol, symbol) for symbol in expression]

    def _solution(self, problem: list[int]) -> int:
        expression, value = problem[:-2], problem[-1]
        substituted = [self._substituted(expression, x) for x in range(5)]
        solutions = [x for x in range(5) if self.brackets.answer(substituted[x], 10) == value]
        assert len(solutions) == 1, (problem, solutions)  # +x or -x: one value solves it
        return solutions[0]

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem) - 2

    def answer(self, problem: Any, base: int) -> Any:
        return self._solution(list(problem))

    def program_length(self, problem: Any, base: int) -> int:
        """5 INC R3 and CMP R0,R3; per value tried up to the solution, the brackets' evaluation of
        ``E`` (its program less its 6 setup and 2 finish steps) and MOVE P0 RIGHT, READ P0->R1,
        CMP R0,R1; after each wrong value LOAD M0->R2, INC R2, STORE R2->M0 and MOVE P0 LEFT back
        from ``v`` to the first column; LOAD M0->R0, WRITE R0->P1, HALT."""
        problem = list(problem)
        solution = self._solution(problem)
        expression = problem[:-2]
        passes = sum(
            self.brackets.program_length(self._substituted(expression, x), 10) - 8 + 3
            for x in range(solution + 1)
        )
        return 6 + passes + solution * (3 + len(problem) - 1) + 3

    def _equation(self, expression: list[int], x: int) -> list[int]:
        """``expression`` (brackets' encoding, one number marked as -1 for x) as ``E = v`` with
        ``v`` its value at ``x``."""
        value = self.brackets.answer([x if s == -1 else s for s in expression], 10)
        return [{8: 7, 9: 8, -1: 9}.get(s, s) for s in expression] + [10, value]

    def edge_cases(self, base: int) -> list[Any]:
        nested = self.brackets._nested(self.longest, 6, 4)  # (((t - 4) - 4) ...)
        first = next(i for i, s in enumerate(nested) if s < 5)
        return [
            [9, 10, 0],  # x = 0
            [9, 10, 4],  # x = 4
            [6, 9, 10, 1],  # -x = 1: x = 4
            [7, 9, 8, 10, 3],
            [7, 6, 9, 8, 10, 2],
            self._equation([8, 8, -1, 5, 2, 9, 6, 3, 9], 4),  # (x + 2) - 3, solved on the fifth pass
            self._equation([8, 6, 3, 6, 8, 6, -1, 9, 9], 0),  # -3 - (-x)
            self._equation([*nested[:first], -1, *nested[first + 1 :]], 4),
            self._equation(self._unknown_last(nested), 4),
            self._equation(self._unknown_last(self.brackets._nested(self.longest - 1, 5, 0)), 3),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [9],
            [9, 10],
            [1, 10, 1],  # no unknown
            [7, 9, 5, 9, 8, 10, 1],  # two unknowns
            [9, 10, 5],  # v not a number
            [9, 1, 1],  # no =
            [7, 9, 5, 2, 8, 1],
            [9, 5, 2, 10, 1],  # a binary operation without its brackets
            [7, 7, 9, 8, 8, 10, 0],  # ((x)): not of the grammar
            [11],
            [9, 10, 1, 10, 1],
            self.largest(base, max_length + 1),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return self._equation(self._unknown_last(self.brackets._nested(max_length, 6, 4)), 4)

    def problems(self, base: int) -> st.SearchStrategy:
        terms = st.integers(0, 4).flatmap(lambda d: st.sampled_from([[d], [6, d], [8, d, 9], [8, 6, d, 9]]))
        expressions = st.recursive(
            terms,
            lambda parts: st.tuples(parts, st.sampled_from([5, 6]), parts).map(
                lambda t: [8, *t[0], t[1], *t[2], 9]
            ),
            max_leaves=4,
        ).filter(lambda expression: len(expression) <= self.property_length)

        def with_unknown(draw: Any) -> Any:
            expression, pick, x = draw
            numbers = [i for i, s in enumerate(expression) if s < 5]
            marked = list(expression)
            marked[numbers[pick % len(numbers)]] = -1
            return self._equation(marked, x)

        return st.tuples(expressions, st.integers(0, 1000), st.integers(0, 4)).map(with_unknown)


class ComputeSqrtOracle(SequenceOracle):
    """Bits of ``x``, least significant first; the answer ``floor(sqrt(x))`` in ceil(n / 2) bits."""

    task = "ComputeSqrt"
    bases = (2,)
    longest = 100  # (the program grows with the square of n: about 44,000 steps at 100 bits)
    property_length = 24

    @staticmethod
    def _bits(x: int, count: int) -> list[int]:
        return [(x >> i) & 1 for i in range(count)]

    def _root(self, problem: list[int]) -> int:
        return math.isqrt(sum(bit << i for i, bit in enumerate(problem)))

    def answer(self, problem: Any, base: int) -> Any:
        return self._bits(self._root(list(problem)), (len(problem) + 1) // 2)

    def program_length(self, problem: Any, base: int) -> int:
        """INC R2 and 3 steps per column pair of the opening walk; per pair from the top: 7 to bring
        it down, the compare pass (7 at its first column, 5 at each other) and the walk back (2 per
        column, 1 more per column but the first), WRITE R3->P1, and, where the root's bit is 1,
        INC R3 and the subtract pass (8, then 6 per column) and its walk back; CLR R3, CLR C between
        pairs, HALT after the last."""
        n, half = len(problem), (len(problem) + 1) // 2
        root = self._root(list(problem))
        steps = 1 + 3 * half
        for k in range(half):
            width = n - 2 * (half - 1 - k)
            walk_back = 2 * width + width - 1
            steps += 7 + (7 + 5 * (width - 1)) + walk_back + 1
            if (root >> (half - 1 - k)) & 1:
                steps += 1 + (8 + 6 * (width - 1)) + walk_back
            steps += 2 if k < half - 1 else 1
        return steps

    def edge_cases(self, base: int) -> list[Any]:
        n = self.longest
        return [
            [0],
            [1],
            [0, 1],
            [1, 1],
            [0] * n,
            [1] * n,
            [1] * (n - 1),
            self._bits((2 ** (n // 2) - 1) ** 2, n),  # the largest square of n bits
            self._bits((2 ** (n // 2) - 1) ** 2 - 1, n),  # the largest remainder below it
            self._bits(2 ** (n - 1), n),
            self._bits(4 ** (n // 2 - 1) - 1, n - 1),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return [1] * max_length

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(2, self.property_length)
