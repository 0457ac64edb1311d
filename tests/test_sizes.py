"""Problems of any size: numbers past Python's int <-> text digit limit (4300 digits) posed, decoded
and printed, memory in proportion to ``max_length``, and the one limit on ``max_length``.

Oracles are independent of the package: Python's own ``int(text, base)`` and ``str``, with the
limit lifted around the oracle's computation only (never around the package's code, whose point is
to need no such thing), and the task oracles' arithmetic on Python ints.
"""

from __future__ import annotations

import contextlib
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from helpers import expected_answer, run_expert
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles.base import to_digits as oracle_digits

from actformer_envs import ActformerVectorEnv, instruction_index
from actformer_envs.config import check_size
from actformer_envs.digits import (
    digit_count,
    digits_of,
    from_digits,
    number_from_text,
    number_text,
    to_digits,
)
from actformer_envs.posing import MAX_POSED_BYTES, posed_bytes, posed_dtype
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, SYMBOL_CHARS
from actformer_envs.tasks import TASKS, expression, multiplication
from actformer_envs.tasks import base as task_base
from actformer_envs.tasks.base import Number, fill_from
from actformer_envs.tasks.numbers import decode_numbers

HALT = instruction_index("HALT")
#: Digits of the huge numbers: far past Python's default limit of 4300.
HUGE = 10**5
MB = 10**6


@contextlib.contextmanager
def unlimited_int_text() -> Iterator[None]:
    """Python's int <-> text conversion without its digit limit, for the oracle's own use."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def text_of(digits: np.ndarray) -> str:
    """Digits (least significant first) written most significant first."""
    return "".join(SYMBOL_CHARS[d] for d in digits[::-1].tolist())


def oracle_int(digits: np.ndarray, base: int) -> int:
    with unlimited_int_text():
        return int(text_of(digits), base)


def oracle_text(value: int) -> str:
    with unlimited_int_text():
        return str(value)


def random_digits(rng: np.random.Generator, size: int, base: int = 10) -> np.ndarray:
    """``size`` random digits, least significant first, the most significant one not 0 (unless one)."""
    digits = rng.integers(0, base, size).astype(np.int8)
    if size > 1:
        digits[-1] = rng.integers(1, base)
    return digits


def huge(seed: int, size: int = HUGE) -> int:
    return oracle_int(random_digits(np.random.default_rng(seed), size), 10)


# -- ints <-> digits -----------------------------------------------------------------------------


def boundary_sizes(base: int) -> list[int]:
    """Digit counts around the conversions' thresholds: int64 chunks and their doublings, 2**63,
    the decimal leaves (256 bits) and the printable limit (2000 bits), for ``base``."""
    chunk = int(63 / np.log2(base))
    sizes = {1, 2, 3}
    for k in (chunk, 2 * chunk, 4 * chunk, 8 * chunk, 32 * chunk):
        sizes |= {k - 1, k, k + 1}
    for bits in (63, 64, 256, 512, 2000, 4096):
        k = int(bits / np.log2(base))
        sizes |= {k - 1, k, k + 1, k + 2}
    return sorted(s for s in sizes if s >= 1)


@pytest.mark.parametrize("base", range(2, 37))
def test_digit_conversions_at_their_boundaries(base: int) -> None:
    """0, base**k - 1, base**k, base**k + 1 for sizes across every threshold, in every base."""
    values = [0, 1, base - 1]
    for k in boundary_sizes(base):
        values += [base**k - 1, base**k, base**k + 1, 2**63 - 1, 2**63]
    for value in values:
        expected = oracle_digits(value, base)  # repeated division: obviously right
        assert digits_of(value, base).tolist() == expected, (value, base)
        assert digits_of(value, base).dtype == np.int8
        assert to_digits(value, base) == expected
        assert digit_count(value, base) == len(expected), (value, base)
        assert from_digits(expected, base) == value
        assert from_digits(np.array(expected, dtype=np.int8), base) == value
        text = "".join(SYMBOL_CHARS[d] for d in reversed(expected))
        assert number_text(value, base) == text
        assert number_from_text(text, base) == value
    assert from_digits([], base) == 0


@settings(max_examples=250, deadline=None)
@given(
    base=st.integers(2, 36),
    size=st.one_of(st.integers(1, 80), st.integers(80, 3000)),
    seed=st.integers(0, 2**32 - 1),
    leading_zeros=st.integers(0, 3),
)
def test_digits_round_trip(base: int, size: int, seed: int, leading_zeros: int) -> None:
    """Random digit strings of up to 3000 digits, against Python's ``int(text, base)``."""
    digits = random_digits(np.random.default_rng(seed), size, base)
    value = int(text_of(digits), base)  # (at most 3000 digits: within Python's limit)
    assert from_digits(digits, base) == value
    assert from_digits(np.concatenate([digits, np.zeros(leading_zeros, np.int8)]), base) == value
    assert digits_of(value, base).tolist() == digits.tolist()
    assert digit_count(value, base) == size
    assert number_text(value, base) == text_of(digits)
    assert number_from_text(text_of(digits), base) == value


@pytest.mark.parametrize(("base", "size"), [(10, HUGE), (36, HUGE // 4), (7, HUGE // 4), (16, HUGE)])
def test_huge_numbers_convert_past_the_text_limit(base: int, size: int) -> None:
    digits = random_digits(np.random.default_rng(base), size, base)
    value = oracle_int(digits, base)
    assert digits_of(value, base).tolist() == digits.tolist()
    assert from_digits(digits, base) == value
    assert digit_count(value, base) == size
    assert number_text(value, base) == text_of(digits)
    assert number_from_text(text_of(digits), base) == value


def test_number_prints_any_size_like_int() -> None:
    value = huge(1)
    text = oracle_text(value)
    number = Number(value)
    assert repr(number) == str(number) == f"{number}" == text
    assert repr(Number(-value)) == "-" + text
    for small in (0, 7, -1, 10**18, 2**64 + 1):
        assert repr(Number(small)) == str(Number(small)) == repr(small)


# -- posing and decoding huge problems ------------------------------------------------------------


def huge_problem(task: str) -> tuple[int, ...]:
    """A problem of ``HUGE``-digit numbers, as the task poses it (Subtraction: a >= b, Compare:
    numbers equal but for their units, Expression: stage 2, non-negative)."""
    a, b = huge(2), huge(3)
    if task == "Subtraction":
        return max(a, b), min(a, b)
    if task == "Compare":
        return a, a + 1
    if task == "Expression":
        return a, b, huge(4), huge(5, HUGE // 2), huge(6, HUGE // 2)
    return a, b


NUMBER_TASKS = ["Addition", "Subtraction", "Compare", "Multiplication", "Expression"]


@pytest.mark.parametrize("task", NUMBER_TASKS)
def test_huge_problems_are_posed_and_judged(task: str) -> None:
    """Posed as ints, laid out digit by digit, and HALT at once gives the exact target, no output."""
    problem = huge_problem(task)
    env = gym.make(f"Actformer/{task}-v0", max_length=HUGE, obs_mode="full")
    obs, _ = env.reset(options={"problem": problem})
    if task != "Expression":  # rows A and B hold the operands, then BLANK
        for row, value in zip(obs["scratchpad"][:2], problem, strict=True):
            assert row[HUGE] == BLANK
            with unlimited_int_text():
                assert text_of(row[:HUGE]) == str(value)
    _, _, terminated, _, info = env.step(HALT)
    assert terminated and info["is_success"] is False and info["output"] is None
    assert info["target"] == expected_answer(task, problem, 10)


def test_huge_answer_prints_in_the_info() -> None:
    a, b = huge(7), huge(8)
    env = gym.make("Actformer/Addition-v0", max_length=HUGE)
    env.reset(options={"problem": (a, b)})
    info = env.step(HALT)[-1]
    assert type(info["target"]) is Number and repr(info["target"]) == oracle_text(a + b)
    assert repr(info).count("target")  # the info dict prints


@pytest.mark.parametrize("task", ["Addition", "Subtraction", "Compare"])
def test_huge_problems_in_the_vector_env(task: str) -> None:
    problem = huge_problem(task)
    envs = ActformerVectorEnv(2, task, max_length=HUGE)
    envs.reset(seed=0, options={"problem": problem})
    _, _, terminated, _, infos = envs.step(np.full(2, HALT))
    assert terminated.all() and infos["_target"].all()
    assert infos["target"].tolist() == [expected_answer(task, problem, 10)] * 2
    assert infos["output"].tolist() == [None, None]


@pytest.mark.parametrize("leading_zeros", [False, True])
def test_decode_a_row_holding_a_huge_number(leading_zeros: bool) -> None:
    digits = np.random.default_rng(9).integers(1, 10, HUGE).astype(np.int8)  # (every prefix canonical)
    rows = np.full((3, HUGE + 2), BLANK, dtype=np.int8)
    rows[0, :HUGE] = digits
    rows[1, : HUGE + 1] = np.append(digits, 0)  # a leading zero: a number only with them allowed
    rows[2, :HUGE] = digits
    rows[2, HUGE + 1] = 3  # a gap: no number
    value = oracle_int(digits, 10)
    expected = [value, value if leading_zeros else None, None]
    assert decode_numbers(rows, 10, leading_zeros=leading_zeros).tolist() == expected


def test_huge_operand_errors_say_what_is_wrong() -> None:
    """Messages about malformed problems of huge ints are the task's, not Python's digit limit's."""
    a = huge(10)
    env = gym.make("Actformer/Subtraction-v0", max_length=HUGE)
    with pytest.raises(ValueError, match="needs a >= b"):
        env.reset(options={"problem": (a, a + 1)})
    with pytest.raises(ValueError, match="non-negative ints"):
        env.reset(options={"problem": (-a, 1)})
    with pytest.raises(ValueError, match="must be a pair"):
        env.reset(options={"problem": (a, a, a)})
    with pytest.raises(ValueError, match="does not fit max_length"):
        env.reset(options={"problem": (a * 10, 1)})


def test_expert_adds_1000_digit_numbers() -> None:
    a, b = huge(11, 1000), huge(12, 1000)
    env = gym.make("Actformer/Addition-v0", max_length=1000)
    steps, _, info, _ = run_expert(env, options={"problem": (a, b)})
    assert info["is_success"] is True and info["output"] == info["target"] == a + b
    assert steps == 6 * 1000 + (6 if a + b >= 10**1000 else 1)


def test_long_products_and_values_are_the_column_sums() -> None:
    """Past their thresholds Multiplication and Expression compute with Python ints: the same rows."""
    for module, name, task in (
        (multiplication, "LONG_MULTIPLIER", TASKS["Multiplication"](7)),
        (expression, "LONG_OPERANDS", TASKS["Expression"](7, stage=1)),
        (expression, "LONG_OPERANDS", TASKS["Expression"](7, stage=2)),
    ):
        lengths = np.arange(1, 41)
        columns = task.generate(BatchRandom(np.arange(40, dtype=np.uint64)), lengths, task.width(40))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, name, 0)
            python = task.generate(BatchRandom(np.arange(40, dtype=np.uint64)), lengths, task.width(40))
        for field in ("scratchpad", "target", "program_length"):
            np.testing.assert_array_equal(getattr(python, field), getattr(columns, field))


def test_text_tasks_and_the_trace_command_take_huge_numbers() -> None:
    from actformer_gym.agents.text_tasks import EOS, TextTask
    from actformer_gym.train.trace import parse_problem

    a, b = huge(13, 5000), huge(14, 5000)
    text = TextTask("Addition")
    digits = to_digits(a + b, 10)
    assert text.answer_tokens(a + b)[:-1] == digits  # least significant first
    assert text.decode(text.answer_tokens(a + b)) == a + b
    assert TextTask("Addition", reverse_digits=False).decode([*digits[::-1], EOS]) == a + b
    assert parse_problem("Addition", f"{oracle_text(a)} + {oracle_text(b)}") == (a, b)


# -- memory in proportion to max_length, and its limit ---------------------------------------------


def traced_peak(task: str, max_length: int, **reset: object) -> tuple[int, int]:
    """(bytes held after ``gym.make``, the peak of make + reset) as tracemalloc sees them, once the
    task's caches of fixed size (e.g. Expression's expert table) are built."""
    gym.make(f"Actformer/{task}-v0", max_length=1).reset(seed=0)
    tracemalloc.start()
    try:
        env = gym.make(f"Actformer/{task}-v0", max_length=max_length)
        made = tracemalloc.get_traced_memory()[0]
        env.reset(seed=0, **reset)
        return made, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_copy_memory_is_linear_in_max_length() -> None:
    """Copy at max_length 10**6 takes at most 64 MB to make and reset (was a 10**12-cell table),
    and at 10**5 a tenth of what it takes at 10**6, plus 1 MB."""
    made_6, peak_6 = traced_peak("Copy", 10**6)
    made_5, peak_5 = traced_peak("Copy", 10**5)
    assert peak_6 <= 64 * MB, (made_6, peak_6)
    assert peak_5 <= peak_6 / 10 + 1 * MB, (made_5, peak_5, peak_6)


#: Tasks whose problems are posed by evaluating their expressions column by column (a few NumPy
#: calls per column, slow under tracemalloc: two minutes from 20,000 symbols): checked from 1,000
#: symbols in the default run, from 20,000 in the slow one.
COLUMN_EVALUATED = ("ModularArithmeticBrackets", "SolveEquation")


def memory_cases() -> list[Any]:
    cases = []
    for task in sorted(TASKS):
        if task in COLUMN_EVALUATED:
            cases.append(pytest.param(task, 10**3, id=f"{task}-1000"))
            cases.append(pytest.param(task, 2 * 10**4, marks=pytest.mark.slow, id=f"{task}-20000"))
        else:
            cases.append(pytest.param(task, 2 * 10**4, id=task))
    return cases


@pytest.mark.parametrize(("task", "length"), memory_cases())
def test_every_task_takes_memory_in_proportion_to_max_length(task: str, length: int) -> None:
    """A problem ten times as long takes at most ten times the memory (plus 1 MB)."""
    _, small = traced_peak(task, length, options={"length": length})
    _, large = traced_peak(task, 10 * length, options={"length": 10 * length})
    assert large <= 10 * small + 1 * MB, (small, large)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_max_length_beyond_the_limit_is_a_one_line_value_error(task: str) -> None:
    instance = TASKS[task](TASKS[task].default_base)
    rows = len(instance.rows)
    largest = 1  # the largest size whose posed problem fits one NumPy item, found independently
    while posed_bytes(rows, instance.width(2 * largest)) <= MAX_POSED_BYTES:
        largest *= 2
    step = largest // 2
    while step:
        if posed_bytes(rows, instance.width(largest + step)) <= MAX_POSED_BYTES:
            largest += step
        step //= 2
    check_size(instance, largest)
    with pytest.raises(ValueError, match=rf"^max_length must be at most {largest} for {task}, got ") as error:
        check_size(instance, largest + 1)
    assert "\n" not in str(error.value) and "2**31 - 1 bytes" in str(error.value)
    with pytest.raises(ValueError, match=r"^max_length must be at most") as error:
        gym.make(f"Actformer/{task}-v0", max_length=10**9)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=r"^max_length must be at most"):
        ActformerVectorEnv(2, task, max_length=10**9)


@pytest.mark.parametrize(("rows", "width"), [(1, 1), (2, 11), (4, 1003), (3, 10**6)])
def test_posed_bytes_is_the_record_size(rows: int, width: int) -> None:
    assert posed_bytes(rows, width) == posed_dtype(rows, width).itemsize


@pytest.mark.parametrize("width", [task_base.FILL_TABLE_BYTES // 4000, 3000])
def test_fill_from_is_the_same_with_and_without_the_table(width: int) -> None:
    rng = np.random.default_rng(width)
    rows = rng.integers(0, BLANK + 1, (30, 2, width)).astype(np.int8)
    starts = rng.integers(-2, width + 3, 30)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(task_base, "FILL_TABLE_BYTES", 10**12)
        table = fill_from(rows, starts, BLANK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(task_base, "FILL_TABLE_BYTES", 0)
        compared = fill_from(rows, starts, BLANK)
    expected = rows.copy()
    for i, start in enumerate(starts.tolist()):
        expected[i, :, max(start, 0) :] = BLANK
    np.testing.assert_array_equal(table, expected)
    np.testing.assert_array_equal(compared, expected)
