"""DAgger: roll out the learner, label every state it visits with the expert's action, retrain.

Behaviour cloning sees only the expert's own states; a learner that strays meets states the expert
never visits. DAgger (Ross et al., 2011) collects exactly those, labelled by the expert (the native
vector env's ``expert_action()``), adds them to the data and retrains with ``behaviour_cloning``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from actformer_envs import ActformerVectorEnv
from agents.actformer import ActformerPolicy
from train.divergence import check_finite, stage
from train.imitation import Observations, behaviour_cloning


def collect_on_policy(
    policy: ActformerPolicy,
    env: ActformerVectorEnv,
    steps: int,
    beta: float = 0.0,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[tuple[Observations, np.ndarray], dict[str, float]]:
    """``steps`` states visited by ``policy`` (sampling), each labelled with the expert's action.

    With probability ``beta`` (per env and step, drawn from ``rng``) the expert's action is taken
    instead of the policy's. ``env`` is reset (with ``seed``) first. The last observation of an ended
    episode is not a decision (NEXT_STEP autoreset) and is not collected. Returns the data and
    ``{"agreement": fraction of collected states where the policy's greedy action is the expert's,
    "success_rate": of the episodes that ended}``. Non-finite logits raise ``TrainingDiverged``.
    """
    if steps < 1 or not 0.0 <= beta <= 1.0:
        raise ValueError(f"steps must be >= 1 and beta in [0, 1], got steps={steps}, beta={beta}")
    rng = np.random.default_rng() if rng is None else rng
    observation, infos = env.reset(seed=seed)
    resetting = np.zeros(env.num_envs, dtype=bool)
    chunks: list[Observations] = []
    labels: list[np.ndarray] = []
    agreed = collected = solved = ended_count = 0
    while collected < steps:
        expert = env.expert_action()
        mask = infos["action_mask"]
        with torch.no_grad():
            logits, _ = policy(observation)
            check_finite("on-policy rollout", logits=logits)
            logits = logits.masked_fill(~torch.as_tensor(np.array(mask), device=policy.device), -torch.inf)
            sampled = torch.distributions.Categorical(logits=logits).sample().cpu().numpy()
            greedy = logits.argmax(-1).cpu().numpy()
        keep = ~resetting & (np.cumsum(~resetting) <= steps - collected)
        chunks.append({key: value[keep] for key, value in observation.items()})
        labels.append(expert[keep])
        agreed += int((greedy[keep] == expert[keep]).sum())
        collected += int(keep.sum())
        actions = np.where(rng.random(env.num_envs) < beta, expert, sampled)
        observation, _, terminated, truncated, infos = env.step(actions)
        resetting = terminated | truncated
        if resetting.any():
            ended_count += int(resetting.sum())
            solved += int((infos["is_success"] & resetting).sum())
    data = {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}
    stats = {
        "agreement": agreed / collected,
        "success_rate": solved / ended_count if ended_count else float("nan"),
    }
    return (data, np.concatenate(labels).astype(np.int64)), stats


def aggregate(*datasets: tuple[Observations, np.ndarray]) -> tuple[Observations, np.ndarray]:
    """The union of (observations, actions) datasets."""
    observations = {key: np.concatenate([d[0][key] for d in datasets]) for key in datasets[0][0]}
    return observations, np.concatenate([d[1] for d in datasets])


def dagger(
    policy: ActformerPolicy,
    env: ActformerVectorEnv,
    data: tuple[Observations, np.ndarray],
    rounds: int,
    steps: int,
    beta: float = 0.0,
    seed: int = 0,
    rng: np.random.Generator | None = None,
    **bc_kwargs: Any,
) -> tuple[tuple[Observations, np.ndarray], list[dict[str, float]]]:
    """``rounds`` of DAgger starting from ``data`` (the expert's, already cloned into ``policy``).

    Each round collects ``steps`` labelled on-policy states (``collect_on_policy``, env seeded with
    ``seed + round * num_envs``), aggregates them with all earlier data and retrains ``policy`` on the
    whole with ``behaviour_cloning(**bc_kwargs)``. Returns the aggregated data and per-round stats
    (the on-policy ``agreement`` and ``success_rate`` before retraining, and the final ``loss``).
    A divergence raises ``TrainingDiverged`` at e.g. ``imitation epoch 3 of DAgger round 2``.
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    history = []
    for round_ in range(rounds):
        with stage(f"DAgger round {round_ + 1}"):
            visited, stats = collect_on_policy(
                policy, env, steps, beta, rng, seed=seed + (round_ + 1) * env.num_envs
            )
            data = aggregate(data, visited)
            losses = behaviour_cloning(policy, data, seed=seed + round_ + 1, **bc_kwargs)
        history.append({**stats, "loss": losses[-1]})
    return data, history
