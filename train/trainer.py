"""One training run, top to bottom: warm start (behaviour cloning on expert data, then DAgger),
RL (PPO or A2C) with a length curriculum, greedy exact-match evaluation; exact resume.

The pieces, each in its own module: the rollout loop (``actformer_envs/rollout.py``), RL's experience and
GAE (``train/experience.py``), the update strategies (``train/algorithms.py``) and their losses
(``train/losses.py``), imitation (``train/imitation.py``, ``train/dagger.py``), the curriculum
(``train/curriculum.py``), evaluation (``train/evaluate.py``) and the seeds (``train/seeds.py``).
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from actformer_envs import ActformerVectorEnv
from actformer_envs.env import task_class
from actformer_envs.rollout import Rollout
from actformer_envs.tasks.mixture import Mixture
from actformer_envs.verification import ObservationSet
from actformer_gym.agents.actformer import ActformerPolicy, foreach_kernels
from actformer_gym.train.algorithms import LOSS_KEYS, make_algorithm
from actformer_gym.train.certify import greedy_agreement, set_parts, whole_set
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.curriculum import Curriculum
from actformer_gym.train.dagger import dagger
from actformer_gym.train.divergence import check_parameters
from actformer_gym.train.evaluate import exact_match
from actformer_gym.train.experience import Episodes, Experience
from actformer_gym.train.exploration import CountBonus
from actformer_gym.train.imitation import behaviour_cloning, collect_expert_data
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.self_imitation import SuccessReplay
from actformer_gym.train.set_fit import fit_to_set

#: Metric keys of ``Trainer.iterate``.
METRIC_KEYS = (
    "charts/success_rate",
    "charts/episodic_return",
    "charts/SPS",
    "charts/curriculum_length",
    "charts/ent_coef",
    "charts/kl_coef",
    "charts/count_bonus",
    *LOSS_KEYS,
    "losses/self_imitation",
)


def build_policy(
    config: TrainConfig, observation_space: gym.Space, mixture: Mixture, device: str
) -> ActformerPolicy:
    """The policy of ``config``'s settings for ``observation_space``, seeing what ``mixture``'s experts
    declare they read where the config is ``projected``; ``ValueError`` if they declare nothing.
    Training and loading a checkpoint both build it here, so a setting cannot reach one and not the other."""
    reads = mixture.read_masks() if config.policy.projected else None
    if config.policy.projected and reads is None:
        raise ValueError(f"projected needs the expert's declared reads: {config.env.task} declares none")
    return ActformerPolicy(
        observation_space,
        d_model=config.policy.d_model,
        hidden=config.policy.hidden,
        device=device,
        reads=reads,
        neighbours=config.policy.neighbours,
    )


class Trainer:
    """One training run of ``config`` (its ``algo``: PPO or A2C).

    ``warm_start()`` (behaviour cloning then DAgger; ``iterate`` runs it first if never run), then
    ``iterate()`` until ``done()``; ``evaluate`` measures greedy exact match per length.
    ``state_dict``/``load_state_dict`` resume exactly, the env included.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        seed = seed_for(config.run.seed, "run")
        self.rng = np.random.default_rng(seed)  # DAgger's dagger_beta draws
        self.env = ActformerVectorEnv(config.env.num_envs, config.env.task, **config.env.kwargs())
        self.curriculum = Curriculum(
            config.curriculum.start_length,
            config.env.length_cap,
            config.curriculum.threshold,
            config.curriculum.window,
            config.curriculum.step,
        )
        self.env.set_length_range(config.env.min_length, self.curriculum.length)
        with torch.random.fork_rng(devices=[]):  # initialized from the seed, torch's own generator untouched
            torch.manual_seed(seed)
            self.policy = build_policy(
                config, self.env.single_observation_space, self.env.mixture, config.run.device
            )
        self.device = self.policy.device
        #: RL's draws: the rollouts' actions and the minibatches' order.
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.optimizer = torch.optim.AdamW(
            self.policy.parameters(),
            lr=config.algo.learning_rate,
            weight_decay=config.algo.weight_decay,
            eps=1e-5,
            foreach=foreach_kernels(self.device),
        )
        self.algorithm = make_algorithm(config, self.generator)
        self.warm_policy = self._frozen_copy()
        self.warm_started = False
        #: What the warm start measured (``imitation/...``: losses, agreement and margin on the set).
        self.warm_metrics: dict[str, float] = {}
        self._verification_set: ObservationSet | None = None
        self.iteration = 0
        self.rollout = Rollout(self.env, seed=seed)
        algo = config.algo
        bonus = CountBonus(algo.count_bonus, algo.count_values) if algo.count_bonus else None
        replay = (
            SuccessReplay(algo.self_imitation_capacity, config.env.num_envs, algo.gamma)
            if algo.self_imitation
            else None
        )
        self.experience = Experience(
            self.rollout, self.curriculum, config.env.min_length, self.generator, bonus, replay
        )

    @property
    def global_step(self) -> int:
        """Env-steps of RL so far (``num_envs`` per vector step)."""
        return self.experience.env_steps

    def _frozen_copy(self) -> ActformerPolicy:
        frozen = copy.deepcopy(self.policy).eval()
        frozen.requires_grad_(False)
        return frozen

    # -- warm start ----------------------------------------------------------------------------

    def warm_start(self, progress: bool = False) -> dict[str, float]:
        """Behaviour cloning on expert data, then ``dagger_rounds`` of DAgger (nothing if
        ``imitation`` is off); the warm-start policy (the KL penalty's reference) is frozen after.
        Runs once: later calls return ``{}``. ``progress`` shows a tqdm bar per phase (epochs and
        loss; output only, the same numbers either way)."""
        c, metrics = self.config, {}
        if self.warm_started:  # once per run: a second call would move the KL reference
            return metrics
        if c.imitation.enabled:
            start = time.perf_counter()
            if c.imitation.pairs:
                metrics.update(self._clone(progress))
            if c.imitation.fit_set:
                imitation = c.imitation
                fit = fit_to_set(
                    self.policy,
                    self.verification_set(),
                    margin=imitation.fit_margin,
                    max_steps=imitation.fit_steps,
                    lr=imitation.lr,
                    seed=seed_for(c.run.seed, "set_fit"),
                    progress=progress,
                )
                metrics.update(fit.metrics())
            metrics["imitation/seconds"] = time.perf_counter() - start
            self.policy.train()
        self.warm_policy = self._frozen_copy()
        self.warm_started = True
        self.warm_metrics = dict(metrics)
        return metrics

    def _clone(self, progress: bool) -> dict[str, float]:
        """Behaviour cloning on ``pairs`` expert pairs, then ``dagger_rounds`` of DAgger."""
        c, metrics = self.config, {}
        env, imitation, seed = c.env, c.imitation, c.run.seed
        problems = env.kwargs()  # (the expert's problems: up to imitation.max_length where set)
        problems["max_length"] = imitation.max_length or problems["max_length"]
        data = collect_expert_data(
            env.env_id,
            steps=imitation.pairs,
            num_envs=env.num_envs,
            seed=seed_for(seed, "expert_data"),
            **problems,
        )
        bc = {
            "epochs": imitation.epochs,
            "batch_size": imitation.batch_size,
            "lr": imitation.lr,
            "weight_decay": c.algo.weight_decay,
            "action_mask": self.rollout.mask[0],
            "progress": progress,
        }
        losses = behaviour_cloning(self.policy, data, seed=seed_for(seed, "run"), **bc)
        metrics["imitation/bc_loss"] = losses[-1]
        if imitation.dagger_rounds:
            dagger_env = ActformerVectorEnv(env.num_envs, env.task, **problems)
            _, rounds = dagger(
                self.policy, dagger_env, data, imitation.dagger_rounds, imitation.dagger_steps,
                imitation.dagger_beta, seed_for(seed, "dagger"), self.rng, imitation.dagger_labels, **bc,
            )  # fmt: skip
            for i, stats in enumerate(rounds):
                for key, value in stats.items():
                    metrics[f"imitation/dagger{i}_{key}"] = value
        return metrics

    def verification_set(self) -> ObservationSet:
        """The expert's distinct observations at the training lengths (``min_length`` to
        ``max_length``), as the policy sees them (projected if it is): built once, as
        ``actformer certify`` builds it (every problem of a length where there are at most
        ``set_cap``, else ``set_samples`` random ones, seed 0)."""
        if self._verification_set is None:
            c = self.config
            task = task_class(c.env.task)
            lengths = list(range(c.env.min_length, c.env.length_cap + 1))
            kwargs = c.env.verification_kwargs()
            parts = set_parts(task, lengths, c.imitation.set_samples, c.imitation.set_cap, kwargs)
            self._verification_set, _ = whole_set(
                task, parts, 0, c.imitation.set_cap, kwargs, projected=self.policy.projected
            )
        return self._verification_set

    def agreement(self) -> tuple[float, float]:
        """(greedy agreement, minimum margin) of the policy on the verification set."""
        result = greedy_agreement(self.policy, self.verification_set())
        return result.agreement, result.min_margin

    def roll_back(self) -> None:
        """Put the warm-start policy back (an RL phase that lost agreement on the set)."""
        self.policy.load_state_dict(self.warm_policy.state_dict())

    # -- RL ------------------------------------------------------------------------------------

    def done(self) -> bool:
        """Whether ``total_steps`` env-steps of RL have run."""
        return self.global_step >= self.config.run.total_steps

    def iterate(self) -> dict[str, float]:
        """One rollout of ``num_steps`` vector steps and one update; the metrics (``METRIC_KEYS``).

        ``charts/success_rate`` and ``charts/episodic_return`` are over the episodes that ended
        during the rollout (NaN when none did). A NaN or infinite parameter, logit, value, loss or
        gradient raises ``divergence.TrainingDiverged`` at ``start``, ``rollout`` or ``update
        of iteration N`` (N counts from 1), before it reaches an optimizer step.
        """
        if not self.warm_started:
            self.warm_start()
        start = time.perf_counter()
        number = self.iteration + 1
        self.algorithm.follow_schedules(
            self.global_step, self.config.run.total_steps, self.curriculum.success_rate
        )
        check_parameters(f"start of iteration {number}", self.policy)
        batch, (successes, returns) = self._rollout(f"rollout of iteration {number}")
        losses = self._update(batch, f"update of iteration {number}")
        self.iteration += 1
        elapsed = time.perf_counter() - start
        return {
            "charts/success_rate": float(np.mean(successes)) if successes else math.nan,
            "charts/episodic_return": float(np.mean(returns)) if returns else math.nan,
            "charts/SPS": self.config.batch_size / elapsed,
            "charts/curriculum_length": float(self.curriculum.length),
            "charts/ent_coef": self.algorithm.ent_coef,
            "charts/kl_coef": self.algorithm.kl_coef,
            "charts/count_bonus": self.experience.mean_bonus,
            **losses,
        }

    def _rollout(self, where: str) -> tuple[dict[str, Any], Episodes]:
        """The batch of one rollout, and the outcomes of the episodes that ended in it."""
        algo = self.config.algo
        return self.experience.collect(self.policy, algo.num_steps, algo.gamma, algo.gae_lambda, where)

    def _update(self, batch: dict[str, Any], where: str) -> dict[str, float]:
        """The algorithm's update of the policy on ``batch``, then its self-imitation if on; the mean
        losses."""
        losses = self.algorithm.update(self.policy, self.optimizer, batch, self.warm_policy, where)
        replay = self.experience.replay
        losses["losses/self_imitation"] = (
            0.0
            if replay is None
            else self.algorithm.self_imitate(
                self.policy, self.optimizer, replay, self.config.batch_size, where
            )
        )
        return losses

    # -- evaluation and state ------------------------------------------------------------------

    def evaluate(
        self, lengths: tuple[int, ...] | None = None, episodes: int | None = None
    ) -> dict[int, float]:
        """Greedy exact match of the policy per problem length (default: the config's eval settings)."""
        env, run = self.config.env, self.config.run
        lengths = run.eval_lengths if lengths is None else lengths
        episodes = run.eval_episodes if episodes is None else episodes
        self.policy.eval()
        seed = seed_for(run.seed, "evaluation")
        return {
            int(length): exact_match(
                self.policy,
                env.env_id,
                int(length),
                episodes,
                seed=seed,
                num_envs=env.num_envs,
                **env.observation_kwargs(),
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
            "warm_metrics": self.warm_metrics,
            "curriculum": self.curriculum.state_dict(),
            "global_step": self.global_step,
            "iteration": self.iteration,
            "generator": self.generator.get_state(),
            "rng": self.rng.bit_generator.state,
            "env": self.env.state_dict(),
            "observation": self.rollout.observation,
            "mask": self.rollout.mask,
            "resetting": self.rollout.resetting,
            "episode_return": self.experience.episode_return,
            "episode_level": self.experience.episode_level,
        }
        if self.experience.bonus is not None:
            state["count_bonus"] = self.experience.bonus.state_dict()
        if self.experience.replay is not None:
            state["self_imitation"] = self.experience.replay.state_dict()
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a ``state_dict`` of a Trainer of the same config (the env's state is
        checked against this trainer's env: ``ValueError`` if it was made otherwise)."""
        state = copy.deepcopy(state)
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.warm_policy.load_state_dict(state["warm_policy"])
        self.warm_started = bool(state["warm_started"])
        self.warm_metrics = {key: float(value) for key, value in state.get("warm_metrics", {}).items()}
        self.curriculum.load_state_dict(state["curriculum"])
        self.experience.env_steps, self.iteration = int(state["global_step"]), int(state["iteration"])
        self.generator.set_state(state["generator"])
        self.rng.bit_generator.state = state["rng"]
        self.env.load_state_dict(state["env"])
        self.rollout.observation, self.rollout.mask = state["observation"], state["mask"]
        self.rollout.resetting = state["resetting"]
        self.experience.episode_return = state["episode_return"]
        self.experience.episode_level = state["episode_level"]
        if self.experience.bonus is not None:
            self.experience.bonus.load_state_dict(state["count_bonus"])
        if self.experience.replay is not None:
            self.experience.replay.load_state_dict(state["self_imitation"])
