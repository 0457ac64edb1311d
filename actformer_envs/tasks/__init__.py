"""The tasks of the suite, one file each; :data:`TASKS` maps a task's name to its class."""

from __future__ import annotations

from actformer_envs.tasks.addition import Addition
from actformer_envs.tasks.base import Problems, Task
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.expression import Expression
from actformer_envs.tasks.parity import Parity
from actformer_envs.tasks.reverse import Reverse

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (Addition, Copy, Reverse, Parity, Expression)}

__all__ = ["TASKS", "Addition", "Copy", "Expression", "Parity", "Problems", "Reverse", "Task"]
