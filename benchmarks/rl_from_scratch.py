"""RL from scratch: the project's PPO and A2C, and sb3-contrib's MaskablePPO, on the classic
algorithmic tasks with no expert anywhere in the loop; then the learned policies at 10x and 100x.

No imitation, no expert labels, no expert-derived view or reward (``BASE``): the policy sees the
whole local observation (``projected=False``: the expert's declared reads would be expert knowledge),
the reward is the env's ``dense`` mode (the progress of every correct digit written is kept, a wrong
overwrite takes it back, a step and an invalid action cost a little, halting on the exact answer
earns 1), the action mask is ``valid`` (the task's instructions less those that would fault now:
one machine predicate for every task), no weight decay. Each task has a recipe (``RECIPES``): its
training length, its curriculum and its entropy bonus. ``UNIFORM``: every length up to 5 from
the start, no entropy bonus (with the length curriculum and a bonus of 0.05 instead, PPO solved
Copy on 1 of 3 seeds in 2M env-steps; without either, on 3 of 3:
``benchmarks/results/rl_from_scratch_curriculum/``, at commit 6227fe8). ``ANNEALED``: a curriculum
from 1 to length 10 (lengthened once 80 % of a window of episodes at the current length succeed)
and an entropy bonus annealed linearly from 0.1 to 0 over the first 3M env-steps: explore widely
while the lengths grow, then settle. ``ANNEALED_FROM_2``: the same without problems of length 1,
whose answer is one write: halting after the first write, learned there, is a trap every longer
problem falls into. ``ANNEALED_MARKOV``: ``ANNEALED`` with no history of past actions in the
observation (``history_length=0``), so the policy acts on the working memory alone: with the history,
``ANNEALED`` settled on a program quadratic in the length on 2 of 3 Reverse seeds (its rows:
``benchmarks/results/rl_from_scratch_annealed/``). ``ANNEALED_FROM_2_MARKOV``: ``ANNEALED_FROM_2``
with no history. ``ANNEALED_FROM_2_MARKOV_SLOW``: the same with the bonus annealed over 8M env-steps,
and a budget of 10M (over 3M of a 4M budget, seeds 1 and 2 stalled on RepeatCopy at lengths
2 and 3: ``benchmarks/results/rl_from_scratch_repeatcopy_4m/``; over 6M of 8M, at 3 and 2).
``ANNEALED_FROM_3_MARKOV``: ``ANNEALED_FROM_2_MARKOV`` without problems of length 2 either, with a budget
of 10M (``ANNEALED_FROM_2_MARKOV_SLOW`` left seed 1 at length 2 for 10M env-steps:
``benchmarks/results/rl_from_scratch_repeatcopy_slow/``). ``UNIFORM_RAW``: ``UNIFORM`` on raw advantages
(``norm_adv=False``; PPO normalizes each minibatch's by default) with an entropy bonus annealed from 0.01
to 0 over 6M env-steps, and a budget of 8M that a run trains whole (``Recipe.stops``): on Addition,
normalized advantages turn the time penalty that halting at once saves into as strong a pull as any,
and every other recipe halted or copied an operand. ``UNIFORM_RAW_SELF_IMITATION`` (Addition's):
``UNIFORM_RAW`` with self-imitation of the run's own solved episodes (``self_imitation``), which takes the
seed that ``UNIFORM_RAW`` leaves writing zeros (its rows:
``benchmarks/results/rl_from_scratch_addition_uniform_raw/``). ``UNDER_RAW`` (no task's own: ``--recipe
under-raw``): a Markov policy that sees only the cells under its pointers (``neighbours=False``) on raw
advantages, a curriculum from length 2 at 90 % over 2,048 episodes and a bonus annealed from 0.05 over 8M of
10M env-steps; a Parity variant (``benchmarks/results/rl_from_scratch_parity_under/``). ``UNDER_COUNT``:
``UNDER_RAW`` with a count-based exploration bonus, beta / sqrt(N) on every decision's reward, N the times
the run has taken that action on that view (``count_bonus``; its Parity rows:
``benchmarks/results/rl_from_scratch_parity_under_count/``), and ``UNDER_COUNT_MAGNITUDE_SUCCESS``
(Parity's): counting registers and flags by magnitude, its bonus scaled by the failure rate at the current
length instead of annealed; the earlier Parity rows, on ``annealed-2``:
``benchmarks/results/rl_from_scratch_parity_annealed/``. ``UNIFORM`` learned Reverse at length 1 alone, and
a constant bonus found the quadratic program too (``UNIFORM``'s rows on the tasks that now have another
recipe: ``benchmarks/results/rl_from_scratch_length5/``). A recipe's env settings (``Recipe.env_kwargs``)
hold for every env of its task: training, checks, evaluation, MaskablePPO.

Each run trains for at most its recipe's budget of env-steps (``Recipe.steps``: 4M, RepeatCopy's and
Parity's 10M, Addition's 8M; ``--steps`` sets one for every run) and measures greedy exact match at the
training length every ``--check-every`` env-steps (``--check-episodes`` problems); once that reaches
``TARGET`` with the curriculum at the training length and the final evaluation's problems there
(``--eval-episodes``) confirm it, those env-steps are its steps to the target, and it stops (unless
its recipe trains its whole budget: ``Recipe.stops``). The final policy is evaluated greedily at 1x,
10x and 100x the training length (``--eval-episodes`` problems each; at 1x, the confirmation where the
run stopped on it), its mean steps per problem beside the expert's on the same problems.
MaskablePPO (``MultiInputPolicy``, sb3-contrib's defaults but the rollout size) runs on
``SB3_TASKS`` with the same env modes, lengths, budget, checks and stopping rule.
Torch runs on one thread.

Results: a Markdown table (every run, then k of n seeds per task and learner) on stdout and in
``rl_from_scratch.md``; every run with its learning curve in ``rl_from_scratch.json``; the curves as
``rl_from_scratch.png``; in a fresh ``benchmarks/runs/rl_from_scratch-<UTC time>/`` (``--out DIR``:
there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.rl_from_scratch                      # every task and learner, 3 seeds
    python -m benchmarks.rl_from_scratch --tasks Copy --learners PPO --seeds 1
    python -m benchmarks.rl_from_scratch --tasks RepeatCopy --recipe annealed-2-markov  # another recipe
    python -m benchmarks.rl_from_scratch --update-results     # refresh benchmarks/results/
    python -m benchmarks.rl_from_scratch --merge A/rl_from_scratch.json B/rl_from_scratch.json
    python -m benchmarks.rl_from_scratch --tasks Copy --quick  # smoke test: tiny budget
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from actformer_envs.tasks.registry import env_id
from actformer_gym.agents.baselines import Agent, ExpertAgent
from actformer_gym.train.checkpoint import save_checkpoint
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import count_episodes, make_eval_env
from actformer_gym.train.runs import checkpoint_payload
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    QUICK_HELP,
    SMOKE_BANNER,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    check_output_flags,
    expand_all,
    fill_unset,
    machine_info,
    name_of,
    output_dir,
    positive,
    run_stamp,
    runs_note,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)

TASKS = ("Copy", "Reverse", "DuplicatedInput", "RepeatCopy", "Parity", "Addition")
MULTIPLIERS = (1, 10, 100)
#: Greedy exact match at the training length at which a run counts as solved, and stops.
TARGET = 0.99
#: The learners: the project's trainer with each algorithm, and sb3-contrib's MaskablePPO.
LEARNERS = {"PPO": "ppo", "A2C": "a2c", "MaskablePPO": "sb3"}
#: The tasks MaskablePPO runs on (it is slower per env-step: a comparison, not a sweep).
SB3_TASKS = ("Copy", "Reverse")
#: The env's modes for every learner: what the agents see, get and may do.
ENV_MODES = {"reward_mode": "dense", "mask_mode": "valid"}
#: The env keyword arguments a recipe may set (``Recipe.env_kwargs``; a ``reward_mode`` replaces the
#: one in ``ENV_MODES``).
ENV_SETTINGS = ("history_length", "reward_mode")
#: The training config of the project's learners besides the task, seed, budget, algorithm and recipe.
BASE: dict[str, Any] = {"imitation": False, "projected": False, **ENV_MODES, "weight_decay": 0.0}


@dataclass(frozen=True)
class Recipe:
    """How a task is learned from scratch: its training length (symbols, or digits of each operand:
    the curriculum's last length), the trainer's settings on top of ``BASE`` and its budget of
    env-steps per run (what ``--steps`` sets for every recipe)."""

    name: str
    train_length: int
    settings: dict[str, Any]
    steps: int = 4_000_000
    #: Whether a run stops once solved (``Checks``); False: it trains its whole budget, the env-steps
    #: at which it was first solved still recorded.
    stops: bool = True

    @property
    def min_length(self) -> int:
        """The shortest problems it poses."""
        return int(self.settings.get("min_length", 1))

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """What it sets of the env on top of ``ENV_MODES`` (its history length or reward mode, if it
        sets them): every env of its task, training or evaluating, any learner, is made with these."""
        return {key: self.settings[key] for key in ENV_SETTINGS if key in self.settings}


UNIFORM = Recipe("uniform", 5, {"start_length": 5, "ent_coef": 0.0})
ANNEALED = Recipe(
    "annealed",
    10,
    {
        "start_length": 1,
        "curriculum_threshold": 0.8,
        "ent_coef": 0.1,
        "ent_coef_final": 0.0,
        "ent_anneal_steps": 3_000_000,
    },
)
#: ``ANNEALED`` without problems of length 1.
ANNEALED_FROM_2 = Recipe("annealed-2", 10, {**ANNEALED.settings, "min_length": 2, "start_length": 2})
#: ``ANNEALED`` with a Markov policy: no history of past actions in the observation.
ANNEALED_MARKOV = Recipe("annealed-markov", 10, {**ANNEALED.settings, "history_length": 0})
#: ``ANNEALED_FROM_2`` with a Markov policy.
ANNEALED_FROM_2_MARKOV = Recipe("annealed-2-markov", 10, {**ANNEALED_FROM_2.settings, "history_length": 0})
#: ``ANNEALED_FROM_2_MARKOV`` with the bonus annealed over 8M env-steps (for a 10M budget).
ANNEALED_FROM_2_MARKOV_SLOW = Recipe(
    "annealed-2-markov-slow",
    10,
    {**ANNEALED_FROM_2_MARKOV.settings, "ent_anneal_steps": 8_000_000},
    steps=10_000_000,
)
#: ``ANNEALED_FROM_2_MARKOV`` from length 3: no problems of lengths 1 and 2.
ANNEALED_FROM_3_MARKOV = Recipe(
    "annealed-3-markov",
    10,
    {**ANNEALED_FROM_2_MARKOV.settings, "min_length": 3, "start_length": 3},
    steps=10_000_000,
)
#: ``UNIFORM`` on raw advantages (``norm_adv=False``) with a small entropy bonus annealed to 0 over 6M
#: env-steps of an 8M budget, all of it trained: normalized, the few steps' time penalty that halting
#: at once saves pulls as hard as a correct sum would, and the policy halts; raw, the bonus keeps it
#: exploring. Stopped at 99 %, a policy that errs on a few problems of the training length errs on
#: more of the longer ones (PPO's seed 1 in a first run that stopped there, at commit 13832e0, not
#: kept: 99.4 % at 5 digits, 96.0 % at 50, 63.0 % at 500).
UNIFORM_RAW = Recipe(
    "uniform-raw",
    5,
    {
        **UNIFORM.settings,
        "ent_coef": 0.01,
        "ent_coef_final": 0.0,
        "ent_anneal_steps": 6_000_000,
        "norm_adv": False,
    },
    steps=8_000_000,
    stops=False,
)
#: A Markov policy that sees only the cells under its pointers (``neighbours=False``), on raw advantages,
#: a curriculum from length 2 (problems of length 1 kept) that lengthens once 90 % of a window of 2,048
#: episodes succeed, and a bonus of 0.05 annealed to 0 over 8M env-steps of a 10M budget. With the cells
#: beside each pointer in view, problems of up to 3 bits are solved by a lookup of what is in view, and no
#: program between that lookup and the running parity answers right more often than a guess; under the
#: pointers alone, a problem of 2 bits already needs a register that carries what was read. Not Parity's
#: recipe: a probe of seed 0 (unpinned kernels, the bonus annealed over 6M of 8M) learned the running
#: parity; with kernels pinned PPO did on none of 5 seeds
#: (``benchmarks/results/rl_from_scratch_parity_under/``).
UNDER_RAW = Recipe(
    "under-raw",
    10,
    {
        "min_length": 1,
        "start_length": 2,
        "curriculum_threshold": 0.9,
        "curriculum_window": 2048,
        "ent_coef": 0.05,
        "ent_coef_final": 0.0,
        "ent_anneal_steps": 8_000_000,
        "norm_adv": False,
        "history_length": 0,
        "neighbours": False,
    },
    steps=10_000_000,
)
#: ``UNDER_RAW`` with count-based exploration (``count_bonus``): every decision's reward gains
#: beta / sqrt(N), N the times the run has taken that action on that view (what the policy sees). On the
#: plateau where ``UNDER_RAW`` stops (the first 1 written, then lookups), the bonus pays for the rare
#: pairs that lead off it. Beta 0.01 to 0.05 (``under-count-0.01`` and so on).
UNDER_COUNT = {
    beta: Recipe(f"under-count-{beta}", 10, {**UNDER_RAW.settings, "count_bonus": beta}, steps=10_000_000)
    for beta in (0.01, 0.02, 0.03, 0.04, 0.05)
}
#: ``UNDER_COUNT`` with the counts reading registers, memory and flags by magnitude (sign and bit
#: length: ``count_values="magnitude"``): counted exactly, a register that ADD keeps growing is a new
#: view at every step, a bonus a policy can earn without end instead of answering.
UNDER_COUNT_MAGNITUDE = {
    beta: Recipe(
        f"under-count-magnitude-{beta}",
        10,
        {**UNDER_RAW.settings, "count_bonus": beta, "count_values": "magnitude"},
        steps=10_000_000,
    )
    for beta in (0.03, 0.04, 0.05)
}


def uniform_raw_variant(name: str, **settings: Any) -> Recipe:
    """``UNIFORM_RAW`` (its length, budget, all trained) with ``settings`` on top: an Addition probe."""
    merged = {**UNIFORM_RAW.settings, **settings}
    return Recipe(name, UNIFORM_RAW.train_length, merged, steps=UNIFORM_RAW.steps, stops=False)


#: ``UNIFORM_RAW`` with a count-based bonus (``uniform-raw-count-0.003`` and so on): Addition's seeds that
#: settle on copying an operand take ADD on too few views to learn what it pays.
UNIFORM_RAW_COUNT = {
    beta: uniform_raw_variant(f"uniform-raw-count-{beta}", count_bonus=beta) for beta in (0.003, 0.01)
}
#: ``UNIFORM_RAW_COUNT`` counting the value file by magnitude (as ``UNDER_COUNT_MAGNITUDE``).
UNIFORM_RAW_COUNT_MAGNITUDE = uniform_raw_variant(
    "uniform-raw-count-magnitude-0.01", count_bonus=0.01, count_values="magnitude"
)
#: ``UNIFORM_RAW_COUNT`` with a Markov policy (no action history), so that the views it counts recur.
UNIFORM_RAW_MARKOV_COUNT = {
    beta: uniform_raw_variant(f"uniform-raw-markov-count-{beta}", history_length=0, count_bonus=beta)
    for beta in (0.01, 0.03)
}
#: ``UNIFORM_RAW`` on a curriculum from length 1 (lengthened at 80 % success), all trained.
CURRICULUM_RAW = uniform_raw_variant("curriculum-raw", start_length=1, curriculum_threshold=0.8)
#: ``UNIFORM_RAW`` on the ``"signed"`` reward: a wrong output cell costs what a right digit earns, so
#: writing one digit (a register still 0) into every answer cell no longer pays where it is right.
UNIFORM_RAW_SIGNED = uniform_raw_variant("uniform-raw-signed", reward_mode="signed")


def by_success(settings: dict[str, Any]) -> dict[str, Any]:
    """A recipe's settings with its entropy bonus scaled by its failures instead of annealed over
    env-steps (``ent_schedule="success"``: the bonus times the failure rate at the curriculum's
    current length)."""
    annealing = ("ent_coef_final", "ent_anneal_steps")
    return {**{k: v for k, v in settings.items() if k not in annealing}, "ent_schedule": "success"}


#: ``UNIFORM_RAW`` with its bonus of 0.01 scaled by the failure rate at 5 digits instead of annealed:
#: a seed that has not found the sum keeps exploring as it did at the start.
UNIFORM_RAW_SUCCESS = Recipe(
    "uniform-raw-success", 5, by_success(UNIFORM_RAW.settings), steps=UNIFORM_RAW.steps, stops=False
)
#: ``UNDER_COUNT[0.03]`` with its bonus of 0.05 scaled by the failure rate at the current
#: length: back to 0.05 at each new length, and held while a length stalls.
UNDER_COUNT_SUCCESS = Recipe(
    "under-count-success-0.03", 10, by_success(UNDER_COUNT[0.03].settings), steps=10_000_000
)
#: ``UNIFORM_RAW`` with self-imitation (weight 1), Addition's recipe: seed 2's sampled policy solves a
#: few problems at every length while its greedy one writes zeros; replayed, those solved episodes teach
#: what they did.
UNIFORM_RAW_SELF_IMITATION = uniform_raw_variant("uniform-raw-self-imitation", self_imitation=1.0)
#: ``UNDER_COUNT_MAGNITUDE[0.04]`` with its bonus of 0.05 scaled by the failure rate at the current
#: length (as ``UNDER_COUNT_SUCCESS``): Parity's recipe. Counted by magnitude, seeds 1 and 2 learn (as on
#: ``UNDER_COUNT_MAGNITUDE``); with the bonus back at each new length and held while it stalls, seed 0 too.
UNDER_COUNT_MAGNITUDE_SUCCESS = Recipe(
    "under-count-magnitude-success-0.04",
    10,
    by_success(UNDER_COUNT_MAGNITUDE[0.04].settings),
    steps=10_000_000,
)
#: ``UNDER_COUNT[0.03]`` with self-imitation (weight 1), as ``UNIFORM_RAW_SELF_IMITATION``.
UNDER_COUNT_SELF_IMITATION = Recipe(
    "under-count-self-imitation-0.03",
    10,
    {**UNDER_COUNT[0.03].settings, "self_imitation": 1.0},
    steps=10_000_000,
)
#: Every recipe by name (``--recipe``).
ALL_RECIPES = {
    recipe.name: recipe
    for recipe in (
        UNIFORM,
        ANNEALED,
        ANNEALED_FROM_2,
        ANNEALED_MARKOV,
        ANNEALED_FROM_2_MARKOV,
        ANNEALED_FROM_2_MARKOV_SLOW,
        ANNEALED_FROM_3_MARKOV,
        UNIFORM_RAW,
        UNDER_RAW,
        *UNDER_COUNT.values(),
        *UNDER_COUNT_MAGNITUDE.values(),
        *UNIFORM_RAW_COUNT.values(),
        UNIFORM_RAW_COUNT_MAGNITUDE,
        *UNIFORM_RAW_MARKOV_COUNT.values(),
        CURRICULUM_RAW,
        UNIFORM_RAW_SIGNED,
        UNIFORM_RAW_SUCCESS,
        UNDER_COUNT_SUCCESS,
        UNIFORM_RAW_SELF_IMITATION,
        UNDER_COUNT_MAGNITUDE_SUCCESS,
        UNDER_COUNT_SELF_IMITATION,
    )
}
#: Each task's recipe, chosen on seed 0: the one that went furthest there (RepeatCopy's, Parity's and
#: Addition's on seeds 0 to 2).
RECIPES = {
    "Copy": UNIFORM,
    "Reverse": ANNEALED_MARKOV,
    "DuplicatedInput": ANNEALED_FROM_2,
    "RepeatCopy": ANNEALED_FROM_3_MARKOV,
    "Parity": UNDER_COUNT_MAGNITUDE_SUCCESS,
    "Addition": UNIFORM_RAW_SELF_IMITATION,
}
#: MaskablePPO's settings besides sb3-contrib's defaults: 64 envs, as the project's trainer.
SB3_ENVS = 64
SB3_KWARGS = {"n_steps": 64, "batch_size": 1024, "n_epochs": 4}
DEFAULTS = {"check_every": 262_144, "check_episodes": 200, "eval_episodes": 1000}
#: Envs of an evaluation (fewer when it poses fewer problems).
EVAL_ENVS = 64
#: Problems of the final evaluation at lengths above ``LONG`` at most (a failing policy runs each to
#: its step limit, twice the expert's program: at 1,000 symbols, tens of thousands of steps).
LONGEST_EPISODES, LONG = 100, 500
#: --quick: a few iterations with small rollouts; for tests only.
QUICK = {"steps": 2048, "check_every": 1024, "check_episodes": 8, "eval_episodes": 8}
QUICK_ENVS = 16


@dataclass(frozen=True)
class Run:
    """One training run: a task, a learner and a seed, on a recipe (the task's own: ``RECIPES``)."""

    task: str
    learner: str  # a key of LEARNERS
    seed: int
    recipe: Recipe

    @property
    def name(self) -> str:
        return f"{self.task} {self.learner} seed {self.seed}"


def runs(
    tasks: Sequence[str], learners: Sequence[str], seeds: Sequence[int], recipe: Recipe | None = None
) -> list[Run]:
    """Every (task, learner, seed), MaskablePPO only on ``SB3_TASKS``; on ``recipe``, or each task's."""
    return [
        Run(task, learner, seed, recipe or RECIPES[task])
        for task in tasks
        for learner in learners
        if learner != "MaskablePPO" or task in SB3_TASKS
        for seed in seeds
    ]


def budget(run: Run, args: argparse.Namespace) -> int:
    """The env-steps of ``run``: ``--steps``, or else its recipe's budget."""
    return int(args.steps or run.recipe.steps)


def make_config(run: Run, args: argparse.Namespace) -> TrainConfig:
    """The project's training config of ``run`` (PPO or A2C)."""
    extra = {"num_envs": QUICK_ENVS} if args.quick else {}
    length = run.recipe.train_length
    return TrainConfig.from_flat(
        LEARNERS[run.learner],
        task=run.task,
        seed=run.seed,
        device="cpu",
        total_steps=budget(run, args),
        max_length=length,
        eval_lengths=(length,),
        eval_episodes=args.check_episodes,
        **{**BASE, **run.recipe.settings},
        **extra,
    )


def env_settings(recipe: Recipe) -> dict[str, Any]:
    """The env keyword arguments every env of a task on ``recipe`` is made with here: ``ENV_MODES``
    and the recipe's (``Recipe.env_kwargs``)."""
    return {**ENV_MODES, **recipe.env_kwargs}


def measure(agent: Agent, run: Run, length: int, episodes: int, expert: bool = False) -> dict[str, float]:
    """Greedy exact match of ``agent`` on ``episodes`` problems of ``length`` (the evaluation's
    problems of the run's seed, the same for every learner; ``LONGEST_EPISODES`` at most above
    ``LONG``), and the mean steps of its episodes; with ``expert``, the expert's mean steps on the
    same problems too (its program's length: the two compare where the agent solves them all)."""
    episodes = min(episodes, LONGEST_EPISODES) if length > LONG else episodes
    env = make_eval_env(env_id(run.task), length, min(EVAL_ENVS, episodes), **env_settings(run.recipe))
    problems = (length, episodes, seed_for(run.seed, "evaluation"))
    try:
        own = count_episodes(agent, env, *problems)
        result = {"exact_match": own.solved / episodes, "mean_steps": own.steps / episodes}
        if expert:
            reference = count_episodes(ExpertAgent(env.unwrapped.task), env, *problems)
            result["expert_steps"] = reference.steps / episodes
    finally:
        env.close()
    return result


def score(agent: Agent, run: Run, length: int, episodes: int) -> float:
    """Greedy exact match of ``agent`` (``measure``)."""
    return measure(agent, run, length, episodes)["exact_match"]


class Checks:
    """Greedy exact match at the training length every ``every`` env-steps, and when the run is
    solved: the target reached with the curriculum at the training length, then confirmed on the
    final evaluation's problems there (``eval_episodes`` of them: a check's few problems can pass a
    policy that misses the target on the many). A solved run stops unless its recipe trains its
    whole budget (``Recipe.stops``)."""

    def __init__(self, run: Run, args: argparse.Namespace) -> None:
        self.run, self.every, self.episodes = run, args.check_every, args.check_episodes
        self.confirm_episodes = args.eval_episodes
        self.next = args.check_every
        self.steps: list[int] = []
        self.exact_match: list[float] = []
        self.confirmations: dict[str, list[Any]] = {"steps": [], "exact_match": []}
        self.reached: int | None = None
        #: ``measure`` of the policy at ``reached`` on the final evaluation's problems at the training
        #: length (with the expert's steps), where the run stops there: the final evaluation's 1x, not
        #: run twice.
        self.confirmed: dict[str, float] | None = None

    def due(self, steps: int) -> bool:
        return steps >= self.next

    def measure(self, agent: Agent, steps: int, length: int) -> bool:
        """Record a check at ``steps`` with the curriculum at ``length``; whether the run stops (it is
        solved, and its recipe stops once solved). Says where it stands on stderr."""
        self.next = (steps // self.every + 1) * self.every
        exact = score(agent, self.run, self.run.recipe.train_length, self.episodes)
        self.steps.append(steps)
        self.exact_match.append(exact)
        print(
            f"  {self.run.name}: {steps:,} env-steps, length {length}, exact {percent(exact)}",
            file=sys.stderr,
            flush=True,
        )
        if exact >= TARGET and length == self.run.recipe.train_length and self.reached is None:
            confirmation = measure(agent, self.run, length, self.confirm_episodes, expert=True)
            confirmed = confirmation["exact_match"]
            self.confirmations["steps"].append(steps)
            self.confirmations["exact_match"].append(confirmed)
            shown = f"  {self.run.name}: {percent(confirmed)} on the final {self.confirm_episodes:,} problems"
            print(shown, file=sys.stderr, flush=True)
            if confirmed >= TARGET:
                self.reached = steps
                # (the final policy's 1x only where the run stops here; else training goes on)
                self.confirmed = confirmation if self.run.recipe.stops else None
        return self.reached is not None and self.run.recipe.stops


def train(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``run`` until solved (where its recipe stops there) or out of budget; its row: curve,
    checks, final exact match."""
    started = time.perf_counter()
    if run.learner == "MaskablePPO":
        agent, steps, checks, extra = train_maskable(run, args)
    else:
        agent, steps, checks, extra = train_own(run, args)
    return {
        "task": run.task,
        "learner": run.learner,
        "seed": run.seed,
        "recipe": run.recipe.name,
        "train_length": run.recipe.train_length,
        "budget": budget(run, args),
        "steps": steps,
        "steps_to_target": checks.reached,
        "checks": {"steps": checks.steps, "exact_match": checks.exact_match},
        "confirmations": checks.confirmations,
        **final_evaluation(agent, run, args.eval_episodes, checks.confirmed),
        **extra,
        "wall_seconds": time.perf_counter() - started,
    }


def final_evaluation(
    agent: Agent, run: Run, episodes: int, at_1x: dict[str, float] | None = None
) -> dict[str, dict[str, float]]:
    """Exact match, the mean steps of the agent's episodes and the expert's on the same problems, at
    each multiplier of the training length: ``{"exact_match": {"1": ...}, "mean_steps": ...,
    "expert_steps": ...}``; ``at_1x``: the final policy's already measured at 1x (its confirmation)."""
    length = run.recipe.train_length
    measured = {} if at_1x is None else {"1": at_1x}
    for m in MULTIPLIERS:
        if str(m) not in measured:
            measured[str(m)] = measure(agent, run, m * length, episodes, expert=True)
    return {
        key: {m: values[key] for m, values in measured.items()}
        for key in ("exact_match", "mean_steps", "expert_steps")
    }


def train_own(run: Run, args: argparse.Namespace) -> tuple[Agent, int, Checks, dict[str, Any]]:
    """The project's trainer (PPO or A2C) on the task's recipe, checked every ``check_every`` env-steps."""
    trainer = Trainer(make_config(run, args))
    checks = Checks(run, args)
    curve: dict[str, list[Any]] = {key: [] for key in ("steps", "success_rate", "length")}
    while not trainer.done():
        metrics = trainer.iterate()
        steps = trainer.global_step
        curve["steps"].append(steps)
        rate = metrics["charts/success_rate"]
        curve["success_rate"].append(round(rate, 4) if math.isfinite(rate) else None)
        curve["length"].append(trainer.curriculum.length)
        checking = checks.due(steps) or trainer.done()
        if checking and checks.measure(trainer.policy.eval(), steps, trainer.curriculum.length):
            break
    extra = {"curriculum_length": trainer.curriculum.length, "curve": curve}
    if args.checkpoints is not None:
        name = f"{run.task}-{run.learner}-seed{run.seed}.pt"
        save_checkpoint(args.checkpoints / name, checkpoint_payload(trainer, {"recipe": run.recipe.name}))
    return trainer.policy.eval(), trainer.global_step, checks, extra


def train_maskable(run: Run, args: argparse.Namespace) -> tuple[Agent, int, Checks, dict[str, Any]]:
    """sb3-contrib's MaskablePPO with ``MultiInputPolicy``, checked as the project's learners are."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from benchmarks.generalization import SB3Agent

    num_envs, recipe = QUICK_ENVS if args.quick else SB3_ENVS, run.recipe
    kwargs = {**SB3_KWARGS, "batch_size": min(SB3_KWARGS["batch_size"], num_envs * SB3_KWARGS["n_steps"])}
    envs = make_vec_env(
        env_id(run.task),
        n_envs=num_envs,
        seed=run.seed,
        env_kwargs={
            "min_length": recipe.min_length,
            "max_length": recipe.train_length,
            **env_settings(recipe),
        },
    )
    model = MaskablePPO("MultiInputPolicy", envs, seed=run.seed, device="cpu", verbose=0, **kwargs)
    agent, checks = SB3Agent(model, masked=True), Checks(run, args)

    class Check(BaseCallback):
        def _on_step(self) -> bool:
            steps = self.model.num_timesteps
            return not (checks.due(steps) and checks.measure(agent, steps, recipe.train_length))

    model.learn(budget(run, args), callback=Check())
    envs.close()
    if not checks.steps or checks.steps[-1] != model.num_timesteps:  # (the budget's end)
        checks.measure(agent, model.num_timesteps, recipe.train_length)
    return agent, int(model.num_timesteps), checks, {"sb3_settings": {"n_envs": num_envs, **kwargs}}


# -- tables and chart ----------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def program_difference(row: dict[str, Any], multiplier: str) -> str:
    """The agent's mean steps per problem less the expert's on the same problems at ``multiplier``,
    where it solved every one (where it did not, or a row from before steps were measured: -)."""
    if row["exact_match"][multiplier] < 1.0 or "expert_steps" not in row:
        return "-"
    return f"{row['mean_steps'][multiplier] - row['expert_steps'][multiplier]:+.1f}"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Per (task, learner, recipe): its seeds solved; then one line per run."""
    target = f"{TARGET:.0%}"
    lines = [
        f"| task | learner | recipe | length | seeds ≥ {target} at 1x | at 10x | at 100x | "
        f"env-steps to {target} (per seed) |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    groups = list(dict.fromkeys((r["task"], r["learner"], r["recipe"]) for r in rows))
    for task, learner, recipe in groups:
        group = [r for r in rows if (r["task"], r["learner"], r["recipe"]) == (task, learner, recipe)]
        count = [sum(r["exact_match"][str(m)] >= TARGET for r in group) for m in MULTIPLIERS]
        reached = ", ".join(
            "-" if r["steps_to_target"] is None else f"{r['steps_to_target']:,}" for r in group
        )
        n, first = len(group), group[0]
        lines.append(
            f"| {task} | {learner} | {recipe} | {first['train_length']} | {count[0]} of {n} | "
            f"{count[1]} of {n} | {count[2]} of {n} | {reached} |"
        )
    lines += [
        "",
        "| task | learner | seed | budget | env-steps | steps to target | exact 1x | 10x | 100x | "
        "steps beyond the expert's at 100x |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    longest = str(MULTIPLIERS[-1])
    for r in rows:
        reached = "-" if r["steps_to_target"] is None else f"{r['steps_to_target']:,}"
        exact = " | ".join(percent(r["exact_match"][str(m)]) for m in MULTIPLIERS)
        lines.append(
            f"| {r['task']} | {r['learner']} | {r['seed']} | {r['budget']:,} | {r['steps']:,} | {reached} | "
            f"{exact} | {program_difference(r, longest)} |"
        )
    whole_budget = ", ".join(f"`{recipe.name}`" for recipe in ALL_RECIPES.values() if not recipe.stops)
    lines += [
        "",
        f"Each run stops once greedy exact match at its training length reaches {target} (checked on "
        "problems of exactly that length, with the curriculum there, then confirmed on the final "
        "evaluation's problems there) or at its budget; a run on a recipe that trains its whole budget "
        f"({whole_budget}) counts its steps to the target at its first confirmed check. Recipes: "
        f"`{UNIFORM.name}`, problems of every length up to {UNIFORM.train_length} from the start, no "
        f"entropy bonus; `{ANNEALED.name}`, a curriculum from 1 to {ANNEALED.train_length} (lengthened at "
        "80 % success) and an entropy bonus annealed from 0.1 to 0 over 3M env-steps; "
        f"`{ANNEALED_FROM_2.name}`, the same from length 2 (no problems of length 1); "
        f"`{ANNEALED_MARKOV.name}`, `{ANNEALED.name}` with no action history in the observation; "
        f"`{ANNEALED_FROM_2_MARKOV.name}`, `{ANNEALED_FROM_2.name}` with no action history; "
        f"`{ANNEALED_FROM_2_MARKOV_SLOW.name}`, the same with the bonus annealed over 8M env-steps; "
        f"`{ANNEALED_FROM_3_MARKOV.name}`, `{ANNEALED_FROM_2_MARKOV.name}` from length 3; "
        f"`{UNIFORM_RAW.name}`, `{UNIFORM.name}` on raw (not normalized) advantages with an entropy bonus "
        "annealed from 0.01 to 0 over 6M env-steps of 8M, all trained; "
        f"`{UNDER_RAW.name}`, a policy that sees only the cells under its pointers, with no action history, "
        f"on raw advantages, a curriculum from 2 to {UNDER_RAW.train_length} (problems of length 1 kept; "
        "lengthened at 90 % success over 2,048 episodes) and a bonus annealed from 0.05 to 0 over 8M "
        "env-steps of 10M; "
        + " and ".join(f"`{recipe.name}`" for recipe in UNDER_COUNT.values())
        + f", `{UNDER_RAW.name}` with a count-based exploration bonus of beta / sqrt(N) on every decision's "
        "reward (N: the times the run took that action on that view; beta as named); "
        + " and ".join(f"`{recipe.name}`" for recipe in UNDER_COUNT_MAGNITUDE.values())
        + ", the same with the counts reading registers, memory and flags by sign and bit length; "
        + " and ".join(f"`{recipe.name}`" for recipe in UNIFORM_RAW_COUNT.values())
        + f", `{UNIFORM_RAW.name}` with that bonus; `{UNIFORM_RAW_COUNT_MAGNITUDE.name}`, the same counting "
        "by magnitude; "
        + " and ".join(f"`{recipe.name}`" for recipe in UNIFORM_RAW_MARKOV_COUNT.values())
        + ", the same with no action history; "
        f"`{CURRICULUM_RAW.name}`, `{UNIFORM_RAW.name}` on a curriculum from length 1 (lengthened at 80 % "
        f"success); `{UNIFORM_RAW_SIGNED.name}`, `{UNIFORM_RAW.name}` on the `signed` reward (a wrong output "
        "cell costs what a right digit earns); "
        f"`{UNIFORM_RAW_SUCCESS.name}` and `{UNDER_COUNT_SUCCESS.name}`, `{UNIFORM_RAW.name}` and "
        f"`{UNDER_COUNT[0.03].name}` with their bonus (0.01, 0.05) times the failure rate at the "
        f"curriculum's current length instead of annealed; `{UNDER_COUNT_MAGNITUDE_SUCCESS.name}`, "
        f"`{UNDER_COUNT_MAGNITUDE[0.04].name}` with its bonus scaled so; "
        f"`{UNIFORM_RAW_SELF_IMITATION.name}` and `{UNDER_COUNT_SELF_IMITATION.name}`, `{UNIFORM_RAW.name}` "
        f"and `{UNDER_COUNT[0.03].name}` with self-imitation of the run's own solved episodes (weight 1); "
        "MaskablePPO (its defaults) on the recipe's lengths and observation throughout. Exact match: "
        "greedy actions, problems of exactly 1x, 10x, 100x the training length "
        f"({LONGEST_EPISODES} problems at lengths above {LONG}). Steps beyond the expert's: the "
        "policy's mean steps per problem less the expert's on the same problems, where the policy "
        "solves every one (below 0: a shorter program than the expert's). No expert in the loop: full local "
        f"observation (`{UNDER_RAW.name}`: under the pointers), `dense` reward (`{UNIFORM_RAW_SIGNED.name}`: "
        "`signed`), `valid` masks.",
    ]
    return "\n".join(lines)


def draw_chart(rows: Sequence[dict[str, Any]], path: Path, smoke: bool = False) -> None:
    """Greedy exact match at the training length against env-steps, one panel per task, a color per
    learner and a marker per seed; each (learner, seed) is offset a little, so equal curves (at 0
    or at 1) stay apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    curves = list(dict.fromkeys((r["learner"], r["seed"]) for r in rows))
    columns = min(3, max(1, len(tasks)))
    lines = max(1, math.ceil(len(tasks) / columns))
    width = max(7.5, 4.2 * columns)
    figure, axes = plt.subplots(
        lines, columns, figsize=(width, 3.2 * lines + 1.2), squeeze=False, sharey=True
    )
    colors = {name: plt.get_cmap("tab10")(i) for i, name in enumerate(LEARNERS)}
    for axis, task in zip(axes.flat, tasks, strict=False):
        for r in (r for r in rows if r["task"] == task):
            offset = 0.01 * (curves.index((r["learner"], r["seed"])) - (len(curves) - 1) / 2)
            axis.plot(
                [s / 1e6 for s in r["checks"]["steps"]],
                [v + offset for v in r["checks"]["exact_match"]],
                marker="os^vDPXh"[seeds.index(r["seed"]) % 8],
                markersize=3,
                linewidth=1,
                color=colors[r["learner"]],
                label=f"{r['learner']} seed {r['seed']}",
            )
        axis.set_title(f"{task} (length {next(r['train_length'] for r in rows if r['task'] == task)})")
        axis.set_xlabel("env-steps (millions)")
        axis.set_ylim(-0.05, 1.05)
        axis.grid(True, alpha=0.3)
    for axis in axes[:, 0]:
        axis.set_ylabel("greedy exact match, training length")
    for axis in list(axes.flat)[len(tasks) :]:
        axis.set_visible(False)
    handles: dict[str, Any] = {}
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    per_line = max(1, len(seeds))
    figure.legend(
        handles.values(), handles.keys(), loc="lower center", ncol=per_line, frameon=False, fontsize=8
    )
    budget = max(r["budget"] for r in rows)
    title = (
        f"RL from scratch, no expert: {len(seeds)} seed(s) per learner, at most {budget:,} env-steps a run"
    )
    figure.suptitle(f"{SMOKE_BANNER}\n{title}" if smoke else title, color="darkred" if smoke else "black")
    legend_height = 0.22 * math.ceil(len(handles) / per_line) / (3.2 * lines + 1.2)
    figure.tight_layout(rect=(0, legend_height + 0.02, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- command line ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, TASKS)
    parser.add_argument(
        "--learners",
        type=name_of(list(LEARNERS), "learner"),
        nargs="+",
        default=list(LEARNERS),
        metavar="LEARNER",
        help=f"learners, space-separated, from {' '.join(LEARNERS)} (default: all; MaskablePPO runs on "
        f"{' and '.join(SB3_TASKS)} only)",
    )
    parser.add_argument(
        "--recipe",
        choices=list(ALL_RECIPES),
        default=None,
        help=f"train every task on this recipe, from {' '.join(ALL_RECIPES)} (default: each task's own)",
    )
    parser.add_argument("--seeds", type=positive(int), default=3, help="seeds per run (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument(
        "--steps",
        type=positive(int),
        default=None,
        help="env-step budget per run (default: the recipe's: "
        + ", ".join(f"{task} {recipe.steps:,}" for task, recipe in RECIPES.items())
        + ")",
    )
    parser.add_argument(
        "--check-every",
        type=positive(int),
        default=None,
        help=f"env-steps between greedy checks at the training length (default {DEFAULTS['check_every']:,})",
    )
    parser.add_argument(
        "--check-episodes",
        type=positive(int),
        default=None,
        help=f"problems per check (default {DEFAULTS['check_episodes']})",
    )
    parser.add_argument(
        "--eval-episodes",
        type=positive(int),
        default=None,
        help=f"problems per final evaluation length (default {DEFAULTS['eval_episodes']})",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="train nothing: write the rows of these rl_from_scratch.json files (split runs) as one result",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        metavar="DIR",
        help="also save each PPO and A2C run's final policy there, as TASK-LEARNER-seedN.pt (a checkpoint "
        "that actformer trace and evaluate read)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} (tiny budget, 16 envs)")
    add_output_flags(parser, "rl_from_scratch")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.first_seed < 0:
        parser.error(f"--first-seed must be >= 0, got {args.first_seed}")
    if args.checkpoints is not None:  # (refused now, not after the first run's hours of training)
        try:
            args.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            parser.error(f"--checkpoints {args.checkpoints}: cannot make that folder ({error.strerror})")
        if not os.access(args.checkpoints, os.W_OK):
            parser.error(f"--checkpoints {args.checkpoints}: that folder is not writable")
    args.tasks = expand_all(args.tasks, list(TASKS))
    args.learners = list(dict.fromkeys(args.learners))
    fill_unset(args, QUICK if args.quick else DEFAULTS)
    return args


def merged(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of several results files (a later file's row replaces an earlier one of the same
    task, learner and seed), each with the run that measured it; and the first file's settings,
    with the largest budget and each task's recipe from the last file that ran it. ``ValueError``
    if the files' checks or evaluations differ."""
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        own = {key: document["settings"][key] for key in MERGED_SETTINGS}
        if settings and own != {key: settings[key] for key in MERGED_SETTINGS}:
            raise ValueError(f"{path} was run with other checks or evaluations than {paths[0]}")
        settings = settings or dict(document["settings"])
        # (files from before recipes were per task have none)
        settings["recipes"] = {**settings.get("recipes", {}), **document["settings"].get("recipes", {})}
        for row in document["results"]:
            row.setdefault("recipe", UNIFORM.name)  # (runs from before recipes were named: all this one)
            rows[(row["task"], row["learner"], row["seed"])] = row
    order = list(LEARNERS)
    ordered = sorted(
        rows.values(), key=lambda r: (TASKS.index(r["task"]), order.index(r["learner"]), r["seed"])
    )
    settings["budget"] = max(r["budget"] for r in ordered)
    return ordered, settings


#: What the files merged into one result must agree on.
MERGED_SETTINGS = ("multipliers", "target", "check_every", "check_episodes", "eval_episodes")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration (or merge files), print the table, write JSON, Markdown and chart."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    missing = [str(path) for path in args.merge if not path.is_file()]
    if missing:
        print(f"--merge: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the benchmark machine is shared; also what makes runs comparable
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("rl_from_scratch", argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    planned = runs(args.tasks, args.learners, seeds, args.recipe and ALL_RECIPES[args.recipe])
    machine = machine_info()
    revision = source_revision()
    settings = {
        "multipliers": list(MULTIPLIERS),
        "longest_episodes": [LONGEST_EPISODES, LONG],
        "target": TARGET,
        "budget": max(budget(run, args) for run in planned),
        "check_every": args.check_every,
        "check_episodes": args.check_episodes,
        "eval_episodes": args.eval_episodes,
        "env_modes": ENV_MODES,
        "base": BASE,
        "recipes": {run.task: asdict(run.recipe) for run in planned},
        "sb3": {"policy": "MultiInputPolicy", "n_envs": SB3_ENVS, **SB3_KWARGS, "tasks": list(SB3_TASKS)},
        "quick": args.quick,
    }
    if args.merge:
        try:
            results, settings = merged(args.merge)
        except ValueError as error:  # (a file that is no JSON is a ValueError too)
            print(f"--merge: {error}", file=sys.stderr)
            return 2
        except (KeyError, TypeError) as error:
            print(f"--merge: not an rl_from_scratch results file (missing {error})", file=sys.stderr)
            return 2
    else:
        results = []
        run_record = {
            "date": date,
            "command": command,
            "revision": revision,
            "kernel_env": machine["kernel_env"],
        }
        for run in planned:
            result = train(run, args)
            result["run"] = run_record
            exact = ", ".join(f"{m}x {percent(result['exact_match'][str(m)])}" for m in MULTIPLIERS)
            reached = result["steps_to_target"]
            print(
                f"{run.name:<32} {'solved at ' + format(reached, ',') if reached else 'not solved':<22} "
                f"{exact} ({result['wall_seconds']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    notes = runs_note(results)
    table = markdown_table(results) + "".join(f"\n\n{note}" for note in notes)
    context = with_pins_and_commit(torch_context_line(machine, command, date), machine, revision)
    document = {
        "benchmark": "rl_from_scratch",
        "date": date,
        "command": command,
        "revision": revision,
        "settings": {**settings, "merged": [str(path) for path in args.merge]},
        "machine": machine,
        "results": results,
        "markdown": f"{table}\n\n{context}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "rl_from_scratch")
    draw_chart(results, folder / "rl_from_scratch.png", smoke=args.quick)
    write_results(
        folder,
        "rl_from_scratch.json",
        document,
        smoke=args.quick,
        markdown_file=True,
        also=["rl_from_scratch.png"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
