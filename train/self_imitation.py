"""Self-imitation: learning again from the run's own solved episodes (Oh et al., 2018, "Self-Imitation
Learning"), with no expert anywhere.

A policy that solves a task now and then while sampling, and not when greedy, has found the program
but not settled on it: on-policy RL uses each solved episode for one update and drops it. The
``SuccessReplay`` keeps the decisions of every solved episode (its observation, mask, action and the
discounted return from there on) and ``self_imitation_loss`` raises the probability of each kept action
by how much its return exceeded the value the policy expects there, ``(G - V)+``, and pulls the value
up to it. Where the policy already expects what the episode earned the weight is 0, so the loss fades
as the policy learns what it imitates. Only the env's own outcome (``is_success``) chooses episodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from actformer_envs.checks import check_int, check_number

#: The fields a replayed row holds besides the observation's keys.
REPLAY_FIELDS = ("masks", "actions", "returns")
#: The value term's weight in the self-imitation loss (the paper's beta^sil = 0.01).
VALUE_WEIGHT = 0.01


class SuccessReplay:
    """The decisions of the solved episodes of ``num_envs`` envs, the newest ``capacity`` kept.

    ``add`` takes each rollout's rows; an episode still running at a rollout's end waits (``pending``)
    until it ends in a later one, and is kept only if it was solved. ``returns`` are discounted by
    ``gamma`` within the episode. ``state_dict``/``load_state_dict`` carry everything as arrays, so a
    resumed run replays what an uninterrupted one would."""

    def __init__(self, capacity: int, num_envs: int, gamma: float) -> None:
        check_int("capacity", capacity, low=1)
        check_number("gamma", gamma, low=0.0, high=1.0)
        self.capacity, self.gamma = capacity, gamma
        self.rows: dict[str, np.ndarray] = {}  # each field, (capacity, ...): allocated on the first add
        self.size = 0  # rows held
        self.next = 0  # where the next row goes (the oldest is overwritten once full)
        self.pending: list[dict[str, np.ndarray]] = [{} for _ in range(num_envs)]

    def __len__(self) -> int:
        return self.size

    def add(
        self, rows: dict[str, np.ndarray], decision: np.ndarray, ended: np.ndarray, solved: np.ndarray
    ) -> None:
        """One rollout: ``rows`` maps each field (the observation's keys, ``masks``, ``actions``,
        ``rewards``) to a (steps, envs, ...) array; ``decision``, ``ended`` and ``solved`` (steps, envs)
        say which rows are decisions, on which an episode ended, and which of those ended solved."""
        for env in range(decision.shape[1]):
            decisions = np.flatnonzero(decision[:, env])
            start = 0
            for end in np.flatnonzero(ended[:, env]):
                taken = decisions[(decisions >= start) & (decisions <= end)]
                episode = self._extend(self.pending[env], rows, taken, env)
                self.pending[env] = {}
                if solved[end, env]:
                    self._keep(episode)
                start = end + 1
            self.pending[env] = self._extend(self.pending[env], rows, decisions[decisions >= start], env)

    @staticmethod
    def _extend(
        head: dict[str, np.ndarray], rows: dict[str, np.ndarray], taken: np.ndarray, env: int
    ) -> dict[str, np.ndarray]:
        """``head`` (an episode's earlier rows) followed by ``rows``' rows ``taken`` of ``env``."""
        tail = {key: value[taken, env] for key, value in rows.items()}
        return {key: np.concatenate([head[key], value]) for key, value in tail.items()} if head else tail

    def _keep(self, episode: dict[str, np.ndarray]) -> None:
        """Store a solved episode's decisions with their discounted returns."""
        rewards = episode.pop("rewards").astype(np.float64)
        returns = np.empty_like(rewards)
        running = 0.0
        for t in range(len(rewards) - 1, -1, -1):
            running = rewards[t] + self.gamma * running
            returns[t] = running
        episode["returns"] = returns.astype(np.float32)
        count = min(len(returns), self.capacity)
        if not self.rows:
            self.rows = {key: np.empty((self.capacity, *v.shape[1:]), v.dtype) for key, v in episode.items()}
        where = (self.next + np.arange(count)) % self.capacity
        for key, value in episode.items():
            self.rows[key][where] = value[-count:]
        self.next = int((self.next + count) % self.capacity)
        self.size = min(self.size + count, self.capacity)

    def sample(self, size: int, generator: torch.Generator) -> dict[str, np.ndarray]:
        """``size`` rows drawn uniformly with replacement (by ``generator``, so the draws resume)."""
        index = torch.randint(self.size, (size,), generator=generator, device=generator.device).cpu().numpy()
        return {key: value[index] for key, value in self.rows.items()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "rows": {key: value[: self.size] for key, value in self.rows.items()},
            "size": self.size,
            "next": self.next,
            "pending": self.pending,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size, self.next = int(state["size"]), int(state["next"])
        self.rows = {}
        for key, value in state["rows"].items():
            self.rows[key] = np.empty((self.capacity, *value.shape[1:]), value.dtype)
            self.rows[key][: self.size] = value
        self.pending = [dict(episode) for episode in state["pending"]]
