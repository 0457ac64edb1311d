"""The tasks of the suite, one file each; :data:`TASKS` maps a task's name to its class."""

from __future__ import annotations

from actformer_envs.tasks.addition import Addition
from actformer_envs.tasks.base import Problems, Task
from actformer_envs.tasks.compare import Compare
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.duplicated_input import DuplicatedInput
from actformer_envs.tasks.expression import Expression
from actformer_envs.tasks.logic import Logic
from actformer_envs.tasks.multiplication import Multiplication
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
#: Room for the ids of tasks to come, so that adding one keeps ``obs["task"]``'s space.
NUM_TASK_IDS = 32


def task_id(name: str) -> int:
    """The id of a single task (its position in :data:`SINGLE_TASKS`)."""
    return list(SINGLE_TASKS).index(name)


from actformer_envs.tasks.multitask import MultiTask  # noqa: E402  (it draws on SINGLE_TASKS)

TASKS: dict[str, type[Task]] = {**SINGLE_TASKS, MultiTask.name: MultiTask}

__all__ = [
    "NUM_TASK_IDS",
    "SINGLE_TASKS",
    "TASKS",
    "Addition",
    "Compare",
    "Copy",
    "DuplicatedInput",
    "Expression",
    "Logic",
    "MultiTask",
    "Multiplication",
    "Parity",
    "Problems",
    "RepeatCopy",
    "Reverse",
    "Sort",
    "Subtraction",
    "Task",
    "task_id",
]
