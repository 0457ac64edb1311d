"""The losses of RL training, as pure functions: GAE, the PPO and A2C policy losses, the masked
entropy and KL. No state, no optimizer: ``train/algorithms.py`` puts them together.

NEXT_STEP autoreset: the step after an episode ends only resets that env (its action is ignored,
reward 0). Such a reset step is not a decision: it gets no advantage, is left out of every loss,
and GAE never bootstraps across it. A truncated episode bootstraps from the value of its last
observation (the one the reset step acts on); a terminated one does not.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from actformer_gym.agents.actformer import allowed_expectation, entropies, masked_logits


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    last_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    decision: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalized advantage estimates, (T, N), of a rollout under NEXT_STEP autoreset.

    ``values[t]`` is the value of the observation acted on at step ``t``, ``last_values`` that of the
    observation after the last step; ``terminated``/``truncated`` come from step ``t``;
    ``decision[t]`` is False on reset steps (their advantage is 0). An ended step's advantage does
    not look past it; a truncated one bootstraps from the next observation's value, the episode's last.
    """
    steps = len(rewards)
    next_values = np.concatenate([values[1:], last_values[None]], axis=0)
    ended = terminated | truncated
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    advantages = np.zeros_like(values)
    running = np.zeros_like(last_values)
    for t in reversed(range(steps)):
        running = np.where(decision[t], deltas[t] + gamma * lam * ~ended[t] * running, 0.0)
        advantages[t] = running
    return advantages


def normalized(advantages: torch.Tensor) -> torch.Tensor:
    """A minibatch's advantages at mean 0 and std 1 (a minibatch of one as it is)."""
    if len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages


def ppo_policy_loss(ratio: torch.Tensor, advantages: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """PPO's clipped surrogate (to minimize) on the given advantages."""
    clipped = ratio.clamp(1 - clip_coef, 1 + clip_coef)
    return torch.max(-advantages * ratio, -advantages * clipped).mean()


def a2c_policy_loss(ratio: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """A2C's policy-gradient loss: at the rollout's own parameters ``ratio == 1``, and the gradient
    of ``-A * ratio`` is that of ``-A * log pi``."""
    return -(advantages * ratio).mean()


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the distributions whose log-probabilities (B, A) are given, over the allowed
    actions (a disallowed action has probability 0 and adds nothing)."""
    return entropies(log_probs, mask).mean()


def masked_kl(logits: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(softmax(logits) || softmax(reference)) over the allowed actions, per sample."""
    log_p = torch.log_softmax(masked_logits(logits, mask, logits.device), -1)
    log_q = torch.log_softmax(masked_logits(reference, mask, logits.device), -1)
    return allowed_expectation(log_p, mask, log_p - log_q)


def value_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """Half the mean squared error of the critic's values against the returns."""
    return 0.5 * F.mse_loss(values, returns)


def approx_kl(ratio: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
    """The k3 estimate of KL(old || new) from the probability ratios new / old of the taken actions."""
    return ((ratio - 1) - log_ratio).mean()
