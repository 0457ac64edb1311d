"""Upcoming random problems of every environment, generated many at a time.

Generating problems costs a few dozen NumPy calls whatever their number, so drawing them one reset
at a time would dominate a vector env's step. Each environment instead keeps a short queue of its
next problems, refilled for all environments at once when one runs dry. Problem j of an environment
depends only on its seed and j (see ``streams``), so the queue changes what a reset costs, never
which problem it poses.
"""

from __future__ import annotations

import numpy as np

from actformer_envs.streams import BatchRandom, problem_keys
from actformer_envs.tasks import Problems, Task

#: Memory the queues of one env object may take; deeper queues amortize generation better.
QUEUE_BYTES = 32 * 2**20
MAX_DEPTH = 16


class ProblemQueue:
    """Per-environment queues of random problems with lengths uniform in ``[min_length, max_length]``."""

    def __init__(self, task: Task, batch: int, width: int, lengths: tuple[int, int]) -> None:
        self.task, self.width, self.lengths = task, width, lengths
        rows = len(task.rows)
        self.depth = int(np.clip(QUEUE_BYTES // (batch * (rows + 1) * width), 1, MAX_DEPTH))
        self.seeds = np.zeros(batch, dtype=np.uint64)
        self.next_episode = np.zeros(batch, dtype=np.int64)  # index of the problem to pose next
        self.generated = np.zeros(batch, dtype=np.int64)  # episodes [next, generated) are queued
        # Queued problem ``j`` of env ``i`` lives at index ``i * depth + j % depth``.
        self.scratchpad = np.zeros((batch * self.depth, rows, width), dtype=np.int8)
        self.target = np.zeros((batch * self.depth, width), dtype=np.int8)
        self.program_length = np.zeros(batch * self.depth, dtype=np.int64)
        self.answers = np.empty(batch * self.depth, dtype=object)  # decoded targets, for info

    def seed(self, envs: np.ndarray, seeds: np.ndarray) -> None:
        """Start the problem sequence of ``envs`` afresh from ``seeds``."""
        self.seeds[envs] = seeds
        self.next_episode[envs] = 0
        self.generated[envs] = 0

    def pop(self, envs: np.ndarray) -> tuple[Problems, np.ndarray]:
        """The next problem of each env in ``envs``, and its decoded answer."""
        episodes = self.next_episode[envs]
        if (self.generated[envs] == episodes).any():
            self._refill()
        self.next_episode[envs] = episodes + 1
        slot = envs * self.depth + episodes % self.depth
        problems = Problems(self.scratchpad[slot], self.target[slot], self.program_length[slot])
        return problems, self.answers[slot]

    def draw(self, envs: np.ndarray, lengths: np.ndarray) -> Problems:
        """The next problem of each env, with the given lengths instead of random ones."""
        random = BatchRandom(problem_keys(self.seeds[envs], self.next_episode[envs]))
        random.integers(1)  # the draw that would have picked the length
        self.next_episode[envs] += 1
        # The queued problem of this episode, if any, is skipped; an emptied queue refills on pop.
        self.generated[envs] = np.maximum(self.generated[envs], self.next_episode[envs])
        return self.task.generate(random, lengths, self.width)

    def _refill(self) -> None:
        """Fill every queue up to its depth, in one batch."""
        counts = self.next_episode + self.depth - self.generated
        total = int(counts.sum())
        envs = np.repeat(np.arange(len(counts)), counts)
        first = np.cumsum(counts) - counts
        episodes = np.repeat(self.generated, counts) + np.arange(total) - np.repeat(first, counts)
        random = BatchRandom(problem_keys(self.seeds[envs], episodes))
        low, high = self.lengths
        problems = self.task.generate(random, low + random.integers(high - low + 1)[:, 0], self.width)
        slot = envs * self.depth + episodes % self.depth
        self.scratchpad[slot] = problems.scratchpad
        self.target[slot] = problems.target
        self.program_length[slot] = problems.program_length
        self.answers[slot] = answers_of(self.task, problems)
        self.generated = self.next_episode + self.depth


def answers_of(task: Task, problems: Problems) -> np.ndarray:
    """The decoded targets of ``problems`` as an object array."""
    return np.fromiter(task.decode_batch(problems.target), dtype=object, count=len(problems))
