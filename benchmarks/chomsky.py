"""The Chomsky-hierarchy benchmark (Delétang et al., "Neural Networks and the Chomsky Hierarchy",
ICLR 2023) on its own protocol: train on lengths 1..40, test on 41..500.

Each of the paper's 15 tasks is an env of the suite (``CHOMSKY_TASKS``: its id, base and length
unit, and where our format differs from the paper's) or is listed with the reason it is not run.
Per task, training range and seed:

- ``actformer``: a projected Actformer fit on the verification set of lengths 1..L from expert
  traces, as ``benchmarks.certification`` fits it (no expert pairs, no DAgger, no RL); L is the
  paper's range, inputs of up to 40 symbols (``ChomskyTask.our_length(40)``: 40, or 20 where our
  length counts half the input or its numbers), and the task's own short training length
  (``Task.recipe``); a task the paper poses in another base is trained in it where
  ``ChomskyTask.trained_in_base`` says so;
- ``transformer`` (opt-in, ``--agents``): the token Transformer (``agents.token_transformer``)
  trained on input/output pairs of the paper's range (tasks in their default base only), for
  ``--transformer-steps`` optimizer steps of 64 problems (the paper trained for 1,000,000 steps of
  128, its Appendix A.4: this checks our baseline against its Transformer row; it does not
  reproduce that budget);
- ``actformer-rl`` (opt-in): an Actformer trained by PPO from scratch with no expert anywhere, as
  ``benchmarks.rl_from_scratch`` trains it (its task's recipe: its curriculum to its training
  length, its budget and stopping rule, the ``dense`` reward and ``valid`` masks), on the tasks it
  has a recipe for, in their default bases (its recipes train there).

Each answers greedily at every test length (41, 50, 60, ..., 500 by default, ``--test-lengths``; the
paper averages over every length 41..500), on ``--problems`` fresh problems each. Two scores per
seed:

- the paper's (its Section 4 and Appendix A.4): per-sequence accuracy, the fraction of the
  answer's tokens right (a one-symbol answer is right or wrong; where the paper ends an answer with
  a termination token, StackManipulation, whether the answer ends where it should counts as one
  more token), averaged over the test lengths; the paper reports its maximum over 10 seeds and 3
  learning rates, and the table shows ours the same way (the maximum over our seeds) and per seed;
- ours: greedy exact match per length, and how many seeds are exact (>= 0.999) at every length.

Beside ours, ``published_markdown`` sets the paper's own scores (``PUBLISHED_SCORES``: only those
read from a copy, ``PUBLISHED_SOURCE`` says which) and whether the expert-trace Actformer's lowest
run beats, matches or loses to each.

The paper's lengths are its input's lengths; a task whose length counts other units here is
evaluated at the problem length that makes the same input (``ChomskyTask.our_length``: Missing
Duplicate halves it, Modular Arithmetic counts its numbers, Solve Equation the symbols before
``= v``).

    python -m benchmarks.chomsky                                   # every runnable task, 3 seeds
    python -m benchmarks.chomsky --tasks EvenPairs StackManipulation --seeds 1
    python -m benchmarks.chomsky --agents actformer transformer --tasks CycleNavigation
    python -m benchmarks.chomsky --quick                           # smoke test: tiny budgets
    python -m benchmarks.chomsky --update-results                  # refresh benchmarks/results/
    python -m benchmarks.chomsky --update-results --merge A/chomsky.json B/chomsky.json
                                        # the rows of runs made apart (e.g. in parallel), run nothing

Results: ``chomsky.json``, ``chomsky.md`` and ``chomsky.png`` (accuracy against length, one panel
per task) in a fresh ``benchmarks/runs/chomsky-<UTC time>/`` (``--out DIR``: there;
``--update-results``: the committed ``benchmarks/results/``). Run with the kernels pinned
(``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 OMP_NUM_THREADS=1``), recorded in the context line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from actformer_envs.digits import to_digits
from actformer_envs.rollout import Rollout, Step
from actformer_envs.tasks import SINGLE_TASKS
from actformer_envs.tasks.registry import env_id
from actformer_gym.agents.cached import CachedGreedy
from actformer_gym.train.evaluate import make_eval_env
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trainer import Trainer
from benchmarks import rl_from_scratch as scratch
from benchmarks.certification import OBSERVATION, config_of
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    announce_smoke,
    at_least,
    check_output_flags,
    expand_all,
    fill_unset,
    machine_info,
    merge_rows,
    output_dir,
    positive,
    rows_of_runs,
    run_stamp,
    runs_note,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)

RESULTS_NAME = "chomsky.json"
#: The paper's training range and test lengths.
PAPER_TRAIN_LENGTH = 40
PAPER_TEST_LENGTHS = (41, 500)
#: Exact match counts as generalizing where it is at least this at every test length.
EXACT = 0.999
#: The Actformer trained by RL from scratch, as ``benchmarks.rl_from_scratch`` trains it.
RL_AGENT = "actformer-rl"
AGENTS = ("actformer", "transformer", RL_AGENT)
#: What each agent learns from (the table's supervision column).
SUPERVISION = {
    "actformer": "expert traces (every action of the expert's program)",
    "transformer": "input/output pairs",
    RL_AGENT: "output reward (the env's dense reward; no expert)",
}
DEFAULTS = {"seeds": 3, "problems": 100, "test_lengths": None, "transformer_steps": 2_000}
QUICK = {"seeds": 1, "problems": 4, "test_lengths": [41, 60], "transformer_steps": 20}
#: The one training range of a ``--quick`` run.
QUICK_TRAIN_LENGTH = 2


@dataclass(frozen=True)
class ChomskyTask:
    """One task of the paper and the env that poses it here (None: not run, ``note`` says why)."""

    paper: str
    """The paper's name of the task."""
    level: str
    """Its level of the hierarchy: R (regular), DCF (deterministic context-free), CS (context-sensitive)."""
    task: str | None = None
    """The suite's task that poses it, or None."""
    base: int | None = None
    """The alphabet the paper uses, where it is not the env's default (the env's ``base``)."""
    trained_in_base: bool = False
    """The Actformer is trained in ``base`` too (else at the env's default base, and tested in ``base``)."""
    length_unit: Literal["symbols", "half", "terms", "equation"] = "symbols"
    """What our problem length counts: the input's symbols as the paper's does, ``half`` of them
    (MissingDuplicate: a string twice; Binary Addition and Multiplication: two numbers), ``terms``
    (ModularArithmetic: numbers, with an operator between each two) or ``equation`` (SolveEquation:
    the expression's symbols, two fewer than ``E = v``)."""
    terminated: bool = False
    """The paper ends the answer with a termination token (its accuracy counts it as one token)."""
    number_answer: bool = False
    """The answer is a number, scored digit by digit, least significant first, as the paper writes it."""
    max_test_length: int | None = None
    """The longest of the paper's test lengths run (None: all); the score averages over those run."""
    note: str = ""
    """How our format differs from the paper's, or why the task is not run."""

    def our_length(self, paper_length: int) -> int:
        """The problem length of ours whose input is as long as the paper's ``paper_length``."""
        if self.length_unit == "half":
            return max(1, paper_length // 2)
        if self.length_unit == "terms":
            return (paper_length + 1) // 2
        if self.length_unit == "equation":
            return max(1, paper_length - 2)
        return paper_length


CHOMSKY_TASKS = (
    ChomskyTask("Even Pairs", "R", "EvenPairs"),
    ChomskyTask(
        "Modular Arithmetic (Simple)",
        "R",
        "ModularArithmetic",
        length_unit="terms",
        note="our length n counts the numbers, the paper's L the symbols (2n - 1): tested at "
        "n = (L + 1) // 2 (an even L poses L - 1 symbols, as the paper's code does)",
    ),
    ChomskyTask("Parity Check", "R", "Parity"),
    ChomskyTask("Cycle Navigation", "R", "CycleNavigation"),
    ChomskyTask(
        "Stack Manipulation",
        "DCF",
        "StackManipulation",
        terminated=True,
        note="the answer is the written cells of OUT, no termination token or padding",
    ),
    ChomskyTask(
        "Reverse String",
        "DCF",
        "Reverse",
        base=2,
        note="trained at the env's default base 10, tested on bits",
    ),
    ChomskyTask(
        "Modular Arithmetic",
        "DCF",
        "ModularArithmeticBrackets",
        note="the paper's grammar and encoding, with multiplication as its experiments run it",
    ),
    ChomskyTask(
        "Solve Equation",
        "DCF",
        "SolveEquation",
        length_unit="equation",
        note="our length n counts the symbols of the expression, the paper's L those of the "
        "equation (E = v: n + 2): tested at n = L - 2",
    ),
    ChomskyTask("Duplicate String", "CS", "DuplicateString"),
    ChomskyTask(
        "Missing Duplicate",
        "CS",
        "MissingDuplicate",
        length_unit="half",
        note="our length n is half the string, the paper's L (its odd lengths add a pad token): "
        "tested at n = L // 2",
    ),
    ChomskyTask(
        "Odds First",
        "CS",
        "OddsFirst",
        note="the paper's definition (s1 s3 ... first); its published code takes s2 s4 ... first",
    ),
    ChomskyTask(
        "Binary Addition",
        "CS",
        "Addition",
        base=2,
        trained_in_base=True,
        length_unit="half",
        terminated=True,
        number_answer=True,
        note="the operands are two rows, one of n bits and the other of 1..n, where the paper writes "
        "one string x+y of L symbols split at random: tested at n = L // 2 (inputs of n + 1..2n bits)",
    ),
    ChomskyTask(
        "Binary Multiplication",
        "CS",
        "Multiplication",
        base=2,
        trained_in_base=True,
        length_unit="half",
        terminated=True,
        number_answer=True,
        max_test_length=100,
        note="both operands have n bits (the paper's x*y: L symbols split at random), tested at "
        "n = L // 2; the program grows with the square of n (a 50 x 50-bit product is 25,351 steps, "
        "a 250 x 250-bit one 626,751), so the test lengths stop at L = 100 and the score averages "
        "over 41..100",
    ),
    ChomskyTask(
        "Compute Sqrt",
        "CS",
        "ComputeSqrt",
        max_test_length=100,
        note="the number and its root least significant bit first, as the paper's Appendix A.3 "
        "defines them (its published code writes both most significant first: the score, position by "
        "position over the root's ceil(L / 2) bits, is the same); the program grows with the square of "
        "L (about 32,000 steps at L = 100), so the test lengths stop at L = 100 and the score averages "
        "over 41..100",
    ),
    ChomskyTask("Bucket Sort", "CS", "Sort", base=5, trained_in_base=True),
)
TASK_NAMES = tuple(entry.task for entry in CHOMSKY_TASKS if entry.task is not None)

#: How a score of ours compares with a published one (``verdict``), in the order the table says them.
VERDICTS = ("beats", "matches", "loses to")
#: The paper's models, in the order of its Table 2.
PUBLISHED_MODELS = ("RNN", "Stack-RNN", "Tape-RNN", "Transformer", "LSTM")
#: Where ``PUBLISHED_SCORES`` are read from.
PUBLISHED_SOURCE = (
    "Delétang et al. (ICLR 2023), Table 2, for the six tasks that Table 5 of Xu et al., "
    '"DeltaFormer: Unlock the State Space of Transformer" (2025), quotes from it; the Transformer\'s '
    "score on Cycle Navigation from the paper's Appendix B.3.2"
)
#: The paper's published scores (its metric in %, the maximum over its seeds and learning rates) per
#: task, in ``PUBLISHED_MODELS`` order, for the tasks whose scores we could read from a copy (None:
#: a model's score on that task not read). The other tasks' scores are left out, not guessed.
PUBLISHED_SCORES: dict[str, tuple[float | None, ...]] = {
    "Modular Arithmetic (Simple)": (100.0, 100.0, 100.0, 24.2, 100.0),
    "Parity Check": (100.0, 100.0, 100.0, 52.0, 100.0),
    "Cycle Navigation": (None, None, None, 61.9, None),
    "Stack Manipulation": (56.0, 100.0, 100.0, 57.5, 59.1),
    "Reverse String": (62.0, 100.0, 100.0, 62.3, 60.9),
    "Duplicate String": (50.3, 52.8, 100.0, 52.8, 57.6),
    "Odds First": (51.0, 51.9, 100.0, 52.8, 55.6),
}


def chomsky_task(task: str) -> ChomskyTask:
    """The entry of the suite's ``task``."""
    return next(entry for entry in CHOMSKY_TASKS if entry.task == task)


def default_test_lengths() -> list[int]:
    """The paper's test range 41..500 every 10 (41, 50, 60, ..., 500)."""
    low, high = PAPER_TEST_LENGTHS
    return [low, *range(50, high + 1, 10)]


def test_lengths_of(entry: ChomskyTask, lengths: Sequence[int]) -> list[int]:
    """The paper's test lengths of ``lengths`` that ``entry`` runs (up to its ``max_test_length``)."""
    cap = entry.max_test_length
    return [length for length in lengths if cap is None or length <= cap]


def as_scored(entry: ChomskyTask, answer: Any) -> Any:
    """An answer as the paper scores it: a number as its digits in ``entry.base``, least significant
    first (None stays None); anything else as it is."""
    if not entry.number_answer or answer is None:
        return answer
    return to_digits(int(answer), entry.base or 10)


# -- scoring -------------------------------------------------------------------------------------


def token_accuracy(output: Any, target: Any, terminated: bool = False) -> float:
    """The fraction of ``target``'s tokens that ``output`` has right, position by position (None, a
    malformed answer: none right); a one-symbol answer is right or wrong. ``terminated``: whether
    the answer ends where the target does counts as one more token (the paper's termination token)."""
    if not isinstance(target, list):
        return float(output == target)
    shown = output if isinstance(output, list) else []
    right = sum(i < len(shown) and shown[i] == symbol for i, symbol in enumerate(target))
    if terminated:
        return (right + (len(shown) == len(target))) / (len(target) + 1)
    return right / max(len(target), 1)


def score_answers(answers: Sequence[tuple[Any, Any]], terminated: bool) -> dict[str, float]:
    """Exact match and mean token accuracy of (output, target) pairs."""
    return {
        "exact_match": float(np.mean([output == target for output, target in answers])),
        "token_accuracy": float(np.mean([token_accuracy(o, t, terminated) for o, t in answers])),
    }


def actformer_answers(
    agent: CachedGreedy,
    entry: ChomskyTask,
    length: int,
    problems: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
) -> list[tuple[Any, Any]]:
    """(output, target) of ``problems`` episodes of exactly ``length`` in the native vector env (made
    with ``OBSERVATION``, or with ``env_kwargs`` where given: the observation and masks the agent
    was trained with)."""
    base = {"base": entry.base} if entry.base is not None else {}
    assert entry.task is not None
    kwargs = {**(OBSERVATION if env_kwargs is None else env_kwargs), **base}
    env = make_eval_env(env_id(entry.task), length, min(problems, 64), **kwargs)
    answers: list[tuple[Any, Any]] = []

    def collect(step: Step) -> None:
        for i in np.flatnonzero(step.ended & step.counted):
            output, target = (_plain(step.infos[key][i]) for key in ("output", "target"))
            answers.append((as_scored(entry, output), as_scored(entry, target)))

    try:
        Rollout(env, seed=seed, episodes=problems).run(agent.act, collect)
    finally:
        env.close()
    return answers


def _plain(value: Any) -> Any:
    """An answer as plain Python (lists of ints, ints, None) for comparison and JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return None if value is None else int(value)


# -- one seed ------------------------------------------------------------------------------------


def run_actformer(task: str, train_length: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Fit the projected Actformer on lengths 1..``train_length`` and score it at every test length."""
    entry = chomsky_task(task)
    base = entry.base if entry.trained_in_base else None
    trainer = Trainer(config_of(task, train_length, seed, base=base))
    began = time.perf_counter()
    warm = trainer.warm_start()
    fit_seconds = time.perf_counter() - began
    return {
        "fit_steps": int(warm["imitation/fit_steps"]),
        "fit_reached": bool(warm["imitation/fit_reached"]),
        "fit_seconds": round(fit_seconds, 2),
        "scores": actformer_scores(CachedGreedy(trainer.policy.eval()), entry, seed, args),
    }


def actformer_scores(
    greedy: CachedGreedy,
    entry: ChomskyTask,
    seed: int,
    args: argparse.Namespace,
    env_kwargs: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The scores of a trained Actformer at every test length (``actformer_answers``, ``env_kwargs``
    as there), on the evaluation problems of ``seed``."""
    evaluation_seed = seed_for(seed, "evaluation")
    scores = []
    for paper_length in test_lengths_of(entry, args.test_lengths):
        length = entry.our_length(paper_length)
        answers = actformer_answers(
            greedy, entry, length, args.problems, evaluation_seed + paper_length, env_kwargs
        )
        scores.append(
            {"paper_length": paper_length, "length": length, **score_answers(answers, entry.terminated)}
        )
    return scores


def run_actformer_rl(task: str, train_length: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train an Actformer from scratch by PPO on ``task``'s recipe of ``benchmarks.rl_from_scratch``
    (its lengths, budget and stopping rule; no expert anywhere) and score it at every test length,
    in the env settings it was trained with."""
    entry, recipe = chomsky_task(task), scratch.RECIPES[task]
    assert train_length == recipe.train_length
    budget = scratch.QUICK if args.quick else scratch.DEFAULTS
    options = argparse.Namespace(  # (no steps: the recipe's budget, as the benchmark's plain command)
        quick=args.quick,
        steps=budget.get("steps"),
        **{key: budget[key] for key in ("check_every", "check_episodes", "eval_episodes")},
        checkpoints=None,
    )
    policy, steps, checks, _ = scratch.train_own(scratch.Run(task, "PPO", seed, recipe), options)
    scores = actformer_scores(CachedGreedy(policy), entry, seed, args, scratch.env_settings(recipe))
    return {"recipe": recipe.name, "rl_steps": steps, "steps_to_target": checks.reached, "scores": scores}


def run_transformer(task: str, train_length: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train the token Transformer on lengths 1..``train_length`` for ``--transformer-steps``
    optimizer steps and score it at every test length."""
    from actformer_gym.agents.token_transformer import (
        TokenTransformerConfig,
        sample_problems,
        train_token_transformer,
    )

    entry = chomsky_task(task)
    config = TokenTransformerConfig(max_steps=args.transformer_steps, target_accuracy=1.0, eval_every=500)
    model, stats = train_token_transformer(task, train_length, seed=seed, config=config)
    scores = []
    for paper_length in test_lengths_of(entry, args.test_lengths):
        length = entry.our_length(paper_length)
        pairs = sample_problems(task, length, args.problems, seed_for(seed, "evaluation") + paper_length)
        outputs = model.answer([problem for problem, _ in pairs])
        answers = [
            (as_scored(entry, _plain(o)), as_scored(entry, _plain(t)))
            for o, (_, t) in zip(outputs, pairs, strict=True)
        ]
        scores.append(
            {"paper_length": paper_length, "length": length, **score_answers(answers, entry.terminated)}
        )
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "steps": int(stats["steps"]),
        "batch_size": config.batch_size,
        "parameters": parameters,
        "in_range_exact_match": stats["accuracy"],
        "scores": scores,
    }


def run_seed(task: str, agent: str, train_length: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One row: ``agent`` trained on ``task``'s lengths 1..``train_length`` with ``seed``, scored."""
    began = time.perf_counter()
    run = {"actformer": run_actformer, "transformer": run_transformer, RL_AGENT: run_actformer_rl}[agent]
    result = run(task, train_length, seed, args)
    scores = result["scores"]
    return {
        "task": task,
        "agent": agent,
        "train_length": train_length,
        "seed": seed,
        **result,
        "score": float(np.mean([s["token_accuracy"] for s in scores])),
        "exact_everywhere": all(s["exact_match"] >= EXACT for s in scores),
        "min_exact_match": min(s["exact_match"] for s in scores),
        "seconds": round(time.perf_counter() - began, 1),
    }


def train_lengths_of(task: str, agent: str) -> list[int]:
    """The training ranges 1..L run: the paper's (inputs of up to 40 symbols: L = 40 in our units),
    and for the Actformer also the task's own. The token Transformer writes text in the tasks'
    default bases only: none for a task trained in another. RL from scratch trains on its recipe's
    curriculum, on the tasks ``benchmarks.rl_from_scratch`` has one for, in their default bases (its
    recipes train there: none for the others)."""
    entry = chomsky_task(task)
    paper = entry.our_length(PAPER_TRAIN_LENGTH)
    if agent == RL_AGENT:
        has_recipe = task in scratch.RECIPES and not entry.trained_in_base
        return [scratch.RECIPES[task].train_length] if has_recipe else []
    if agent != "actformer":
        return [] if entry.trained_in_base else [paper]
    recipe = SINGLE_TASKS[task].recipe
    return sorted({recipe.train_length if recipe is not None else paper, paper})


def not_run_because(task: str, agent: str) -> str:
    """Why ``agent`` has no training range on ``task`` (``train_lengths_of`` is empty): said on
    stderr, so a requested task and agent is never left out silently."""
    if agent == RL_AGENT and chomsky_task(task).trained_in_base and task in scratch.RECIPES:
        return "benchmarks.rl_from_scratch's recipe trains in the task's default base, not the paper's"
    if agent == RL_AGENT:
        return "benchmarks.rl_from_scratch has no recipe for it"
    return "the token Transformer writes text in the tasks' default bases only"


# -- the table and the chart ---------------------------------------------------------------------


def group_rows(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    """Rows by (task, agent, training length), seeds in order."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["seed"]):
        groups.setdefault((row["task"], row["agent"], row["train_length"]), []).append(row)
    return groups


def markdown(rows: Sequence[dict[str, Any]], context: str) -> str:
    """The table: every task of the paper, each trained (agent, range) of ours beside it."""
    groups = group_rows(rows)
    lines = [
        "| Level | Task (paper) | Env | Agent (supervision) | Trained on | Paper's score (max over seeds) "
        "| Score per seed | Exact at every length |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in CHOMSKY_TASKS:
        runs = [(key, group) for key, group in groups.items() if key[0] == entry.task]
        if not runs:
            env = f"`{env_id(entry.task)}`" if entry.task else "-"
            lines.append(f"| {entry.level} | {entry.paper} | {env} | - | - | - | - | not run (see below) |")
            continue
        for (task, agent, train_length), group in sorted(runs, key=lambda item: (item[0][1], item[0][2])):
            per_seed = ", ".join(f"{100 * row['score']:.1f}" for row in group)
            exact = sum(row["exact_everywhere"] for row in group)
            env = f"`{env_id(task)}`" + (f" (base {entry.base})" if entry.base is not None else "")
            lines.append(
                f"| {entry.level} | {entry.paper} | {env} | {agent} ({SUPERVISION[agent].split(' (')[0]}) "
                f"| 1..{train_length} | {100 * max(row['score'] for row in group):.1f} | {per_seed} "
                f"| {exact} of {len(group)} seeds |"
            )
    notes = [f"- **{entry.paper}**: {entry.note}" for entry in CHOMSKY_TASKS if entry.note]
    return "\n".join(
        [
            context,
            "",
            "Score: the paper's metric, per-token accuracy averaged over the test lengths (in %), per "
            "seed and its maximum over seeds as the paper reports it; exact: greedy exact match "
            f">= {EXACT} at every test length.",
            "",
            *lines,
            "",
            *notes,
            *(["", *runs_note(rows)] if runs_note(rows) else []),
        ]
    )


def verdict(ours: float, theirs: float) -> str:
    """How a score of ours (in %, to 0.1 as the paper prints its scores) compares with a published one."""
    ours = round(ours, 1)
    return "beats" if ours > theirs else "matches" if ours == theirs else "loses to"


def scores_by_task(
    rows: Sequence[dict[str, Any]], agent: str, pick: Callable[[list[float]], float] = min
) -> dict[str, float]:
    """Per paper task, ``agent``'s score (in %) over its seeds and training ranges, ``pick``ed
    (``min``: its lowest run; ``max``: the paper's way)."""
    picked: dict[str, float] = {}
    for entry in CHOMSKY_TASKS:
        scores = [100 * row["score"] for row in rows if row["task"] == entry.task and row["agent"] == agent]
        if scores:
            picked[entry.paper] = pick(scores)
    return picked


def published_comparison(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Per published model: the tasks on which the expert-trace Actformer's lowest score beats,
    matches or loses to its published score."""
    ours = scores_by_task(rows, "actformer")
    comparison: dict[str, dict[str, list[str]]] = {
        model: {word: [] for word in VERDICTS} for model in PUBLISHED_MODELS
    }
    for task, scores in PUBLISHED_SCORES.items():
        for model, theirs in zip(PUBLISHED_MODELS, scores, strict=True):
            if theirs is not None and task in ours:
                comparison[model][verdict(ours[task], theirs)].append(task)
    return comparison


def published_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The paper's published scores beside ours, on the tasks whose published scores we could read."""
    actformer, expert_free = scores_by_task(rows, "actformer"), scores_by_task(rows, RL_AGENT)
    transformer = scores_by_task(rows, "transformer", pick=max)
    comparison = published_comparison(rows)
    lines = [
        "| Level | Task (paper) | "
        + " | ".join(PUBLISHED_MODELS)
        + " | Actformer, expert traces (lowest run) "
        "| Actformer, no expert (lowest seed) | Our token Transformer, pairs (max over seeds) "
        "| The Actformer (expert traces) against each |",
        "|---|---|" + "---|" * len(PUBLISHED_MODELS) + "---|---|---|---|",
    ]

    def cell(scores: dict[str, float], task: str) -> str:
        return f"{scores[task]:.1f}" if task in scores else "-"

    for entry in CHOMSKY_TASKS:
        if entry.paper not in PUBLISHED_SCORES or entry.paper not in actformer:
            continue
        against = "; ".join(
            f"{word} {', '.join(models)}"
            for word in VERDICTS
            if (models := [model for model in PUBLISHED_MODELS if entry.paper in comparison[model][word]])
        )
        published = " | ".join(
            "-" if theirs is None else f"{theirs:.1f}" for theirs in PUBLISHED_SCORES[entry.paper]
        )
        lines.append(
            f"| {entry.level} | {entry.paper} | {published} | {cell(actformer, entry.paper)} "
            f"| {cell(expert_free, entry.paper)} | {cell(transformer, entry.paper)} | {against} |"
        )
    return "\n".join(
        [
            f"Published: {PUBLISHED_SOURCE}. The paper's five models learn from input/output pairs, as our "
            "token Transformer does; -: not read, or not run.",
            "",
            *lines,
        ]
    )


def draw_chart(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Token accuracy and exact match against the paper's test length, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = group_rows(rows)
    tasks = [entry.task for entry in CHOMSKY_TASKS if any(key[0] == entry.task for key in groups)]
    if not tasks:
        return
    columns = min(3, len(tasks))
    lines = (len(tasks) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.0 * lines), squeeze=False)
    for axis, task in zip(axes.flat, tasks, strict=False):
        entry = chomsky_task(task)
        for offset, ((_, agent, train_length), group) in enumerate(
            sorted((key, group) for key, group in groups.items() if key[0] == task)
        ):
            lengths = [s["paper_length"] for s in group[0]["scores"]]
            exact = np.mean([[s["exact_match"] for s in row["scores"]] for row in group], axis=0)
            tokens = np.mean([[s["token_accuracy"] for s in row["scores"]] for row in group], axis=0)
            shift = 0.012 * offset  # (one agent's lines on 1.0 stay apart from another's)
            label = f"{agent} 1..{train_length}"
            (line,) = axis.plot(lengths, exact + shift, marker="o", markersize=2.5, label=f"{label}: exact")
            axis.plot(
                lengths, tokens + shift, linestyle="--", color=line.get_color(), label=f"{label}: per token"
            )
        axis.set_title(f"{entry.paper} ({entry.level})", fontsize=9)
        axis.set_ylim(-0.05, 1.08)
        axis.set_xlabel("input length (the paper's)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=6, loc="lower left")
    for axis in list(axes.flat)[len(tasks) :]:
        axis.axis("off")
    seeds = max(len(group) for group in groups.values())
    figure.suptitle(
        f"Chomsky-hierarchy tasks: trained on 1..L, tested on 41..500 (mean of {seeds} seed(s))", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- the command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=["all"],
        metavar="TASK",
        help=f"the suite's tasks to run, or all (default): {' '.join(TASK_NAMES)}",
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        default=["actformer"],
        choices=AGENTS,
        help="agents to run (default: actformer)",
    )
    parser.add_argument(
        "--seeds", type=positive(int), default=None, help=f"seeds 0..N-1 (default {DEFAULTS['seeds']})"
    )
    parser.add_argument(
        "--problems",
        type=positive(int),
        default=None,
        help=f"problems per test length (default {DEFAULTS['problems']})",
    )
    parser.add_argument(
        "--test-lengths",
        type=at_least(int, PAPER_TRAIN_LENGTH + 1),
        nargs="+",
        default=None,
        metavar="L",
        help="the paper's input lengths to test at (default: 41, 50, 60, ..., 500)",
    )
    parser.add_argument(
        "--transformer-steps",
        type=positive(int),
        default=None,
        help=f"the token Transformer's optimizer steps (batch 64; default {DEFAULTS['transformer_steps']:,})",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} ({QUICK})")
    parser.add_argument(
        "--update",
        action="store_true",
        help=f"keep the rows of other tasks, agents and seeds of the {RESULTS_NAME} already in the output "
        "folder, else of the committed one",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help=f"run nothing: take the rows of these runs' {RESULTS_NAME} files (e.g. of runs made in "
        "parallel), each row with its own run",
    )
    add_output_flags(parser, "chomsky")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    unknown = [t for t in args.tasks if t != "all" and t not in TASK_NAMES]
    if unknown:
        parser.error(f"--tasks: unknown {unknown}; choose from {list(TASK_NAMES)} or all")
    args.tasks = [task for task in TASK_NAMES if task in expand_all(args.tasks, list(TASK_NAMES))]
    fill_unset(args, QUICK if args.quick else DEFAULTS)
    if args.test_lengths is None:
        args.test_lengths = default_test_lengths()
    return args


def rerun_key(row: dict[str, Any]) -> tuple[str, str]:
    """What ``--update`` replaces: a new run of a task and agent replaces every kept row of them
    (every seed and training range: a range or seed no longer run is dropped, not kept stale)."""
    return row["task"], row["agent"]


def row_key(row: dict[str, Any]) -> tuple[str, str, int, int]:
    """What a row measures: a later ``--merge`` file's row replaces an earlier one of the same key."""
    return row["task"], row["agent"], row["train_length"], row["seed"]


def merged_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The rows each of several runs' results files measured itself (its ``--tasks`` and
    ``--agents``), each with its run; a later file's row replaces an earlier one of the same key."""

    def measured(document: dict[str, Any], row: dict[str, Any]) -> bool:
        settings = document["settings"]
        return row["task"] in settings["tasks"] and row["agent"] in settings["agents"]

    rows = {row_key(row): row for row in rows_of_runs(paths, measured)}
    return sorted(rows.values(), key=lambda row: (TASK_NAMES.index(row["task"]), row_key(row)[1:]))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(1)
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("chomsky", argv)
    revision = source_revision()
    kernel_env = machine_info(with_torch=False)["kernel_env"]
    missing = [str(path) for path in args.merge if not path.is_file()]
    if missing:
        print(f"--merge: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    folder = output_dir(args, "chomsky")
    machine = machine_info()
    context = with_pins_and_commit(torch_context_line(machine, command, date), machine, revision)

    def document_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "benchmark": "chomsky",
            "date": date,
            "command": command,
            "revision": revision,
            "settings": {
                "tasks": args.tasks,
                "agents": args.agents,
                "seeds": args.seeds,
                "problems": args.problems,
                "test_lengths": args.test_lengths,
                "transformer_steps": args.transformer_steps,
                "observation": OBSERVATION,
                "exact": EXACT,
                "quick": args.quick,
            },
            "tasks": [entry.__dict__ for entry in CHOMSKY_TASKS],
            "machine": machine,
            "rows": rows,
            "total_seconds": round(time.perf_counter() - started, 1),
            "markdown": markdown(rows, context),
            "published_markdown": published_markdown(rows),
        }

    rows = merged_rows(args.merge)
    for task in [] if args.merge else args.tasks:
        for agent in args.agents:
            quick = args.quick and agent != RL_AGENT  # (its training lengths are its recipe's)
            lengths = [QUICK_TRAIN_LENGTH] if quick else train_lengths_of(task, agent)
            if not lengths:
                print(f"{task} {agent}: not run ({not_run_because(task, agent)})", file=sys.stderr)
            for train_length in lengths:
                for seed in range(args.seeds):
                    row = run_seed(task, agent, train_length, seed, args)
                    row["run"] = {
                        "date": date,
                        "command": command,
                        "revision": revision,
                        "kernel_env": kernel_env,
                    }
                    print(
                        f"{task} {agent} 1..{train_length} seed {seed}: score {100 * row['score']:.1f}, "
                        f"exact everywhere {row['exact_everywhere']} ({row['seconds']} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                    rows.append(row)
                    if (
                        not args.update
                    ):  # (--update reads the folder's file at the end: not overwritten before)
                        so_far = {
                            **document_of(rows),
                            "partial": f"{len(rows)} rows so far",
                        }  # kept if stopped
                        write_results(
                            folder, RESULTS_NAME, so_far, args.quick, markdown_file=True, quiet=True
                        )
    rows = merge_rows(rows, folder, RESULTS_NAME, list(TASK_NAMES), args.update, measures=rerun_key)
    document = document_of(rows)
    draw_chart(rows, folder / "chomsky.png")
    write_results(folder, RESULTS_NAME, document, smoke=args.quick, markdown_file=True, also=["chomsky.png"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
