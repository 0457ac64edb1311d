"""Run configurations: one dataclass per algorithm, validated on construction.

``RunConfig`` holds what every run shares (task, env, warm start, curriculum, evaluation);
``PPOConfig`` and ``A2CConfig`` add their algorithm's settings. The string below each field is its
help text (``tyro`` shows it on the command line). A bad value raises ``ValueError`` naming the
field and what it allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from actformer_envs.config import OBS_MODES, REWARD_MODES
from actformer_envs.tasks import TASKS

#: The largest seed: NumPy's global seeding (``np.random.seed``) takes 32 bits.
MAX_SEED = 2**32 - 1


@dataclass
class RunConfig:
    """Settings shared by every algorithm."""

    task: str = "Addition"
    """Task name, one of actformer_envs.TASKS (e.g. Addition, Copy)."""
    seed: int = 0
    """Seed of torch, NumPy and the environments, in [0, 2**32 - 1]."""
    device: str = "auto"
    """Torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ..."""
    num_envs: int = 64
    """Environments stepped together in the vector env."""
    num_steps: int = 64
    """Rollout length: steps of every environment per update."""
    total_steps: int = 1_000_000
    """Environment steps of RL (num_envs per vector step), after the warm start."""
    learning_rate: float = 2.5e-4
    """AdamW learning rate of the RL updates."""
    weight_decay: float = 0.3
    """AdamW decoupled weight decay (helps length generalization), in RL and imitation alike."""
    gamma: float = 0.99
    """Discount factor, in [0, 1]."""
    gae_lambda: float = 0.95
    """GAE lambda, in [0, 1]."""
    ent_coef: float = 0.01
    """Entropy bonus coefficient, >= 0."""
    vf_coef: float = 0.5
    """Value loss coefficient, >= 0."""
    max_grad_norm: float = 0.5
    """Global gradient norm clip, > 0."""
    kl_coef: float = 1.0
    """Penalty on KL(policy || warm-start policy), the imitated policy frozen when RL starts, so RL
    does not forget it (without it PPO wrecked a perfect Multiplication clone within 65k steps);
    0 = off. Applies only after a warm start (``imitation``)."""
    reward_mode: str = "shaped"
    """Env reward: shaped (progress rewards) or sparse (success only)."""
    obs_mode: str = "local"
    """Env observation: local (pointer windows) or full (adds the scratchpad)."""
    history_length: int = 8
    """Past actions in the observation (0 = none)."""
    d_model: int = 16
    """Policy token width (even, divisible by 2 attention heads)."""
    hidden: int = 64
    """Policy MLP width."""
    imitation: bool = True
    """Warm start: behaviour cloning on expert data, then DAgger rounds, before RL."""
    imitation_pairs: int = 20_000
    """Expert (observation, action) pairs for behaviour cloning."""
    imitation_epochs: int = 20
    """Behaviour-cloning epochs (and retraining epochs of each DAgger round)."""
    imitation_lr: float = 3e-3
    """Learning rate of behaviour cloning and DAgger."""
    imitation_batch_size: int = 256
    """Minibatch size of behaviour cloning and DAgger."""
    dagger_rounds: int = 1
    """DAgger rounds after behaviour cloning (0 = none)."""
    dagger_steps: int = 5_000
    """States visited (and labelled by the expert) per DAgger round."""
    dagger_beta: float = 0.0
    """Probability that DAgger's rollouts take the expert's action instead of the policy's, in [0, 1]."""
    min_length: int = 1
    """Shortest problem length posed."""
    start_length: int = 1
    """The curriculum's first max length: problems are drawn uniform in [min_length, current]."""
    max_length: int | None = None
    """The curriculum's last max length, and the env's max_length (None = the task's default)."""
    curriculum_threshold: float = 0.9
    """Success rate over the last curriculum_window episodes (at the current length) that lengthens."""
    curriculum_window: int = 256
    """Episodes whose success rate decides lengthening."""
    curriculum_step: int = 1
    """Added to the current max length when it lengthens (capped at max_length)."""
    eval_lengths: tuple[int, ...] = (3, 30, 300, 1000)
    """Problem lengths of the greedy exact-match evaluation."""
    eval_episodes: int = 200
    """Episodes per evaluation length."""

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise ValueError(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        _check_int("seed", self.seed, low=0, high=MAX_SEED)
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be 'auto' or a torch device (cpu, cuda), got {self.device!r}")
        for name in ("num_envs", "num_steps", "total_steps", "d_model", "hidden", "imitation_pairs"):
            _check_int(name, getattr(self, name), low=1)
        for name in ("imitation_epochs", "imitation_batch_size", "dagger_steps", "curriculum_window"):
            _check_int(name, getattr(self, name), low=1)
        _check_int("curriculum_step", self.curriculum_step, low=1)
        _check_int("dagger_rounds", self.dagger_rounds, low=0)
        _check_int("history_length", self.history_length, low=0)
        if self.d_model % 2:
            raise ValueError(f"d_model must be even (2 attention heads), got {self.d_model}")
        for name in ("learning_rate", "imitation_lr", "max_grad_norm"):
            _check_number(name, getattr(self, name), low=0.0, strict=True)
        for name in ("weight_decay", "ent_coef", "vf_coef", "kl_coef"):
            _check_number(name, getattr(self, name), low=0.0)
        for name in ("gamma", "gae_lambda", "dagger_beta", "curriculum_threshold"):
            _check_number(name, getattr(self, name), low=0.0, high=1.0)
        if self.reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {list(REWARD_MODES)}, got {self.reward_mode!r}")
        if self.obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {list(OBS_MODES)}, got {self.obs_mode!r}")
        if not isinstance(self.imitation, bool):
            raise ValueError(f"imitation must be a bool, got {self.imitation!r}")
        if self.max_length is None:
            self.max_length = max(TASKS[self.task].default_lengths[1], self.min_length)
        _check_int("min_length", self.min_length, low=1)
        _check_int("start_length", self.start_length, low=self.min_length, what="min_length")
        _check_int("max_length", self.max_length, low=self.start_length, what="start_length")
        if not isinstance(self.eval_lengths, (tuple, list)) or not self.eval_lengths:
            raise ValueError(f"eval_lengths must be a tuple of ints >= 1, got {self.eval_lengths!r}")
        for length in self.eval_lengths:
            _check_int("eval_lengths", length, low=1)
        self.eval_lengths = tuple(int(length) for length in self.eval_lengths)
        _check_int("eval_episodes", self.eval_episodes, low=1)

    @property
    def env_id(self) -> str:
        """The registered id of ``task``."""
        return f"Actformer/{self.task}-v0"

    @property
    def batch_size(self) -> int:
        """Transitions per rollout: ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps


@dataclass
class PPOConfig(RunConfig):
    """Proximal policy optimization: clipped surrogate, several epochs of minibatches per rollout."""

    clip_coef: float = 0.2
    """Clip range of the probability ratio (and of nothing else), > 0."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 4
    """Minibatches per pass; must divide num_envs * num_steps."""
    target_kl: float | None = None
    """Stop an update's epochs early once the approximate KL exceeds this (None = never)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_number("clip_coef", self.clip_coef, low=0.0, strict=True)
        _check_int("update_epochs", self.update_epochs, low=1)
        _check_int("num_minibatches", self.num_minibatches, low=1)
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches must divide num_envs * num_steps = {self.batch_size}, "
                f"got {self.num_minibatches}"
            )
        if self.target_kl is not None:
            _check_number("target_kl", self.target_kl, low=0.0, strict=True)


@dataclass
class A2CConfig(RunConfig):
    """Advantage actor-critic: one gradient step per rollout on the whole batch, no clipping."""

    learning_rate: float = 7e-4
    """AdamW learning rate of the RL updates."""
    num_steps: int = 16
    """Rollout length: steps of every environment per update."""


def _check_int(name: str, value: object, low: int, what: str | None = None, high: int | None = None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"{what}={low}" if what else str(low)
        allowed = f">= {bound}" if high is None else f"in [{bound}, {high}]"
        raise ValueError(f"{name} must be an int {allowed}, got {value!r}")


def _check_number(
    name: str, value: object, low: float, high: float | None = None, strict: bool = False
) -> None:
    valid = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if valid:
        valid = (value > low if strict else value >= low) and (high is None or value <= high)
    if not valid:
        allowed = f"{'>' if strict else '>='} {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
