"""DAgger: roll out the learner, label the states it visits with the expert's action, retrain.

Behaviour cloning sees only the expert's own states; a learner that strays meets states the expert
never visits. DAgger (Ross et al., 2011) collects exactly those, labelled by the expert (the native
vector env's ``expert_action()``), adds them to the data and retrains with ``behaviour_cloning``.

Our experts are defined on their own trajectories: each is a function of what it reads, right on
every state its own actions reach from a problem's start, and not meant to recover from others
(from states reached by a few random allowed actions, the Multiplication expert solved 7 of 40).
A label there can teach a wrong action. ``labels="expert-trajectory"`` keeps DAgger within what
the expert guarantees: in each episode it labels the states up to and including the learner's
first step away from the expert's action (the mistake to unlearn, on the expert's trajectory), and
none after it. ``labels="all"`` is the classic algorithm, every visited state labelled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from actformer_envs import ActformerVectorEnv
from actformer_envs.rollout import Observations, Rollout, Step
from actformer_gym.agents.actformer import ActformerPolicy, masked_logits, sample_actions
from actformer_gym.train.config import DAGGER_LABELS
from actformer_gym.train.divergence import check_finite, stage
from actformer_gym.train.imitation import ExpertLabels, behaviour_cloning


def collect_on_policy(
    policy: ActformerPolicy,
    env: ActformerVectorEnv,
    steps: int,
    beta: float = 0.0,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    labels: str = "all",
) -> tuple[tuple[Observations, np.ndarray], dict[str, float]]:
    """``steps`` states visited by ``policy`` (sampling), each labelled with the expert's action:
    every visited state (``labels="all"``), or only those on the expert's trajectory
    (``"expert-trajectory"``: up to and including each episode's first action that is not the
    expert's; the rollout goes on until ``steps`` such states are collected).

    With probability ``beta`` (per env and step, drawn from ``rng``) the expert's action is taken
    instead of the policy's. ``env`` is reset (with ``seed``) first. The last observation of an ended
    episode is not a decision (NEXT_STEP autoreset) and is not collected. Returns the data and
    ``{"agreement": fraction of collected states where the policy's greedy action is the expert's,
    "success_rate": of the episodes that ended}``. Non-finite logits raise ``TrainingDiverged``.
    """
    if steps < 1 or not 0.0 <= beta <= 1.0:
        raise ValueError(f"steps must be >= 1 and beta in [0, 1], got steps={steps}, beta={beta}")
    if labels not in DAGGER_LABELS:
        raise ValueError(f"labels must be one of {list(DAGGER_LABELS)}, got {labels!r}")
    if seed is not None:  # the policy's draws: seeded with the env
        generator: torch.Generator | None = torch.Generator(device=policy.device).manual_seed(seed)
    else:
        generator = None
    learner = _Learner(policy, env, beta, np.random.default_rng() if rng is None else rng, generator)
    collected = ExpertLabels(limit=steps)
    agreed = solved = ended_count = 0
    on_trajectory = np.ones(env.num_envs, dtype=bool)  # every action of the episode so far the expert's

    def record(step: Step) -> None:
        nonlocal agreed, solved, ended_count, on_trajectory
        labelled = on_trajectory if labels == "expert-trajectory" else None
        keep = collected.add(step, learner.expert, only=labelled)
        # (after a reset step, a new episode starts: on the trajectory again)
        on_trajectory = np.where(step.decision, on_trajectory & (step.actions == learner.expert), True)
        agreed += int((learner.greedy[keep] == learner.expert[keep]).sum())
        if step.ended.any():
            ended_count += int(step.ended.sum())
            solved += int((step.infos["is_success"] & step.ended).sum())

    Rollout(env, seed=seed).run(learner.act, record, until=collected.full)
    stats = {
        "agreement": agreed / collected.collected,
        "success_rate": solved / ended_count if ended_count else float("nan"),
    }
    return collected.data(), stats


class _Learner:
    """``act`` of DAgger's rollout: the policy's sampled action, or with probability ``beta`` (per
    env and step, drawn from ``rng``) the expert's; it keeps the expert's and the policy's greedy
    actions of the observation acted on."""

    def __init__(
        self,
        policy: ActformerPolicy,
        env: ActformerVectorEnv,
        beta: float,
        rng: np.random.Generator,
        generator: torch.Generator | None,
    ) -> None:
        self.policy, self.env, self.beta, self.rng = policy, env, beta, rng
        self.generator = generator
        self.expert = self.greedy = np.zeros(0, dtype=np.int64)

    @torch.no_grad()
    def act(self, observation: Observations, mask: np.ndarray) -> np.ndarray:
        self.expert = self.env.expert_action()
        logits, _ = self.policy(observation)
        check_finite("on-policy rollout", logits=logits)
        logits = masked_logits(logits, mask, self.policy.device)
        sampled = sample_actions(logits, self.generator).cpu().numpy()
        self.greedy = logits.argmax(-1).cpu().numpy()
        return np.where(self.rng.random(self.env.num_envs) < self.beta, self.expert, sampled)


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
    labels: str = "all",
    **bc_kwargs: Any,
) -> tuple[tuple[Observations, np.ndarray], list[dict[str, float]]]:
    """``rounds`` of DAgger starting from ``data`` (the expert's, already cloned into ``policy``).

    Each round collects ``steps`` labelled on-policy states (``collect_on_policy`` with ``labels``,
    env seeded with ``seed + round * num_envs``), aggregates them with all earlier data and retrains
    ``policy`` on the whole with ``behaviour_cloning(**bc_kwargs)``. Returns the aggregated data and
    per-round stats (the on-policy ``agreement`` and ``success_rate`` before retraining, and the
    final ``loss``).
    Each retraining's progress bar (``bc_kwargs["progress"]``) is named ``DAgger round R/ROUNDS`` and
    shows the round's agreement. A divergence raises ``TrainingDiverged`` at e.g.
    ``imitation epoch 3 of DAgger round 2``.
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    history = []
    for round_ in range(rounds):
        with stage(f"DAgger round {round_ + 1}"):
            visited, stats = collect_on_policy(
                policy, env, steps, beta, rng, seed=seed + (round_ + 1) * env.num_envs, labels=labels
            )
            data = aggregate(data, visited)
            shown = {"agreement": f"{stats['agreement']:.3f}"}
            desc = f"DAgger round {round_ + 1}/{rounds}"
            losses = behaviour_cloning(
                policy, data, seed=seed + round_ + 1, desc=desc, postfix=shown, **bc_kwargs
            )
        history.append({**stats, "loss": losses[-1]})
    return data, history
