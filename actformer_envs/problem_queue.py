"""Upcoming random problems of every environment, generated many at a time.

Generating and posing problems costs a few dozen NumPy calls whatever their number, so doing it
one reset at a time would dominate a vector env's step. Each environment instead keeps a short
queue of its next problems, refilled for all environments at once when one runs dry. Problem j of
an environment depends only on its seed and j (see ``streams``), so the queue changes what a reset
costs, never which problem it poses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from actformer_envs.arrays import constant
from actformer_envs.posing import Posed, empty_posed, pose, posed_dtype
from actformer_envs.state import array_state, load_array_state
from actformer_envs.streams import BatchRandom, problem_keys
from actformer_envs.tasks.mixture import Mixture

#: Memory the queues of one env object may take; deeper queues amortize generation better.
QUEUE_BYTES = 32 * 2**20
#: Memory one environment's queue may take: problems too large to queue ``DEPTH`` of (wide rows)
#: are queued fewer at a time, down to one, so that queues and refills take memory in proportion to
#: a problem's size (generating a large problem costs more than the calls a deeper queue saves).
ENV_QUEUE_BYTES = 2**20
#: Problems one environment queues: ``DEPTH`` at first; where fewer than ``QUEUED_PROBLEMS // DEPTH``
#: envs share the queue, each refill doubles that, up to ``MAX_DEPTH``, so that a long-lived single
#: env pays a refill (a generator call per member task: a dozen for a MultiTask) once per hundreds of
#: episodes, while a short-lived one (an evaluation's) generates no more than it poses. A large
#: vector env already shares each refill among its envs: it keeps ``DEPTH``.
DEPTH, MAX_DEPTH = 16, 256
QUEUED_PROBLEMS = 16 * 1024


class ProblemQueue:
    """Per-environment queues of random problems with lengths uniform in ``[min_length, max_length]``."""

    def __init__(self, mixture: Mixture, batch: int, width: int, lengths: tuple[int, int]) -> None:
        self.mixture, self.width, self.lengths = mixture, width, lengths
        rows = mixture.rows
        room = min(QUEUE_BYTES // batch, ENV_QUEUE_BYTES)  # per env
        fits = room // posed_dtype(rows, width).itemsize
        self.max_depth = int(np.clip(min(fits, max(DEPTH, QUEUED_PROBLEMS // batch)), 1, MAX_DEPTH))
        self.seeds = np.zeros(batch, dtype=np.uint64)
        self.next_episode = np.zeros(batch, dtype=np.int64)  # index of the problem to pose next
        self._make_queues(min(DEPTH, self.max_depth))

    def seed(self, envs: np.ndarray, seeds: np.ndarray) -> None:
        """Start the problem sequence of ``envs`` afresh from ``seeds``."""
        self.seeds[envs] = seeds
        self.next_episode[envs] = 0
        self.generated[envs] = 0

    def set_lengths(self, lengths: tuple[int, int]) -> None:
        """Draw the lengths of problems not yet posed uniform in ``lengths`` (low, high); the queued
        ones are dropped (regenerated on the next pop), so every later problem follows the new range."""
        self.lengths = lengths
        self.generated = self.next_episode.copy()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Where each env's problem sequence stands, as plain arrays (copies).

        The queued problems are not part of it: they are a function of the seeds, the episode
        indices and the length range, and are generated again on the next pop.
        """
        state = array_state(self, ("seeds", "next_episode"))
        state["lengths"] = np.array(self.lengths, dtype=np.int64)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict`` of a queue of the same batch size."""
        load_array_state(self, state, ("seeds", "next_episode"), "problem queue")
        lengths = state.get("lengths")
        if not isinstance(lengths, np.ndarray) or lengths.shape != (2,) or lengths.dtype.kind not in "iu":
            raise ValueError("problem queue state 'lengths' must be an int array (low, high)")
        self.lengths = (int(lengths[0]), int(lengths[1]))
        self.generated = self.next_episode.copy()  # nothing queued: the next pop refills

    def pop(self, envs: np.ndarray) -> Posed:
        """The next problem of each env in ``envs``."""
        episodes = self.next_episode.take(envs)
        if np.count_nonzero(self.generated.take(envs) == episodes):
            self._refill()
        self.next_episode[envs] = episodes + _ONE
        return self.queued[envs * self._depth + episodes % self._depth]

    def draw(self, envs: np.ndarray, lengths: np.ndarray) -> Posed:
        """The next problem of each env, with the given lengths instead of random ones."""
        random = BatchRandom(problem_keys(self.seeds[envs], self.next_episode[envs]))
        random.integers(1)  # the draw that would have picked the length
        self.next_episode[envs] += 1
        # The queued problem of this episode, if any, is skipped; an emptied queue refills on pop.
        self.generated[envs] = np.maximum(self.generated[envs], self.next_episode[envs])
        return pose(self.mixture.members, *self.mixture.generate(random, lengths, self.width))

    def _make_queues(self, depth: int) -> None:
        """Empty queues of ``depth`` problems per env; a problem generated before is generated again
        when it is due (the same problem: it depends only on its env's seed and its index)."""
        self.depth = depth
        self._depth = constant(depth, np.int64)  # (a ufunc operand: see ``machine.constant``)
        # Queued problem ``j`` of env ``i`` lives in slot ``i * depth + j % depth``.
        self.queued = empty_posed(len(self.seeds) * depth, self.mixture.rows, self.width)
        self.generated = self.next_episode.copy()  # episodes [next, generated) are queued: none

    def _refill(self) -> None:
        """Fill every queue up to its depth, in one batch; once problems have been posed, double the
        depth first, up to ``max_depth``."""
        if self.depth < self.max_depth and self.next_episode.any():
            self._make_queues(min(2 * self.depth, self.max_depth))
        counts = self.next_episode + self.depth - self.generated
        total = int(counts.sum())
        envs = np.repeat(np.arange(len(counts)), counts)
        first = np.cumsum(counts) - counts
        episodes = np.repeat(self.generated, counts) + np.arange(total) - np.repeat(first, counts)
        random = BatchRandom(problem_keys(self.seeds[envs], episodes))
        low, high = self.lengths
        lengths = low + random.integers(high - low + 1)[:, 0]
        problems, member = self.mixture.generate(random, lengths, self.width)
        self.queued[envs * self.depth + episodes % self.depth] = pose(self.mixture.members, problems, member)
        self.generated = self.next_episode + self.depth


_ONE = constant(1, np.int64)
