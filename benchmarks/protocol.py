"""Score any agent on the suite's length-generalization protocol, exactly as the project's own agents
are scored, into the same JSON, Markdown table, CSV files and chart.

The protocol (``benchmarks/generalization.py``'s): each task has a training length (Addition and
Multiplication 3 digits, the sequence tasks 5 symbols: ``train_lengths`` in the output); train
your agent on problems up to it, as you like (the output records the supervision you state in
``--training``). The protocol then asks for exact answers at 1x, 2x, 5x, 10x, 20x, 50x and 100x
that length (``--multipliers``), on ``--episodes`` problems per seed and length: for seed ``s`` the
native vector env's problems of env seeds 1,000,000 + 1000 s + i, the same problems every agent
of the grid gets. Long-episode tasks are capped as for the grid's learned agents (the skipped
cells say so). The score is the fraction of problems whose answer is exactly right.

An agent is made per task and seed by a factory ``make(task: str, seed: int)`` that returns
either a callable ``policy(observation, action_mask) -> actions`` or an object with ``act(observation,
action_mask)`` (``actformer_gym.agents.baselines.Agent``). By default it is called on the batch of
every env's observation (a dict of arrays with a leading env axis, masks ``(n, 139)`` bool, True =
allowed) and returns one action per env; with ``batched=False`` (``--unbatched``) on one env's
observation at a time, returning one int. Whatever it returns is the action: take the greedy one
for the protocol's numbers.

    python -m benchmarks.protocol --agent benchmarks.protocol:expert --name expert-again --seeds 1
    python -m benchmarks.protocol --agent examples.sb3_protocol:make_agent --name "SB3 PPO (mine)" \\
        --tasks Copy --training "RL from scratch, 200k env-steps"

Python: ``score(make, "my agent", tasks=("Copy",), seeds=1)`` returns the results document (and
``write_outputs(document, folder)`` writes it). Outputs go to a fresh
``benchmarks/runs/protocol-<UTC time>/`` (``--out DIR``: there).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from actformer_envs.tasks.registry import env_id
from actformer_gym.agents.baselines import Agent, ExpertAgent
from benchmarks.common import expand_all, fresh_run_dir, positive
from benchmarks.generalization import (
    AGENTS,
    DEFAULT_TASKS,
    MULTIPLIERS,
    PLANS_BY_TASK,
    Cell,
    Settings,
    add_grid_tasks_flag,
    evaluate_cell,
    results_document,
    solved_by,
    write_outputs,
)

#: A protocol agent: made per (task, seed); a callable (observation, mask) -> action(s), or an ``Agent``.
AgentMaker = Callable[[str, int], Any]


class CallableAgent:
    """A policy callable (or an ``Agent``) as the batched ``Agent`` the evaluation runs: batched
    policies get the whole batch, unbatched ones each env's observation and mask in turn."""

    def __init__(self, policy: Any, batched: bool = True) -> None:
        act = getattr(policy, "act", policy)
        if not callable(act):
            raise TypeError(f"an agent must be callable or have an act method, got {type(policy).__name__}")
        self.act_fn, self.batched = act, batched

    def act(self, observation: dict[str, np.ndarray], action_mask: np.ndarray | None = None) -> np.ndarray:
        """One action per env, (n,) int64."""
        if self.batched:
            return np.asarray(self.act_fn(observation, action_mask), dtype=np.int64).reshape(-1)
        count = len(observation["last_action"])
        return np.array(
            [
                int(
                    self.act_fn(
                        {key: value[i] for key, value in observation.items()},
                        None if action_mask is None else action_mask[i],
                    )
                )
                for i in range(count)
            ],
            dtype=np.int64,
        )


def expert(task: str, seed: int) -> Agent:
    """The task's expert as a protocol agent (the upper bound; and an example of a factory)."""
    return ExpertAgent(gym.make(env_id(task)).unwrapped.task)  # type: ignore[attr-defined]


def score(
    make: AgentMaker,
    name: str,
    tasks: Sequence[str] = DEFAULT_TASKS,
    seeds: int = 3,
    episodes: int = 100,
    multipliers: Sequence[int] = MULTIPLIERS,
    batched: bool = True,
    training: str = "not stated",
    env_kwargs: dict[str, Any] | None = None,
    argv: Sequence[str] = (),
    log: bool = True,
) -> dict[str, Any]:
    """The protocol's results document for the agent ``make`` builds per (task, seed), labelled
    ``name``: the grid's own format (``rows`` per seed, ``aggregated`` over seeds with 95% Wilson
    intervals, ``markdown``). A (task, seed) whose agent fails to build or act is recorded as failed
    (``failed``: its traceback), as the grid records its cells. ``env_kwargs``: the env settings your
    agent acts under (e.g. ``{"mask_mode": "valid"}``), the same for every agent otherwise."""
    if not isinstance(name, str) or not name or name in AGENTS:
        raise ValueError(
            f"name must be a non-empty string other than the grid's own {sorted(AGENTS)}, got {name!r}"
        )
    unknown = [task for task in tasks if task not in PLANS_BY_TASK]
    if unknown:
        raise ValueError(f"tasks must be from {sorted(PLANS_BY_TASK)}, got {unknown}")
    settings = Settings(multipliers=tuple(sorted(set(multipliers))), episodes=episodes)
    extra = dict(env_kwargs or {})
    started = time.perf_counter()
    results = []
    for seed in range(seeds):
        for task in tasks:
            began = time.perf_counter()
            result: dict[str, Any] = {"task": task, "agents": [name], "seed": seed}
            try:
                agent = CallableAgent(make(task, seed), batched)
                scorers = {
                    name: lambda length, count, evaluation_seed, task=task, agent=agent: solved_by(
                        agent, task, length, count, evaluation_seed, **extra
                    )
                }
                result.update(rows=evaluate_cell(Cell(task, (name,), seed), scorers, settings), status="ok")
            except Exception:  # the grid's rule: recorded, and the exit status says so
                result.update(status="failed", error=traceback.format_exc(limit=8), rows=[])
            result["seconds"] = time.perf_counter() - began
            results.append(result)
            if log:
                print(f"{task} seed {seed}: {result['status']} ({result['seconds']:.1f} s)", file=sys.stderr)
    args = argparse.Namespace(tasks=list(tasks), agents=[name], seeds=seeds, quick=False)
    stated = {"agent": {"name": name, "training": training, "batched": batched, "env_kwargs": extra}}
    return results_document(
        args, argv, settings, results, time.perf_counter() - started, training=stated, script="protocol"
    )


def load_maker(spec: str) -> AgentMaker:
    """``module:attribute`` (e.g. ``examples.sb3_protocol:make_agent``) imported; ``ValueError`` saying
    what is wrong."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--agent must be MODULE:FACTORY, e.g. benchmarks.protocol:expert; got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--agent: cannot import {module_name!r}: {error}") from None
    maker = getattr(module, attribute, None)
    if not callable(maker):
        raise ValueError(f"--agent: {module_name} has no callable {attribute!r}")
    return maker


def add_multipliers_flag(parser: argparse.ArgumentParser) -> None:
    """``--multipliers M ...``: the lengths to score, as multipliers of the training length (each
    >= 1; default ``MULTIPLIERS``), for this command and for scripts that call ``score``."""
    parser.add_argument(
        "--multipliers",
        type=positive(int),
        nargs="+",
        default=list(MULTIPLIERS),
        metavar="M",
        help=f"multipliers of the training length (default {' '.join(map(str, MULTIPLIERS))})",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--agent", required=True, help="MODULE:FACTORY, the factory make(task, seed) -> agent"
    )
    parser.add_argument("--name", required=True, help="the agent's name in the table and chart")
    add_grid_tasks_flag(parser)
    parser.add_argument("--seeds", type=positive(int), default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument(
        "--episodes", type=positive(int), default=100, help="problems per seed and length (default 100)"
    )
    add_multipliers_flag(parser)
    parser.add_argument(
        "--unbatched", action="store_true", help="call the agent on one env's observation at a time"
    )
    parser.add_argument("--training", default="not stated", help="how the agent was trained (recorded)")
    parser.add_argument(
        "--env-kwargs", default="{}", help='env settings as JSON, e.g. \'{"mask_mode": "valid"}\''
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: a fresh benchmarks/runs/protocol-<UTC time>/)",
    )
    parser.add_argument("--no-chart", dest="chart", action="store_false", help="do not draw the PNG")
    args = parser.parse_args(argv)
    args.tasks = expand_all(args.tasks, list(PLANS_BY_TASK))
    try:
        args.env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError:
        parser.error(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    if not isinstance(args.env_kwargs, dict):
        parser.error(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    if args.name in AGENTS or not args.name.strip():
        parser.error(
            f"--name must be a name other than the grid's own ({' '.join(AGENTS)}), got {args.name!r}"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Score the agent, print the table, write the outputs; exit status 1 if a (task, seed) failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        maker = load_maker(args.agent)
    except ValueError as error:
        print(f"protocol: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    document = score(
        maker,
        args.name,
        tasks=args.tasks,
        seeds=args.seeds,
        episodes=args.episodes,
        multipliers=args.multipliers,
        batched=not args.unbatched,
        training=args.training,
        env_kwargs=args.env_kwargs,
        argv=argv,
    )
    folder = args.out if args.out is not None else fresh_run_dir("protocol")
    folder.mkdir(parents=True, exist_ok=True)
    write_outputs(document, folder, smoke=False, chart=args.chart)
    for failure in document["failed"]:
        print(f"failed: {failure['task']} seed {failure['seed']}:\n{failure['error']}", file=sys.stderr)
    return 1 if document["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
