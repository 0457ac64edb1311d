"""What an env poses problems of, as data: a tuple of member tasks, and what the observation shows.

The episode core (``Episodes``, the problem queue, ``posing``, the machine) runs on a
:class:`Mixture` and on nothing else of the tasks. A plain task is a mixture of one: its problems are
its own and the observation names no task. A MultiTask's mixture draws a member for each problem
and shows the member's id in ``obs["task"]``. Every problem is posed in its member's layout, so a
batch of problems comes with ``member``, an (n,) array: which member each problem is of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from actformer_envs.digits import shown
from actformer_envs.reads import ReadMasks
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import EDGE, NUM_TASK_IDS
from actformer_envs.tasks.base import Problems, Task, as_objects


class Mixture:
    """The member tasks of an env, and the ids its observation shows of them.

    ``name``: the env's task (what errors name). ``ids``: ``obs["task"]`` of each member, or
    ``None`` for a plain task's mixture of one, whose problems draw no member and whose
    observation shows none.
    """

    def __init__(self, name: str, members: tuple[Task, ...], ids: tuple[int, ...] | None = None) -> None:
        if not members or (ids is not None and len(ids) != len(members)):
            raise ValueError(f"a mixture needs one member or more, and an id for each: got {members}, {ids}")
        if ids is None and len(members) != 1:
            raise ValueError("a mixture of several members draws one per problem: give their ids")
        self.name = name
        self.members = members
        self.ids = ids
        #: Scratchpad rows of every problem: as many as the member with the most (EDGE below a
        #: member's own).
        self.rows = max(len(member.rows) for member in members)
        #: The action mask of each member, (members, actions) bool, read-only.
        self.masks = np.array([member.action_mask for member in members])
        self.masks.flags.writeable = False
        self._index = {member.name: i for i, member in enumerate(members)}
        # Members that decode alike (equal ``decoding``) are decoded together, by the first of them:
        # the decoder of each member, and those decoders.
        first = {member.decoding: member for member in reversed(members)}  # (the first wins)
        decodings = list(dict.fromkeys(member.decoding for member in members))
        self._decoder_of = np.array([decodings.index(member.decoding) for member in members], dtype=np.intp)
        self._decoders = tuple(first[decoding] for decoding in decodings)

    @classmethod
    def of(cls, task: Task) -> Mixture:
        """A plain task's mixture: itself alone."""
        return cls(task.name, (task,))

    @property
    def draws_member(self) -> bool:
        """Whether each problem's member is drawn (and shown as ``obs["task"]``): a MultiTask's."""
        return self.ids is not None

    def read_masks(self) -> ReadMasks | None:
        """What the members' experts read (their ``reads``), as projection masks: a plain task's,
        or one row per task id for a mixture that draws its member (which also reads ``task``);
        None if a member declares no reads."""
        declared = [member.reads for member in self.members]
        if any(reads is None for reads in declared):
            return None
        masks = [reads.masks() for reads in declared if reads is not None]
        if self.ids is None:
            return masks[0]
        for member_masks in masks:
            member_masks.keep["task"][0] = 1
        return ReadMasks.stack(dict(zip(self.ids, masks, strict=True)), NUM_TASK_IDS)

    def member_shown(self, observation: dict[str, Any], env: int = 0) -> Task:
        """The member whose problem env ``env`` of a batched observation poses (by its
        ``obs["task"]``; a plain task's mixture: the task itself)."""
        if self.ids is None:
            return self.members[0]
        return self.members[self.ids.index(int(observation["task"][env]))]

    def width(self, max_length: int) -> int:
        """Columns of the scratchpad needed for every member's problems up to ``max_length``."""
        return max(member.width(max_length) for member in self.members)

    # -- problems ------------------------------------------------------------------------------

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> tuple[Problems, np.ndarray]:
        """Random problems of the given sizes (one per row of ``random``), and each one's member."""
        if self.ids is None:
            return self.members[0].generate(random, lengths, width), _zeros(len(lengths))
        member = random.integers(len(self.members))[:, 0]
        parts = [
            (rows, task.generate(random.take(rows), lengths[rows], width))
            for task, rows in _groups(self.members, member)
        ]
        return self._combine(parts, len(member), width), member

    def encode(self, problem: Any, width: int) -> tuple[Problems, np.ndarray]:
        """One user-posed problem, and its member; ``ValueError`` saying why if it is malformed or
        does not fit. A MultiTask's problem is a pair (member name, that member's problem)."""
        if self.ids is None:
            return self.members[0].encode(problem, width), _zeros(1)
        index, inner = self._member_problem(problem)
        problems = self.members[index].encode(inner, width)
        return self._combine([(_zeros(1), problems)], 1, width), np.array([index])

    def problem_length(self, problem: Any) -> int:
        """The size of a user-posed problem (the member's size of a MultiTask's)."""
        if self.ids is None:
            return self.members[0].problem_length(problem)
        index, inner = self._member_problem(problem)
        return self.members[index].problem_length(inner)

    def decode(self, rows: np.ndarray, member: np.ndarray) -> np.ndarray:
        """The answers output rows hold, each decoded by its problem's member: an object array.

        ``rows`` (k * n, width): k blocks of rows of the same n problems (say their outputs, then
        their targets), ``member`` (n,) the member of each problem.
        """
        if len(self._decoders) == 1:
            return as_objects(self._decoders[0].decode_batch(rows))
        decoder = np.tile(self._decoder_of.take(member), len(rows) // max(len(member), 1))
        answers = np.empty(len(rows), dtype=object)
        for task, where in _groups(self._decoders, decoder):
            answers[where] = as_objects(task.decode_batch(rows[where]))
        return answers

    def expert(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The correct next action for a batch of observations: each one's member's expert's."""
        if self.ids is None:
            return self.members[0].expert(observation)
        actions = np.zeros(len(observation["task"]), dtype=np.int64)
        for task, task_id in zip(self.members, self.ids, strict=True):
            where = np.flatnonzero(observation["task"] == task_id)
            if len(where):
                actions[where] = task.expert({key: value[where] for key, value in observation.items()})
        return actions

    # -- helpers -------------------------------------------------------------------------------

    def _combine(self, parts: list[tuple[np.ndarray, Problems]], n: int, width: int) -> Problems:
        """Members' problems, in their rows of the batch, on a scratchpad of every member's rows."""
        scratchpad = np.full((n, self.rows, width), EDGE, dtype=np.int8)
        target = np.empty((n, width), dtype=np.int8)
        program = np.empty(n, dtype=np.int64)
        for rows, problems in parts:
            scratchpad[rows, : problems.scratchpad.shape[1]] = problems.scratchpad
            target[rows] = problems.target
            program[rows] = problems.program_length
        return Problems(scratchpad, target, program)

    def _member_problem(self, problem: Any) -> tuple[int, Any]:
        """(member index, member problem) of a mixture's user-posed problem (name, problem)."""
        if (
            not isinstance(problem, (tuple, list))
            or len(problem) != 2
            or not isinstance(problem[0], str)
            or problem[0] not in self._index
        ):
            raise ValueError(
                f"{self.name} problem must be a pair (task name, problem) with a task from "
                f"{list(self._index)}, got {shown(problem)}"
            )
        return self._index[problem[0]], problem[1]


def _groups(tasks: tuple[Task, ...], which: np.ndarray) -> list[tuple[Task, np.ndarray]]:
    """(task, the items it has, in order) for each task present in ``which`` (an index into ``tasks``
    per item): one stable sort of the items by task, cut where the task changes."""
    order = which.argsort(kind="stable")
    ends = np.cumsum(np.bincount(which, minlength=len(tasks))).tolist()
    groups, start = [], 0
    for task, end in zip(tasks, ends, strict=True):
        if end > start:
            groups.append((task, order[start:end]))
        start = end
    return groups


def _zeros(n: int) -> np.ndarray:
    """The member of ``n`` problems of a mixture of one."""
    return np.zeros(n, dtype=np.intp)
