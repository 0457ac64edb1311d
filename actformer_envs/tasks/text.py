"""How a task's problems are written as text: each task declares its format (``Task.text_format``).

A format parses a problem typed by a person (``actformer trace --problem "123+456"``) into the
form the env takes in ``reset(options={"problem": p})``, and writes such a problem back as text.
Three formats cover the suite:

- :class:`NumberPair`: two non-negative integers around an operator, ``123+456`` (Addition);
- :class:`SymbolString`: a string of symbols, ``31415`` (Copy, Sort, Parity, ...);
- :class:`PythonLiteral`: the env's own problem as a Python literal, ``([3, 1], 2)`` (the default).

The token baseline (``actformer_gym.agents.text_tasks``) also reads the declaration: a number pair or a symbol
string is what it knows how to write as tokens.

This module imports only NumPy and the package's digit and symbol helpers (no task), so that
``tasks.base`` can import it.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from actformer_envs.digits import number_from_text, number_text
from actformer_envs.symbols import SYMBOL_CHARS

__all__ = ["NumberPair", "PythonLiteral", "SymbolString", "TextFormat"]

#: The symbols a symbol string may hold: the digits of base 36 (case-insensitive when parsed).
SYMBOLS = SYMBOL_CHARS[:36]


class TextFormat(ABC):
    """How one task's problems are written: :meth:`parse` reads one, :meth:`write` writes one."""

    @abstractmethod
    def describe(self, task: str) -> str:
        """How ``task``'s problems are written, as a sentence without its full stop (for messages)."""

    @abstractmethod
    def parse(self, text: str, task: str) -> Any:
        """The problem ``text`` holds, in the form the env takes as ``options={"problem": p}``;
        ``ValueError`` saying how ``task``'s problems are written if it does not parse.

        Only the text's form is checked here; the task's own ``problem_length`` checks the rest
        (a symbol beyond the base, a number too long for ``max_length``...).
        """

    @abstractmethod
    def write(self, problem: Any) -> str:
        """``problem`` (in the env's form) as text that :meth:`parse` reads back to an equal one."""

    def _error(self, text: str, task: str) -> ValueError:
        return ValueError(f"{self.describe(task)}; got {text!r}")


@dataclass(frozen=True)
class NumberPair(TextFormat):
    """Two non-negative integers around an operator, ``a+b``: the problem ``(a, b)``.

    Spaces are ignored (``123 + 456``); the numbers may be of any length (read without ``int``'s
    limit on digits). The first operator is the one :meth:`write` uses.
    """

    operators: tuple[str, ...]
    """The operators the text may use between the numbers, e.g. ``("*", "x")``."""

    def __post_init__(self) -> None:
        if not self.operators or not all(isinstance(op, str) and op for op in self.operators):
            raise ValueError(f"operators must be non-empty strings, at least one; got {self.operators!r}")

    def describe(self, task: str) -> str:
        shown = " or ".join(f"a{op}b" for op in self.operators)
        return f"{task} problems are written {shown} with non-negative integers a, b"

    def parse(self, text: str, task: str) -> tuple[int, int]:
        stripped = "".join(text.split())
        for operator in self.operators:
            a, found, b = stripped.partition(operator)
            if found and a.isdigit() and b.isdigit():
                try:
                    return (number_from_text(a), number_from_text(b))  # (of any length, unlike int())
                except ValueError:  # a digit that is no decimal digit, as "²"
                    continue
        raise self._error(text, task)

    def write(self, problem: Any) -> str:
        a, b = problem
        return f"{number_text(int(a))}{self.operators[0]}{number_text(int(b))}"


@dataclass(frozen=True)
class SymbolString(TextFormat):
    """A string of symbols, ``31415``: the problem ``[3, 1, 4, 1, 5]``.

    Symbols are the digits of base 36, ``0-9`` then ``a-z`` (either case); spaces are ignored.
    """

    single_symbol_answer: bool = False
    """The answer is one symbol (an int, as Parity's bit), not a string of them (a list)."""

    def describe(self, task: str) -> str:
        return f"{task} problems are a string of symbols such as 31415"

    def parse(self, text: str, task: str) -> list[int]:
        stripped = "".join(text.split()).lower()
        if stripped and all(char in SYMBOLS for char in stripped):
            return [SYMBOLS.index(char) for char in stripped]
        raise self._error(text, task)

    def write(self, problem: Any) -> str:
        return "".join(SYMBOLS[int(symbol)] for symbol in problem)


@dataclass(frozen=True)
class PythonLiteral(TextFormat):
    """The env's problem itself as a Python literal (``ast.literal_eval``), e.g. ``([3, 1], 2)``.

    What each task's problems are is in its docstring's Starting State.
    """

    def describe(self, task: str) -> str:
        return (
            f"{task} problems are given as a Python literal in the env's problem format "
            f"(see the {task} docstring's Starting State)"
        )

    def parse(self, text: str, task: str) -> Any:
        try:
            return ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            # (TypeError: an unhashable key, ``{[]: 1}``; Memory/RecursionError: absurd nesting)
            raise self._error(text, task) from None

    def write(self, problem: Any) -> str:
        """``repr`` of the problem with NumPy arrays and scalars made lists and Python scalars."""
        return repr(_plain(problem))


def _plain(value: Any) -> Any:
    """``value`` with NumPy arrays as lists and NumPy scalars as Python's, inside tuples and lists."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value
