"""The registry of the suite: every task by name, the ids a MultiTask shows of them, and the env ids.

This module imports the tasks; no task module imports it. A MultiTask mixes the single tasks
listed here: the registry hands it their table (``MultiTask.catalogue``) rather than MultiTask
importing it.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym

from actformer_envs.symbols import NUM_TASK_IDS
from actformer_envs.tasks.addition import Addition
from actformer_envs.tasks.base import Task
from actformer_envs.tasks.compare import Compare
from actformer_envs.tasks.compute_sqrt import ComputeSqrt
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.cycle_navigation import CycleNavigation
from actformer_envs.tasks.duplicate_string import DuplicateString
from actformer_envs.tasks.duplicated_input import DuplicatedInput
from actformer_envs.tasks.even_pairs import EvenPairs
from actformer_envs.tasks.expression import Expression
from actformer_envs.tasks.logic import Logic
from actformer_envs.tasks.missing_duplicate import MissingDuplicate
from actformer_envs.tasks.modular_arithmetic import ModularArithmetic
from actformer_envs.tasks.modular_brackets import ModularArithmeticBrackets
from actformer_envs.tasks.multiplication import Multiplication
from actformer_envs.tasks.multitask import MultiTask
from actformer_envs.tasks.odds_first import OddsFirst
from actformer_envs.tasks.parity import Parity
from actformer_envs.tasks.repeat_copy import RepeatCopy
from actformer_envs.tasks.reverse import Reverse
from actformer_envs.tasks.solve_equation import SolveEquation
from actformer_envs.tasks.sort import Sort
from actformer_envs.tasks.stack_manipulation import StackManipulation
from actformer_envs.tasks.subtraction import Subtraction

#: The single tasks, in the order that gives their ids (``obs["task"]`` of a MultiTask): new tasks
#: go at the end, so that ids never change.
SINGLE_TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        Addition,
        Subtraction,
        Multiplication,
        Compare,
        Copy,
        Reverse,
        DuplicatedInput,
        RepeatCopy,
        Sort,
        Parity,
        Logic,
        Expression,
        EvenPairs,
        CycleNavigation,
        StackManipulation,
        DuplicateString,
        OddsFirst,
        MissingDuplicate,
        ModularArithmetic,
        ModularArithmeticBrackets,
        SolveEquation,
        ComputeSqrt,
    )
}
#: The id of each single task: its position in :data:`SINGLE_TASKS`.
TASK_IDS: dict[str, int] = {name: i for i, name in enumerate(SINGLE_TASKS)}
assert len(TASK_IDS) <= NUM_TASK_IDS  # (``symbols.NUM_TASK_IDS``: room for the ids of tasks to come)

MultiTask.catalogue = SINGLE_TASKS

#: Every task an env can be made of, by name: the single tasks, then their mixture.
TASKS: dict[str, type[Task] | type[MultiTask]] = {**SINGLE_TASKS, MultiTask.name: MultiTask}

#: Every task is registered as ``Actformer/<name>-v0`` (``registration.register_envs``; a task of
#: :func:`register_task` when it is added).
NAMESPACE = "Actformer"
VERSION = 0


def env_id(name: str) -> str:
    """The id of the env of the task ``name``: ``Actformer/<name>-v0``."""
    return f"{NAMESPACE}/{name}-v{VERSION}"


#: The ids of the package's own tasks' envs (not those of :func:`register_task`).
ENV_IDS = tuple(env_id(name) for name in TASKS)
#: The package's own tasks, which :func:`unregister_task` refuses to remove.
BUILT_IN_TASKS = frozenset(TASKS)


def register_env(name: str) -> None:
    """Register the task ``name`` of :data:`TASKS` with Gymnasium as :func:`env_id` (once: a no-op if
    the id is registered), with a single and a native vector entry point."""
    if env_id(name) in gym.registry:
        return
    gym.register(
        id=env_id(name),
        entry_point="actformer_envs.env:ActformerEnv",
        vector_entry_point="actformer_envs.vector_env:ActformerVectorEnv",
        kwargs={"task": name},
    )


def register_task(cls: type[Task]) -> type[Task]:
    """Make a task defined outside the package an env: add it to :data:`TASKS` and register
    ``Actformer/<cls.name>-v0`` (single and vector, as every task). Returns ``cls`` (a decorator).

    It does not join a MultiTask's catalogue (:data:`SINGLE_TASKS`), whose ids stay as they are.
    ``TypeError`` unless ``cls`` is a concrete ``Task`` subclass with a ``name``; ``ValueError`` if the
    name is not an identifier, or it or its env id is taken. :func:`unregister_task` undoes it.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task takes a subclass of actformer_envs.Task, got {cls!r}")
    if inspect.isabstract(cls):
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        raise TypeError(f"{cls.__qualname__} does not implement the Task methods {missing}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"{cls.__qualname__} must set the class attribute name (a str), got {name!r}")
    if not name.isidentifier():
        raise ValueError(f"a task's name must be an identifier (it names the env id), got {name!r}")
    if name in TASKS:
        raise ValueError(f"task name {name!r} is taken (by {TASKS[name].__qualname__}); choose another")
    if env_id(name) in gym.registry:
        raise ValueError(f"env id {env_id(name)!r} is registered already; choose another task name")
    TASKS[name] = cls
    register_env(name)
    return cls


def unregister_task(name: str) -> type[Task] | type[MultiTask]:
    """Remove what :func:`register_task` added for the task ``name`` (its :data:`TASKS` entry and its
    env id) and return its class; ``ValueError`` for a task of the package or an unknown name."""
    if name in BUILT_IN_TASKS:
        raise ValueError(f"{name!r} is a task of the package; only tasks of register_task can be removed")
    if name not in TASKS:
        added = sorted(set(TASKS) - BUILT_IN_TASKS)
        raise ValueError(f"no task {name!r} was registered; registered: {added}")
    gym.registry.pop(env_id(name), None)
    return TASKS.pop(name)


def parse_problem(task: str, text: str) -> Any:
    """The problem ``text`` holds for the task named ``task`` (a name of :data:`TASKS`),
    by the task's declared ``text_format``; ``ValueError`` saying how its problems are written if
    it does not parse, or naming the tasks if there is none of that name."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return TASKS[task].text_format.parse(text, task)


def task_id(name: str) -> int:
    """The id of a single task (its position in :data:`SINGLE_TASKS`)."""
    if name not in TASK_IDS:
        raise ValueError(f"{name!r} is not a single task; single tasks: {list(TASK_IDS)}")
    return TASK_IDS[name]
