"""MultiTask: every episode a task drawn from a list, on one machine with one action space."""

from __future__ import annotations

from typing import Any

import numpy as np

from actformer_envs.digits import shown
from actformer_envs.instructions import INSTRUCTIONS, NUM_POINTERS
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import EDGE
from actformer_envs.tasks.base import Problems, Task, as_objects


class MultiTask(Task):
    """``Actformer/MultiTask-v0``: each episode poses a problem of a task drawn from ``tasks``.

    ## Description
    One agent, many algorithms: every reset draws a member task uniformly from ``tasks`` and poses
    one of its problems. The machine, the instruction table and the observation space are the
    same for every member, so what is learned on one can be measured on the others.

    ## Action Space
    The shared ``Discrete(139)`` table; the action mask (``action_masks()``,
    ``info["action_mask"]``) is the current member's and changes from episode to episode.

    ## Observation Space
    As ``ActformerEnv``, plus ``task``: the member's id, ``Discrete(32)``, its position in
    ``actformer_envs.tasks.SINGLE_TASKS`` (the same id whichever ``tasks`` are chosen).
    ``obs_mode="full"`` shows as many rows as the member with the most; the rows a member does
    not use hold EDGE.

    ## Rewards
    As the member's.

    ## Starting State
    A member drawn uniformly, and a problem of that member with a length uniform in
    ``[min_length, max_length]`` (the same range for every member; default 1..10).
    ``options={"length": n}`` draws the member and poses a problem of length n;
    ``options={"problem": (name, problem)}`` poses the member ``name``'s problem, in that member's
    format. ``env.unwrapped.current_task`` is the member of the current episode.

    ## Episode End
    As the member's.

    ## Arguments
    ``tasks``: names of single tasks (default: every one), at least one, no repeats. ``base``:
    the base of every member that works in it; the others keep their own (Parity and Logic are
    binary). Members' own options keep their defaults.

    ## Registered Configurations
    ``Actformer/MultiTask-v0``.

    ## Version History
    v0: initial release.
    """

    name = "MultiTask"
    composite = True
    rows: tuple[str, ...] = ()  # set per instance: as many as the member with the most
    output_row = 0
    pointer_rows = (None,) * NUM_POINTERS
    allowed_instructions = tuple(ins.name for ins in INSTRUCTIONS)  # the union: see ``members``
    default_lengths = (1, 10)
    option_defaults = {"tasks": None}

    def __init__(self, base: int, **options: Any) -> None:
        super().__init__(base, **options)
        names = self.options["tasks"] or tuple(_single_tasks())
        classes = [_single_tasks()[name] for name in names]
        self._members = tuple(cls(base if _works_in(cls, base) else cls.default_base) for cls in classes)
        self._index = {member.name: i for i, member in enumerate(self._members)}
        self._ids = tuple(_task_id(member.name) for member in self._members)  # obs["task"] of each
        self.rows = tuple(f"ROW{i}" for i in range(max(len(m.rows) for m in self._members)))

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        tasks = options.get("tasks")
        if tasks is None:
            return
        singles = sorted(_single_tasks())
        if isinstance(tasks, str) or not isinstance(tasks, (list, tuple)) or not tasks:
            raise ValueError(f"tasks must be a non-empty list of task names from {singles}, got {tasks!r}")
        unknown = [t for t in tasks if t not in singles]
        if unknown:
            raise ValueError(f"tasks must name single tasks from {singles}, got unknown {unknown}")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must not repeat a task, got {list(tasks)}")

    @property
    def members(self) -> tuple[Task, ...]:
        return self._members

    def width(self, max_length: int) -> int:
        return max(member.width(max_length) for member in self._members)

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        layout = random.integers(len(self._members))[:, 0]
        parts = [
            (rows, member.generate(random.take(rows), lengths[rows], width))
            for member, rows in self._groups(layout)
        ]
        return self._combine(parts, layout, width)

    def problem_length(self, problem: Any) -> int:
        member, inner = self._member_problem(problem)
        return member.problem_length(inner)

    def encode(self, problem: Any, width: int) -> Problems:
        member, inner = self._member_problem(problem)
        layout = np.array([self._index[member.name]])
        return self._combine([(np.zeros(1, dtype=np.intp), member.encode(inner, width))], layout, width)

    def decode_outputs(self, rows: np.ndarray, layouts: np.ndarray | None) -> np.ndarray:
        if layouts is None:
            raise TypeError("a MultiTask's rows decode by member: give each row's layout")
        answers = np.empty(len(rows), dtype=object)
        for member, where in self._groups(layouts):
            answers[where] = as_objects(member.decode_batch(rows[where]))
        return answers

    def decode_batch(self, rows: np.ndarray) -> list[Any]:
        raise TypeError("a MultiTask's rows decode by member: use decode_outputs(rows, layouts)")

    def expert(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        actions = np.zeros(len(observation["task"]), dtype=np.int64)
        for member, task_id in zip(self._members, self._ids, strict=True):
            where = np.flatnonzero(observation["task"] == task_id)
            if len(where):
                actions[where] = member.expert({key: value[where] for key, value in observation.items()})
        return actions

    def _groups(self, layout: np.ndarray) -> list[tuple[Task, np.ndarray]]:
        """(member, rows of that member) for each member present in ``layout``."""
        return [(m, np.flatnonzero(layout == i)) for i, m in enumerate(self._members) if (layout == i).any()]

    def _combine(self, parts: list[tuple[np.ndarray, Problems]], layout: np.ndarray, width: int) -> Problems:
        """Members' problems, in their rows of the batch, on a scratchpad of every member's rows."""
        n = len(layout)
        scratchpad = np.full((n, len(self.rows), width), EDGE, dtype=np.int8)
        target = np.empty((n, width), dtype=np.int8)
        program = np.empty(n, dtype=np.int64)
        for rows, problems in parts:
            scratchpad[rows, : problems.scratchpad.shape[1]] = problems.scratchpad
            target[rows] = problems.target
            program[rows] = problems.program_length
        return Problems(scratchpad, target, program, layout)

    def _member_problem(self, problem: Any) -> tuple[Task, Any]:
        if (
            not isinstance(problem, (tuple, list))
            or len(problem) != 2
            or not isinstance(problem[0], str)
            or problem[0] not in self._index
        ):
            raise ValueError(
                f"MultiTask problem must be a pair (task name, problem) with a task from "
                f"{list(self._index)}, got {shown(problem)}"
            )
        return self._members[self._index[problem[0]]], problem[1]


def _works_in(task: type[Task], base: int) -> bool:
    low, high = task.base_range
    return low <= base <= high


def _single_tasks() -> dict[str, type[Task]]:
    from actformer_envs.tasks import SINGLE_TASKS  # the package imports this module: look up late

    return SINGLE_TASKS


def _task_id(name: str) -> int:
    from actformer_envs.tasks import task_id

    return task_id(name)
