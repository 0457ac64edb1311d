"""MultiTask: every episode a task drawn from a list, on one machine with one action space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from actformer_envs.instructions import INSTRUCTIONS, mask_from_names
from actformer_envs.tasks.base import Task
from actformer_envs.tasks.mixture import Mixture
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import PythonLiteral, TextFormat


class MultiTask:
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
    format. ``env.unwrapped.current_task`` is the member of the current episode;
    ``env.unwrapped.mixture.members`` are all of them.

    ## Episode End
    As the member's.

    ## Arguments
    ``tasks``: names of single tasks, at least one, no repeats (default: the twelve of v0,
    ``MultiTask.default_members``, Addition to Expression; the tasks added since join by name, as
    a change of the default mixture would be a new version). ``base``:
    the base of every member that works in it; the others keep their own (Parity and Logic are
    binary). Members' own options keep their defaults.

    ## Registered Configurations
    ``Actformer/MultiTask-v0``.

    ## Version History
    v0: initial release.
    """

    name: ClassVar[str] = "MultiTask"
    allowed_instructions: ClassVar[tuple[str, ...]] = tuple(ins.name for ins in INSTRUCTIONS)  # the union
    default_base: ClassVar[int] = 10
    base_range: ClassVar[tuple[int, int]] = (2, 36)
    default_lengths: ClassVar[tuple[int, int]] = (1, 10)
    option_defaults: ClassVar[dict[str, Any]] = {"tasks": None}
    #: Problems as a Python literal, ``("Addition", (12, 34))``: the member's name and its problem.
    text_format: ClassVar[TextFormat] = PythonLiteral()
    #: Its certified recipe: one projected policy fit on every member's verification set, each member
    #: at its own recipe's lengths 1..``certified_length`` (6: the longest of its default members',
    #: Sort's), evaluated in distribution (a test holds 6 to the default members' recipes).
    recipe: ClassVar[Recipe | None] = Recipe(6, (6,), 200)
    #: The single tasks a MultiTask mixes, by name, in the order of their ids (a member's id, its
    #: ``obs["task"]``, is its position here): the registry's ``SINGLE_TASKS``, which the registry
    #: hands to this class (``tasks.registry``), so that no task module imports the registry.
    catalogue: ClassVar[Mapping[str, type[Task]]] = {}
    #: The members when ``tasks`` is not given: the mixture of v0, fixed with its version.
    default_members: ClassVar[tuple[str, ...]] = (
        "Addition", "Subtraction", "Multiplication", "Compare", "Copy", "Reverse", "DuplicatedInput",
        "RepeatCopy", "Sort", "Parity", "Logic", "Expression",
    )  # fmt: skip

    def __init__(self, base: int, **options: Any) -> None:
        """``options``: ``tasks``, already checked by :meth:`check_options`."""
        self.base = base
        self.options = {**self.option_defaults, **options}
        self.action_mask = mask_from_names(self.allowed_instructions)
        names = list(self.catalogue)
        chosen = self.options["tasks"] or self.default_members
        classes = [self.catalogue[name] for name in chosen]
        members = tuple(cls(base if _works_in(cls, base) else cls.default_base) for cls in classes)
        #: The members and their ids: what the episodes of a MultiTask run on.
        self.mixture = Mixture(self.name, members, tuple(names.index(name) for name in chosen))
        #: As many rows as the member with the most (a member's own are the first of them).
        self.rows = tuple(f"ROW{i}" for i in range(self.mixture.rows))

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """``ValueError`` naming ``tasks`` unless it is None or names single tasks, at least one,
        without repeats."""
        tasks = options.get("tasks")
        if tasks is None:
            return
        singles = sorted(cls.catalogue)
        if isinstance(tasks, str) or not isinstance(tasks, (list, tuple)) or not tasks:
            raise ValueError(f"tasks must be a non-empty list of task names from {singles}, got {tasks!r}")
        unknown = [t for t in tasks if t not in singles]
        if unknown:
            raise ValueError(f"tasks must name single tasks from {singles}, got unknown {unknown}")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must not repeat a task, got {list(tasks)}")

    def width(self, max_length: int) -> int:
        """Columns of the scratchpad needed for every member's problems up to ``max_length``."""
        return self.mixture.width(max_length)

    def problem_length(self, problem: Any) -> int:
        """The size of a user-posed problem (name, problem): the member's size of its problem."""
        return self.mixture.problem_length(problem)

    def expert(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The correct next action for a batch of observations: each one's member's expert's."""
        return self.mixture.expert(observation)


def _works_in(task: type[Task], base: int) -> bool:
    low, high = task.base_range
    return low <= base <= high
