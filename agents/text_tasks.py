"""Tasks as text, for token-predicting models: problems drawn from the tasks' own generators, written
as token sequences (``123+456=`` → ``579<eos>``), and generated tokens read back as answers.

Nothing here knows a task's rule. Problems come from the task's ``generate`` (so they follow its
distribution exactly), their targets from its ``decode_batch`` of the target row it computed (the
code path of the env's ``info["target"]``); this module only reads the operands back off the
generated scratchpad and writes problems and answers as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actformer_envs.digits import from_digits, to_digits
from actformer_envs.streams import BatchRandom
from actformer_envs.tasks import TASKS, Task
from actformer_envs.tasks.base import answer_lengths
from actformer_envs.tasks.multitask import MultiTask
from actformer_envs.tasks.numbers import decode_numbers
from actformer_envs.tasks.text import NumberPair, SymbolString, TextFormat

#: Tokens: the symbols 0..9 (digits in base 10; sequence tasks' symbols in their default base),
#: then the operators, the separator of sequence tasks, end of answer, padding.
NUM_DIGITS = 10
PLUS, TIMES, EQUALS, SEPARATOR, EOS, PAD = range(NUM_DIGITS, NUM_DIGITS + 6)
VOCAB_SIZE = PAD + 1
TOKEN_TEXT = "0123456789+*=|$_"  # one character per token, for reading sequences

#: The token of each operator a number pair (``NumberPair``) can be written with.
OPERATOR_TOKENS = {"+": PLUS, "*": TIMES}


def operator_token(text_format: TextFormat) -> int | None:
    """The operator token of a ``NumberPair`` format: that of the first of its operators that has
    one (None if none has, or for another format)."""
    if not isinstance(text_format, NumberPair):
        return None
    return next((OPERATOR_TOKENS[op] for op in text_format.operators if op in OPERATOR_TOKENS), None)


def has_text_form(task: type[Task] | type[MultiTask]) -> bool:
    """Whether the task's declared ``text_format`` can be written in the vocabulary: a number pair
    whose operator has a token (its answer a number), or a string of symbols that are digits in the
    task's default base (its answer the same, or one symbol). Other formats have no tokens."""
    text_format = task.text_format
    if isinstance(text_format, NumberPair):
        return operator_token(text_format) is not None
    if isinstance(text_format, SymbolString):
        return task.default_base <= NUM_DIGITS
    return False


def supported_tasks() -> tuple[str, ...]:
    """The tasks of ``TASKS`` with a text form (:func:`has_text_form`), in its order; those added
    by ``register_task`` too."""
    return tuple(name for name, cls in TASKS.items() if has_text_form(cls))


#: The package's tasks with a text form (:func:`supported_tasks` when this module was imported).
SUPPORTED_TASKS = supported_tasks()


def check_task(task: str) -> str:
    """``task`` if it has a text form, else ``ValueError`` naming it and the supported ones."""
    supported = supported_tasks()
    if task not in supported:
        raise ValueError(f"task {task!r} has no text form; supported tasks: {list(supported)}")
    return task


def as_text(tokens: Sequence[int]) -> str:
    """Tokens as a readable string (``$`` = end of answer, ``_`` = padding), for messages and tests."""
    return "".join(TOKEN_TEXT[t] for t in tokens)


@dataclass(frozen=True)
class TextTask:
    """One task's text form.

    Arithmetic (a task whose ``text_format`` is a ``NumberPair``): ``a+b=`` → ``c<eos>`` (the
    operator's token: ``*`` for Multiplication), numbers written least significant digit first when
    ``reverse_digits`` (the order carries flow in, which a left-to-right model finds easier), as
    people write them otherwise; answers without leading zeros. Sequences (a ``SymbolString``: Copy,
    Reverse, DuplicatedInput, Sort, Parity): ``s0 s1 ... |`` → the answer's symbols (one symbol if
    the format says so: Parity's bit), then ``<eos>``; ``reverse_digits`` does not apply to them.
    """

    name: str
    reverse_digits: bool = True
    task: Task = field(init=False, repr=False, compare=False)  # the task, at its default base

    def __post_init__(self) -> None:
        cls = TASKS[check_task(self.name)]
        object.__setattr__(self, "task", cls(cls.default_base))

    @property
    def is_arithmetic(self) -> bool:
        return isinstance(self.task.text_format, NumberPair)

    @property
    def single_symbol_answer(self) -> bool:
        """Whether the answer is one symbol (an int), not a list of them."""
        text_format = self.task.text_format
        return isinstance(text_format, SymbolString) and text_format.single_symbol_answer

    # -- problems -----------------------------------------------------------------------------

    def draw(self, random: BatchRandom, lengths: np.ndarray) -> tuple[list[Any], list[Any]]:
        """Problems of the given lengths from the task's ``generate``, in the form the env accepts in
        ``reset(options={"problem": p})``, and their targets (the env's ``info["target"]``)."""
        task = self.task
        width = task.width(int(lengths.max()))
        problems = task.generate(random, lengths.astype(np.int64), width)
        targets = list(task.decode_batch(problems.target))
        if self.is_arithmetic:
            assert task.rows[:2] == ("A", "B"), f"{self.name}: operands expected on rows A and B"
            a, b = (decode_numbers(problems.scratchpad[:, row], task.base) for row in (0, 1))
            posed: list[Any] = list(zip(a, b, strict=True))
        else:
            assert task.rows[0] == "IN", f"{self.name}: the input expected on row IN"
            inputs = problems.scratchpad[:, 0]
            sizes = answer_lengths(inputs).tolist()  # symbols, then BLANK
            posed = [row[:n] for row, n in zip(inputs.tolist(), sizes, strict=True)]
        return posed, targets

    def problem_length(self, problem: Any) -> int:
        """The task's size of a user-posed problem; ``ValueError`` (the task's) if it is malformed."""
        return self.task.problem_length(problem)

    # -- text ---------------------------------------------------------------------------------

    def prompt(self, problem: Any) -> list[int]:
        """The tokens of a problem, up to and including ``=`` (arithmetic) or ``|`` (sequences)."""
        if self.is_arithmetic:
            a, b = problem
            operator = operator_token(self.task.text_format)
            assert operator is not None  # (``check_task``: a supported number pair has one)
            return [*self._number(a), operator, *self._number(b), EQUALS]
        return [*(int(s) for s in problem), SEPARATOR]

    def answer_tokens(self, answer: Any) -> list[int]:
        """The tokens of an answer (as the env's ``info["target"]`` gives it), then ``<eos>``."""
        if self.is_arithmetic:
            return [*self._number(answer), EOS]
        if self.single_symbol_answer:
            return [int(answer), EOS]
        return [*(int(s) for s in answer), EOS]

    def decode(self, tokens: Sequence[int]) -> Any:
        """The answer generated tokens hold, of the env's ``info["output"]`` type (an int for the
        arithmetic tasks and one-symbol answers, a list of symbols otherwise); ``None`` if not well formed.

        Reading stops at the first ``<eos>``; without one, or with a token that is not a symbol of
        the task before it, or a number with a leading zero, the answer is not well formed (an empty
        one is, for a task whose answer is a sequence).
        """
        tokens = list(tokens)
        if EOS not in tokens:
            return None
        symbols = tokens[: tokens.index(EOS)]
        base = self.task.base
        if any(not 0 <= s < base for s in symbols):
            return None
        if not symbols:  # (a sequence may be empty, as StackManipulation's empty stack; a number not)
            return None if self.is_arithmetic or self.single_symbol_answer else []
        if self.is_arithmetic:
            least_first = symbols if self.reverse_digits else symbols[::-1]
            if least_first[-1] == 0 and len(least_first) > 1:
                return None
            return from_digits(least_first, NUM_DIGITS)  # (any length: no int <-> text conversion)
        if self.single_symbol_answer:
            return symbols[0] if len(symbols) == 1 else None
        return symbols

    def _number(self, value: int) -> list[int]:
        least_first = to_digits(int(value), NUM_DIGITS)
        return least_first if self.reverse_digits else least_first[::-1]
