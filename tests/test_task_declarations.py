"""What each task declares beside its env: its text format (``Task.text_format``), its training
recipe (``Task.recipe``); what is built from them (the token baseline's tasks, the train suite's
plans); and ``register_task``, which makes a task defined outside the package an env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import actformer_envs
from actformer_envs.streams import BatchRandom
from actformer_envs.tasks import (
    SINGLE_TASKS,
    TASKS,
    Copy,
    MultiTask,
    NumberPair,
    PythonLiteral,
    Recipe,
    SymbolString,
    Task,
    TextFormat,
    parse_problem,
    register_task,
    unregister_task,
)
from actformer_envs.tasks.numbers import decode_numbers
from actformer_envs.tasks.registry import BUILT_IN_TASKS
from actformer_gym.agents.text_tasks import SUPPORTED_TASKS, TextTask, as_text, check_task, has_text_form
from benchmarks.common import PLANS, Plan

#: A problem of each task written as a Python literal (their problems are not drawn here).
LITERAL_PROBLEMS: dict[str, Any] = {
    "RepeatCopy": ([3, 1, 4], 2),
    "Logic": (0, 1, [2, 3, 9]),
    "Expression": (12, 3, 4, 5, 6),  # stage 2: 12 * 3 + 4 - 5 * 6 >= 0
    "MultiTask": ("Addition", (12, 34)),
}


def drawn_problems(cls: type[Task], length: int, count: int = 6, seed: int = 0) -> list[Any]:
    """Problems the task's ``generate`` poses, read off the scratchpad in the env's problem form:
    the numbers on rows A and B (a number pair), or the symbols on row IN (a symbol string)."""
    task = cls(cls.default_base)
    random = BatchRandom(np.random.default_rng([seed, length]).integers(2**63, size=count, dtype=np.uint64))
    scratchpad = task.generate(random, np.full(count, length, dtype=np.int64), task.width(length)).scratchpad
    if isinstance(cls.text_format, NumberPair):
        a, b = (decode_numbers(scratchpad[:, row], task.base) for row in (0, 1))
        return list(zip(a.tolist(), b.tolist(), strict=True))
    assert isinstance(cls.text_format, SymbolString)
    inputs = scratchpad[:, 0].tolist()
    return [[s for s in row if s < task.base] for row in inputs]  # the symbols, before BLANK/EDGE


# -- text formats ----------------------------------------------------------------------------------


def test_every_task_declares_a_text_format_and_the_built_in_ones_a_recipe() -> None:
    assert Task.text_format == PythonLiteral() and Task.recipe is None  # the defaults
    for name, cls in TASKS.items():
        assert isinstance(cls.text_format, TextFormat), name
    for name, cls in SINGLE_TASKS.items():
        assert isinstance(cls.recipe, Recipe), name
    assert isinstance(MultiTask.recipe, Recipe)  # its members' sets, each at its own lengths


def test_the_declared_formats() -> None:
    formats = {name: cls.text_format for name, cls in TASKS.items()}
    assert formats["Addition"] == NumberPair(("+",))
    assert formats["Subtraction"] == NumberPair(("-",))
    assert formats["Multiplication"] == NumberPair(("*", "x"))
    assert formats["Compare"] == NumberPair(("<>", "?"))
    for name in ("Copy", "Reverse", "DuplicatedInput", "Sort"):
        assert formats[name] == SymbolString(), name
    assert formats["Parity"] == SymbolString(single_symbol_answer=True)
    literal = {name for name, text_format in formats.items() if isinstance(text_format, PythonLiteral)}
    assert literal == set(LITERAL_PROBLEMS)


@pytest.mark.parametrize(
    "name", [n for n, cls in SINGLE_TASKS.items() if isinstance(cls.text_format, (NumberPair, SymbolString))]
)
@pytest.mark.parametrize("length", [1, 4, 9])
def test_drawn_problems_round_trip_through_text(name: str, length: int) -> None:
    cls = SINGLE_TASKS[name]
    text_format = cls.text_format
    env = gym.make(f"Actformer/{name}-v0", max_length=length)
    for problem in drawn_problems(cls, length):
        text = text_format.write(problem)
        parsed = parse_problem(name, text)
        assert parsed == text_format.parse(text, name)
        assert parsed == (tuple(problem) if isinstance(text_format, NumberPair) else problem), text
        assert cls(cls.default_base).problem_length(parsed) == length
        env.reset(seed=0, options={"problem": parsed})  # the env takes it
    env.close()


@pytest.mark.parametrize("name", sorted(LITERAL_PROBLEMS))
def test_literal_problems_round_trip_through_text(name: str) -> None:
    problem = LITERAL_PROBLEMS[name]
    text = TASKS[name].text_format.write(problem)
    assert parse_problem(name, text) == problem
    env = gym.make(f"Actformer/{name}-v0")
    env.reset(seed=0, options={"problem": parse_problem(name, text)})
    env.close()


def test_formats_read_what_people_type_and_write_it_back() -> None:
    assert parse_problem("Addition", " 123 + 456 ") == (123, 456)
    assert parse_problem("Multiplication", "12x34") == parse_problem("Multiplication", "12*34") == (12, 34)
    assert parse_problem("Compare", "5?7") == parse_problem("Compare", "5<>7") == (5, 7)
    assert parse_problem("Copy", "3 1 a F") == [3, 1, 10, 15]
    assert parse_problem("RepeatCopy", "([3, 1], 2)") == ([3, 1], 2)
    assert NumberPair(("*", "x")).write((12, 34)) == "12*34"
    assert SymbolString().write([3, 1, 10, 35]) == "31az"
    assert PythonLiteral().write((np.array([3, 1]), np.int64(2))) == "([3, 1], 2)"
    huge = 7 * 10**5000 + 3  # past Python's limit on int <-> text (4300 digits)
    assert parse_problem("Addition", NumberPair(("+",)).write((huge, 5))) == (huge, 5)


@pytest.mark.parametrize(
    ("task", "text", "message"),
    [
        ("Addition", "1-2", "Addition problems are written a+b with non-negative integers a, b; got '1-2'"),
        ("Addition", "a+b", "Addition problems are written a+b with non-negative integers a, b; got 'a+b'"),
        ("Addition", "²+1", "Addition problems are written a+b with non-negative integers a, b; got '²+1'"),
        (
            "Multiplication",
            "-1*2",
            "Multiplication problems are written a*b or axb with non-negative integers a, b; got '-1*2'",
        ),
        ("Copy", "12-3", "Copy problems are a string of symbols such as 31415; got '12-3'"),
        ("Parity", "  ", "Parity problems are a string of symbols such as 31415; got '  '"),
        (
            "Logic",
            "((",
            "Logic problems are given as a Python literal in the env's problem format "
            "(see the Logic docstring's Starting State); got '(('",
        ),
    ],
)
def test_parse_errors_say_how_the_task_is_written(task: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_problem(task, text)
    assert str(error.value) == message


def test_parse_problem_of_an_unknown_task_names_the_tasks() -> None:
    with pytest.raises(ValueError, match=r"task must be one of .*'Addition'"):
        parse_problem("Nope", "1+2")
    with pytest.raises(ValueError, match="operators"):
        NumberPair(())


# -- the token baseline reads the declarations -----------------------------------------------------


def test_token_tasks_are_the_declared_formats_with_tokens() -> None:
    assert tuple(name for name, cls in TASKS.items() if has_text_form(cls)) == SUPPORTED_TASKS
    assert SUPPORTED_TASKS == (
        "Addition", "Multiplication", "Copy", "Reverse", "DuplicatedInput", "Sort", "Parity", "EvenPairs",
        "CycleNavigation", "StackManipulation", "DuplicateString", "OddsFirst", "MissingDuplicate",
        "ModularArithmetic", "ModularArithmeticBrackets", "ComputeSqrt",
    )  # fmt: skip
    # Subtraction's and Compare's operators have no token; Python literals have no text form;
    # SolveEquation's 11 symbols are more than the vocabulary's 10 digits.
    for name in ("Subtraction", "Compare", "RepeatCopy", "Logic", "Expression", "MultiTask", "SolveEquation"):
        with pytest.raises(ValueError, match="has no text form"):
            check_task(name)


def test_duplicated_input_as_tokens() -> None:
    text = TextTask("DuplicatedInput")
    assert as_text(text.prompt([3, 3, 0, 0])) == "3300|"
    assert as_text(text.answer_tokens([3, 0])) == "30$"
    assert text.decode(text.answer_tokens([3, 0])) == [3, 0]


# -- recipes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SINGLE_TASKS))
def test_recipes_are_sane(name: str) -> None:
    recipe = SINGLE_TASKS[name].recipe
    assert recipe is not None
    assert all(recipe.train_length <= length for length in recipe.eval_lengths)
    assert list(recipe.eval_lengths) == sorted(set(recipe.eval_lengths))
    assert recipe.eval_episodes >= 1
    assert SINGLE_TASKS[name].default_lengths[0] <= recipe.train_length


def test_plans_are_the_recipes() -> None:
    assert [plan.task for plan in PLANS] == list(SINGLE_TASKS)
    for plan in PLANS:
        recipe = SINGLE_TASKS[plan.task].recipe
        assert recipe is not None
        assert plan == Plan.from_recipe(plan.task, recipe)
        assert (plan.train_length, plan.eval_lengths, plan.episodes) == (
            recipe.train_length, recipe.eval_lengths, recipe.eval_episodes,
        )  # fmt: skip
    settings = {plan.task: dict(plan.settings) for plan in PLANS}
    assert settings["Multiplication"] == {"imitation_pairs": 60_000, "history_length": 0}
    assert settings["Addition"] == {}


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"train_length": 0}, "train_length"),
        ({"eval_lengths": ()}, "eval_lengths"),
        ({"eval_lengths": (5, 5)}, "eval_lengths"),
        ({"eval_lengths": [5, 50]}, "eval_lengths"),
        ({"eval_episodes": True}, "eval_episodes"),
        ({"expert_pairs": 0}, "expert_pairs"),
        ({"history_length": -1}, "history_length"),
    ],
)
def test_bad_recipes_are_refused(fields: dict[str, Any], name: str) -> None:
    values: dict[str, Any] = {"train_length": 5, "eval_lengths": (5, 50), "eval_episodes": 10, **fields}
    with pytest.raises(ValueError, match=name):
        Recipe(**values)


# -- register_task ---------------------------------------------------------------------------------


class Echo(Copy):
    """A task of this module: Copy under another name."""

    name = "TestEcho"


def test_register_task_makes_an_env_and_unregister_task_removes_it() -> None:
    assert actformer_envs.register_task is register_task
    catalogue = dict(MultiTask.catalogue)
    assert register_task(Echo) is Echo
    try:
        assert TASKS["TestEcho"] is Echo and "Actformer/TestEcho-v0" in gym.registry
        assert MultiTask.catalogue == catalogue and "TestEcho" not in SINGLE_TASKS  # ids unchanged
        env = gym.make("Actformer/TestEcho-v0", max_length=3)
        env.reset(seed=0, options={"problem": [4, 2]})
        unwrapped: Any = env.unwrapped
        env.step(unwrapped.expert_action())
        env.close()
        vector = gym.make_vec("Actformer/TestEcho-v0", num_envs=2, vectorization_mode="vector_entry_point")
        assert isinstance(vector.unwrapped, actformer_envs.ActformerVectorEnv)
        vector.reset(seed=0)
        vector.close()
        assert parse_problem("TestEcho", "42") == [4, 2]
        assert check_task("TestEcho") == "TestEcho"  # a symbol string: the token baseline takes it
        with pytest.raises(ValueError, match="taken"):
            register_task(Echo)
    finally:
        assert unregister_task("TestEcho") is Echo
    assert "TestEcho" not in TASKS and "Actformer/TestEcho-v0" not in gym.registry
    assert set(TASKS) == BUILT_IN_TASKS


class Abstract(Task):
    name = "TestAbstract"


class Dashed(Copy):
    name = "Test-Dashed"


@pytest.mark.parametrize(
    ("cls", "error", "match"),
    [
        (int, TypeError, "subclass of actformer_envs.Task"),
        ("Copy", TypeError, "subclass of actformer_envs.Task"),
        (MultiTask, TypeError, "subclass of actformer_envs.Task"),
        (Abstract, TypeError, "does not implement"),
        (Copy, ValueError, "'Copy' is taken"),
        (Dashed, ValueError, "identifier"),
    ],
)
def test_register_task_errors(cls: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        register_task(cls)
    assert set(TASKS) == BUILT_IN_TASKS


def test_unregister_task_refuses_the_packages_tasks_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="task of the package"):
        unregister_task("Copy")
    with pytest.raises(ValueError, match="no task 'Nope'"):
        unregister_task("Nope")
    assert "Copy" in TASKS and "Actformer/Copy-v0" in gym.registry


def test_a_one_symbol_answer_is_declared_alike_for_the_env_and_for_text() -> None:
    """A sequence task whose env decodes one symbol writes its answer as one symbol in text."""
    for name, cls in SINGLE_TASKS.items():
        if isinstance(cls.text_format, SymbolString) and hasattr(cls, "answer_is_one_symbol"):
            assert cls.answer_is_one_symbol == cls.text_format.single_symbol_answer, name
