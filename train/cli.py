"""The ``actformer`` command: train an agent, evaluate a checkpoint, trace it on your own problem.

    actformer train --task Addition --algo ppo [--config FILE.yaml] [--resume RUN_DIR] [--FIELD VALUE ...]
    actformer eval --checkpoint RUN_DIR --lengths 3,30,300,1000 [--episodes N]
    actformer trace --checkpoint RUN_DIR --problem "123+456"

``actformer COMMAND --help`` lists every option (config fields with their docstrings, by ``tyro``).
A bad value, config file or path is a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import io
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import gymnasium as gym
import numpy as np
import tyro
import yaml
from tqdm.auto import tqdm

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import ActformerVectorEnv
from actformer_envs.digits import number_from_text
from actformer_envs.env import as_info_value
from actformer_envs.instructions import NUM_MEMORY, NUM_POINTERS, NUM_REGISTERS, instruction_name
from actformer_envs.rollout import Rollout, Step
from actformer_envs.symbols import SYMBOL_CHARS
from actformer_envs.tasks import TASKS, Task, task_id
from agents.actformer import ActformerPolicy
from train.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT_VERSION,
    check_env_signature,
    env_signature,
    load_checkpoint,
    save_checkpoint,
)
from train.config import A2CConfig, PPOConfig, RunConfig
from train.divergence import TrainingDiverged
from train.evaluate import format_table, generalization_table
from train.run_dir import RunDirBusy, lock_run_dir, rewind_tensorboard, tensorboard_offsets

#: Config class of each ``--algo``.
ALGOS: dict[str, type[RunConfig]] = {"ppo": PPOConfig, "a2c": A2CConfig}
#: Config fields that ``--resume`` may change (they do not alter the trajectory of training).
RESUME_OVERRIDABLE = ("total_steps", "device", "eval_lengths", "eval_episodes")
#: ``Trainer.evaluate`` seeds its problems with ``config.seed`` plus this; ``actformer eval`` too, by
#: default, so that it reproduces a run's final table.
EVAL_SEED_OFFSET = 30_000
#: Files written in a run directory besides the checkpoint.
CONFIG_NAME, EVAL_NAME = "config.yaml", "eval.json"
#: Tasks whose problem text is "a<op>b", with the operators each accepts.
NUMBER_PAIR_FORMATS = {
    "Addition": ("+",),
    "Subtraction": ("-",),
    "Multiplication": ("*", "x"),
    "Compare": ("<>", "?"),
}
#: Tasks whose problem text is a string of symbols ("31415").
SEQUENCE_TASKS = ("Copy", "Reverse", "DuplicatedInput", "Sort", "Parity")


class UsageError(Exception):
    """A bad value, file or path given by the user: reported in one line, exit status 2."""


def parse_args(command: Any, argv: Sequence[str], prog: str, **kwargs: Any) -> Any:
    """``tyro.cli(command)`` on ``argv``; its parse errors (a framed, multi-line message) become one
    ``UsageError`` line. ``--help`` prints as tyro prints it."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), warnings.catch_warnings():
            # (a config file's value of the wrong type is reported by the config's own check)
            warnings.simplefilter("ignore", UserWarning)
            return tyro.cli(command, args=list(argv), prog=prog, **kwargs)
    except SystemExit as exit:
        if exit.code in (0, None):
            raise
        raise UsageError(f"{_one_line(captured.getvalue())} (see {prog} --help)") from None


def _one_line(framed: str) -> str:
    """tyro's framed error as one line: its title and sections, without the help text it repeats."""
    sections: list[list[str]] = [[]]
    for line in framed.splitlines():
        text = line.strip().strip("│").strip()
        if text.startswith(("╭", "╰")) or set(text) <= set("─ "):  # frame or separator: a new section
            title = text.strip("─╭╮╰╯ ")
            sections.append([f"{title}:"] if title else [])
        else:
            sections[-1].append(text)
    kept = [" ".join(" ".join(words).split()) for words in sections if words]
    kept = [text for text in kept if text and not text.startswith(("Argument helptext", "For full helptext"))]
    return "; ".join(kept).replace(":;", ":") or "bad arguments"


# ----------------------------------------------------------------------------------------- train


@dataclass
class TrainOptions:
    """How to run (the config fields below say what to train)."""

    algo: Literal["ppo", "a2c"] = "ppo"
    """Algorithm: ppo or a2c."""
    config: Path | None = None
    """YAML or JSON file of config fields; flags given on the command line override it."""
    resume: Path | None = None
    """Continue a run exactly: its run directory or checkpoint file (its config is used)."""
    runs_dir: Path = Path("runs")
    """Where run directories {task}__{algo}__{seed}__{time} are made."""
    checkpoint_every: int = 10
    """Iterations between checkpoints (one is also written after the warm start and at the end)."""
    progress: bool = True
    """Show tqdm progress bars."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice; 1 is often fastest for this small policy)."""


def train_main(argv: Sequence[str]) -> int:
    """``actformer train``: warm start, RL iterations with TensorBoard logs and checkpoints, then the
    exact-match table."""
    options, config, resumed = _parse_train(argv)
    set_threads(options.threads)
    from train.trainer import Trainer  # imported here: eval and trace do not need it

    try:
        trainer = Trainer(config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if resumed is not None:
        run_dir, payload = resumed
    else:
        run_dir, payload = _new_run_dir(options.runs_dir, config, options.algo), None
    try:
        lock = lock_run_dir(run_dir)
    except RunDirBusy as error:
        raise UsageError(str(error)) from None
    try:
        return _run(trainer, run_dir, payload, options)
    finally:
        lock.close()


def _run(trainer: Any, run_dir: Path, payload: Mapping[str, Any] | None, options: TrainOptions) -> int:
    """Train in ``run_dir`` (from ``payload``'s checkpoint, if any), then evaluate; the exit status."""
    from torch.utils.tensorboard import SummaryWriter

    config = trainer.config
    if payload is not None:
        resume(trainer, payload, run_dir)
        print(f"resuming {run_dir} at step {trainer.global_step}", file=sys.stderr)
    else:
        print(f"run directory: {run_dir}", file=sys.stderr)
    # On resume too: it may extend total_steps or change the evaluation.
    (run_dir / CONFIG_NAME).write_text(yaml.safe_dump(config_dict(config), sort_keys=False))
    checkpoint = run_dir / CHECKPOINT_NAME
    writer = SummaryWriter(str(run_dir))
    try:
        if payload is None:
            log_metrics(writer, trainer.warm_start(), trainer.global_step)
            save_run(checkpoint, trainer, options.algo, writer)
        _train_loop(trainer, writer, checkpoint, options)
        rows = final_evaluation(trainer, options.progress)
        for row in rows:
            writer.add_scalar(f"eval/exact_match_{row['length']}", row["exact_match"], trainer.global_step)
    except FloatingPointError as error:  # TrainingDiverged, or a checkpoint refusing a non-finite policy
        if not isinstance(error, TrainingDiverged):
            error = TrainingDiverged(f"step {trainer.global_step}", " ".join(str(error).split()))
        last = f"last good checkpoint: {checkpoint}" if checkpoint.exists() else "no checkpoint"
        print(f"actformer train: error: {error}; {last}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = (
            f"continue with: actformer train --resume {run_dir}"
            if checkpoint.exists()
            else "no checkpoint yet"
        )
        print(f"\ninterrupted; {hint}", file=sys.stderr)
        return 130
    finally:
        writer.close()
    report = {"task": config.task, "algo": options.algo, "global_step": trainer.global_step, "rows": rows}
    (run_dir / EVAL_NAME).write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(rows))
    return 0


def resume(trainer: Any, payload: Mapping[str, Any], run_dir: Path) -> None:
    """Put ``trainer`` where the checkpoint ``payload`` left it, and cut the run's TensorBoard logs
    back to that point (the interrupted run may have logged past it)."""
    if not payload["trainer"]:
        raise UsageError(
            f"the checkpoint in {run_dir} holds a policy only (no trainer state): eval it, or train anew"
        )
    try:
        check_env_signature(payload, trainer.config.env_id, trainer.env.single_observation_space)
        trainer.load_state_dict({**payload["trainer"], "policy": payload["policy"]})
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        detail = " ".join(str(error).split())[:300]
        raise UsageError(f"cannot resume from {run_dir}: {detail}") from None
    rewind_tensorboard(run_dir, payload.get("run", {}).get("tensorboard", {}))


def _train_loop(trainer: Any, writer: Any, checkpoint: Path, options: TrainOptions) -> None:
    """RL iterations until ``trainer.done()``: log each, checkpoint every ``checkpoint_every``."""
    config = trainer.config
    bar = tqdm(
        total=config.total_steps,
        initial=min(trainer.global_step, config.total_steps),
        unit="step",
        desc="train",
        disable=not options.progress,
        dynamic_ncols=True,
    )
    iterations = 0
    try:
        while not trainer.done():
            before = trainer.global_step
            metrics = trainer.iterate()
            log_metrics(writer, metrics, trainer.global_step)
            bar.update(trainer.global_step - before)
            bar.set_postfix(
                success=f"{metrics.get('charts/success_rate', math.nan):.3f}",
                length=metrics.get("charts/curriculum_length", ""),
                refresh=False,
            )
            iterations += 1
            if iterations % options.checkpoint_every == 0 or trainer.done():
                save_run(checkpoint, trainer, options.algo, writer)
    finally:
        bar.close()


def _parse_train(argv: Sequence[str]) -> tuple[TrainOptions, RunConfig, tuple[Path, dict] | None]:
    """(options, validated config, (run dir, checkpoint payload) when resuming)."""
    # --algo, --config and --resume decide the config class and its defaults, so read them first.
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--algo", default=None)
    early.add_argument("--config", type=Path, default=None)
    early.add_argument("--resume", type=Path, default=None)
    known, _ = early.parse_known_args(argv)
    algo, payload, run_dir = known.algo, None, None
    if known.resume is not None:
        if known.config is not None:
            raise UsageError("--resume continues a run with its own config; do not give --config too")
        payload, run_dir = _load_for_resume(known.resume)
        if algo is not None and algo != payload["algo"]:
            raise UsageError(f"--algo {algo} differs from the resumed run's algo {payload['algo']}")
        algo = payload["algo"]
        values = dict(payload["config"])
    else:
        values = read_config_file(known.config, ALGOS.get(algo or "ppo", PPOConfig)) if known.config else {}
    algo = algo or "ppo"
    if algo not in ALGOS:
        raise UsageError(f"--algo must be one of {sorted(ALGOS)}, got {algo!r}")
    config_class = ALGOS[algo]
    unchecked = _unchecked(config_class)
    command = dataclasses.make_dataclass(
        "TrainCommand",
        [
            ("run", Annotated[TrainOptions, tyro.conf.OmitArgPrefixes]),
            ("config", Annotated[unchecked, tyro.conf.OmitArgPrefixes]),
        ],
    )
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    default = command(TrainOptions(algo=algo), unchecked(**values))
    parsed = parse_args(command, argv, default=default, prog="actformer train", description=_TRAIN_HELP)
    options = parsed.run
    if options.checkpoint_every < 1:
        raise UsageError(f"--checkpoint-every must be >= 1, got {options.checkpoint_every}")
    config = make_config(config_class, dataclasses.asdict(parsed.config))
    if payload is None:
        return options, config, None
    saved = make_config(config_class, payload["config"])
    changed = [
        f.name
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(saved, f.name) and f.name not in RESUME_OVERRIDABLE
    ]
    if changed:
        raise UsageError(
            f"--resume continues the saved run: cannot change {changed} (allowed: {list(RESUME_OVERRIDABLE)})"
        )
    return options, config, (run_dir, payload)


_TRAIN_HELP = (
    "Train an Actformer agent: warm start (behaviour cloning + DAgger), then PPO or A2C with a "
    "length curriculum. Logs to TensorBoard, checkpoints in the run directory, and prints the "
    "exact-match table at the end."
)


def _load_for_resume(path: Path) -> tuple[dict, Path]:
    payload = _load(path)
    run_dir = path if path.is_dir() else path.parent
    return payload, run_dir


def _unchecked(config_class: type[RunConfig]) -> type:
    """``config_class`` without validation, for tyro to fill in: the real class is then built from
    its fields, so that a bad value is one clear line rather than a parse failure."""
    namespace = {"__post_init__": lambda self: None, "__doc__": config_class.__doc__}
    namespace["__module__"] = config_class.__module__
    return dataclass(type(config_class.__name__, (config_class,), namespace))


def _new_run_dir(runs_dir: Path, config: RunConfig, algo: str) -> Path:
    """A fresh ``runs_dir/{task}__{algo}__{seed}__{time}`` (with a suffix if that exists)."""
    name = f"{config.task}__{algo}__{config.seed}__{int(time.time())}"
    candidate, suffix = runs_dir / name, 1
    while candidate.exists():
        suffix += 1
        candidate = runs_dir / f"{name}_{suffix}"
    try:
        candidate.mkdir(parents=True)
    except OSError as error:
        raise UsageError(f"cannot create run directory {candidate}: {error.strerror}") from None
    return candidate


def read_config_file(path: Path, config_class: type[RunConfig] = PPOConfig) -> dict[str, Any]:
    """The config fields of a YAML (.yaml, .yml) or JSON (.json) file, as a dict; ``UsageError``
    for a missing or malformed file or a key that is not a field of ``config_class``."""
    if not path.is_file():
        raise UsageError(f"config file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise UsageError(f"config file must be .yaml, .yml or .json, got {path}")
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        detail = " ".join(str(error).split())
        raise UsageError(f"cannot read config file {path}: {detail}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise UsageError(
            f"config file {path} must hold a mapping of config fields, got {type(values).__name__}"
        )
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(str(key) for key in values if key not in names)
    if unknown:
        raise UsageError(
            f"unknown config key(s) {unknown} in {path}; they must be fields of {config_class.__name__} "
            "(see actformer train --help)"
        )
    return values


def make_config(config_class: type[RunConfig], values: Mapping[str, Any]) -> RunConfig:
    """``config_class(**values)``, with a validation error as ``UsageError``."""
    try:
        return config_class(**values)
    except (TypeError, ValueError) as error:
        raise UsageError(f"bad config: {error}") from None


def config_dict(config: RunConfig) -> dict[str, Any]:
    """The config as plain YAML/JSON types (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def save_run(path: Path, trainer: Any, algo: str, writer: Any | None = None) -> None:
    """Checkpoint ``trainer`` at ``path``, with how far the TensorBoard logs of ``writer`` reach
    (flushed first); a non-finite policy is a ``FloatingPointError`` (the run diverged) and leaves
    the previous checkpoint in place."""
    offsets = {}
    if writer is not None:
        writer.flush()
        offsets = tensorboard_offsets(path.parent)
    try:
        save_checkpoint(path, checkpoint_payload(trainer, algo, {"tensorboard": offsets}))
    except ValueError as error:
        raise FloatingPointError(str(error)) from None


def checkpoint_payload(trainer: Any, algo: str, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What ``save_checkpoint`` writes for ``trainer`` (its policy once, beside the rest of its state)."""
    state = trainer.state_dict()
    return {
        "format_version": FORMAT_VERSION,
        "algo": algo,
        "config": config_dict(trainer.config),
        "env": env_signature(trainer.config.env_id, trainer.env.single_observation_space),
        "policy": state.pop("policy"),
        "trainer": state,
        "run": dict(run or {}),
    }


def log_metrics(writer: Any, metrics: Mapping[str, Any], step: int) -> None:
    """Every numeric metric under its own key at ``step``; a sequence of numbers (e.g. a loss per
    epoch) as a curve over its index."""
    for key, value in metrics.items():
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            writer.add_scalar(key, float(value), step)
        elif isinstance(value, (list, tuple, np.ndarray)):
            for index, item in enumerate(np.asarray(value, dtype=float).reshape(-1)):
                writer.add_scalar(key, float(item), index)


def final_evaluation(trainer: Any, progress: bool = True) -> list[dict[str, Any]]:
    """``Trainer.evaluate`` at each of the config's ``eval_lengths`` (one length at a time, for the
    progress bar), as ``format_table`` rows."""
    config = trainer.config
    success: dict[int, float] = {}
    for length in tqdm(
        config.eval_lengths, desc="eval", unit="length", disable=not progress, dynamic_ncols=True
    ):
        success.update(trainer.evaluate((length,), config.eval_episodes))
    return evaluation_rows(success, config.eval_episodes)


def evaluation_rows(success: Mapping[int, float], episodes: int) -> list[dict[str, Any]]:
    """``Trainer.evaluate``'s {length: exact match} as ``format_table`` rows."""
    return [{"length": int(n), "episodes": episodes, "exact_match": float(v)} for n, v in success.items()]


# ------------------------------------------------------------------------------------------ eval


@dataclass
class EvalArgs:
    """Greedy exact match of a saved policy at each problem length."""

    checkpoint: Path
    """Checkpoint file, or a run directory holding checkpoint.pt."""
    lengths: str | None = None
    """Comma-separated problem lengths, e.g. 3,30,300,1000 (default: the run's eval_lengths)."""
    episodes: int | None = None
    """Episodes per length (default: the run's eval_episodes)."""
    seed: int | None = None
    """Seed of the evaluation problems (default: the one of the run's final evaluation)."""
    num_envs: int | None = None
    """Environments stepped together (default: the run's num_envs, as in its final evaluation)."""
    device: str = "auto"
    """Torch device of the policy: auto, cpu, cuda, ..."""
    json: Path | None = None
    """Also write the table as JSON to this file."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice)."""


def eval_main(argv: Sequence[str]) -> int:
    """``actformer eval``: the exact-match table of a checkpoint's policy."""
    args = parse_args(EvalArgs, argv, prog="actformer eval")
    payload = _load(args.checkpoint)
    config = make_config(ALGOS[payload["algo"]], payload["config"])
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(config.eval_lengths)
    episodes = config.eval_episodes if args.episodes is None else args.episodes
    num_envs = config.num_envs if args.num_envs is None else args.num_envs
    seed = config.seed + EVAL_SEED_OFFSET if args.seed is None else args.seed
    for name, value in (("episodes", episodes), ("num-envs", num_envs)):
        if value < 1:
            raise UsageError(f"--{name} must be >= 1, got {value}")
    if seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    set_threads(args.threads)
    policy = load_policy(payload, config, args.device)
    rows = []
    for length in tqdm(lengths, desc="eval", unit="length", dynamic_ncols=True):
        rows += generalization_table(
            lambda env: policy,
            config.env_id,
            [length],
            episodes,
            seed,
            num_envs,
            **env_kwargs(config),
        )
    print(format_table(rows))
    if args.json is not None:
        report = {"checkpoint": str(args.checkpoint), "task": config.task, "rows": rows}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` unless None; ``UsageError`` if it is < 1."""
    if threads is None:
        return
    if threads < 1:
        raise UsageError(f"--threads must be >= 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


def parse_lengths(text: str) -> list[int]:
    """ "3,30,300" (commas or spaces) as ints >= 1; ``UsageError`` otherwise."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise UsageError(f"--lengths must be comma-separated ints >= 1 (e.g. 3,30,300), got {text!r}")
    return [int(part) for part in parts]


def env_kwargs(config: RunConfig) -> dict[str, Any]:
    """The env settings of the run that the policy's observations depend on."""
    return {
        "reward_mode": config.reward_mode,
        "obs_mode": config.obs_mode,
        "history_length": config.history_length,
    }


def load_policy(payload: Mapping[str, Any], config: RunConfig, device: str = "auto") -> ActformerPolicy:
    """The checkpoint's policy, built for the run's observation space, in eval mode; ``UsageError``
    if the env as installed is not the one it was trained on, or the device is not available."""
    env = gym.make(config.env_id, max_length=config.max_length, **env_kwargs(config))
    try:
        check_env_signature(payload, config.env_id, env.observation_space)
        policy = ActformerPolicy(
            env.observation_space, d_model=config.d_model, hidden=config.hidden, device=device
        )
    except (RuntimeError, ValueError) as error:
        raise UsageError(" ".join(str(error).split())) from None
    finally:
        env.close()
    try:
        policy.load_state_dict(payload["policy"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise UsageError(f"the checkpoint's policy does not match its config: {first}") from None
    return policy.eval()


def _load(path: Path) -> dict[str, Any]:
    """The checkpoint at ``path``; ``UsageError`` (one line) if it is missing, unreadable, corrupted,
    of another format, holds non-finite weights or names an algo this version does not know."""
    try:
        payload = load_checkpoint(path)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    if payload["algo"] not in ALGOS:
        raise UsageError(
            f"{path}: unknown algo {payload['algo']!r} in the checkpoint (known: {sorted(ALGOS)})"
        )
    return payload


# ----------------------------------------------------------------------------------------- trace


@dataclass
class TraceArgs:
    """The saved policy solving your problem, one line per step."""

    checkpoint: Path
    """Checkpoint file, or a run directory holding checkpoint.pt."""
    problem: str
    """The problem: a+b (Addition), a-b (Subtraction), a*b (Multiplication), a?b or a<>b (Compare),
    a digit string such as 31415 (Copy, Reverse, DuplicatedInput, Sort, Parity), or a Python
    literal in the env's problem format for the other tasks, e.g. "([3, 1], 2)" for RepeatCopy."""
    device: str = "auto"
    """Torch device of the policy: auto, cpu, cuda, ..."""
    sample: bool = False
    """Sample actions from the policy instead of taking the most likely one."""
    seed: int = 0
    """Seed of the sampling (with --sample)."""


def trace_main(argv: Sequence[str]) -> int:
    """``actformer trace``: step the policy on the user's problem, printing what each action did."""
    args = parse_args(TraceArgs, argv, prog="actformer trace")
    payload = _load(args.checkpoint)
    config = make_config(ALGOS[payload["algo"]], payload["config"])
    problem = parse_problem(config.task, args.problem)
    policy = load_policy(payload, config, args.device)
    if args.sample:
        import torch

        torch.manual_seed(args.seed)
    result = trace(policy, config, problem, greedy=not args.sample)
    print(result.start, *result.steps, result.end, sep="\n")
    info = result.info
    verdict = "right" if info.get("is_success") else "wrong"
    print(f"output: {_show(info.get('output'))}  expected: {_show(info.get('target'))}  ({verdict})")
    return 0


def parse_problem(task: str, text: str) -> Any:
    """The problem ``text`` in the env's problem format for ``task``; ``UsageError`` saying which
    format the task takes if it does not parse."""
    stripped = "".join(text.split())
    if task in NUMBER_PAIR_FORMATS:
        operators = NUMBER_PAIR_FORMATS[task]
        for operator in operators:
            a, found, b = stripped.partition(operator)
            if found and a.isdigit() and b.isdigit():
                return (number_from_text(a), number_from_text(b))  # (of any length, unlike int())
        shown = " or ".join(f"a{op}b" for op in operators)
        raise UsageError(f"{task} problems are written {shown} with non-negative integers a, b; got {text!r}")
    if task in SEQUENCE_TASKS:
        if stripped and all(char in SYMBOL_CHARS[:36] for char in stripped.lower()):
            return [SYMBOL_CHARS.index(char) for char in stripped.lower()]
        raise UsageError(f"{task} problems are a string of symbols such as 31415; got {text!r}")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise UsageError(
            f"{task} problems are given as a Python literal in the env's problem format "
            f"(see the {task} docstring's Starting State); got {text!r}"
        ) from None


@dataclass
class Trace:
    """An episode of the policy on one problem."""

    steps: list[str]
    """One line per step: the instruction and what it changed."""
    info: dict[str, Any]
    """The env's final info (is_success, output, target)."""
    start: str
    """The first frame (the problem as posed), as ``render_mode="ansi"`` draws it."""
    end: str
    """The last frame."""


def trace(policy: Any, config: RunConfig, problem: Any, greedy: bool = True) -> Trace:
    """``policy`` (anything with ``ActformerPolicy.act``) solving ``problem`` from start to end."""
    task = TASKS[config.task](TASKS[config.task].default_base)
    try:
        length = task.problem_length(problem)
    except (TypeError, ValueError) as error:
        raise UsageError(f"bad {config.task} problem: {error}") from None
    # obs_mode="full" shows the scratchpad and pointers to the trace; the policy gets its own keys.
    kwargs = {**env_kwargs(config), "obs_mode": "full"}
    size = max(config.max_length, length)
    env = ActformerVectorEnv(1, config.task, min_length=1, max_length=size, render_mode="ansi", **kwargs)
    keys = _policy_keys(config)
    try:
        try:
            rollout = Rollout(env, seed=0, options={"problem": problem}, episodes=1)
        except ValueError as error:
            raise UsageError(f"bad {config.task} problem: {error}") from None
        rows, start = _current_task(env, rollout.observation).rows, env.render()[0]
        lines: list[str] = []
        steps: list[Step] = []

        def act(observation: Mapping[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
            single = {key: observation[key][0] for key in keys}  # the policy acts on one env's observation
            return np.array([int(policy.act(single, mask[0], greedy=greedy))])

        def show(step: Step) -> None:
            steps.append(step)
            if step.infos["invalid_action"][0]:
                change = "(invalid: no-op)"
            else:
                change = describe_change(_first(step.observation), _first(step.next_observation), rows)
            lines.append(f"{len(steps):>4}  {instruction_name(int(step.actions[0])):<16} {change}".rstrip())

        rollout.run(act, show)
        if steps[-1].truncated[0]:
            lines.append("      (step limit reached)")
        return Trace(lines, _single_info(steps[-1].infos), start, env.render()[0])
    finally:
        env.close()


def _first(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Env 0's observation of a batched one."""
    return {key: value[0] for key, value in observation.items()}


def _current_task(env: ActformerVectorEnv, observation: Mapping[str, np.ndarray]) -> Task:
    """The task of env 0's episode: the env's own, or the member a MultiTask posed."""
    if not env.task.composite:
        return env.task
    (member,) = [m for m in env.task.members if task_id(m.name) == int(observation["task"][0])]
    return member


def _single_info(infos: Mapping[str, Any]) -> dict[str, Any]:
    """Env 0's entries of a vector env's infos at the end of its episode, as a single env's info."""
    return {
        "action_mask": np.array(infos["action_mask"][0]),
        "invalid_action": bool(infos["invalid_action"][0]),
        "is_success": bool(infos["is_success"][0]),
        "output": as_info_value(infos["output"][0]),
        "target": as_info_value(infos["target"][0]),
    }


def _policy_keys(config: RunConfig) -> list[str]:
    env = gym.make(config.env_id, max_length=config.max_length, **env_kwargs(config))
    keys = list(env.observation_space.spaces)
    env.close()
    return keys


def describe_change(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], rows: Sequence[str]
) -> str:
    """What one step changed, from two ``obs_mode="full"`` observations: cells written, pointers
    moved, registers, memory, carry and compare flag, e.g. ``OUT[0]=7  P2:0->1  C=1``."""
    changes = []
    written = np.argwhere(before["scratchpad"] != after["scratchpad"])
    for row, column in written:
        changes.append(f"{rows[row]}[{column}]={SYMBOL_CHARS[after['scratchpad'][row, column]]}")
    for p in range(NUM_POINTERS):
        old, new = int(before["pointers"][p]), int(after["pointers"][p])
        if old != new:
            changes.append(f"P{p}:{old}->{new}")
    names = [f"R{i}" for i in range(NUM_REGISTERS)], [f"M{i}" for i in range(NUM_MEMORY)], ["C", "CMP"]
    for key, labels in zip(("registers", "memory", "flags"), names, strict=True):
        for label, old, new in zip(labels, before[key], after[key], strict=True):
            if old != new:
                changes.append(f"{label}={int(new)}")
    return "  ".join(changes) if changes else "(no change)"


def _show(value: Any) -> str:
    if value is None:
        return "none (no well-formed answer)"
    if isinstance(value, list):
        return "".join(SYMBOL_CHARS[v] for v in value) if all(0 <= v < 36 for v in value) else str(value)
    return str(value)


# ------------------------------------------------------------------------------------------ main

COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "train": train_main,
    "eval": eval_main,
    "trace": trace_main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``actformer COMMAND ...``; the exit status (2 for a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"actformer: error: unknown command {command!r}; choose from {list(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except SystemExit as exit:  # tyro's --help (0) and its parse errors (2, already reported)
        return exit.code if isinstance(exit.code, int) else 2
    except UsageError as error:
        print(f"actformer {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
