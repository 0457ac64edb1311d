"""Imitation on a verification set: fit the policy until its greedy action is the expert's on every
observation of the set, each by a stated logit margin.

Behaviour cloning on trajectories weighs each observation by how often the expert visits it, so a
rare decision (the one step after a partial product where the pointers rewind) can stay wrong while
the loss looks done. The verification set (``train.certify.verification_set``) holds each distinct
observation once; fitting on it, with a hinge on the margin beside the cross-entropy, ends exactly
when what a certificate checks holds: agreement 100% and the minimum margin at least ``margin``.
The budget is optimizer steps, never seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from actformer_envs.checks import check_int, check_number
from actformer_envs.verification import ObservationSet
from actformer_gym.agents.actformer import ActformerPolicy, masked_logits
from actformer_gym.train.divergence import check_finite, check_parameters, optimizer_step

#: The margin imitation fits to by default: the expert action's logit at least this far above every
#: other allowed action's, on every observation of the set (far above float rounding between CPUs).
DEFAULT_MARGIN = 1.0


@dataclass
class SetFit:
    """How a fit on a verification set went: the optimizer ``steps`` taken, the last check's
    ``agreement`` (fraction of the set's observations, each once) and ``min_margin``, whether it
    ``reached`` agreement 1.0 with the margin, and every check (``history``)."""

    size: int
    margin: float
    steps: int = 0
    agreement: float = 0.0
    min_margin: float = -float("inf")
    reached: bool = False
    history: list[dict[str, float]] = field(default_factory=list)

    def metrics(self, prefix: str = "imitation/") -> dict[str, float]:
        """The result as scalar metrics (TensorBoard, ``eval.json``)."""
        return {
            f"{prefix}set_size": float(self.size),
            f"{prefix}agreement": self.agreement,
            f"{prefix}min_margin": self.min_margin,
            f"{prefix}fit_steps": float(self.steps),
            f"{prefix}fit_reached": float(self.reached),
        }


def fit_to_set(
    policy: ActformerPolicy,
    obs_set: ObservationSet,
    margin: float = DEFAULT_MARGIN,
    max_steps: int = 20_000,
    lr: float = 3e-3,
    batch_size: int = 4096,
    check_every: int = 25,
    seed: int = 0,
    progress: bool = False,
    on_check: Callable[[dict[str, float]], None] | None = None,
) -> SetFit:
    """Train ``policy`` on ``obs_set`` until its greedy action equals the expert's on every
    observation with a logit margin of at least ``margin``, or ``max_steps`` optimizer steps.

    Loss: masked cross-entropy plus the hinge ``relu(margin - m)`` on each observation's margin
    ``m`` (expert logit minus the best other allowed one), both averaged over the set's
    observations, each counted once. Adam at ``lr``; a set larger than ``batch_size`` is taken in
    minibatches drawn by a generator seeded with ``seed`` (torch's global one is not touched).
    Agreement and the minimum margin over the whole set are checked every ``check_every`` steps
    (eval mode, greedy, as ``certify`` computes them) and given to ``on_check``; ``progress``
    shows a tqdm bar. A non-finite loss or parameter raises ``divergence.TrainingDiverged``.
    The policy is left in eval mode.
    """
    check_number("margin", margin, low=0.0, strict=True)
    check_int("max_steps", max_steps, low=1, numpy_ints=True)
    check_number("lr", lr, low=0.0, strict=True)
    check_int("batch_size", batch_size, low=1, numpy_ints=True)
    check_int("check_every", check_every, low=1, numpy_ints=True)
    check_int("seed", seed, low=0, numpy_ints=True)
    if not len(obs_set):
        raise ValueError("obs_set must hold at least one observation, got an empty set")
    device = policy.device
    obs = {key: torch.as_tensor(value, device=device) for key, value in obs_set.observations().items()}
    mask = torch.as_tensor(np.asarray(obs_set.action_masks, dtype=bool), device=device)
    expert = torch.as_tensor(np.asarray(obs_set.expert_actions, dtype=np.int64), device=device)
    count = len(expert)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    result = SetFit(size=count, margin=float(margin))
    bar = tqdm(
        total=max_steps, desc="fit on the verification set", unit="step", disable=not progress, leave=False
    )
    try:
        while True:
            if result.steps % check_every == 0 or result.steps == max_steps:
                agreement, min_margin = _check(policy, obs, mask, expert, batch_size)
                result.agreement, result.min_margin = agreement, min_margin
                record = {"step": float(result.steps), "agreement": agreement, "min_margin": min_margin}
                result.history.append(record)
                if on_check is not None:
                    on_check(record)
                bar.set_postfix(agreement=f"{agreement:.4f}", margin=f"{min_margin:.3f}")
                if agreement == 1.0 and min_margin >= margin:
                    result.reached = True
                    break
                if result.steps == max_steps:
                    break
            policy.train()
            index = (
                torch.randperm(count, generator=generator)[:batch_size].to(device)
                if count > batch_size
                else None
            )
            batch = obs if index is None else {key: value[index] for key, value in obs.items()}
            batch_mask = mask if index is None else mask[index]
            batch_expert = expert if index is None else expert[index]
            logits = masked_logits(policy(batch)[0], batch_mask, device)
            loss = (
                F.cross_entropy(logits, batch_expert) + F.relu(margin - _margins(logits, batch_expert)).mean()
            )
            where = f"fit step {result.steps + 1}"
            check_finite(where, loss=loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer_step(where, optimizer)
            result.steps += 1
            bar.update(1)
            if result.steps % check_every == 0:
                check_parameters(where, policy)
    finally:
        bar.close()
        policy.eval()
    return result


def _margins(logits: torch.Tensor, expert: torch.Tensor) -> torch.Tensor:
    """The expert action's (masked) logit minus the best other's, per row (differentiable; a row
    whose only allowed action is the expert's gets a large finite margin)."""
    own = logits.gather(1, expert[:, None]).squeeze(1)
    others = logits.scatter(1, expert[:, None], torch.finfo(logits.dtype).min)
    return (own - others.max(-1).values).clamp(max=1e4)


@torch.no_grad()
def _check(
    policy: ActformerPolicy,
    obs: dict[str, Any],
    mask: torch.Tensor,
    expert: torch.Tensor,
    batch_size: int,
) -> tuple[float, float]:
    """(greedy agreement, minimum margin) over the whole set, in eval mode."""
    policy.eval()
    agree, lowest = 0, float("inf")
    for start in range(0, len(expert), batch_size):
        part = {key: value[start : start + batch_size] for key, value in obs.items()}
        logits = masked_logits(policy(part)[0], mask[start : start + batch_size], policy.device)
        target = expert[start : start + batch_size]
        agree += int((logits.argmax(-1) == target).sum())
        lowest = min(lowest, float(_margins(logits.double(), target).min()))
    return agree / len(expert), lowest
