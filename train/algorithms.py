"""The RL algorithms as strategies of one actor-critic update: PPO (clipped surrogate, several
epochs of minibatches) and A2C (one step on the whole batch). ``make_algorithm(config)`` picks one.

The update both share: per minibatch, one optimizer step on
``policy loss + vf_coef * value loss - ent_coef * entropy (+ kl_coef * KL to the warm-start policy)``,
the gradient clipped to ``max_grad_norm``. The loss terms are ``train/losses.py``'s.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from actformer_gym.agents.actformer import ActformerPolicy, foreach_kernels, masked_logits
from actformer_gym.train.config import PPO, AlgoSettings, TrainConfig
from actformer_gym.train.divergence import check_finite, check_parameters, optimizer_step
from actformer_gym.train.losses import (
    a2c_policy_loss,
    approx_kl,
    masked_entropy,
    masked_kl,
    normalized,
    ppo_policy_loss,
    value_loss,
)
from actformer_gym.train.self_imitation import REPLAY_FIELDS, VALUE_WEIGHT, SuccessReplay

#: Metric keys of ``Algorithm.update``: the mean of each over the update's minibatches.
LOSS_KEYS = (
    "losses/policy",
    "losses/value",
    "losses/entropy",
    "losses/approx_kl",
    "losses/kl_to_warm_start",
)


class Algorithm(ABC):
    """An on-policy actor-critic update: ``epochs`` passes over a rollout's batch in
    ``minibatches``, each minibatch's advantages normalized if ``norm_adv``; subclasses say the
    policy loss and when to stop early."""

    epochs = 1
    minibatches = 1

    def __init__(self, settings: AlgoSettings, warm_started: bool, generator: torch.Generator) -> None:
        self.generator = generator  # the minibatches' order
        self.settings, self.warm_started = settings, warm_started
        self.vf_coef, self.ent_coef = settings.vf_coef, settings.ent_coef
        self.max_grad_norm = settings.max_grad_norm
        # The KL penalty toward the imitated policy: without a warm start there is none to anchor to.
        self.kl_coef = settings.kl_coef if warm_started else 0.0

    def follow_schedules(self, env_steps: int, total_steps: int, success_rate: float = math.nan) -> None:
        """Set the entropy bonus and the KL penalty (none without a warm start) that their schedules
        give after ``env_steps`` env-steps of RL out of ``total_steps``, ``success_rate`` that of the
        episodes recorded at the curriculum's current length (NaN: none yet)."""
        self.ent_coef = self.settings.entropy_coefficient(env_steps, total_steps, success_rate)
        self.kl_coef = self.settings.kl_coefficient(env_steps) if self.warm_started else 0.0

    def _step(
        self, policy: ActformerPolicy, optimizer: torch.optim.Optimizer, loss: torch.Tensor, where: str
    ) -> None:
        """One optimizer step on ``loss``: gradients clipped to ``max_grad_norm``, the loss and the
        gradient norm checked finite first."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(
            policy.parameters(), self.max_grad_norm, foreach=foreach_kernels(policy.device)
        )
        check_finite(where, loss=loss, gradient_norm=norm)
        optimizer_step(where, optimizer)

    def self_imitate(
        self,
        policy: ActformerPolicy,
        optimizer: torch.optim.Optimizer,
        replay: SuccessReplay,
        batch_size: int,
        where: str,
    ) -> float:
        """``minibatches`` steps of self-imitation (``train/self_imitation.py``), each on a minibatch
        the size of the update's (``batch_size`` / ``minibatches``) drawn from ``replay`` and weighted
        by ``self_imitation``; the mean loss (0.0, and no step, while the replay holds fewer rows than
        that and is not full)."""
        size = math.ceil(batch_size / self.minibatches)
        if len(replay) < min(size, replay.capacity):
            return 0.0
        device, weight = policy.device, self.settings.self_imitation
        policy.train()
        losses = []
        for _ in range(self.minibatches):
            batch = replay.sample(size, self.generator)
            obs = policy.as_tensors({key: v for key, v in batch.items() if key not in REPLAY_FIELDS})
            mask = torch.as_tensor(batch["masks"], device=device)
            logits, value = policy(obs)
            log_prob = torch.log_softmax(masked_logits(logits, mask, device), -1)
            actions = torch.as_tensor(batch["actions"], device=device)
            log_prob = log_prob.gather(1, actions[:, None]).squeeze(1)
            advantage = (torch.as_tensor(batch["returns"], device=device) - value).clamp(min=0.0)
            loss = weight * (
                -(log_prob * advantage.detach()).mean() + 0.5 * VALUE_WEIGHT * advantage.square().mean()
            )
            self._step(policy, optimizer, loss, where)
            losses.append(loss.item())
        check_parameters(where, policy)
        policy.eval()
        return float(np.mean(losses))

    @abstractmethod
    def policy_loss(self, ratio: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
        """The policy loss of a minibatch from its probability ratios and advantages."""

    def stop_early(self, approx_kl: float) -> bool:
        """Whether to skip the remaining epochs, given the last minibatch's approximate KL."""
        return False

    def update(
        self,
        policy: ActformerPolicy,
        optimizer: torch.optim.Optimizer,
        batch: dict[str, Any],
        reference: ActformerPolicy,
        where: str,
    ) -> dict[str, float]:
        """Train ``policy`` on ``batch`` (``Experience.collect``); the mean losses
        (``LOSS_KEYS``; ``losses/kl_to_warm_start`` is to ``reference``, penalized with
        ``kl_coef`` > 0, else measured on the last minibatch after). ``where`` names the stage in a
        ``TrainingDiverged``: the loss and gradient norm are checked before each optimizer step,
        the parameters after the last."""
        device = policy.device
        tensors = {key: torch.as_tensor(value, device=device) for key, value in batch.items() if key != "obs"}
        obs = policy.as_tensors(batch["obs"])
        count = len(tensors["actions"])
        size = math.ceil(count / self.minibatches)
        policy.train()
        sums: dict[str, list[float]] = {key: [] for key in LOSS_KEYS}
        for _ in range(self.epochs):
            order = torch.randperm(count, device=device, generator=self.generator)
            for begin in range(0, count, size):
                index = order[begin : begin + size]
                mb_obs = {key: value[index] for key, value in obs.items()}
                mask = tensors["masks"][index]
                logits, value = policy(mb_obs)
                logits = masked_logits(logits, mask, device)
                log_prob_all = torch.log_softmax(logits, -1)
                log_prob = log_prob_all.gather(1, tensors["actions"][index, None]).squeeze(1)
                entropy = masked_entropy(log_prob_all, mask)
                log_ratio = log_prob - tensors["log_probs"][index]
                ratio = log_ratio.exp()
                advantages = tensors["advantages"][index]
                if self.settings.norm_adv:
                    advantages = normalized(advantages)
                policy_loss = self.policy_loss(ratio, advantages)
                critic_loss = value_loss(value, tensors["returns"][index])
                loss = policy_loss + self.vf_coef * critic_loss - self.ent_coef * entropy
                if self.kl_coef > 0:
                    with torch.no_grad():
                        warm_logits, _ = reference(mb_obs)
                    kl_warm = masked_kl(logits, warm_logits, mask).mean()
                    loss = loss + self.kl_coef * kl_warm
                    sums["losses/kl_to_warm_start"].append(kl_warm.item())
                self._step(policy, optimizer, loss, where)
                with torch.no_grad():
                    kl = approx_kl(ratio, log_ratio).item()
                sums["losses/policy"].append(policy_loss.item())
                sums["losses/value"].append(critic_loss.item())
                sums["losses/entropy"].append(entropy.item())
                sums["losses/approx_kl"].append(kl)
            if self.stop_early(sums["losses/approx_kl"][-1]):
                break
        check_parameters(where, policy)
        if not sums["losses/kl_to_warm_start"]:
            # Measured after the update on its last minibatch, a random sample of the batch: the
            # whole batch's two forwards would cost about a tenth of an iteration, for a diagnostic.
            with torch.no_grad():
                logits, _ = policy(mb_obs)
                warm_logits, _ = reference(mb_obs)
                kl = masked_kl(logits, warm_logits, mask).mean().item()
            sums["losses/kl_to_warm_start"].append(kl)
        policy.eval()
        return {key: float(np.mean(values)) for key, values in sums.items()}


class PPOUpdate(Algorithm):
    """Proximal policy optimization: the clipped surrogate, ``update_epochs`` passes of
    ``num_minibatches``, stopped early past ``target_kl``."""

    def __init__(self, settings: PPO, warm_started: bool, generator: torch.Generator) -> None:
        super().__init__(settings, warm_started, generator)
        self.epochs, self.minibatches = settings.update_epochs, settings.num_minibatches
        self.clip_coef, self.target_kl = settings.clip_coef, settings.target_kl

    def policy_loss(self, ratio: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
        return ppo_policy_loss(ratio, advantages, self.clip_coef)

    def stop_early(self, approx_kl: float) -> bool:
        return self.target_kl is not None and approx_kl > self.target_kl


class A2CUpdate(Algorithm):
    """Advantage actor-critic: one step on the whole batch, no clipping."""

    def policy_loss(self, ratio: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
        return a2c_policy_loss(ratio, advantages)


def make_algorithm(config: TrainConfig, generator: torch.Generator) -> Algorithm:
    """The update of ``config.algo``: PPO's or A2C's, its minibatches ordered by ``generator``."""
    if isinstance(config.algo, PPO):
        return PPOUpdate(config.algo, config.imitation.enabled, generator)
    return A2CUpdate(config.algo, config.imitation.enabled, generator)
