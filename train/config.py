"""The training config: one nested dataclass, validated once, on construction.

A :class:`TrainConfig` has six sections: ``env`` (what the env poses, checked by the env's own
rules, ``actformer_envs.config.EnvConfig``), ``policy``, ``imitation`` (the warm start),
``curriculum``, ``algo`` (:class:`PPO` or :class:`A2C`, each with its own defaults) and ``run``
(seed, device, budget, evaluation: the only section ``--resume`` may change). The string below
each field is its help text, which ``tyro`` shows on the command line, where every field is a flat
flag (``--task``, ``--imitation-pairs``, ``--clip-coef``). A bad value raises ``ValueError`` naming
the flag and what it allows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Annotated, Any, ClassVar, get_type_hints

import tyro

from actformer_envs.checks import check_bool, check_choice, check_int, check_number
from actformer_envs.config import EnvConfig
from actformer_envs.tasks import TASKS, MultiTask
from actformer_envs.tasks.registry import env_id
from actformer_envs.verification import SET_CAP, SET_SAMPLES
from actformer_gym.train.exploration import COUNT_VALUES

#: What DAgger labels (``dagger_labels``): every visited state, or only those on the expert's
#: trajectory (``train.dagger``).
DAGGER_LABELS = ("all", "expert-trajectory")
#: What moves the entropy bonus (``AlgoSettings.ent_schedule``).
ENT_SCHEDULES = ("steps", "success")
#: The largest seed: 32 bits, as NumPy's legacy seeding and most RL code take.
MAX_SEED = 2**32 - 1


def flag(name: str) -> Any:
    """A field's command-line name, where its section's name would otherwise be lost
    (``imitation.pairs`` is ``--imitation-pairs``)."""
    return tyro.conf.arg(name=name)


@dataclass(frozen=True)
class EnvSettings:
    """What the env poses: validated by the env's own rules (``EnvConfig.for_task``)."""

    task: str = "Addition"
    """Task name, one of actformer_envs.TASKS (e.g. Addition, Copy)."""
    num_envs: int = 64
    """Environments stepped together in the vector env."""
    min_length: int = 1
    """Shortest problem length posed."""
    max_length: int | None = None
    """The curriculum's last max length, and the env's max_length (None = the task's default)."""
    base: int | None = None
    """The symbols' base (None = the task's default; e.g. 2 for Addition on bits)."""
    reward_mode: str = "shaped"
    """Env reward: shaped (progress rewards summing to 0), dense (progress kept), signed (dense, and
    each wrong output cell costs a digit), sparse (success only)."""
    obs_mode: str = "local"
    """Env observation: local (pointer windows) or full (adds the scratchpad)."""
    history_length: int = 8
    """Past actions in the observation (0 = none)."""
    mask_mode: str = "allowed"
    """Action masks: allowed (the task's instructions) or valid (those that would not fault now)."""

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise ValueError(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        check_int("num_envs", self.num_envs, low=1)
        self.resolved()  # the env's checks, with its messages

    def resolved(self) -> EnvConfig:
        """The env's validated settings, the task's defaults filled in."""
        return EnvConfig.for_task(
            TASKS[self.task],
            min_length=self.min_length,
            max_length=self.max_length,
            base=self.base,
            reward_mode=self.reward_mode,
            obs_mode=self.obs_mode,
            history_length=self.history_length,
            mask_mode=self.mask_mode,
        )

    @property
    def env_id(self) -> str:
        """The registered id of ``task``."""
        return env_id(self.task)

    @property
    def length_cap(self) -> int:
        """``max_length``, or the task's default when it is None."""
        return self.resolved().max_length

    def observation_kwargs(self) -> dict[str, Any]:
        """The env arguments the policy's observations and masks depend on (``base`` only where set:
        the task's default is the env's own)."""
        return {
            **self.problem_kwargs(),
            "reward_mode": self.reward_mode,
            "obs_mode": self.obs_mode,
            "history_length": self.history_length,
            "mask_mode": self.mask_mode,
        }

    def verification_kwargs(self) -> dict[str, Any]:
        """The env arguments a verification set (and so a certificate) is made with: what the
        expert's observations depend on."""
        return {"obs_mode": self.obs_mode, "history_length": self.history_length, **self.problem_kwargs()}

    def problem_kwargs(self) -> dict[str, Any]:
        """The env arguments that change the problems posed besides their lengths: ``base`` where set."""
        return {} if self.base is None else {"base": self.base}

    def kwargs(self) -> dict[str, Any]:
        """The env's arguments besides ``num_envs`` and ``task``."""
        return {"min_length": self.min_length, "max_length": self.length_cap, **self.observation_kwargs()}


@dataclass(frozen=True)
class PolicySettings:
    """The Actformer policy's size."""

    d_model: int = 16
    """Policy token width (even, divisible by 2 attention heads)."""
    hidden: int = 64
    """Policy MLP width."""
    projected: Annotated[bool, flag("projected")] = False
    """The policy sees only what the task's expert reads (its declared view, actformer_envs.reads):
    its certificate is then over a set that stops growing with length."""
    neighbours: Annotated[bool, flag("neighbours")] = True
    """The policy sees the cells beside each pointer; --no-neighbours: only the cells under them,
    so no short problem can be taken in at one look (a task-independent narrowing of its view)."""

    def __post_init__(self) -> None:
        check_bool("projected", self.projected)
        check_bool("neighbours", self.neighbours)
        check_int("d_model", self.d_model, low=1)
        check_int("hidden", self.hidden, low=1)
        if self.d_model % 2:
            raise ValueError(f"d_model must be even (2 attention heads), got {self.d_model}")


@dataclass(frozen=True)
class ImitationSettings:
    """The warm start: behaviour cloning on expert data, then DAgger rounds, before RL."""

    enabled: Annotated[bool, flag("imitation")] = True
    """Warm start: behaviour cloning on expert data, then DAgger rounds, before RL."""
    pairs: Annotated[int, flag("imitation-pairs")] = 20_000
    """Expert (observation, action) pairs for behaviour cloning (0 = none, and no DAgger: only the
    fit on the verification set, which fit_set must then turn on)."""
    max_length: Annotated[int | None, flag("imitation-max-length")] = None
    """Longest problem of the expert data that behaviour cloning and DAgger see (None = the env's
    max_length): imitate on short problems, then RL on problems up to max_length."""
    epochs: Annotated[int, flag("imitation-epochs")] = 20
    """Behaviour-cloning epochs (and retraining epochs of each DAgger round)."""
    lr: Annotated[float, flag("imitation-lr")] = 3e-3
    """Learning rate of behaviour cloning and DAgger."""
    batch_size: Annotated[int, flag("imitation-batch-size")] = 256
    """Minibatch size of behaviour cloning and DAgger."""
    dagger_rounds: int = 1
    """DAgger rounds after behaviour cloning (0 = none)."""
    dagger_steps: int = 5_000
    """States visited (and labelled by the expert) per DAgger round."""
    dagger_beta: float = 0.0
    """Probability that DAgger's rollouts take the expert's action instead of the policy's, in [0, 1]."""
    dagger_labels: str = "all"
    """States DAgger labels: all (every state the learner visits, as Ross et al.) or
    expert-trajectory (only where the expert's label is guaranteed right: each episode's states up
    to and including the learner's first step off the expert's actions; the experts are defined on
    their own trajectories)."""
    fit_set: Annotated[bool, flag("fit-set")] = False
    """Then fit on the verification set (each distinct observation the expert visits at the training
    lengths, once) until greedy agreement is 100% with margin fit_margin, or fit_steps are spent."""
    fit_margin: float = 1.0
    """The logit margin the fit on the verification set must reach on every observation, > 0."""
    fit_steps: int = 20_000
    """Optimizer steps the fit on the verification set may take at most."""
    set_samples: int = SET_SAMPLES
    """Random problems per training length in the verification set where it does not run every
    problem of the length (more than set_cap of them)."""
    set_cap: int = SET_CAP
    """Every problem of a training length joins the verification set where there are at most this many."""

    def __post_init__(self) -> None:
        check_bool("imitation", self.enabled)
        check_bool("fit_set", self.fit_set)
        check_int("imitation_pairs", self.pairs, low=0)
        if self.max_length is not None:
            check_int("imitation_max_length", self.max_length, low=1)
        if self.enabled and self.pairs == 0 and not self.fit_set:
            raise ValueError(
                "imitation_pairs must be >= 1 unless fit_set is on (0 pairs: nothing to imitate)"
            )
        for name, value in (("epochs", self.epochs), ("batch_size", self.batch_size)):
            check_int(f"imitation_{name}", value, low=1)
        check_number("fit_margin", self.fit_margin, low=0.0, strict=True)
        check_int("fit_steps", self.fit_steps, low=1)
        check_int("set_samples", self.set_samples, low=1)
        check_int("set_cap", self.set_cap, low=0)
        check_int("dagger_steps", self.dagger_steps, low=1)
        check_int("dagger_rounds", self.dagger_rounds, low=0)
        check_number("imitation_lr", self.lr, low=0.0, strict=True)
        check_number("dagger_beta", self.dagger_beta, low=0.0, high=1.0)
        if self.dagger_labels not in DAGGER_LABELS:
            raise ValueError(
                f"dagger_labels must be one of {list(DAGGER_LABELS)}, got {self.dagger_labels!r}"
            )


@dataclass(frozen=True)
class CurriculumSettings:
    """Problem lengths grow from ``start_length`` to the env's ``max_length`` as success allows."""

    start_length: int = 1
    """The curriculum's first max length: problems are drawn uniform in [min_length, current]."""
    threshold: Annotated[float, flag("curriculum-threshold")] = 0.9
    """Success rate over the last curriculum_window episodes (at the current length) that lengthens."""
    window: Annotated[int, flag("curriculum-window")] = 256
    """Episodes whose success rate decides lengthening."""
    step: Annotated[int, flag("curriculum-step")] = 1
    """Added to the current max length when it lengthens (capped at max_length)."""

    def __post_init__(self) -> None:
        check_int("start_length", self.start_length, low=1)
        check_number("curriculum_threshold", self.threshold, low=0.0, high=1.0)
        check_int("curriculum_window", self.window, low=1)
        check_int("curriculum_step", self.step, low=1)


def linear_schedule(start: float, final: float, env_steps: int, span: int) -> float:
    """``start`` at 0 env-steps, ``final`` from ``span`` on, linear in between (``span`` <= 0:
    ``final`` at once): the entropy bonus's and the KL penalty's anneals."""
    done = min(env_steps / span, 1.0) if span > 0 else 1.0
    return start + done * (final - start)


@dataclass(frozen=True)
class AlgoSettings:
    """What PPO and A2C share: rollouts, returns, the loss's weights, the optimizer."""

    name: ClassVar[str]
    learning_rate: float = 2.5e-4
    """AdamW learning rate of the RL updates."""
    num_steps: int = 64
    """Rollout length: steps of every environment per update."""
    weight_decay: float = 0.3
    """AdamW decoupled weight decay (helps length generalization), in RL and imitation alike."""
    gamma: float = 0.99
    """Discount factor, in [0, 1]."""
    gae_lambda: float = 0.95
    """GAE lambda, in [0, 1]."""
    ent_coef: float = 0.01
    """Entropy bonus coefficient, >= 0."""
    count_bonus: float = 0.0
    """Count-based exploration: add count_bonus / sqrt(N) to every decision's reward in RL, N the times
    this run has taken that action on that view (what the policy sees; ``train/exploration.py``), so
    pairs seldom tried pay more; >= 0, 0 = off. The episodes' returns and successes stay the env's."""
    count_values: str = "exact"
    """How the count bonus tells views apart by their registers, memory and flags: "exact" (each value
    its own), or "magnitude" (by sign and bit length: 0, 1, 2-3, 4-7, ...), so that a register counting
    up does not make a new view, and a bonus to earn, at every step."""
    self_imitation: float = 0.0
    """Self-imitation (``train/self_imitation.py``): after each update, as many steps again on
    decisions replayed from the run's own solved episodes, each action's log-probability raised by
    how much its return exceeded the value expected there; this is their loss's weight, >= 0, 0 = off.
    No expert: the env's ``is_success`` alone picks the episodes."""
    self_imitation_capacity: int = 65_536
    """Decisions of solved episodes the self-imitation replay keeps (the newest), >= 1."""
    ent_coef_final: float | None = None
    """Anneal the entropy bonus linearly from ent_coef to this over ent_anneal_steps env-steps of RL,
    then hold it (explore widely first, then settle); None = ent_coef throughout."""
    ent_anneal_steps: int | None = None
    """Env-steps of RL the entropy anneal takes (None = total_steps); needs ent_coef_final."""
    ent_schedule: str = "steps"
    """What moves the entropy bonus: "steps" (ent_coef, or its anneal to ent_coef_final over
    env-steps), or "success": ent_coef times the failure rate of the episodes recorded at the
    curriculum's current length (1 before any, and again at each new length), so the policy keeps
    exploring while it fails and settles as it succeeds, however many env-steps that takes."""
    vf_coef: float = 0.5
    """Value loss coefficient, >= 0."""
    max_grad_norm: float = 0.5
    """Global gradient norm clip, > 0."""
    kl_coef: float = 1.0
    """Penalty on KL(policy || warm-start policy), the imitated policy frozen when RL starts, so RL
    does not forget it (without it PPO wrecked a perfect Multiplication clone within 65k steps);
    0 = off. Applies only after a warm start (``imitation``)."""
    kl_anneal_steps: int | None = None
    """Decay the KL penalty linearly from kl_coef to kl_coef_final over this many env-steps of RL (a
    scheduled anchor: it holds the policy near the warm start while RL's first updates are noisy, then
    lets RL move it); None = kl_coef throughout."""
    kl_coef_final: float = 0.0
    """The KL penalty's weight at the end of its decay, held from then on (a floored anchor: RL may
    change what pays, while the warm start's other decisions stay anchored); needs kl_anneal_steps."""
    norm_adv: bool = True
    """Normalize the advantages of each minibatch to mean 0, std 1 (PPO's default, as in CleanRL and
    SB3); False: raw advantages, so rewards and the entropy bonus keep their scales (normalized, a
    return difference as small as a few steps' time penalty pulls as hard as solving the task)."""

    def __post_init__(self) -> None:
        check_int("num_steps", self.num_steps, low=1)
        for name in ("learning_rate", "max_grad_norm"):
            check_number(name, getattr(self, name), low=0.0, strict=True)
        check_int("self_imitation_capacity", self.self_imitation_capacity, low=1)
        for name in ("weight_decay", "ent_coef", "count_bonus", "self_imitation", "vf_coef", "kl_coef"):
            check_number(name, getattr(self, name), low=0.0)
        for name in ("gamma", "gae_lambda"):
            check_number(name, getattr(self, name), low=0.0, high=1.0)
        if self.ent_coef_final is not None:
            check_number("ent_coef_final", self.ent_coef_final, low=0.0)
        if self.ent_anneal_steps is not None:
            check_int("ent_anneal_steps", self.ent_anneal_steps, low=1)
            if self.ent_coef_final is None:
                raise ValueError("ent_anneal_steps must be None unless ent_coef_final is set")
        check_choice("ent_schedule", self.ent_schedule, ENT_SCHEDULES)
        if self.ent_schedule == "success" and self.ent_coef_final is not None:
            raise ValueError('ent_coef_final must be None with ent_schedule="success" (it sets the bonus)')
        if self.kl_anneal_steps is not None:
            check_int("kl_anneal_steps", self.kl_anneal_steps, low=1)
        check_number("kl_coef_final", self.kl_coef_final, low=0.0)
        if self.kl_coef_final and self.kl_anneal_steps is None:
            raise ValueError("kl_coef_final must be 0 unless kl_anneal_steps is set")
        check_bool("norm_adv", self.norm_adv)
        check_choice("count_values", self.count_values, COUNT_VALUES)

    def entropy_coefficient(self, env_steps: int, total_steps: int, success_rate: float = math.nan) -> float:
        """The entropy bonus after ``env_steps`` env-steps of RL out of ``total_steps``, where
        ``success_rate`` is that of the episodes recorded at the curriculum's current length (NaN:
        none yet), which only ``ent_schedule="success"`` reads."""
        if self.ent_schedule == "success":
            return self.ent_coef * (1.0 - (0.0 if math.isnan(success_rate) else success_rate))
        if self.ent_coef_final is None:
            return self.ent_coef
        span = self.ent_anneal_steps or total_steps
        return linear_schedule(self.ent_coef, self.ent_coef_final, env_steps, span)

    def kl_coefficient(self, env_steps: int) -> float:
        """The KL penalty's weight after ``env_steps`` env-steps of RL."""
        if self.kl_anneal_steps is None:
            return self.kl_coef
        return linear_schedule(self.kl_coef, self.kl_coef_final, env_steps, self.kl_anneal_steps)


@dataclass(frozen=True)
class PPO(AlgoSettings):
    """Proximal policy optimization: clipped surrogate, several epochs of minibatches per rollout."""

    name: ClassVar[str] = "ppo"
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
        check_number("clip_coef", self.clip_coef, low=0.0, strict=True)
        check_int("update_epochs", self.update_epochs, low=1)
        check_int("num_minibatches", self.num_minibatches, low=1)
        if self.target_kl is not None:
            check_number("target_kl", self.target_kl, low=0.0, strict=True)


@dataclass(frozen=True)
class A2C(AlgoSettings):
    """Advantage actor-critic: one gradient step per rollout on the whole batch, no clipping."""

    name: ClassVar[str] = "a2c"
    learning_rate: float = 7e-4
    """AdamW learning rate of the RL updates."""
    num_steps: int = 16
    """Rollout length: steps of every environment per update."""
    norm_adv: bool = False
    """Normalize the advantages of the batch to mean 0, std 1; A2C's default (as SB3's): raw."""


#: Each algorithm's settings class by name (``actformer train NAME`` and checkpoints' ``algo``).
ALGOS: dict[str, type[AlgoSettings]] = {cls.name: cls for cls in (PPO, A2C)}


@dataclass(frozen=True)
class RunSettings:
    """Seed, device, budget and evaluation: what ``--resume`` may change, besides the seed."""

    seed: int = 0
    """Seed of torch, NumPy and the environments, in [0, 2**32 - 1]."""
    device: str = "auto"
    """Torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ..."""
    total_steps: int = 1_000_000
    """Environment steps of RL (num_envs per vector step), after the warm start (0 = no RL)."""
    eval_lengths: tuple[int, ...] = (3, 30, 300, 1000)
    """Problem lengths of the greedy exact-match evaluation, separated by spaces: --eval-lengths 3 30 300."""
    eval_episodes: int = 200
    """Episodes per evaluation length."""
    certify: Annotated[bool, flag("certify")] = True
    """Certify the final policy (actformer certify) and write certificate.json in the run directory."""

    def __post_init__(self) -> None:
        check_int("seed", self.seed, low=0, high=MAX_SEED)
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be 'auto' or a torch device (cpu, cuda), got {self.device!r}")
        check_int("total_steps", self.total_steps, low=0)
        if not isinstance(self.eval_lengths, (tuple, list)) or not self.eval_lengths:
            raise ValueError(f"eval_lengths must be a tuple of ints >= 1, got {self.eval_lengths!r}")
        for length in self.eval_lengths:
            check_int("eval_lengths", length, low=1)
        object.__setattr__(self, "eval_lengths", tuple(self.eval_lengths))
        check_int("eval_episodes", self.eval_episodes, low=1)
        check_bool("certify", self.certify)

    #: The fields ``--resume`` may change: they do not alter the trajectory of training.
    resumable: ClassVar[tuple[str, ...]] = (
        "total_steps",
        "device",
        "eval_lengths",
        "eval_episodes",
        "certify",
    )


Algo = Annotated[PPO, tyro.conf.subcommand("ppo")] | Annotated[A2C, tyro.conf.subcommand("a2c")]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on."""

    env: EnvSettings = field(default_factory=EnvSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    imitation: ImitationSettings = field(default_factory=ImitationSettings)
    curriculum: CurriculumSettings = field(default_factory=CurriculumSettings)
    algo: Algo = field(default_factory=PPO)
    run: RunSettings = field(default_factory=RunSettings)

    def __post_init__(self) -> None:
        sections = (
            ("env", EnvSettings),
            ("policy", PolicySettings),
            ("imitation", ImitationSettings),
            ("curriculum", CurriculumSettings),
            ("algo", AlgoSettings),
            ("run", RunSettings),
        )
        for name, kind in sections:
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}")
        env, start = self.env, self.curriculum.start_length
        check_int("start_length", start, low=env.min_length, detail=f"min_length={env.min_length}")
        if start > env.length_cap:
            raise ValueError(f"start_length must be <= max_length={env.length_cap}, got {start}")
        longest = self.imitation.max_length
        if longest is not None and not env.min_length <= longest <= env.length_cap:
            raise ValueError(
                f"imitation_max_length must be in [min_length={env.min_length}, "
                f"max_length={env.length_cap}], got {longest}"
            )
        if isinstance(self.algo, PPO) and self.batch_size % self.algo.num_minibatches:
            raise ValueError(
                f"num_minibatches must divide num_envs * num_steps = {self.batch_size}, "
                f"got {self.algo.num_minibatches}"
            )

    @property
    def batch_size(self) -> int:
        """Transitions per rollout: ``num_envs * num_steps``."""
        return self.env.num_envs * self.algo.num_steps

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML/JSON types, one mapping per section (tuples as lists); the
        ``algo`` section names its algorithm (``name``). ``from_dict`` reads it back."""
        sections: dict[str, Any] = {}
        for section in fields(self):
            values = asdict(getattr(self, section.name))
            sections[section.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        sections["algo"] = {"name": self.algo.name, **sections["algo"]}
        return sections

    @classmethod
    def for_task(cls, task: str, algo: str = "ppo", **values: Any) -> TrainConfig:
        """``task``'s recipe as a config (``recipe_settings``: what ``actformer train --task TASK``
        starts from), then ``values`` by their flags' names, as ``from_flat`` takes them."""
        return cls.from_flat(algo, **{**recipe_settings(task), **values})

    @classmethod
    def from_dict(cls, values: Any, where: str = "config", base: TrainConfig | None = None) -> TrainConfig:
        """The config a ``to_dict`` mapping (or any part of one) describes, the rest from ``base``
        (default: the defaults); ``ValueError`` naming an unknown section or field, or a bad value."""
        if not isinstance(values, dict):
            raise ValueError(f"{where} must be a mapping of sections, got {type(values).__name__}")
        unknown = sorted(str(key) for key in values if key not in SECTIONS)
        if unknown:
            raise ValueError(f"unknown section(s) {unknown} in {where}; sections: {list(SECTIONS)}")
        built: dict[str, Any] = {}
        for name, section in values.items():
            if not isinstance(section, dict):
                raise ValueError(f"{where}: section {name!r} must be a mapping, got {type(section).__name__}")
            section = dict(section)
            kind = SECTIONS[name]
            if name == "algo":
                algo = section.pop("name", "ppo")
                if algo not in ALGOS:
                    raise ValueError(f"{where}: algo name must be one of {list(ALGOS)}, got {algo!r}")
                kind = ALGOS[algo]
            allowed = [f.name for f in fields(kind)]
            bad = sorted(str(key) for key in section if key not in allowed)
            if bad:
                raise ValueError(
                    f"unknown field(s) {bad} of section {name!r} in {where}; its fields: {allowed}"
                )
            given = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
            inherited = getattr(base, name, None)
            if isinstance(inherited, kind):  # (another algorithm than the base's: its own defaults)
                given = {**asdict(inherited), **given}
            built[name] = kind(**given)
        if base is not None:
            built = {name: built.get(name, getattr(base, name)) for name in SECTIONS}
        return cls(**built)

    @classmethod
    def from_flat(cls, algo: str = "ppo", **values: Any) -> TrainConfig:
        """The config with the given fields, each by its flag's name (``task=``,
        ``imitation_pairs=``, ``clip_coef=``), the rest defaults: what scripts and benchmarks build
        from a flat table of settings. ``TypeError`` for a name that is no flag of ``algo``."""
        if algo not in ALGOS:
            raise ValueError(f"algo must be one of {list(ALGOS)}, got {algo!r}")
        sections: dict[str, dict[str, Any]] = {"algo": {"name": algo}}
        for section, kind in {**SECTIONS, "algo": ALGOS[algo]}.items():
            for flat, name in flag_names(kind).items():
                if flat in values:
                    sections.setdefault(section, {})[name] = values.pop(flat)
        if values:
            raise TypeError(f"unexpected keyword argument(s) {sorted(values)} for a {algo} TrainConfig")
        return cls.from_dict(sections, "settings")


#: Evaluation episodes per length of a task's recipe at most (its recipe may ask for more: the
#: benchmarks' count, which at 1000 digits takes minutes).
RECIPE_EVAL_EPISODES = 200


def recipe_settings(task: str) -> dict[str, Any]:
    """The flags of ``task``'s certified recipe (``Task.recipe``), the defaults of ``actformer train
    --task TASK``: a projected policy (it sees what the expert reads) fit on the verification set of
    lengths 1..``certified_length`` until greedy agreement is 100% with margin ``fit_margin``, then
    certified; no expert pairs, no DAgger, no RL (RL cannot improve a certified policy, and the
    certificate is about the fit; ``--total-steps N`` adds N env-steps of it, rolled back if they
    cost agreement). Evaluation at the recipe's lengths. MultiTask: its members' sets, each at its
    own recipe's lengths (``train.certify.set_parts``). A task without a recipe: the defaults."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    task_type = TASKS[task]
    recipe = task_type.recipe
    if recipe is None:
        return {"task": task}
    members = task_type.catalogue.values() if issubclass(task_type, MultiTask) else [task_type]
    return {
        "task": task,
        "max_length": recipe.certified_length,
        "projected": all(member.reads is not None for member in members),  # (yours may declare none)
        "fit_set": True,
        "imitation_pairs": 0,
        "total_steps": 0,
        "eval_lengths": recipe.eval_lengths,
        "eval_episodes": min(recipe.eval_episodes, RECIPE_EVAL_EPISODES),
    }


def flag_names(kind: type) -> dict[str, str]:
    """{flag name with underscores: field name} of a section's fields (``imitation_pairs``:
    ``pairs``; most fields are their own flag)."""
    hints = get_type_hints(kind, include_extras=True)
    names = {}
    for item in fields(kind):
        renamed = [
            meta.name for meta in getattr(hints[item.name], "__metadata__", ()) if getattr(meta, "name", None)
        ]
        names[renamed[0].replace("-", "_") if renamed else item.name] = item.name
    return names


#: Each section's settings class, by its name in :class:`TrainConfig` (``algo``: by ``name``).
SECTIONS: dict[str, type] = {
    "env": EnvSettings,
    "policy": PolicySettings,
    "imitation": ImitationSettings,
    "curriculum": CurriculumSettings,
    "algo": AlgoSettings,
    "run": RunSettings,
}
