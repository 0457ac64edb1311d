"""Batched PPO and A2C on the native vector env with ``ActformerPolicy``, and the ``Trainer`` that
runs a whole training: warm start (behaviour cloning, DAgger), RL with a length curriculum, evaluation.

NEXT_STEP autoreset: the step after an episode ends only resets that env (its action is ignored,
reward 0). Such a reset step is not a decision: it gets no advantage, is left out of every loss,
and GAE never bootstraps across it. A truncated episode bootstraps from the value of its last
observation (the one the reset step acts on); a terminated one does not.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np
import torch
from torch.distributions import Categorical
from torch.nn import functional as F

from actformer_envs import ActformerVectorEnv
from agents.actformer import ActformerPolicy, masked_logits
from train.config import PPOConfig, RunConfig
from train.curriculum import Curriculum
from train.dagger import dagger
from train.divergence import check_finite, check_parameters
from train.evaluate import exact_match
from train.imitation import behaviour_cloning, collect_expert_data

#: Metric keys of ``Trainer.iterate``.
METRIC_KEYS = (
    "charts/success_rate",
    "charts/episodic_return",
    "charts/SPS",
    "charts/curriculum_length",
    "losses/policy",
    "losses/value",
    "losses/entropy",
    "losses/approx_kl",
    "losses/kl_to_warm_start",
)


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


def masked_kl(logits: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(softmax(logits) || softmax(reference)) over the allowed actions, per sample."""
    log_p = torch.log_softmax(masked_logits(logits, mask, logits.device), -1)
    log_q = torch.log_softmax(masked_logits(reference, mask, logits.device), -1)
    return (log_p.exp() * (log_p - log_q)).where(mask, 0.0).sum(-1)


class Trainer:
    """One training run of ``config`` (``PPOConfig``: PPO; any other ``RunConfig``: A2C).

    ``warm_start()`` (behaviour cloning then DAgger; ``iterate`` runs it first if never run), then
    ``iterate()`` until ``done()``; ``evaluate`` measures greedy exact match per length.
    ``state_dict``/``load_state_dict`` resume exactly, the env included.
    """

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.ppo = isinstance(config, PPOConfig)
        self.anchored = config.imitation and config.kl_coef > 0  # KL penalty toward the imitated policy
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.env = ActformerVectorEnv(config.num_envs, config.task, **self.env_kwargs())
        self.curriculum = Curriculum(
            config.start_length,
            config.max_length,
            config.curriculum_threshold,
            config.curriculum_window,
            config.curriculum_step,
        )
        self.env.set_length_range(config.min_length, self.curriculum.length)
        self.policy = ActformerPolicy(
            self.env.single_observation_space,
            d_model=config.d_model,
            hidden=config.hidden,
            device=config.device,
        )
        self.device = self.policy.device
        self.optimizer = torch.optim.AdamW(
            self.policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, eps=1e-5
        )
        self.warm_policy = self._frozen_copy()
        self.warm_started = False
        self.global_step = 0
        self.iteration = 0
        self.observation, infos = self.env.reset(seed=config.seed)
        self.mask = np.array(infos["action_mask"])
        n = config.num_envs
        self.resetting = np.zeros(n, dtype=bool)  # the current observation ends an episode
        self.episode_return = np.zeros(n)
        self.episode_level = np.full(n, self.curriculum.length)  # curriculum length its episode was posed at

    def env_kwargs(self) -> dict[str, Any]:
        """The env's arguments (besides ``num_envs`` and ``task``)."""
        c = self.config
        return {
            "min_length": c.min_length,
            "max_length": c.max_length,
            "reward_mode": c.reward_mode,
            "obs_mode": c.obs_mode,
            "history_length": c.history_length,
        }

    def _frozen_copy(self) -> ActformerPolicy:
        frozen = copy.deepcopy(self.policy).eval()
        frozen.requires_grad_(False)
        return frozen

    # -- warm start ----------------------------------------------------------------------------

    def warm_start(self) -> dict[str, float]:
        """Behaviour cloning on expert data, then ``dagger_rounds`` of DAgger (nothing if
        ``imitation`` is off); the warm-start policy (the KL penalty's reference) is frozen after.
        Runs once: later calls return ``{}``."""
        c, metrics = self.config, {}
        if self.warm_started:  # once per run: a second call would move the KL reference
            return metrics
        if c.imitation:
            start = time.perf_counter()
            kwargs = self.env_kwargs()
            data = collect_expert_data(
                c.env_id, steps=c.imitation_pairs, num_envs=c.num_envs, seed=c.seed + 10_000, **kwargs
            )
            bc = {
                "epochs": c.imitation_epochs,
                "batch_size": c.imitation_batch_size,
                "lr": c.imitation_lr,
                "weight_decay": c.weight_decay,
                "action_mask": self.mask[0],
                "progress": False,
            }
            losses = behaviour_cloning(self.policy, data, seed=c.seed, **bc)
            metrics["imitation/bc_loss"] = losses[-1]
            if c.dagger_rounds:
                env = ActformerVectorEnv(c.num_envs, c.task, **kwargs)
                _, rounds = dagger(
                    self.policy, env, data, c.dagger_rounds, c.dagger_steps, c.dagger_beta, c.seed + 20_000,
                    self.rng, **bc,
                )  # fmt: skip
                for i, stats in enumerate(rounds):
                    for key, value in stats.items():
                        metrics[f"imitation/dagger{i}_{key}"] = value
            metrics["imitation/seconds"] = time.perf_counter() - start
            self.policy.train()
        self.warm_policy = self._frozen_copy()
        self.warm_started = True
        return metrics

    # -- RL ------------------------------------------------------------------------------------

    def done(self) -> bool:
        """Whether ``total_steps`` env-steps of RL have run."""
        return self.global_step >= self.config.total_steps

    def iterate(self) -> dict[str, float]:
        """One rollout of ``num_steps`` vector steps and one update; the metrics (``METRIC_KEYS``).

        ``charts/success_rate`` and ``charts/episodic_return`` are over the episodes that ended
        during the rollout (NaN when none did). A NaN or infinite parameter, logit, value, loss or
        gradient raises ``train.divergence.TrainingDiverged`` at ``start``, ``rollout`` or ``update
        of iteration N`` (N counts from 1), before it reaches an optimizer step.
        """
        if not self.warm_started:
            self.warm_start()
        start = time.perf_counter()
        number = self.iteration + 1
        check_parameters(f"start of iteration {number}", self.policy)
        batch, episodes = self._rollout(f"rollout of iteration {number}")
        losses = self._update(batch, f"update of iteration {number}")
        self.iteration += 1
        elapsed = time.perf_counter() - start
        successes, returns = episodes
        return {
            "charts/success_rate": float(np.mean(successes)) if successes else math.nan,
            "charts/episodic_return": float(np.mean(returns)) if returns else math.nan,
            "charts/SPS": self.config.batch_size / elapsed,
            "charts/curriculum_length": float(self.curriculum.length),
            **losses,
        }

    @torch.no_grad()
    def _rollout(self, where: str) -> tuple[dict[str, Any], tuple[list[bool], list[float]]]:
        """``num_steps`` vector steps of the policy (sampling): the batch of decisions with their
        advantages, and (successes, returns) of the episodes that ended. ``where`` names the stage
        in a ``TrainingDiverged`` for non-finite logits or values (checked every step, before
        sampling: NaN logits would otherwise fail inside ``Categorical``)."""
        c, env = self.config, self.env
        steps, n = c.num_steps, c.num_envs
        observations = {key: np.empty((steps, *v.shape), v.dtype) for key, v in self.observation.items()}
        masks = np.empty((steps, *self.mask.shape), dtype=bool)
        actions = np.empty((steps, n), dtype=np.int64)
        log_probs, values, rewards = (np.empty((steps, n), dtype=np.float32) for _ in range(3))
        terminated, truncated, decision = (np.empty((steps, n), dtype=bool) for _ in range(3))
        successes: list[bool] = []
        returns: list[float] = []
        self.policy.eval()
        for t in range(steps):
            for key, value in self.observation.items():
                observations[key][t] = value
            masks[t] = self.mask
            decision[t] = ~self.resetting
            # An env resetting on this step poses its next problem now, under the current range.
            self.episode_level[self.resetting] = self.curriculum.length
            logits, value = self.policy(self.observation)
            check_finite(where, logits=logits, values=value)
            # As policy.get_action_and_value samples (the same draws), less the unused entropy.
            distribution = Categorical(logits=masked_logits(logits, self.mask, self.device))
            action = distribution.sample()
            log_prob = distribution.log_prob(action)
            actions[t] = action.cpu().numpy()
            log_probs[t], values[t] = log_prob.cpu().numpy(), value.cpu().numpy()
            self.observation, reward, terminated[t], truncated[t], infos = env.step(actions[t])
            self.mask = np.array(infos["action_mask"])
            rewards[t] = reward
            self.episode_return += reward
            ended = terminated[t] | truncated[t]
            if ended.any():
                envs = np.flatnonzero(ended)
                solved = infos["is_success"][envs].astype(bool)
                successes += solved.tolist()
                returns += self.episode_return[envs].tolist()
                current = self.episode_level[envs] == self.curriculum.length
                if self.curriculum.record(solved[current]):
                    env.set_length_range(c.min_length, self.curriculum.length)
                self.episode_return[envs] = 0.0
            self.resetting = ended
        self.global_step += steps * n
        last_values = self.policy.get_value(self.observation)
        check_finite(where, values=last_values)
        last_values = last_values.cpu().numpy()
        advantages = gae(rewards, values, last_values, terminated, truncated, decision, c.gamma, c.gae_lambda)
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
        return batch, (successes, returns)

    def _update(self, batch: dict[str, Any], where: str) -> dict[str, float]:
        """PPO's clipped epochs over minibatches (A2C: one step on the whole batch); the mean losses.
        ``where`` names the stage in a ``TrainingDiverged``: the loss and gradient norm are checked
        before each optimizer step, the parameters after the last."""
        c, policy = self.config, self.policy
        tensors = {
            key: torch.as_tensor(value, device=self.device) for key, value in batch.items() if key != "obs"
        }
        obs = policy.as_tensors(batch["obs"])
        count = len(tensors["actions"])
        epochs, minibatches = (c.update_epochs, c.num_minibatches) if self.ppo else (1, 1)
        size = math.ceil(count / minibatches)
        policy.train()
        sums: dict[str, list[float]] = {key: [] for key in METRIC_KEYS if key.startswith("losses/")}
        for _ in range(epochs):
            order = torch.randperm(count, device=self.device)
            for begin in range(0, count, size):
                index = order[begin : begin + size]
                mb_obs = {key: value[index] for key, value in obs.items()}
                mask = tensors["masks"][index]
                logits, value = policy(mb_obs)
                logits = masked_logits(logits, mask, self.device)
                log_prob_all = torch.log_softmax(logits, -1)
                log_prob = log_prob_all.gather(1, tensors["actions"][index, None]).squeeze(1)
                entropy = -(log_prob_all.exp() * log_prob_all).where(mask, 0.0).sum(-1).mean()
                log_ratio = log_prob - tensors["log_probs"][index]
                ratio = log_ratio.exp()
                advantages = tensors["advantages"][index]
                if self.ppo:
                    if len(index) > 1:
                        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                    clipped = ratio.clamp(1 - c.clip_coef, 1 + c.clip_coef)
                    policy_loss = torch.max(-advantages * ratio, -advantages * clipped).mean()
                else:  # at the rollout's own parameters ratio == 1: the gradient of -A * log pi
                    policy_loss = -(advantages * ratio).mean()
                value_loss = 0.5 * F.mse_loss(value, tensors["returns"][index])
                loss = policy_loss + c.vf_coef * value_loss - c.ent_coef * entropy
                if self.anchored:
                    with torch.no_grad():
                        reference, _ = self.warm_policy(mb_obs)
                    kl_warm = masked_kl(logits, reference, mask).mean()
                    loss = loss + c.kl_coef * kl_warm
                    sums["losses/kl_to_warm_start"].append(kl_warm.item())
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), c.max_grad_norm)
                check_finite(where, loss=loss, gradient_norm=norm)
                self.optimizer.step()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean().item()
                sums["losses/policy"].append(policy_loss.item())
                sums["losses/value"].append(value_loss.item())
                sums["losses/entropy"].append(entropy.item())
                sums["losses/approx_kl"].append(approx_kl)
            if self.ppo and c.target_kl is not None and sums["losses/approx_kl"][-1] > c.target_kl:
                break
        check_parameters(where, policy)
        if not sums["losses/kl_to_warm_start"]:
            with torch.no_grad():
                logits, _ = policy(obs)
                reference, _ = self.warm_policy(obs)
                kl = masked_kl(logits, reference, tensors["masks"]).mean().item()
            sums["losses/kl_to_warm_start"].append(kl)
        policy.eval()
        return {key: float(np.mean(values)) for key, values in sums.items()}

    # -- evaluation and state ------------------------------------------------------------------

    def evaluate(
        self, lengths: tuple[int, ...] | None = None, episodes: int | None = None
    ) -> dict[int, float]:
        """Greedy exact match of the policy per problem length (default: the config's eval settings)."""
        c = self.config
        lengths = c.eval_lengths if lengths is None else lengths
        episodes = c.eval_episodes if episodes is None else episodes
        kwargs = {"reward_mode": c.reward_mode, "obs_mode": c.obs_mode, "history_length": c.history_length}
        self.policy.eval()
        return {
            int(length): exact_match(
                self.policy,
                c.env_id,
                int(length),
                episodes,
                seed=c.seed + 30_000,
                num_envs=c.num_envs,
                **kwargs,
            )
            for length in lengths
        }

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of everything an exact resume needs (``load_state_dict`` on a Trainer of the
        same config): tensors, arrays, numbers and strings only (the env's too, by its
        ``state_dict``), so a checkpoint stores it as data."""
        state = {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "warm_policy": self.warm_policy.state_dict(),
            "warm_started": self.warm_started,
            "curriculum": self.curriculum.state_dict(),
            "global_step": self.global_step,
            "iteration": self.iteration,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy_rng": np.random.get_state(),
            "rng": self.rng.bit_generator.state,
            "env": self.env.state_dict(),
            "observation": self.observation,
            "mask": self.mask,
            "resetting": self.resetting,
            "episode_return": self.episode_return,
            "episode_level": self.episode_level,
        }
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a ``state_dict`` of a Trainer of the same config (the env's state is
        checked against this trainer's env: ``ValueError`` if it was made otherwise)."""
        state = copy.deepcopy(state)
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.warm_policy.load_state_dict(state["warm_policy"])
        self.warm_started = bool(state["warm_started"])
        self.curriculum.load_state_dict(state["curriculum"])
        self.global_step, self.iteration = int(state["global_step"]), int(state["iteration"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        np.random.set_state(state["numpy_rng"])
        self.rng.bit_generator.state = state["rng"]
        self.env.load_state_dict(state["env"])
        self.observation, self.mask = state["observation"], state["mask"]
        self.resetting, self.episode_return = state["resetting"], state["episode_return"]
        self.episode_level = state["episode_level"]
