"""Length generalization: exact match of every agent on every task, trained short, tested up to 100x.

The grid is task x agent x length multiplier. Each task's training length is its train-suite plan's
(``benchmarks.common.PLANS``: e.g. 3 digits for Addition, 5 symbols for Copy); an agent trained there
(or untrained: the expert, random) is evaluated at ``multiplier x training length`` for each
multiplier, on fresh problems of exactly that length, greedily. Agents:

- ``actformer``: the Actformer, imitation (behaviour cloning + DAgger) then PPO, with its task's
  plan's settings; ``actformer-imitation``: the same run's policy after the warm start
  alone (``Trainer.warm_policy``). When both are asked for, one training serves both.
- ``actformer-certified``: the Actformer on its task's certified recipe, as
  ``benchmarks.certification`` trains it: a projected policy fit on the expert's observations at
  lengths 1..the recipe's certified length (``--train-length`` where given) until it agrees with
  the expert on all of them, no expert pairs, no RL; then certified (the verdict is kept in the
  cell's info) and evaluated with its greedy actions cached per view (``CachedGreedy``).
- ``ppo``, ``maskable-ppo``: SB3 PPO / sb3-contrib MaskablePPO with ``MultiInputPolicy``, from scratch,
  on 8 copies of the single env (SB3's ``make_vec_env``) for the same RL env-steps as the Actformer's
  PPO, then evaluated through ``predict(deterministic=True)`` (MaskablePPO with the action masks).
- ``transformer``: the token-predicting Transformer (``actformer_gym.agents.token_transformer``),
  trained from input/output pairs on the same lengths until 99 % held-out exact match in range or
  ``transformer_steps`` optimizer steps (batch 64), with rotary positions; ``transformer-randomized``,
  ``transformer-nope``, ``transformer-abacus``: the same with randomized positions, no positions
  (NoPE) or Abacus digit-index embeddings, the position schemes the length-generalization
  literature found to work best.
- ``expert`` (the upper bound) and ``random`` (uniform over allowed actions).

Work is split into cells: a cell is (task, agents sharing one training, seed); it trains once and
evaluates at every multiplier. A cell is a plain picklable call (``run_cell(cell, settings)``), run
in-process, in one of ``--workers N`` local processes, or, with ``--ray``, as a Ray task on a local or
existing cluster. Seeds vary both the
training and the evaluation problems. Per (task, agent, multiplier) the seeds' episodes are pooled:
accuracy = solved / episodes, with a 95 % Wilson score interval on the pooled episodes (so it covers
problem sampling, not seed-to-seed spread; the per-seed accuracies are kept beside it).

Expensive lengths are capped, never silently dropped: Multiplication's and Expression's programs grow
with the square of the length (a 300 x 300 product is 902,101 expert steps), so each budget caps the
multiplier per task and kind of agent (``FULL_CAPS``, ``SMALL_CAPS``); a capped evaluation is a row
marked skipped, with the reason, in every output, and the chart plots only measured points.

Budgets: ``--budget full`` (the default), ``--budget small`` (a small warm start and short RL: the
README's "quick budgets" table), or ``--quick``, a smoke test of the whole pipeline on tiny budgets
whose numbers are not results (never written to ``benchmarks/results/``).

    python -m benchmarks.generalization                      # the full grid: about 2 hours of cells*
    python -m benchmarks.generalization --budget small       # 1 seed, small budgets: about 7 minutes*
    python -m benchmarks.generalization --quick              # smoke test: tiny budgets, 1 seed
    python -m benchmarks.generalization --tasks Copy Parity --agents expert random --multipliers 1 10
    python -m benchmarks.generalization --workers 3          # cells in 3 local processes at once
    python -m benchmarks.generalization --ray                # cells as Ray tasks on a local Ray
    python -m benchmarks.generalization --ray 10.0.0.5:6379  # ... on an existing cluster
    python -m benchmarks.generalization --budget small --seeds 3 --update-results   # refresh results/
    python -m benchmarks.generalization --ray --update-results --out benchmarks/results/generalization_full

(*) Measured on a 2-core AMD EPYC, one torch thread per cell: the full budgets' cells took 30-40 min per
seed (the 3-seed grid: 60 min of wall time with ``--ray`` on 2 workers); the small budgets with
``--seeds 3`` ran in 21 min in-process (7 min per seed) while another benchmark shared the machine.
``--ray`` on N cores divides the wall time by about N.

Results: ``generalization.json`` (settings, machine, per-seed and pooled rows, skips, timings),
``generalization.csv`` (pooled rows), ``generalization_seeds.csv`` (per-seed rows),
``generalization.md`` (the table) and ``generalization.png`` (the chart), in a fresh
``benchmarks/runs/generalization-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import json
import math
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.tasks.registry import env_id
from actformer_gym.agents.baselines import Agent, ExpertAgent, Observation, RandomAgent
from actformer_gym.agents.cached import CachedGreedy
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import exact_match
from actformer_gym.train.trainer import Trainer
from benchmarks import certification
from benchmarks.common import (
    DEFAULT_TOTAL_STEPS,
    PLANS,
    QUICK_HELP,
    REPO_ROOT,
    SMOKE_BANNER,
    Plan,
    add_output_flags,
    announce_smoke,
    at_least,
    check_output_flags,
    expand_all,
    fill_unset,
    machine_info,
    name_of,
    output_dir,
    plan_settings,
    positive,
    run_stamp,
    smoke_markdown,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)
from benchmarks.token_training import (
    TRANSFORMER_POSITIONS,
    draw_learning_curves,
    scheme_label,
    training_markdown,
)

PLANS_BY_TASK: dict[str, Plan] = {plan.task: plan for plan in PLANS}
DEFAULT_TASKS = ("Addition", "Multiplication", "Copy", "Reverse", "Sort", "Parity")
MULTIPLIERS = (1, 2, 5, 10, 20, 50, 100)
#: z of a two-sided 95 % interval.
Z_95 = 1.959963984540054
#: Evaluation problems of seed s come from env seeds EVAL_SEED + 1000 s + i (i < 256 envs): apart
#: from every training seed (the warm start's expert data uses seed + 10,000) and from each other.
EVAL_SEED = 1_000_000
#: SB3 baselines: 8 envs x 256 steps per rollout, 4 epochs of 256-transition minibatches (SB3's
#: defaults otherwise); about 1,100 env-steps/s on one core, against 200 with one env and the defaults.
SB3_ENVS = 8
SB3_KWARGS = {"n_steps": 256, "batch_size": 256, "n_epochs": 4}


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the grid."""

    name: str  # the --agents name
    label: str  # the chart's and table's name
    family: str  # agents of one family share a cell (one training)
    learned: bool  # a trained network (capped by the learned caps) or a reference agent


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec("actformer", "Actformer (imitation + PPO)", "actformer", True),
        AgentSpec("actformer-imitation", "Actformer (imitation only)", "actformer", True),
        AgentSpec("actformer-certified", "Actformer (certified recipe)", "actformer-certified", True),
        AgentSpec("ppo", "SB3 PPO (from scratch)", "ppo", True),
        AgentSpec("maskable-ppo", "MaskablePPO (from scratch)", "maskable-ppo", True),
        *(
            AgentSpec(name, f"token Transformer ({scheme_label(name)})", name, True)
            for name in TRANSFORMER_POSITIONS
        ),
        AgentSpec("expert", "expert", "expert", False),
        AgentSpec("random", "random", "random", False),
    )
}


def agent_spec(name: str) -> AgentSpec:
    """The grid's own agent ``name``, or an outside one (``benchmarks.protocol``): a learned agent
    labelled by its name."""
    return AGENTS.get(name) or AgentSpec(name, name, name, learned=True)


def agent_rank(name: str) -> int:
    """Where ``name`` sorts among agents: the grid's own in ``AGENTS``' order, outside ones first."""
    return list(AGENTS).index(name) + 1 if name in AGENTS else 0


#: Largest multiplier evaluated per task, as (learned agents, reference agents); tasks absent: none.
#: Learned agents may never HALT, so their episodes can run to the step limit (twice the expert's
#: program); the full caps keep each such evaluation under about 75,000 steps (a 60 x 60 product,
#: 36,421 expert steps), the small (and smoke) ones under about 5,000.
FULL_CAPS: dict[str, tuple[int, int]] = {"Multiplication": (20, 50), "Expression": (20, 50)}
SMALL_CAPS: dict[str, tuple[int, int]] = {
    "Multiplication": (5, 20),
    "Expression": (5, 20),
    "Sort": (20, 100),
    "RepeatCopy": (20, 100),
}
#: Why a task is capped, for the skip reasons.
QUADRATIC = "{task}'s program grows with the square of the length"
CAP_CAUSES = {
    "Multiplication": QUADRATIC,
    "Expression": QUADRATIC,
    "Sort": "{task}'s program is about 1.5 x base x length steps (a value pass per symbol)",
    "RepeatCopy": "{task}'s program is repeats x length steps",
}


@dataclass(frozen=True)
class Settings:
    """Everything a cell needs besides its task, agents and seed: budgets, lengths, caps."""

    multipliers: tuple[int, ...] = MULTIPLIERS
    episodes: int = 100  # per seed, task, agent and multiplier
    actformer_steps: int = DEFAULT_TOTAL_STEPS  # PPO env-steps after the warm start
    actformer_overrides: tuple[tuple[str, Any], ...] = ()  # on top of the plan's settings
    sb3_steps: int = DEFAULT_TOTAL_STEPS
    transformer_steps: int = 20_000  # at most; training stops at 99 % held-out exact match in range
    caps: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(FULL_CAPS))
    budget: str = "full"  # "full", "small" or "smoke", named in skip reasons
    train_length: int | None = None  # every task's training length (None: its plan's)

    def train_length_of(self, task: str) -> int:
        """The longest problem ``task`` is trained on: ``train_length``, else the task's plan's."""
        return self.train_length or PLANS_BY_TASK[task].train_length


#: --budget small: a small warm start and short RL; a few minutes of training per seed over the six tasks.
SMALL_ACTFORMER = (("imitation_pairs", 5000), ("imitation_epochs", 5), ("dagger_steps", 1000))
SMALL = {"episodes": 32, "seeds": 1, "actformer_steps": 8192, "sb3_steps": 8192, "transformer_steps": 20_000}
#: --quick: a smoke test of every agent's training and evaluation; nothing is learned to speak of.
SMOKE_ACTFORMER = (("imitation_pairs", 500), ("imitation_epochs", 1), ("dagger_steps", 256), ("num_envs", 16))
SMOKE = {"episodes": 8, "seeds": 1, "actformer_steps": 1024, "sb3_steps": 1024, "transformer_steps": 20}
#: --quick's multipliers unless given: untrained agents never HALT, so long evaluations run to the step limit.
SMOKE_MULTIPLIERS = (1, 2)
#: The full budget's defaults of --seeds and --episodes.
FULL = {"episodes": 100, "seeds": 3}
BUDGETS = {"full": FULL, "small": SMALL, "smoke": SMOKE}


def settings_for(args: argparse.Namespace) -> Settings:
    """The budgets of a run: the full, small or smoke (--quick) ones, with --episodes, --multipliers
    and --transformer-steps."""
    if args.budget == "full":
        settings = Settings(multipliers=args.multipliers, episodes=args.episodes)
    else:
        budget, overrides = (SMOKE, SMOKE_ACTFORMER) if args.budget == "smoke" else (SMALL, SMALL_ACTFORMER)
        settings = Settings(
            multipliers=args.multipliers,
            episodes=args.episodes,
            actformer_steps=budget["actformer_steps"],
            actformer_overrides=overrides,
            sb3_steps=budget["sb3_steps"],
            transformer_steps=budget["transformer_steps"],
            caps=dict(SMALL_CAPS),
            budget=args.budget,
        )
    if args.transformer_steps is not None:
        settings = dataclasses.replace(settings, transformer_steps=args.transformer_steps)
    return dataclasses.replace(settings, train_length=args.train_length)


@dataclass(frozen=True)
class Cell:
    """One unit of work: train ``agents`` (one family) on ``task`` with ``seed``, evaluate them."""

    task: str
    agents: tuple[str, ...]
    seed: int


def make_cells(tasks: Iterable[str], agents: Iterable[str], seeds: int, first_seed: int = 0) -> list[Cell]:
    """Every (task, family, seed) cell for seeds ``first_seed .. first_seed + seeds - 1``, seed-major
    so that a partial run covers every task."""
    families: dict[str, list[str]] = {}
    for name in agents:
        families.setdefault(AGENTS[name].family, []).append(name)
    return [
        Cell(task, tuple(members), seed)
        for seed in range(first_seed, first_seed + seeds)
        for task in tasks
        for members in families.values()
    ]


# -- statistics ----------------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % by default).

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n successes,
    which is where exact-match accuracies live.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be an int >= 1, got {trials!r}")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise ValueError(f"successes must be an int in [0, trials={trials}], got {successes!r}")
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    low = 0.0 if successes == 0 else max(0.0, center - half)  # exact at the ends, not rounded
    high = 1.0 if successes == trials else min(1.0, center + half)
    return low, high


# -- agents: training and scoring ----------------------------------------------------------------

#: Scores one agent: (length, episodes, seed) -> episodes solved.
Scorer = Callable[[int, int, int], int]


def solved_by(agent: Agent, task: str, length: int, episodes: int, seed: int, **env_kwargs: Any) -> int:
    """Episodes of length ``length`` that ``agent`` solves, counted by ``exact_match``."""
    accuracy = exact_match(agent, env_id(task), length, episodes, seed=seed, num_envs=256, **env_kwargs)
    return round(accuracy * episodes)


def train_actformer(cell: Cell, settings: Settings) -> tuple[dict[str, Scorer], dict[str, Any]]:
    """Warm start, then PPO only if ``actformer`` (imitation + PPO) is among the cell's agents."""
    plan = PLANS_BY_TASK[cell.task]
    overrides = dict(settings.actformer_overrides)
    if settings.train_length is not None:
        overrides["max_length"] = settings.train_length
    config = TrainConfig.from_flat(**plan_settings(plan, settings.actformer_steps, cell.seed, **overrides))
    trainer = Trainer(config)
    warm = trainer.warm_start()
    metrics: dict[str, float] = {}
    if "actformer" in cell.agents:
        while not trainer.done():
            metrics = trainer.iterate()
    env_kwargs = config.env.observation_kwargs()
    policies = {"actformer": trainer.policy.eval(), "actformer-imitation": trainer.warm_policy.eval()}

    def scorer(policy: torch.nn.Module) -> Scorer:
        return lambda length, episodes, seed: solved_by(
            policy, cell.task, length, episodes, seed, **env_kwargs
        )

    info = {
        "config": config.to_dict(),
        "rl_env_steps": trainer.global_step,
        "warm_start": warm,
        "final_training_success_rate": metrics.get("charts/success_rate"),
    }
    return {name: scorer(policies[name]) for name in cell.agents}, info


def train_certified(cell: Cell, settings: Settings) -> tuple[dict[str, Scorer], dict[str, Any]]:
    """The task's certified recipe (``benchmarks.certification.config_of``): fit on the expert's
    observations at lengths 1..its certified length (``settings.train_length`` where set), then
    certified; scored with its greedy actions cached per view."""
    (name,) = cell.agents
    length = settings.train_length or certification.train_length(cell.task)
    fitted = certification.fit_and_certify(cell.task, length, cell.seed)
    greedy = CachedGreedy(fitted.policy)

    def score(length: int, episodes: int, seed: int) -> int:
        return solved_by(greedy, cell.task, length, episodes, seed, **certification.OBSERVATION)

    info = {"train_length": length, "warm_start": fitted.warm, "certificate": fitted.certificate.summary()}
    return {name: score}, info


class SB3Agent:
    """An SB3 model as an ``Agent``: greedy ``predict`` on the batched observation of the native
    vector env (SB3 takes a dict of arrays with a leading env axis as a batch), masked if asked."""

    def __init__(self, model: Any, masked: bool) -> None:
        self.model = model
        self.masked = masked

    def act(self, observation: Observation, action_mask: Any = None) -> Any:
        """One greedy action per environment."""
        extra = {"action_masks": action_mask} if self.masked else {}
        actions, _ = self.model.predict(observation, deterministic=True, **extra)
        return actions


def train_sb3(cell: Cell, settings: Settings) -> tuple[dict[str, Scorer], dict[str, Any]]:
    """PPO or MaskablePPO with ``MultiInputPolicy`` from scratch on the task's training lengths."""
    from stable_baselines3.common.env_util import make_vec_env

    (name,) = cell.agents
    if name == "maskable-ppo":
        from sb3_contrib import MaskablePPO as algorithm
    else:
        from stable_baselines3 import PPO as algorithm
    length = settings.train_length_of(cell.task)
    envs = make_vec_env(env_id(cell.task), n_envs=SB3_ENVS, seed=cell.seed, env_kwargs={"max_length": length})
    model = algorithm("MultiInputPolicy", envs, seed=cell.seed, device="cpu", verbose=0, **SB3_KWARGS)
    model.learn(settings.sb3_steps)
    envs.close()
    agent = SB3Agent(model, masked=name == "maskable-ppo")
    info = {"env_steps": int(model.num_timesteps), "n_envs": SB3_ENVS, **SB3_KWARGS}
    return {name: lambda length, episodes, seed: solved_by(agent, cell.task, length, episodes, seed)}, info


def transformer_config(**overrides: Any) -> Any:
    """The token Transformer's ``TokenTransformerConfig`` (imported only when asked for)."""
    from actformer_gym.agents.token_transformer import TokenTransformerConfig

    return TokenTransformerConfig(**overrides)


def train_transformer(cell: Cell, settings: Settings) -> tuple[dict[str, Scorer], dict[str, Any]]:
    """A token Transformer, trained on the task's training lengths until 99 % held-out exact match
    in range or ``transformer_steps`` optimizer steps, with its agent's position scheme."""
    from actformer_gym.agents.token_transformer import token_exact_match, train_token_transformer

    (name,) = cell.agents
    config = transformer_config(max_steps=settings.transformer_steps, positions=TRANSFORMER_POSITIONS[name])
    length = settings.train_length_of(cell.task)
    model, stats = train_token_transformer(cell.task, length, seed=cell.seed, config=config, progress=False)

    def score(length: int, episodes: int, seed: int) -> int:
        return round(token_exact_match(model, cell.task, length, episodes, seed) * episodes)

    return {name: score}, {"stats": stats, "config": config}


def reference_agents(cell: Cell, settings: Settings) -> tuple[dict[str, Scorer], dict[str, Any]]:
    """The expert and random agents: nothing to train."""
    task = gym.make(env_id(cell.task)).unwrapped.task
    makers: dict[str, Callable[[int], Agent]] = {
        "expert": lambda seed: ExpertAgent(task),
        "random": lambda seed: RandomAgent(seed),  # its own generator, seeded per evaluation
    }
    scorers = {
        name: (
            lambda length, episodes, seed, make=makers[name]: solved_by(
                make(seed), cell.task, length, episodes, seed
            )
        )
        for name in cell.agents
    }
    return scorers, {}


TRAINERS: dict[str, Callable[[Cell, Settings], tuple[dict[str, Scorer], dict[str, Any]]]] = {
    "actformer": train_actformer,
    "actformer-certified": train_certified,
    "ppo": train_sb3,
    "maskable-ppo": train_sb3,
    **dict.fromkeys(TRANSFORMER_POSITIONS, train_transformer),
    "expert": reference_agents,
    "random": reference_agents,
}


# -- cells -----------------------------------------------------------------------------------------


def skip_reason(task: str, agent: str, multiplier: int, settings: Settings) -> str | None:
    """Why ``agent`` is not evaluated at ``multiplier`` on ``task`` under ``settings``, or None."""
    if task not in settings.caps:
        return None
    learned_cap, reference_cap = settings.caps[task]
    learned = agent_spec(agent).learned
    cap = learned_cap if learned else reference_cap
    if multiplier <= cap:
        return None
    kind = "learned" if learned else "reference"
    cause = CAP_CAUSES.get(task, "{task}'s episodes are long").format(task=task)
    return f"{cause}; the {settings.budget} budget evaluates {kind} agents up to {cap}x"


def evaluate_cell(cell: Cell, scorers: dict[str, Scorer], settings: Settings) -> list[dict[str, Any]]:
    """One row per agent and multiplier: measured (solved, accuracy, seconds) or skipped (reason)."""
    train_length = settings.train_length_of(cell.task)
    rows = []
    for agent in cell.agents:
        for multiplier in settings.multipliers:
            row: dict[str, Any] = {
                "task": cell.task,
                "agent": agent,
                "seed": cell.seed,
                "multiplier": multiplier,
                "length": multiplier * train_length,
                "episodes": settings.episodes,
            }
            reason = skip_reason(cell.task, agent, multiplier, settings)
            if reason is not None:
                rows.append(
                    {
                        **row,
                        "episodes": 0,
                        "solved": None,
                        "accuracy": None,
                        "seconds": None,
                        "skipped": reason,
                    }
                )
                continue
            began = time.perf_counter()
            solved = scorers[agent](row["length"], settings.episodes, EVAL_SEED + 1000 * cell.seed)
            row.update(solved=solved, accuracy=solved / settings.episodes, skipped=None)
            row["seconds"] = time.perf_counter() - began
            rows.append(row)
    return rows


def run_cell(cell: Cell, settings: Settings) -> dict[str, Any]:
    """Train the cell's agents once, evaluate them at every multiplier; never raises.

    A failure (an agent's module missing, a crash in training) is returned as ``status: failed``
    with its traceback, so one bad cell does not lose a long grid.
    """
    torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair on a shared machine
    started = time.perf_counter()
    result: dict[str, Any] = {"task": cell.task, "agents": list(cell.agents), "seed": cell.seed}
    try:
        scorers, info = TRAINERS[AGENTS[cell.agents[0]].family](cell, settings)
        result["train_seconds"] = time.perf_counter() - started
        result["train"] = json_safe(info)
        result["rows"] = evaluate_cell(cell, scorers, settings)
        result["status"] = "ok"
    except Exception:  # recorded in the outputs, and the exit status says so
        result.update(status="failed", error=traceback.format_exc(limit=8), rows=[])
    result["seconds"] = time.perf_counter() - started
    return result


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses as dicts, NumPy scalars as numbers, the rest as repr."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)

    def default(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.asdict(item)
        return item.item() if hasattr(item, "item") else repr(item)

    return json.loads(json.dumps(value, default=default, allow_nan=True))


#: Called with the results so far after each finished cell (e.g. to write them, so a long grid
#: stopped early keeps what it measured).
OnResult = Callable[[list[dict[str, Any]]], None]


def run_cells(
    cells: Sequence[Cell],
    settings: Settings,
    ray_address: str | None = None,
    log: bool = True,
    on_result: OnResult | None = None,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Every cell's result, in ``cells``' order: in-process, in ``workers`` local processes when more
    than one, or as Ray tasks when ``ray_address`` is given (``"local"``: a local Ray, or the one
    already initialised in this process)."""
    if ray_address is not None:
        return run_cells_on_ray(cells, settings, ray_address, log, on_result)
    if workers > 1:
        return run_cells_in_processes(cells, settings, workers, log, on_result)
    results = []
    for index, cell in enumerate(cells):
        results.append(run_cell(cell, settings))
        if log:
            print(progress_line(results[-1], index + 1, len(cells)), file=sys.stderr)
        if on_result is not None:
            on_result(results)
    return results


def gather_in_order(
    finished: Iterator[tuple[int, dict[str, Any]]],
    total: int,
    log: bool = True,
    on_result: OnResult | None = None,
) -> list[dict[str, Any]]:
    """The results of ``finished`` (cell index, result; in the order the cells finish), returned in
    the cells' order; each one logged and reported as it comes."""
    results: list[dict[str, Any] | None] = [None] * total
    for done, (index, result) in enumerate(finished, start=1):
        results[index] = result
        if log:
            print(progress_line(result, done, total), file=sys.stderr)
        if on_result is not None:
            on_result([result for result in results if result is not None])
    return [result for result in results if result is not None]


def run_cells_in_processes(
    cells: Sequence[Cell],
    settings: Settings,
    workers: int,
    log: bool = True,
    on_result: OnResult | None = None,
) -> list[dict[str, Any]]:
    """Each cell in one of ``workers`` fresh local processes (spawned: no state forked from this one)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(run_cell, cell, settings): index for index, cell in enumerate(cells)}
        finished = ((pending[future], future.result()) for future in concurrent.futures.as_completed(pending))
        return gather_in_order(finished, len(cells), log, on_result)


def run_cells_on_ray(
    cells: Sequence[Cell],
    settings: Settings,
    address: str,
    log: bool = True,
    on_result: OnResult | None = None,
) -> list[dict[str, Any]]:
    """Each cell as a one-CPU Ray task; results gathered as they finish, returned in order."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install 'actformer-gym[ray]'") from None
    if not ray.is_initialized():
        if address == "local":
            ray.init(log_to_driver=False)
        else:  # nodes get this checkout; they need it installed (pip install -e .) with its dependencies
            excludes = [".git", ".venv", "benchmarks/results", "benchmarks/runs", "runs", "*.pt"]
            ray.init(address=address, runtime_env={"working_dir": str(REPO_ROOT), "excludes": excludes})
    remote_cell = ray.remote(num_cpus=1)(run_cell)
    pending = {remote_cell.remote(cell, settings): index for index, cell in enumerate(cells)}

    def finished() -> Iterator[tuple[int, dict[str, Any]]]:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            yield pending.pop(ready[0]), ray.get(ready[0])

    return gather_in_order(finished(), len(cells), log, on_result)


def progress_line(result: dict[str, Any], done: int, total: int) -> str:
    """One stderr line per finished cell."""
    where = f"[{done}/{total}] {result['task']} {'+'.join(result['agents'])} seed {result['seed']}"
    if result["status"] != "ok":
        return f"{where}: FAILED ({result['error'].strip().splitlines()[-1]})"
    scores = ", ".join(
        f"{row['agent']}@{row['multiplier']}x {row['accuracy']:.2f}"
        for row in result["rows"]
        if row["accuracy"] is not None
    )
    return f"{where}: {result['seconds']:.0f} s; {scores}"


# -- aggregation and outputs ----------------------------------------------------------------------


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (task, agent, multiplier): the seeds' episodes pooled, accuracy and its Wilson interval.

    A combination whose every seed was skipped is kept, with accuracy None and the skip reason.
    """
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["agent"], row["multiplier"]), []).append(row)
    result = []
    for (task, agent, multiplier), members in groups.items():
        measured = sorted((r for r in members if r["skipped"] is None), key=lambda r: r["seed"])
        pooled: dict[str, Any] = {
            "task": task,
            "agent": agent,
            "multiplier": multiplier,
            "length": members[0]["length"],
            "seeds": len(measured),
            "episodes": sum(r["episodes"] for r in measured),
            "solved": sum(r["solved"] for r in measured),
            "accuracy": None,
            "ci_low": None,
            "ci_high": None,
            "seed_accuracies": [r["accuracy"] for r in measured],
            "skipped": None if measured else members[0]["skipped"],
        }
        if measured:
            pooled["accuracy"] = pooled["solved"] / pooled["episodes"]
            pooled["ci_low"], pooled["ci_high"] = wilson_interval(pooled["solved"], pooled["episodes"])
        result.append(pooled)
    tasks = list(dict.fromkeys(row["task"] for row in rows))
    return sorted(result, key=lambda r: (tasks.index(r["task"]), agent_rank(r["agent"]), r["multiplier"]))


CSV_COLUMNS = ("task", "agent", "multiplier", "length", "seeds", "episodes", "accuracy", "ci_low", "ci_high")
SEED_CSV_COLUMNS = (
    "task",
    "agent",
    "seed",
    "multiplier",
    "length",
    "episodes",
    "solved",
    "accuracy",
    "seconds",
)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """``rows`` as CSV with ``columns`` and a last ``skipped`` column (the reason, or empty)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*columns, "skipped"])
        for row in rows:
            values = ["" if row[c] is None else row[c] for c in columns]
            writer.writerow([*values, row["skipped"] or ""])


def table_cell(value: dict[str, Any] | None) -> str:
    """A table cell: accuracy and its interval, or why there is none."""
    if value is None:
        return ""
    if value["accuracy"] is None:
        return "skipped"
    return f"{value['accuracy']:.2f} [{value['ci_low']:.2f}, {value['ci_high']:.2f}]"


def markdown_table(document: dict[str, Any]) -> str:
    """The results document's pooled rows as a Markdown table: a row per task and agent, a column
    per multiplier (accuracy and 95 % Wilson interval), then what the numbers are and the skips."""
    rows = document["aggregated"]
    multipliers = sorted({row["multiplier"] for row in rows})
    by_key = {(r["task"], r["agent"], r["multiplier"]): r for r in rows}
    lines = [
        "| task (trained on) | agent | " + " | ".join(f"{m}x" for m in multipliers) + " |",
        "|---|---|" + "---:|" * len(multipliers),
    ]
    lengths = document["settings"]["train_lengths"]
    for task, agent in dict.fromkeys((r["task"], r["agent"]) for r in rows):
        cells = [table_cell(by_key.get((task, agent, m))) for m in multipliers]
        lines.append(
            f"| {task} (≤ {lengths[task]}) | {agent_spec(agent).label} | " + " | ".join(cells) + " |"
        )
    settings = document["settings"]
    lines += [
        "",
        f"Exact match (greedy) at multiplier x the training length; {settings['episodes']} problems per "
        f"seed, task, agent and length, {settings['seeds']} seed(s) pooled; 95 % Wilson interval on the "
        "pooled problems. Per-seed accuracies and timings are in the JSON file.",
    ]
    lines += certified_note(document)
    reasons = sorted({r["skipped"] for r in rows if r["skipped"]})
    lines += [f"Skipped: {reason}." for reason in reasons]
    for failure in document["failed"]:
        lines.append(f"Failed: {failure['task']} {'+'.join(failure['agents'])} seed {failure['seed']}.")
    context = torch_context_line(document["machine"], document["command"], document["date"])
    if "revision" in document:
        context = with_pins_and_commit(context, document["machine"], document["revision"])
    lines += ["", context]
    tasks = list(document["settings"]["tasks"])
    if document.get("dropped"):
        lines.append(
            f"Left out: {by_agent(document['dropped'], tasks)} (rows of earlier runs, made before the "
            "agent's training changed, and not re-run since)."
        )
    for run in document.get("runs", []):
        commit = (run.get("revision") or {}).get("commit") or "not recorded"
        listed = run.get("seeds") or []
        seeds = f" (seed{'s' if len(listed) > 1 else ''} {', '.join(map(str, listed))})" if listed else ""
        stopped = f"; stopped after {run['partial']}" if run.get("partial") else ""
        lines.append(
            f"- {by_agent(run['measured'], tasks)}{seeds}: `{run['command']}` ({run['date']}, "
            f"commit {commit[:12]}{stopped})"
        )
    return "\n".join(lines)


def certified_cells(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells of a results document that trained the certified recipe's agent."""
    return [
        cell
        for cell in document.get("cells", [])
        if cell.get("agents") == ["actformer-certified"] and cell.get("status") == "ok"
    ]


def certified_note(document: dict[str, Any]) -> list[str]:
    """What the certified recipe's cells trained on, where a task's differs from the table's
    training length, and how many of them were certified (none: no such cell)."""
    cells = certified_cells(document)
    if not cells:
        return []
    lengths = document["settings"]["train_lengths"]
    longer = sorted(
        {
            f"{cell['task']} 1..{cell['train']['train_length']}"
            for cell in cells
            if cell["train"]["train_length"] != lengths[cell["task"]]
        }
    )
    certified = sum(cell["train"]["certificate"]["verdict"] == "certified" for cell in cells)
    trained = f" ({', '.join(longer)}: its recipe's lengths)" if longer else ""
    return [
        f"{AGENTS['actformer-certified'].label}: fit on the expert's observations at the training "
        f"lengths{trained}, no RL; certified on {certified} of {len(cells)} runs."
    ]


def by_agent(pairs: Sequence[str], tasks: Sequence[str]) -> str:
    """``TASK/AGENT`` pairs said per agent: ``agent`` where it covers every task of ``tasks``, else
    ``agent (task, task)``."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        task, agent = pair.split("/")
        grouped.setdefault(agent, []).append(task)
    return "; ".join(
        agent if set(tasks) <= set(covered) else f"{agent} ({', '.join(covered)})"
        for agent, covered in grouped.items()
    )


def markdown_from_file(path: Path) -> str:
    """The Markdown table of a written ``generalization.json`` (for the README), headed by the smoke
    banner if it was a smoke test."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return smoke_markdown(markdown_table(document), document.get("smoke", False))


def panel_title(document: dict[str, Any], task: str) -> str:
    """A chart panel's title: the task and its training length, and the certified recipe's where
    that trained on longer problems."""
    length = document["settings"]["train_lengths"][task]
    lengths = {cell["train"]["train_length"] for cell in certified_cells(document) if cell["task"] == task}
    longer = "".join(f"; certified recipe ≤ {n}" for n in sorted(lengths - {length}))
    return f"{task} (trained on ≤ {length}{longer})"


def draw_chart(document: dict[str, Any], path: Path, smoke: bool = False) -> None:
    """Accuracy vs multiplier (log x), one panel per task, one line per agent, the interval as error
    bars. Agents are set apart a little in x and in y, so lines that sit on 1.0 or 0.0 stay
    distinguishable (each also has its own marker); a multiplier skipped for an agent is marked with
    an x at the panel's foot in that agent's colour. The title states the seeds, problems and
    budget. With no row at all (every cell failed) the chart says so; a smoke test's (``smoke``) is
    titled with the smoke banner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in document["aggregated"] if r["accuracy"] is not None]
    tasks = list(dict.fromkeys(r["task"] for r in document["aggregated"]))
    if not tasks:  # no panel to draw (and no column count to divide by)
        figure = plt.figure(figsize=(4.2, 1.6))
        figure.text(0.5, 0.5, "no results: every cell failed", ha="center", va="center")
        if smoke:
            figure.suptitle(SMOKE_BANNER, fontsize=7, color="darkred")
        figure.savefig(path, dpi=120)
        plt.close(figure)
        return
    columns = min(3, len(tasks))
    lines = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(
        lines, columns, figsize=(4.2 * columns, 3.4 * lines), squeeze=False, sharey=True
    )
    agents = sorted({r["agent"] for r in document["aggregated"]}, key=lambda name: (agent_rank(name), name))
    palette = plt.get_cmap("tab10" if len(agents) <= 10 else "tab20")  # (a colour per agent drawn)
    colors = {name: palette(i) for i, name in enumerate(agents)}
    for axis, task in zip(axes.flat, tasks, strict=False):
        for index, agent in enumerate(agents):
            # Agents side by side around each multiplier and a little apart in height, so equal
            # scores (all at 1.0, all at 0.0) do not hide each other.
            middle = index - (len(agents) - 1) / 2
            dodge, lift = 10 ** (0.015 * middle), 0.01 * middle
            skipped = [
                r["multiplier"] * dodge
                for r in document["aggregated"]
                if r["task"] == task and r["agent"] == agent and r["accuracy"] is None
            ]
            if skipped:
                axis.scatter(
                    skipped, [-0.03] * len(skipped), marker="x", s=14, color=colors[agent], clip_on=False
                )
            points = sorted(
                (r for r in rows if r["task"] == task and r["agent"] == agent), key=lambda r: r["multiplier"]
            )
            if not points:
                continue
            x = [r["multiplier"] * dodge for r in points]
            y = [r["accuracy"] + lift for r in points]
            error = [
                [r["accuracy"] - r["ci_low"] for r in points],
                [r["ci_high"] - r["accuracy"] for r in points],
            ]
            axis.errorbar(
                x,
                y,
                yerr=error,
                marker="os^vDPXh"[index % 8],
                markersize=3.5,
                linestyle="--" if not agent_spec(agent).learned else "-",
                capsize=2,
                color=colors[agent],
                label=agent_spec(agent).label,
            )
        axis.set_xscale("log")
        multipliers = document["settings"]["multipliers"]
        axis.set_xticks(multipliers, [f"{m}x" for m in multipliers])
        axis.minorticks_off()
        axis.set_ylim(-0.05, 1.05)
        axis.set_title(panel_title(document, task))
        axis.set_xlabel("length / training length")
        axis.grid(True, which="both", alpha=0.3)
    for axis in axes[:, 0]:
        axis.set_ylabel("exact match")
    for axis in list(axes.flat)[len(tasks) :]:
        axis.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for axis in list(axes.flat)[1 : len(tasks)]:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if any(r["accuracy"] is None for r in document["aggregated"]):
        handles.append(axes.flat[0].scatter([], [], marker="x", s=14, color="grey"))
        labels.append("skipped (x at the foot)")
    figure.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False)
    settings = document["settings"]
    title = (
        f"Exact match (greedy) vs problem length: {settings['seeds']} seed(s) pooled, "
        f"{settings['episodes']} problems per seed and length, {settings['budget']} training budget"
    )
    figure.suptitle(f"{SMOKE_BANNER}\n{title}" if smoke else title, color="darkred" if smoke else "black")
    legend_rows = math.ceil(len(labels) / min(4, len(labels)))
    figure.tight_layout(rect=(0, (0.03 + 0.025 * legend_rows) * (2 / lines if lines > 1 else 4), 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)


def skipped_rows(aggregated: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pooled rows that were skipped, with why."""
    return [
        {k: r[k] for k in ("task", "agent", "multiplier", "length", "skipped")}
        for r in aggregated
        if r["skipped"]
    ]


def results_document(
    args: argparse.Namespace,
    argv: Sequence[str],
    settings: Settings,
    results: Sequence[dict[str, Any]],
    seconds: float,
    training: dict[str, Any] | None = None,
    script: str = "generalization",
    started: tuple[str, str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything the JSON file holds (``markdown`` included). ``training``: how the agents were
    trained (default: the grid's own budgets); ``script``: the module whose command line ran;
    ``started``: the run's date, command and source revision as they were when it began (default:
    now's; a long run's code must be recorded as it was at launch, not when it ends)."""
    date, command, revision = started or (*run_stamp(script, argv), source_revision())
    rows = [row for result in results for row in result["rows"]]
    aggregated = aggregate(rows)
    document: dict[str, Any] = {
        "benchmark": "generalization",
        "date": date,
        "command": command,
        "settings": {
            "tasks": args.tasks,
            "agents": args.agents,
            "seeds": args.seeds,
            "first_seed": getattr(args, "first_seed", 0),
            "multipliers": list(settings.multipliers),
            "episodes": settings.episodes,
            "episodes_note": "per seed, task, agent and multiplier; pooled over seeds in 'aggregated'",
            "quick": args.quick,
            "budget": settings.budget,
            "train_lengths": {task: settings.train_length_of(task) for task in args.tasks},
            **(training if training is not None else grid_training(args.tasks, settings)),
            "caps": {task: {"learned": c[0], "reference": c[1]} for task, c in settings.caps.items()},
            "ci": "95 % Wilson score interval on the episodes pooled over seeds",
            "evaluation_seeds": f"seed s: env seeds {EVAL_SEED} + 1000 s + i",
            "ray": getattr(args, "ray", None),
            "workers": getattr(args, "workers", 1),
        },
        "machine": machine_info(),
        "revision": revision,
        "cells": [{k: v for k, v in result.items() if k != "rows"} for result in results],
        "rows": rows,
        "aggregated": aggregated,
        "skipped": skipped_rows(aggregated),
        "failed": [
            {k: r[k] for k in ("task", "agents", "seed", "error")} for r in results if r["status"] != "ok"
        ],
        "total_seconds": seconds,
    }
    document["markdown"] = markdown_table(document)
    return document


def grid_training(tasks: Sequence[str], settings: Settings) -> dict[str, Any]:
    """How the grid's own agents are trained: the results document's record of it."""
    return {
        "actformer": {
            "ppo_env_steps": settings.actformer_steps,
            "overrides": dict(settings.actformer_overrides),
            "plans": {task: dict(PLANS_BY_TASK[task].settings) for task in tasks},
        },
        "sb3": {"env_steps": settings.sb3_steps, "n_envs": SB3_ENVS, **SB3_KWARGS},
        "transformer": {
            "max_optimizer_steps": settings.transformer_steps,
            "batch_size": transformer_config().batch_size,
            "stops_at": "99 % held-out exact match in range",
            "positions": TRANSFORMER_POSITIONS,
        },
    }


def runs_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs behind a results document: those it records if it is itself a merge (so merging it
    again keeps the commands that measured its rows), else the document's own run (no ``measured``
    or ``seeds``: everything in it)."""
    if document.get("runs"):
        return list(document["runs"])
    return [
        {
            "command": document["command"],
            "date": document["date"],
            "revision": document.get("revision"),
            "kernel_env": document["machine"].get("kernel_env"),
            "partial": document.get("partial"),
        }
    ]


def merge_documents(paths: Sequence[Path], argv: Sequence[str], drop: Sequence[str] = ()) -> dict[str, Any]:
    """One results document from several runs' ``generalization.json`` (e.g. runs made in parallel,
    or a re-run of some agents over a committed grid): a later file's rows and cells of a (task,
    agent, seed) replace every earlier one's (so runs of other seeds add up); those of ``drop``
    (``AGENT`` or ``TASK/AGENT``: rows whose agent's training has changed since and that were not
    re-run) are left out, and the table says so. The settings are the last file's, with the tasks
    and agents of all; ``runs`` records each file's command, date, commit and pinned kernels, and
    what it still measures in the merged document."""
    documents = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    episodes = {document["settings"]["episodes"] for document in documents}
    if len(episodes) > 1:
        raise ValueError(
            f"--merge: the runs evaluated different numbers of problems per length: {sorted(episodes)}"
        )
    Key = tuple[str, str, int]  # (task, agent, seed)
    rows: dict[Key, list[dict[str, Any]]] = {}
    cells: dict[Key, list[dict[str, Any]]] = {}
    source: dict[Key, int] = {}
    for index, document in enumerate(documents):
        measured = {(row["task"], row["agent"], row["seed"]) for row in document["rows"]}
        for key in measured:
            rows[key], cells[key], source[key] = [], [], index
        for row in document["rows"]:
            rows[(row["task"], row["agent"], row["seed"])].append(row)
        for cell in document["cells"]:
            for agent in cell["agents"]:
                key = (cell["task"], agent, cell["seed"])
                if key in measured and cell not in cells[key]:
                    cells[key].append(cell)
    dropped_keys = [key for key in rows if f"{key[0]}/{key[1]}" in drop or key[1] in drop]
    dropped = sorted({f"{task}/{agent}" for task, agent, _ in dropped_keys})
    unmatched = [name for name in drop if not any(name in (pair, pair.split("/")[1]) for pair in dropped)]
    if unmatched:
        raise ValueError(f"--drop: {', '.join(unmatched)} matches no rows of the runs (AGENT or TASK/AGENT)")
    for key in dropped_keys:
        del rows[key], cells[key], source[key]
    last = documents[-1]
    date, command = run_stamp("generalization", argv)
    tasks = list(dict.fromkeys(task for document in documents for task in document["settings"]["tasks"]))
    agents = [
        agent
        for agent in dict.fromkeys(
            agent for document in documents for agent in document["settings"]["agents"]
        )
        if any(key[1] == agent for key in rows)
    ]
    merged_cells: list[dict[str, Any]] = []
    for group in cells.values():
        merged_cells += [cell for cell in group if cell not in merged_cells]
    runs = []
    for index, document in enumerate(documents):
        kept = {key for key, i in source.items() if i == index}
        for run in runs_of(document):
            keys = {
                (task, agent, seed)
                for task, agent, seed in kept
                if f"{task}/{agent}" in run.get("measured", (f"{task}/{agent}",))
                and seed in run.get("seeds", (seed,))
            }
            if keys:
                runs.append(
                    {
                        **run,
                        "measured": sorted({f"{task}/{agent}" for task, agent, _ in keys}),
                        "seeds": sorted({seed for *_, seed in keys}),
                    }
                )
    all_rows = [row for group in rows.values() for row in group]
    all_rows.sort(key=lambda r: (tasks.index(r["task"]), agent_rank(r["agent"]), r["seed"], r["multiplier"]))
    aggregated = aggregate(all_rows)
    merged: dict[str, Any] = {
        "benchmark": "generalization",
        "date": date,
        "command": command,
        "settings": {
            **last["settings"],
            "seeds": len({row["seed"] for row in all_rows}),
            "tasks": tasks,
            "agents": agents,
            "train_lengths": {
                task: length
                for document in documents
                for task, length in document["settings"]["train_lengths"].items()
            },
        },
        "machine": last["machine"],
        "runs": runs,
        "dropped": dropped,
        "cells": merged_cells,
        "rows": all_rows,
        "aggregated": aggregated,
        "skipped": skipped_rows(aggregated),
        "failed": [failure for document in documents for failure in document["failed"]],
        "total_seconds": sum(document["total_seconds"] for document in documents),
    }
    merged["markdown"] = markdown_table(merged)
    return merged


def write_outputs(
    document: dict[str, Any], output: Path, smoke: bool, chart: bool = True, quiet: bool = False
) -> None:
    """The JSON (and .md beside it), the CSV files and, with ``chart``, the PNG, in the folder
    ``output``; the table printed unless ``quiet``."""
    written = ["generalization.csv", "generalization_seeds.csv"]
    write_csv(output / written[0], document["aggregated"], CSV_COLUMNS)
    write_csv(output / written[1], document["rows"], SEED_CSV_COLUMNS)
    if chart:
        written.append("generalization.png")
        draw_chart(document, output / written[-1], smoke)
        if draw_learning_curves(document, output / "transformer_training.png"):
            written.append("transformer_training.png")
    training = training_markdown(document)
    if training:
        document["transformer_training_markdown"] = training
        (output / "transformer_training.md").write_text(training + "\n", encoding="utf-8")
        written.append("transformer_training.md")
    write_results(
        output, "generalization.json", document, smoke=smoke, markdown_file=True, also=written, quiet=quiet
    )


# -- command line ----------------------------------------------------------------------------------


def add_grid_tasks_flag(parser: argparse.ArgumentParser) -> None:
    """``--tasks``: the grid's tasks, space-separated, or all (default: ``DEFAULT_TASKS``)."""
    parser.add_argument(
        "--tasks",
        type=name_of(list(PLANS_BY_TASK), "task"),
        nargs="+",
        default=list(DEFAULT_TASKS),
        metavar="TASK",
        help=f"task names, space-separated, or all (default: {' '.join(DEFAULT_TASKS)})",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; the budget (``--quick``: the smoke one) sets the seeds and episodes that were
    not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_grid_tasks_flag(parser)
    parser.add_argument(
        "--agents",
        type=name_of(list(AGENTS), "agent"),
        nargs="+",
        default=list(AGENTS),
        metavar="AGENT",
        help=f"agents, space-separated, from {' '.join(AGENTS)}, or all (default: all)",
    )
    parser.add_argument(
        "--seeds",
        type=positive(int),
        default=None,
        help=f"seeds 0..N-1 (default {FULL['seeds']}; small and quick {SMALL['seeds']})",
    )
    parser.add_argument(
        "--first-seed",
        type=at_least(int, 0),
        default=0,
        metavar="S",
        help="run seeds S..S+N-1 instead of 0..N-1 (e.g. one more seed, merged with --merge; default 0)",
    )
    parser.add_argument(
        "--multipliers",
        type=positive(int),
        nargs="+",
        default=None,
        metavar="M",
        help="length multipliers of the training length, space-separated "
        f"(default {' '.join(map(str, MULTIPLIERS))}; quick {' '.join(map(str, SMOKE_MULTIPLIERS))})",
    )
    parser.add_argument(
        "--episodes",
        type=positive(int),
        default=None,
        help=f"problems per seed, task, agent and multiplier (default {FULL['episodes']}; "
        f"small {SMALL['episodes']}; quick {SMOKE['episodes']})",
    )
    parser.add_argument(
        "--train-length",
        type=positive(int),
        default=None,
        metavar="N",
        help="train every task on problems of lengths 1..N (default: each task's plan's, e.g. 3 for "
        "Addition); the multipliers are of N",
    )
    parser.add_argument(
        "--transformer-steps",
        type=positive(int),
        default=None,
        metavar="N",
        help="the token Transformers' optimizer steps at most (default: the budget's, "
        f"{Settings.transformer_steps:,}; quick {SMOKE['transformer_steps']})",
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--budget",
        choices=("full", "small"),
        default=None,
        help="training budgets and caps: full (default; about 2 h of cells on 2 cores) or small "
        "(about 7 min per seed)",
    )
    budget.add_argument(
        "--quick", action="store_true", help=f"{QUICK_HELP} (1 seed, tiny training budgets; about 2 min)"
    )
    add_output_flags(parser, "generalization")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run the cells as Ray tasks: on a local Ray without ADDRESS, else on that cluster",
    )
    parser.add_argument(
        "--workers",
        type=positive(int),
        default=1,
        metavar="N",
        help="run the cells in N local processes at once (default 1: in this process)",
    )
    parser.add_argument("--no-chart", dest="chart", action="store_false", help="do not draw the PNG")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        metavar="JSON",
        help="run nothing: merge these generalization.json files (a later file's rows of a task and "
        "agent replace an earlier one's) and write the result",
    )
    parser.add_argument(
        "--drop",
        nargs="+",
        default=[],
        metavar="AGENT|TASK/AGENT",
        help="with --merge: leave out these rows (of an agent whose training changed, not re-run)",
    )
    parser.add_argument(
        "--redraw",
        type=Path,
        default=None,
        metavar="JSON",
        help="run nothing: draw the charts of this generalization.json again, beside it",
    )
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.redraw is not None and not args.redraw.is_file():
        parser.error(f"--redraw: no such file: {args.redraw}")
    if args.drop and args.merge is None:
        parser.error("--drop: only with --merge")
    if args.workers > 1 and args.ray is not None:
        parser.error("--workers: not with --ray (Ray schedules the cells itself)")
    missing = [str(path) for path in args.merge or [] if not path.is_file()]
    if missing:
        parser.error(f"--merge: no such file: {', '.join(missing)}")
    args.tasks = expand_all(args.tasks, list(PLANS_BY_TASK))
    args.agents = expand_all(args.agents, list(AGENTS))
    if args.multipliers is None:
        args.multipliers = SMOKE_MULTIPLIERS if args.quick else MULTIPLIERS
    args.multipliers = tuple(sorted(set(args.multipliers)))
    args.budget = "smoke" if args.quick else args.budget or "full"
    fill_unset(args, {key: BUDGETS[args.budget][key] for key in ("seeds", "episodes")})
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid, print the table, write the outputs; exit status 1 if a cell failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.redraw is not None:
        document = json.loads(args.redraw.read_text(encoding="utf-8"))
        draw_chart(document, args.redraw.with_name("generalization.png"), smoke=bool(document.get("smoke")))
        print(f"drew {args.redraw.with_name('generalization.png')}")
        if draw_learning_curves(document, args.redraw.with_name("transformer_training.png")):
            print(f"drew {args.redraw.with_name('transformer_training.png')}")
        return 0
    if args.merge is not None:
        try:
            document = merge_documents(args.merge, argv, args.drop)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        write_outputs(document, output_dir(args, "generalization"), smoke=False, chart=args.chart)
        return 0
    torch.set_num_threads(1)
    announce_smoke(args.quick)
    started = time.perf_counter()
    settings = settings_for(args)
    cells = make_cells(args.tasks, args.agents, args.seeds, args.first_seed)
    output = output_dir(args, "generalization")
    launch = (*run_stamp("generalization", argv), source_revision())

    def write_so_far(results: list[dict[str, Any]]) -> None:  # the table so far; the chart at the end
        document = results_document(
            args, argv, settings, results, time.perf_counter() - started, started=launch
        )
        document["partial"] = f"{len(results)} of {len(cells)} cells"
        write_outputs(document, output, smoke=args.quick, chart=False, quiet=True)

    results = run_cells(
        cells, settings, args.ray, on_result=write_so_far if len(cells) > 1 else None, workers=args.workers
    )
    document = results_document(args, argv, settings, results, time.perf_counter() - started, started=launch)
    write_outputs(document, output, smoke=args.quick, chart=args.chart)
    return 1 if document["failed"] else 0


if __name__ == "__main__":
    # Run the package's copy of this module, not ``__main__``, so that Ray pickles ``run_cell`` by
    # reference to ``benchmarks.generalization`` (importable on every node from the repository)
    # rather than by value.
    from benchmarks import generalization

    sys.exit(generalization.main())
