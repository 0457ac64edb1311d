"""The registry of the suite: every task by name, the ids a MultiTask shows of them, and the env ids.

This module imports the tasks; no task module imports it. A MultiTask mixes the single tasks
listed here: the registry hands it their table (``MultiTask.catalogue``) rather than MultiTask
importing it.
"""

from __future__ import annotations

from actformer_envs.tasks.addition import Addition
from actformer_envs.tasks.base import Task
from actformer_envs.tasks.compare import Compare
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.duplicated_input import DuplicatedInput
from actformer_envs.tasks.expression import Expression
from actformer_envs.tasks.logic import Logic
from actformer_envs.tasks.multiplication import Multiplication
from actformer_envs.tasks.multitask import MultiTask
from actformer_envs.tasks.parity import Parity
from actformer_envs.tasks.repeat_copy import RepeatCopy
from actformer_envs.tasks.reverse import Reverse
from actformer_envs.tasks.sort import Sort
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
    )
}
#: The id of each single task: its position in :data:`SINGLE_TASKS`.
TASK_IDS: dict[str, int] = {name: i for i, name in enumerate(SINGLE_TASKS)}
#: Room for the ids of tasks to come, so that adding one keeps ``obs["task"]``'s space.
NUM_TASK_IDS = 32
assert len(TASK_IDS) <= NUM_TASK_IDS

MultiTask.catalogue = SINGLE_TASKS

#: Every task an env can be made of, by name: the single tasks, then their mixture.
TASKS: dict[str, type[Task] | type[MultiTask]] = {**SINGLE_TASKS, MultiTask.name: MultiTask}

#: Every task is registered as ``Actformer/<name>-v0`` (``registration.register_envs``).
NAMESPACE = "Actformer"
VERSION = 0
ENV_IDS = tuple(f"{NAMESPACE}/{name}-v{VERSION}" for name in TASKS)


def task_id(name: str) -> int:
    """The id of a single task (its position in :data:`SINGLE_TASKS`)."""
    if name not in TASK_IDS:
        raise ValueError(f"{name!r} is not a single task; single tasks: {list(TASK_IDS)}")
    return TASK_IDS[name]
