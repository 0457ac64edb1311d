"""Imitation learning: collect the expert's (observation, action) pairs, fit a policy to them (BC).

Small on purpose: DAgger and PPO build on ``collect_expert_data`` (labels from
``env.unwrapped.expert_action()``) and ``behaviour_cloning`` (masked cross-entropy, one Adam loop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.checks import check_int, check_number
from actformer_envs.rollout import Observations, Rollout, Step
from actformer_gym.agents.actformer import foreach_kernels, masked_logits
from actformer_gym.train.divergence import check_finite, check_parameters, optimizer_step


def collect_expert_data(
    env_id: str,
    steps: int | None = None,
    episodes: int | None = None,
    num_envs: int = 64,
    seed: int = 0,
    **env_kwargs: Any,
) -> tuple[Observations, np.ndarray]:
    """The expert's (observation, action) pairs from ``env_id``'s native vector env.

    Give exactly one of ``steps`` (that many pairs) or ``episodes`` (every decision of that many
    whole episodes: env ``i`` contributes its first ``episodes // num_envs`` episodes, plus one for
    ``i < episodes % num_envs``, as ``actformer_envs.rollout.episode_quota`` says; at most ``episodes`` envs
    are run). The env is reset with ``seed`` (env ``i`` with ``seed + i``) and stepped with
    ``env.unwrapped.expert_action()`` by ``actformer_envs.rollout.Rollout``; ``env_kwargs`` go to
    ``gym.make_vec`` (``min_length``, ``max_length``, ``base``, ``history_length``, ...).

    Under NEXT_STEP autoreset the observation returned with ``terminated``/``truncated`` is the
    episode's last one: the action taken on it only resets the env, so it is not a decision and is
    left out. The observation that the resetting step returns is the next episode's first, and is
    kept. Each kept observation is paired with the expert action computed from it.

    Returns ``(observations, actions)``: a dict of arrays of shape ``(N, ...)`` (the env's single
    observation space, stacked) and ``(N,)`` int64 actions.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a registered env id, got {env_id!r}")
    if (steps is None) == (episodes is None):
        raise ValueError(f"give exactly one of steps or episodes, got steps={steps!r}, episodes={episodes!r}")
    if steps is not None:
        check_int("steps", steps, low=1, numpy_ints=True)
    if episodes is not None:
        check_int("episodes", episodes, low=1, numpy_ints=True)
    check_int("num_envs", num_envs, low=1, numpy_ints=True)
    check_int("seed", seed, low=0, numpy_ints=True)
    for fixed in ("num_envs", "vectorization_mode"):
        if fixed in env_kwargs:
            raise ValueError(f"{fixed} is set by collect_expert_data and cannot be passed in env_kwargs")

    if episodes is not None:
        num_envs = min(num_envs, episodes)
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    expert = env.unwrapped
    labels = ExpertLabels(limit=steps)
    try:
        rollout = Rollout(env, seed=seed, episodes=episodes)
        rollout.run(lambda observation, mask: expert.expert_action(), labels.add, until=labels.full)
    finally:
        env.close()
    return labels.data()


class ExpertLabels:
    """Decisions of a rollout with their expert labels, up to ``limit`` of them (None: all).

    ``add(step, labels)`` keeps the step's decisions (within the episode quota, if any), in env
    order, until ``limit`` are kept; ``labels`` default to the actions taken (the expert's own).
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.collected = 0
        self._chunks: list[Observations] = []
        self._labels: list[np.ndarray] = []

    def add(self, step: Step, labels: np.ndarray | None = None, only: np.ndarray | None = None) -> np.ndarray:
        """Keep ``step``'s decisions (of the envs ``only`` marks, (n,) bool, if given); which envs
        were kept, (n,) bool."""
        keep = step.decision & step.counted
        if only is not None:
            keep &= only
        if self.limit is not None:
            keep &= np.cumsum(keep) <= self.limit - self.collected
        if keep.any():
            self._chunks.append({key: value[keep] for key, value in step.observation.items()})
            self._labels.append((step.actions if labels is None else labels)[keep])
            self.collected += int(keep.sum())
        return keep

    def full(self) -> bool:
        """Whether ``limit`` decisions are kept."""
        return self.limit is not None and self.collected >= self.limit

    def data(self) -> tuple[Observations, np.ndarray]:
        """``(observations, actions)``: arrays of shape ``(N, ...)`` and ``(N,)`` int64."""
        chunks = self._chunks
        observations = {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}
        return observations, np.concatenate(self._labels).astype(np.int64)


def behaviour_cloning(
    policy: nn.Module,
    data: tuple[Mapping[str, Any], Any],
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
    action_mask: Any = None,
    weight_decay: float = 0.0,
    progress: bool = True,
    desc: str = "behaviour cloning",
    postfix: Mapping[str, str] | None = None,
) -> list[float]:
    """Fit ``policy`` to ``data = (observations, actions)`` by cross-entropy; the mean loss per epoch.

    ``policy(obs)`` must return ``(logits, value)`` (``ActformerPolicy``); only the logits
    are trained. With ``action_mask`` (True = allowed; ``(A,)`` for all samples, as every env of a
    task allows the same instructions, or ``(N, A)``) the loss is taken over the masked logits,
    as the policy acts. Adam (AdamW: with ``weight_decay`` > 0, decoupled weight decay; 0 is plain
    Adam) at learning rate ``lr``, minibatches of ``batch_size`` reshuffled each epoch; ``seed``
    seeds the shuffling (a generator of its own: torch's global one is not touched). ``progress``
    shows a tqdm bar of the epochs named ``desc``, with the training pairs, ``postfix`` (e.g. DAgger's
    agreement) and the last epoch's mean loss; it changes nothing computed. The policy is left in
    eval mode. A non-finite loss (checked before its step) or parameter (after each epoch) raises
    ``divergence.TrainingDiverged`` at ``imitation epoch N``.

    Weight decay matters for length generalization: on Addition, training on 1-3 digits and acting
    on 100, ``weight_decay=0.3`` solved every seed tried where 0 fails some (``tests/test_imitation.py``,
    ``benchmarks/history_ablation.py``).
    """
    if not isinstance(policy, nn.Module):
        raise ValueError(f"policy must be a torch.nn.Module returning (logits, value), got {policy!r}")
    parameters = list(policy.parameters())
    if not parameters:
        raise ValueError("policy has no parameters to train")
    observations, actions = _check_data(data)
    count = len(actions)
    check_int("epochs", epochs, low=1, numpy_ints=True)
    check_int("batch_size", batch_size, low=1, numpy_ints=True)
    check_number("lr", lr, low=0, strict=True)
    check_number("weight_decay", weight_decay, low=0)
    check_int("seed", seed, low=0, numpy_ints=True)

    device = parameters[0].device
    obs = {key: torch.as_tensor(np.asarray(value), device=device) for key, value in observations.items()}
    targets = torch.as_tensor(actions, dtype=torch.int64, device=device)
    mask = None
    if action_mask is not None:
        mask = torch.as_tensor(np.asarray(action_mask), dtype=torch.bool, device=device)
        if mask.ndim not in (1, 2) or (mask.ndim == 2 and mask.shape[0] != count):
            raise ValueError(f"action_mask must be (A,) or (N={count}, A), got shape {tuple(mask.shape)}")
        if int(targets.max()) >= mask.shape[-1]:
            raise ValueError(
                f"action_mask covers {mask.shape[-1]} actions, data has action {int(targets.max())}"
            )
        allowed = mask[targets] if mask.ndim == 1 else mask.gather(1, targets[:, None]).squeeze(1)
        if not bool(allowed.all()):
            raise ValueError("action_mask must allow every action in data")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(
        parameters, lr=lr, weight_decay=weight_decay, foreach=foreach_kernels(device)
    )
    policy.train()
    losses = []
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, dynamic_ncols=True)
    shown = {"pairs": str(count), **(postfix or {})}
    bar.set_postfix(shown, refresh=False)
    for epoch in bar:
        where = f"imitation epoch {epoch + 1}"
        order = torch.randperm(count, generator=generator).to(device)
        total = 0.0
        for start in range(0, count, batch_size):
            batch = order[start : start + batch_size]
            logits, _ = policy({key: value[batch] for key, value in obs.items()})
            if mask is not None:
                logits = masked_logits(logits, mask if mask.ndim == 1 else mask[batch], device)
            loss = F.cross_entropy(logits, targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            batch_loss = loss.item()
            check_finite(where, loss=batch_loss)  # before the step: the parameters stay finite
            optimizer_step(where, optimizer)
            total += batch_loss * len(batch)
        check_parameters(where, policy)
        losses.append(total / count)
        bar.set_postfix({**shown, "loss": f"{losses[-1]:.4g}"})
    policy.eval()
    return losses


def _check_data(data: object) -> tuple[Mapping[str, Any], np.ndarray]:
    """``(observations, actions)`` with one action per observation, or ``ValueError`` naming ``data``."""
    if not isinstance(data, (tuple, list)) or len(data) != 2 or not isinstance(data[0], Mapping):
        raise ValueError("data must be a pair (observations dict, actions), as collect_expert_data returns")
    observations, actions = data
    actions = np.asarray(actions)
    if actions.ndim != 1 or actions.size == 0 or actions.dtype.kind not in "iu":
        raise ValueError(
            f"data actions must be a non-empty 1-d int array, got {actions.dtype} of shape {actions.shape}"
        )
    if actions.min() < 0:
        raise ValueError(f"data actions must be >= 0, got {actions.min()}")
    if not observations:
        raise ValueError("data observations must hold at least one field")
    for key, value in observations.items():
        if len(value) != len(actions):
            raise ValueError(f"data observations[{key!r}] has {len(value)} rows, actions has {len(actions)}")
    return observations, actions
