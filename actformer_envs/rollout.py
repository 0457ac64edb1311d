"""The one rollout loop: an ``act(observation, mask) -> actions`` callable steps a vector env, and
each caller reads off the steps what it needs. Expert data (``train/imitation.py``), DAgger
(``train/dagger.py``), the RL batch (``train/experience.py``), evaluation (``train/evaluate.py``) and
``actformer trace`` (``train/cli.py``) all run through ``Rollout.run``.

NEXT_STEP autoreset (Gymnasium's, as ``ActformerVectorEnv`` does it): the step after an episode
ends only resets that env (its action is ignored, reward 0, not done). The observation that step
acts on is the ended episode's last one, so it is not a decision: ``Step.decision`` is False there.

Episode quota: to count exactly ``episodes`` episodes over ``n`` envs, env ``i`` counts its first
``episodes // n`` episodes, plus one for ``i < episodes % n`` (``episode_quota``), and later ones
are ignored. The counted set is fixed before any episode runs, so it does not favour episodes that
happen to end early (a quick wrong HALT), as "the first ``episodes`` to end" would.

NumPy only, on purpose: the policy comes in through ``act``, so nothing here needs torch (or
anything else of ``train``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.vector import VectorEnv

#: Observations keyed by field, each batched along a leading env (or sample) axis.
Observations = dict[str, np.ndarray]
#: A policy: (batched observation, action masks (n, A), True = allowed) -> one action per env.
Act = Callable[[Observations, np.ndarray], Any]


def episode_quota(episodes: int, num_envs: int) -> np.ndarray:
    """Episodes that each of ``num_envs`` envs counts, so that exactly ``episodes`` count: (n,) int64."""
    quota = np.full(num_envs, episodes // num_envs, dtype=np.int64)
    quota[: episodes % num_envs] += 1
    return quota


@dataclass(frozen=True)
class Step:
    """One vector step: what was acted on, the actions, and what the env returned."""

    observation: Observations
    """The observation acted on."""
    mask: np.ndarray
    """Its action masks, (n, A) bool."""
    decision: np.ndarray
    """(n,) bool: the observation is a decision, not an ended episode's last one (whose step resets)."""
    counted: np.ndarray
    """(n,) bool: the observation belongs to an episode within the quota (all True without one)."""
    actions: np.ndarray
    next_observation: Observations
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    infos: dict[str, Any]

    @property
    def ended(self) -> np.ndarray:
        """``terminated | truncated``: the next observation is the episode's last one."""
        return self.terminated | self.truncated


class Rollout:
    """A vector env under NEXT_STEP autoreset, between steps: its current ``observation``, ``mask``
    and ``resetting`` (the observation is an ended episode's last one), and per env the episodes
    ended since the reset (``ended_count``) against the ``quota``.

    Made by resetting ``env`` (with ``seed`` and ``options``); with ``episodes``, each env counts
    its share of them (``episode_quota``) and ``run`` stops once every env has ended its share.
    """

    def __init__(
        self,
        env: VectorEnv,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
        episodes: int | None = None,
    ) -> None:
        self.env = env
        n = env.num_envs
        self.quota = None if episodes is None else episode_quota(episodes, n)
        self.ended_count = np.zeros(n, dtype=np.int64)
        self.resetting = np.zeros(n, dtype=bool)
        self._everyone = np.ones(n, dtype=bool)  # ``counted`` without a quota
        self._everyone.flags.writeable = False
        self.observation, infos = env.reset(seed=seed, options=options)
        self.mask = np.array(infos["action_mask"])

    @property
    def done(self) -> bool:
        """Whether every env has ended its quota of episodes (never, without a quota)."""
        return self.quota is not None and bool((self.ended_count >= self.quota).all())

    def run(
        self,
        act: Act,
        on_step: Callable[[Step], None] | None = None,
        steps: int | None = None,
        until: Callable[[], bool] | None = None,
    ) -> int:
        """Step the env with ``act`` until ``steps`` steps have run, the quota is done, or
        ``until()`` holds (each checked before a step); the steps run. ``on_step`` sees every
        step after the env took it (``Rollout`` already holds the new observation)."""
        taken = 0
        while taken != steps and not self.done and not (until is not None and until()):
            counted = self._everyone if self.quota is None else self.ended_count < self.quota
            actions = act(self.observation, self.mask)
            step = Step(
                self.observation, self.mask, ~self.resetting, counted, actions, *self.env.step(actions)
            )
            self.observation, self.mask = step.next_observation, np.array(step.infos["action_mask"])
            self.resetting = step.ended
            self.ended_count += self.resetting
            taken += 1
            if on_step is not None:
                on_step(step)
        return taken
