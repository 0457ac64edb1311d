"""What the benchmark scripts share: run bookkeeping (machine, date, command, results files), argparse
helpers, and the tasks' training plans (the train suite's, which the generalization grid reuses).

The scripts are modules of the ``benchmarks`` package and import this one as ``benchmarks.common``;
run them from the repository root as modules::

    python -m benchmarks.throughput --quick

This module imports no torch (the env throughput benchmark runs without it); ``machine_info``
imports it only when asked for its figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import actformer_envs

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Environment variables that pin PyTorch's and MKL's kernel paths (recorded with every result).
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "OMP_NUM_THREADS")
#: Where each benchmark writes its results by default (committed; read by the README and tests).
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


# -- run bookkeeping -------------------------------------------------------------------------------


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), else ``platform.processor()`` or None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info(with_torch: bool = True) -> dict[str, Any]:
    """Platform, library versions and CPU, for reading the numbers in context; with ``with_torch``
    also PyTorch's version, its thread count and the GPU (``cuda``: its name, or None)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "actformer_envs": actformer_envs.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        # The pinned kernel paths (None: not pinned), without which float results may differ by CPU.
        "kernel_env": {name: os.environ.get(name) for name in KERNEL_ENV},
    }
    if with_torch:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def context_line(machine: dict[str, Any], command: str, date: str) -> str:
    """One Markdown line saying where (CPU, library versions), when and how an env benchmark ran."""
    return (
        f"_{machine['cpu_model'] or 'unknown CPU'}, {machine['cpu_count']} CPUs; Python {machine['python']}, "
        f"NumPy {machine['numpy']}, Gymnasium {machine['gymnasium']}; {date}; `{command}`_"
    )


def torch_context_line(machine: dict[str, Any], command: str, date: str) -> str:
    """One Markdown line saying where (CPU, torch threads), when and how a torch benchmark ran."""
    return (
        f"_{machine['cpu_model'] or 'unknown CPU'}, {machine['cpu_count']} CPUs, "
        f"{machine['torch_threads']} torch thread(s); PyTorch {machine['torch']}; {date}; `{command}`_"
    )


def run_stamp(module: str, argv: Sequence[str]) -> tuple[str, str]:
    """(date, command) of a run of ``benchmarks.<module>``, for its results document."""
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return date, shlex.join(["python", "-m", f"benchmarks.{module}", *argv])


def write_results(path: Path, document: dict[str, Any], markdown_file: bool = False) -> None:
    """Write a benchmark's results document as JSON and print its Markdown table (also written
    beside the JSON as ``.md`` with ``markdown_file``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if markdown_file:
        path.with_suffix(".md").write_text(document["markdown"] + "\n", encoding="utf-8")
    print(document["markdown"])


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: ``kind(value)``, which must be > 0."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {value!r}") from None
        if not number > 0:  # also rejects NaN
            raise argparse.ArgumentTypeError(f"must be > 0, got {value!r}")
        return number

    return parse


# -- the tasks' training plans ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one task is trained on and evaluated at: the recipe it declares (``Task.recipe``), its
    settings as the training config's fields."""

    task: str
    train_length: int
    eval_lengths: tuple[int, ...]
    episodes: int  # problems per evaluated length
    settings: tuple[tuple[str, Any], ...] = ()  # config fields that differ from the defaults

    @classmethod
    def from_recipe(cls, task: str, recipe: actformer_envs.Recipe) -> Plan:
        """``task``'s plan from its recipe (its ``expert_pairs`` is the config's ``imitation_pairs``)."""
        fields = (("imitation_pairs", recipe.expert_pairs), ("history_length", recipe.history_length))
        settings = tuple((name, value) for name, value in fields if value is not None)
        return cls(task, recipe.train_length, recipe.eval_lengths, recipe.eval_episodes, settings)


#: Every single task's plan, in the order of their ids, from the recipe each declares (see
#: ``actformer_envs.Recipe`` for the lengths and for why some tasks get more expert data).
PLANS = tuple(
    Plan.from_recipe(name, cls.recipe)
    for name, cls in actformer_envs.tasks.SINGLE_TASKS.items()
    if cls.recipe is not None
)
#: PPO env-steps per task after the warm start (the train suite's ``--total-steps`` default, and
#: the generalization grid's full budget).
DEFAULT_TOTAL_STEPS = 65_536


def plan_settings(plan: Plan, total_steps: int, seed: int, **overrides: Any) -> dict[str, Any]:
    """The ``TrainConfig.from_flat`` fields that train ``plan.task``: the plan's settings, then ``overrides``,
    on top of the task, seed, training length, budget and evaluation lengths."""
    return {
        "task": plan.task,
        "seed": seed,
        "max_length": plan.train_length,
        "total_steps": total_steps,
        "eval_lengths": plan.eval_lengths,
        **dict(plan.settings),
        **overrides,
    }
