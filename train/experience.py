"""The experience of on-policy RL: ``num_steps`` steps of the policy (sampling) on the training env,
as a batch of decisions with GAE advantages, and the outcomes of the episodes that ended, which
also drive the length curriculum. The env's place (``Rollout``) and each episode's running return
and curriculum length carry over from one iteration to the next (and into a checkpoint).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from actformer_envs.rollout import Observations, Rollout, Step
from actformer_gym.agents.actformer import ActformerPolicy, masked_logits, sample_actions
from actformer_gym.train.curriculum import Curriculum
from actformer_gym.train.divergence import check_finite
from actformer_gym.train.exploration import CountBonus
from actformer_gym.train.losses import gae
from actformer_gym.train.self_imitation import SuccessReplay

#: The outcomes of the episodes that ended during a rollout: (solved, return) of each.
Episodes = tuple[list[bool], list[float]]


class Experience:
    """Collects RL batches from ``rollout`` (the training env, reset once) under ``curriculum``:
    when an episode posed at the current length ends, its outcome is recorded, and a lengthened
    curriculum re-ranges the env's later problems to ``[min_length, curriculum.length]``. A ``bonus``
    adds its exploration bonus to the rewards RL learns from."""

    def __init__(
        self,
        rollout: Rollout,
        curriculum: Curriculum,
        min_length: int,
        generator: torch.Generator,
        bonus: CountBonus | None = None,
        replay: SuccessReplay | None = None,
    ) -> None:
        self.rollout, self.curriculum, self.min_length = rollout, curriculum, min_length
        self.generator = generator  # the policy's action draws
        self.bonus = bonus
        self.replay = replay  # keeps the decisions of solved episodes, if self-imitating
        self.mean_bonus = 0.0  # the last batch's mean bonus per decision
        n = rollout.env.num_envs
        self.episode_return = np.zeros(n)
        self.episode_level = np.full(n, curriculum.length)  # curriculum length its episode was posed at
        self.env_steps = 0  # env-steps collected (num_envs per vector step)

    @torch.no_grad()
    def collect(
        self, policy: ActformerPolicy, steps: int, gamma: float, lam: float, where: str
    ) -> tuple[dict[str, Any], Episodes]:
        """``steps`` vector steps of ``policy`` (sampling): the batch of decisions (``obs``,
        ``masks``, ``actions``, ``log_probs``, ``values``, ``advantages``, ``returns``), and the
        outcomes of the episodes that ended. ``where`` names the stage in a ``TrainingDiverged`` for
        non-finite logits or values (checked every step, before sampling: NaN logits would
        otherwise fail inside ``torch.multinomial``)."""
        rollout = self.rollout
        n = rollout.env.num_envs
        observations = {key: np.empty((steps, *v.shape), v.dtype) for key, v in rollout.observation.items()}
        masks = np.empty((steps, *rollout.mask.shape), dtype=bool)
        actions = np.empty((steps, n), dtype=np.int64)
        log_probs, values, rewards = (np.empty((steps, n), dtype=np.float32) for _ in range(3))
        terminated, truncated, decision = (np.empty((steps, n), dtype=bool) for _ in range(3))
        bonuses = np.zeros((steps, n))
        env_rewards, solved = np.empty((steps, n), dtype=np.float32), np.zeros((steps, n), dtype=bool)
        episodes: Episodes = ([], [])
        t = 0

        def act(observation: Observations, mask: np.ndarray) -> np.ndarray:
            logits, value = policy(observation)
            check_finite(where, logits=logits, values=value)
            # Drawn as policy.get_action_and_value draws, from the normalized masked logits, which
            # are ``Categorical(logits=...).logits``, bit for bit, without its argument checks
            # (``check_finite`` has checked the logits).
            masked = masked_logits(logits, mask, policy.device)
            normalized = masked - masked.logsumexp(dim=-1, keepdim=True)
            action = sample_actions(normalized, self.generator)
            log_probs[t] = normalized.gather(-1, action.unsqueeze(-1)).squeeze(-1).cpu().numpy()
            values[t] = value.cpu().numpy()
            return action.cpu().numpy()

        def record(step: Step) -> None:
            nonlocal t
            for key, value in step.observation.items():
                observations[key][t] = value
            masks[t], decision[t], actions[t] = step.mask, step.decision, step.actions
            rewards[t], terminated[t], truncated[t] = step.reward, step.terminated, step.truncated
            if self.replay is not None:
                env_rewards[t] = step.reward
                if step.ended.any():
                    solved[t] = step.ended & step.infos["is_success"].astype(bool)
            if self.bonus is not None:
                bonuses[t] = self.bonus(policy.view(step.observation), step.actions, step.decision)
                rewards[t] = step.reward + bonuses[t]
            # An env that reset on this step posed its next problem under the current range.
            self.episode_level[~step.decision] = self.curriculum.length
            self._end_episodes(step, episodes)
            t += 1

        policy.eval()
        rollout.run(act, record, steps=steps)
        self.env_steps += steps * n
        last_values = policy.get_value(rollout.observation)
        check_finite(where, values=last_values)
        advantages = gae(
            rewards, values, last_values.cpu().numpy(), terminated, truncated, decision, gamma, lam
        )
        self.mean_bonus = float(bonuses[decision].mean()) if decision.any() else 0.0
        if self.replay is not None:
            rows = {**observations, "masks": masks, "actions": actions, "rewards": env_rewards}
            self.replay.add(rows, decision, terminated | truncated, solved)
        keep = decision.reshape(-1)
        batch = {
            "obs": {
                key: value.reshape(steps * n, *value.shape[2:])[keep] for key, value in observations.items()
            },
            "masks": masks.reshape(steps * n, -1)[keep],
            "actions": actions.reshape(-1)[keep],
            "log_probs": log_probs.reshape(-1)[keep],
            "values": values.reshape(-1)[keep],
            "advantages": advantages.reshape(-1)[keep].astype(np.float32),
        }
        batch["returns"] = batch["advantages"] + batch["values"]
        return batch, episodes

    def _end_episodes(self, step: Step, episodes: Episodes) -> None:
        """Add the step's rewards to the running returns; for each episode that ended, its outcome
        to ``episodes`` and, if posed at the current length, to the curriculum."""
        self.episode_return += step.reward
        if not step.ended.any():
            return
        envs = np.flatnonzero(step.ended)
        solved = step.infos["is_success"][envs].astype(bool)
        episodes[0].extend(solved.tolist())
        episodes[1].extend(self.episode_return[envs].tolist())
        current = self.episode_level[envs] == self.curriculum.length
        if self.curriculum.record(solved[current]):
            self.rollout.env.set_length_range(self.min_length, self.curriculum.length)
        self.episode_return[envs] = 0.0
