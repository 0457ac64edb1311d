"""Reference agents: the task's expert (the upper bound) and a uniform random policy (the floor)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from actformer_envs import NUM_ACTIONS, Task
from actformer_envs.tasks import MultiTask

Observation = dict[str, np.ndarray]


@runtime_checkable
class Agent(Protocol):
    """Anything that picks actions from observations.

    ``act`` takes a batched observation dict (leading axis = environment) and returns one action per
    environment, (n,) int64; given an unbatched single-env observation it returns one ``int``.
    ``action_mask`` is ``env.action_masks()``: (n, A) bool, or (A,) for a single env, True = allowed.
    """

    def act(self, observation: Observation, action_mask: np.ndarray | None = None) -> np.ndarray | int:
        """The next action(s) for ``observation``."""
        ...


def is_single(observation: Observation) -> bool:
    """Whether ``observation`` is one env's (unbatched) observation rather than a batch."""
    return np.ndim(observation["last_action"]) == 0


class ExpertAgent:
    """The task's own expert: the correct next instruction, computed from the observation alone.

    The expert is a function of the observation, so this agent needs no access to the env; it is the
    upper bound of every benchmark (exact match 1.0 at every length).
    """

    def __init__(self, task: Task | MultiTask) -> None:
        """``task``: the ``Task`` (or ``MultiTask``) instance of the env acted in
        (``env.unwrapped.task``)."""
        if not isinstance(task, (Task, MultiTask)):
            raise TypeError(f"task must be an actformer_envs Task or MultiTask instance, got {task!r}")
        self.task = task

    def act(self, observation: Observation, action_mask: np.ndarray | None = None) -> np.ndarray | int:
        """The expert's action per environment ((n,) int64), or one ``int`` for a single observation.

        ``action_mask`` is accepted for interface compatibility and ignored: the expert only ever
        picks allowed instructions.
        """
        if is_single(observation):
            batch = {key: np.asarray(value)[None] for key, value in observation.items()}
            return int(self.task.expert(batch)[0])
        return np.asarray(self.task.expert(observation), dtype=np.int64)


class RandomAgent:
    """Picks uniformly among the allowed actions of each environment, with its own generator."""

    def __init__(self, seed: int | None = None) -> None:
        """``seed`` seeds the agent's ``np.random.Generator`` (None: fresh entropy)."""
        self.rng = np.random.default_rng(seed)

    def act(self, observation: Observation, action_mask: np.ndarray | None = None) -> np.ndarray | int:
        """A uniform draw over the True entries of each row of ``action_mask``.

        ``action_mask`` is (n, A) bool for a batch or (A,) for a single observation, in which case
        an ``int`` is returned. ``None`` means every action of the space is allowed. ``ValueError``
        if a row allows no action.
        """
        single = is_single(observation)
        if action_mask is None:
            batch = 1 if single else len(observation["last_action"])
            action_mask = np.ones((batch, NUM_ACTIONS), dtype=bool)
        mask = np.asarray(action_mask, dtype=bool)
        if mask.ndim == 1:
            mask = mask[None]
        elif mask.ndim != 2:
            raise ValueError(f"action_mask must be (n, A) or (A,), got shape {mask.shape}")
        allowed = mask.sum(axis=1)
        if (allowed == 0).any():
            rows = np.flatnonzero(allowed == 0)
            raise ValueError(f"action_mask allows no action in row(s) {rows.tolist()}")
        # The k-th allowed entry of each row, k uniform in [0, allowed): first column whose running
        # count of allowed entries exceeds k.
        k = self.rng.integers(allowed)
        actions = (np.cumsum(mask, axis=1) > k[:, None]).argmax(axis=1).astype(np.int64)
        return int(actions[0]) if single else actions
