"""Run management for ``actformer train`` and ``actformer eval``: run directories, config files,
TensorBoard logs, checkpoints, exact resume and the final evaluation.

Everything here reports a bad value, file or path as :class:`UsageError`, one line that the CLI
prints as is.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.config import check_size
from actformer_envs.tasks import TASKS
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.train.certify import CERTIFICATE_NAME, certify
from actformer_gym.train.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT_VERSION,
    check_env_signature,
    env_signature,
    load_checkpoint,
    save_checkpoint,
)
from actformer_gym.train.config import ALGOS, EnvSettings, RunSettings, TrainConfig
from actformer_gym.train.divergence import TrainingDiverged
from actformer_gym.train.evaluate import TABLE_HEADER, format_row, format_table, generalization_table
from actformer_gym.train.run_dir import RunDirBusy, lock_run_dir, rewind_tensorboard, tensorboard_offsets
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trainer import Trainer, build_policy

#: Files written in a run directory besides the checkpoint.
CONFIG_NAME, EVAL_NAME = "config.yaml", "eval.json"


class UsageError(Exception):
    """A bad value, file or path given by the user: reported in one line, exit status 2."""


@dataclass
class RunOptions:
    """How to run (the config fields below say what to train)."""

    config: Path | None = None
    """YAML or JSON file of config sections; flags given on the command line override it."""
    resume: Path | None = None
    """Continue a run exactly: its run directory or checkpoint file (its config is used)."""
    runs_dir: Path = Path("runs")
    """Where run directories {task}__{algo}__{seed}__{time} are made."""
    checkpoint_every: int = 10
    """Iterations between checkpoints (one is also written after the warm start and at the end)."""
    progress: bool = True
    """Show tqdm progress bars (warm start phases, RL, final evaluation) on stderr."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice; 1 is often fastest for this small policy)."""

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1:
            raise UsageError(f"--checkpoint-every must be >= 1, got {self.checkpoint_every}")
        if self.resume is not None and self.config is not None:
            raise UsageError("--resume continues a run with its own config; do not give --config too")


# -- config files and checkpoints --------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, Any]:
    """The sections a YAML (.yaml, .yml) or JSON (.json) config file holds (``config_from`` makes
    them a config); ``UsageError`` for a missing or malformed file, or one that is no mapping of
    sections, or a bad config in it."""
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
    values = values or {}
    config_from(values, f"config file {path}")  # (its errors now, the file named)
    return values


def config_from(values: Any, where: str, task: str | None = None) -> TrainConfig:
    """``TrainConfig.from_dict(values)`` over the defaults, or with ``task`` over that task's recipe
    (``TrainConfig.for_task``), with its errors as ``UsageError``."""
    try:
        base = TrainConfig.for_task(task) if task is not None else None
        return TrainConfig.from_dict(values, where, base)
    except (TypeError, ValueError) as error:
        raise UsageError(f"bad config: {error}") from None


def load(path: Path) -> dict[str, Any]:
    """The checkpoint at ``path`` (a file or a run directory); ``UsageError`` (one line) if it is
    missing, unreadable, corrupted, of another format, holds non-finite weights or names an algo
    this version does not know."""
    try:
        payload = load_checkpoint(path)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    if payload["algo"] not in ALGOS:
        raise UsageError(
            f"{path}: unknown algo {payload['algo']!r} in the checkpoint (known: {sorted(ALGOS)})"
        )
    return payload


def saved_config(payload: Mapping[str, Any]) -> TrainConfig:
    """The config a checkpoint was trained with."""
    return config_from(payload["config"], "the checkpoint's config")


def check_resumable(config: TrainConfig, saved: TrainConfig) -> None:
    """``UsageError`` naming what ``config`` changes of ``saved`` beyond ``RunSettings.resumable``."""
    changed = [
        f"{section.name}.{name}"
        for section in fields(TrainConfig)
        for name, value in vars(getattr(config, section.name)).items()
        if value != vars(getattr(saved, section.name)).get(name, object())
        and not (section.name == "run" and name in RunSettings.resumable)
    ]
    if type(config.algo) is not type(saved.algo):
        changed.insert(0, f"algo ({config.algo.name} instead of {saved.algo.name})")
    if changed:
        raise UsageError(
            f"--resume continues the saved run: cannot change {changed} "
            f"(allowed: {list(RunSettings.resumable)})"
        )


def load_policy(payload: Mapping[str, Any], config: TrainConfig, device: str = "auto") -> ActformerPolicy:
    """The checkpoint's policy, built for the run's observation space, in eval mode; ``UsageError``
    if the env as installed is not the one it was trained on, or the device is not available."""
    env = gym.make(config.env.env_id, max_length=config.env.length_cap, **config.env.observation_kwargs())
    try:
        check_env_signature(payload, config.env.env_id, env.observation_space)
        policy = build_policy(config, env.observation_space, env.unwrapped.mixture, device)  # type: ignore[attr-defined]
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


def checkpoint_payload(trainer: Trainer, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What ``save_checkpoint`` writes for ``trainer`` (its policy once, beside the rest of its state)."""
    state = trainer.state_dict()
    config = trainer.config
    return {
        "format_version": FORMAT_VERSION,
        "algo": config.algo.name,
        "config": config.to_dict(),
        "env": env_signature(config.env.env_id, trainer.env.single_observation_space),
        "policy": state.pop("policy"),
        "trainer": state,
        "run": dict(run or {}),
    }


def save_run(path: Path, trainer: Trainer, writer: SummaryWriter | None = None) -> None:
    """Checkpoint ``trainer`` at ``path``, with how far the TensorBoard logs of ``writer`` reach
    (flushed first); a non-finite policy is a ``FloatingPointError`` (the run diverged) and leaves
    the previous checkpoint in place."""
    offsets = {}
    if writer is not None:
        writer.flush()
        offsets = tensorboard_offsets(path.parent)
    try:
        save_checkpoint(path, checkpoint_payload(trainer, {"tensorboard": offsets}))
    except ValueError as error:
        raise FloatingPointError(str(error)) from None


# -- a training run ----------------------------------------------------------------------------


def new_run_dir(runs_dir: Path, config: TrainConfig) -> Path:
    """A fresh ``runs_dir/{task}__{algo}__{seed}__{time}`` (with a suffix if that exists)."""
    name = f"{config.env.task}__{config.algo.name}__{config.run.seed}__{int(time.time())}"
    candidate, suffix = runs_dir / name, 1
    while candidate.exists():
        suffix += 1
        candidate = runs_dir / f"{name}_{suffix}"
    try:
        candidate.mkdir(parents=True)
    except OSError as error:
        raise UsageError(f"cannot create run directory {candidate}: {error.strerror}") from None
    return candidate


def train_run(
    config: TrainConfig, options: RunOptions, resumed: tuple[Path, Mapping[str, Any]] | None = None
) -> int:
    """Train ``config`` in a new run directory (or continue ``resumed``: its directory and
    checkpoint), then evaluate; the exit status (0 done, 1 diverged, 130 interrupted)."""
    check_eval_lengths(config.env, config.run.eval_lengths, "--eval-lengths")  # not after training
    try:
        trainer = Trainer(config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    run_dir, payload = resumed if resumed is not None else (new_run_dir(options.runs_dir, config), None)
    try:
        lock = lock_run_dir(run_dir)
    except RunDirBusy as error:
        raise UsageError(str(error)) from None
    try:
        return _run(trainer, run_dir, payload, options)
    finally:
        lock.close()


def _run(trainer: Trainer, run_dir: Path, payload: Mapping[str, Any] | None, options: RunOptions) -> int:
    config = trainer.config
    if payload is not None:
        resume(trainer, payload, run_dir)
        print(f"resuming {run_dir} at step {trainer.global_step}", file=sys.stderr)
    else:
        print(f"run directory: {run_dir}", file=sys.stderr)
    # On resume too: it may extend total_steps or change the evaluation.
    (run_dir / CONFIG_NAME).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    checkpoint = run_dir / CHECKPOINT_NAME
    writer = SummaryWriter(str(run_dir))
    try:
        if payload is None:
            log_metrics(writer, trainer.warm_start(options.progress), trainer.global_step)
            save_run(checkpoint, trainer, writer)
        _train_loop(trainer, writer, checkpoint, options)
        rolled_back = keep_agreement(trainer, writer, checkpoint)
        rows = final_evaluation(trainer, options.progress)
        for row in rows:
            writer.add_scalar(f"eval/exact_match_{row['length']}", row["exact_match"], trainer.global_step)
        certificate = (
            certify_run(trainer, run_dir, checkpoint, options.progress) if config.run.certify else None
        )
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
    report = {
        "task": config.env.task,
        "algo": config.algo.name,
        "global_step": trainer.global_step,
        "warm_start": trainer.warm_metrics,
        "rolled_back": rolled_back,
        "certificate": certificate,
        "rows": rows,
    }
    (run_dir / EVAL_NAME).write_text(json.dumps(report, indent=2) + "\n")
    title = evaluation_title("the final policy", config.run.eval_episodes, evaluation_seed(config))
    print(f"{title}, saved to {run_dir / EVAL_NAME}:", file=sys.stderr)  # stdout: the table only
    print(format_table(rows), flush=True)
    return 0


def resume(trainer: Trainer, payload: Mapping[str, Any], run_dir: Path) -> None:
    """Put ``trainer`` where the checkpoint ``payload`` left it, and cut the run's TensorBoard logs
    back to that point (the interrupted run may have logged past it)."""
    if not payload["trainer"]:
        raise UsageError(
            f"the checkpoint in {run_dir} holds a policy only (no trainer state): eval it, or train anew"
        )
    try:
        check_env_signature(payload, trainer.config.env.env_id, trainer.env.single_observation_space)
        trainer.load_state_dict({**payload["trainer"], "policy": payload["policy"]})
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        detail = " ".join(str(error).split())[:300]
        raise UsageError(f"cannot resume from {run_dir}: {detail}") from None
    rewind_tensorboard(run_dir, payload.get("run", {}).get("tensorboard", {}))


def _train_loop(trainer: Trainer, writer: SummaryWriter, checkpoint: Path, options: RunOptions) -> None:
    """RL iterations until ``trainer.done()``: log each, checkpoint every ``checkpoint_every``."""
    config = trainer.config
    total, name = config.run.total_steps, config.algo.name.upper()
    if options.progress:
        print(bar_legend(config), file=sys.stderr)
    bar = tqdm(
        total=total,
        initial=min(trainer.global_step, total),
        unit="step",
        desc=name,
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
                curriculum_length=int(metrics["charts/curriculum_length"]),
                success_rate=f"{metrics.get('charts/success_rate', math.nan):.3f}",
                refresh=False,
            )
            iterations += 1
            if iterations % options.checkpoint_every == 0 or trainer.done():
                save_run(checkpoint, trainer, writer)
    finally:
        bar.close()


def bar_legend(config: TrainConfig) -> str:
    """The line printed above the RL progress bar: what its two fields are (the TensorBoard
    ``charts/curriculum_length`` and ``charts/success_rate`` of ``Trainer.iterate``)."""
    env = config.env
    return (
        f"{config.algo.name.upper()} bar: curriculum_length = the curriculum's current max problem "
        f"length (training problems have lengths {env.min_length}..curriculum_length; it grows up to "
        f"{env.length_cap}); success_rate = fraction of the training episodes that ended in the last "
        "rollout that were solved exactly, acting by sampling (nan: none ended)"
    )


def log_metrics(writer: SummaryWriter, metrics: Mapping[str, Any], step: int) -> None:
    """Every numeric metric under its own key at ``step``; a sequence of numbers (e.g. a loss per
    epoch) as a curve over its index."""
    for key, value in metrics.items():
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            writer.add_scalar(key, float(value), step)
        elif isinstance(value, (list, tuple, np.ndarray)):
            for index, item in enumerate(np.asarray(value, dtype=float).reshape(-1)):
                writer.add_scalar(key, float(item), index)


def keep_agreement(trainer: Trainer, writer: SummaryWriter, checkpoint: Path) -> bool:
    """Roll RL back to the warm start if it lost what the fit on the verification set reached
    (greedy agreement 1.0): whether it did. Nothing to check without that fit or without RL."""
    reached = trainer.warm_metrics.get("imitation/fit_reached") == 1.0
    if not reached or trainer.global_step == 0:
        return False
    agreement, margin = trainer.agreement()
    writer.add_scalar("eval/set_agreement", agreement, trainer.global_step)
    writer.add_scalar("eval/set_min_margin", margin, trainer.global_step)
    if agreement == 1.0:
        return False
    print(
        f"RL lowered greedy agreement on the verification set to {agreement:.4f}: "
        "rolled back to the warm-start policy",
        file=sys.stderr,
    )
    trainer.roll_back()
    save_run(checkpoint, trainer, writer)
    return True


def certify_run(trainer: Trainer, run_dir: Path, checkpoint: Path, progress: bool) -> dict[str, Any]:
    """Certify the run's final policy on its training lengths (as ``actformer certify`` would),
    write ``certificate.json`` in the run directory, and say the verdict; a summary for ``eval.json``."""
    config = trainer.config
    lengths = range(config.env.min_length, config.env.length_cap + 1)
    kwargs = config.env.verification_kwargs()
    say = (lambda line: print(f"certify: {line}", file=sys.stderr)) if progress else None
    certificate = certify(trainer.policy, config.env.task, lengths, kwargs, log=say)
    path = run_dir / CERTIFICATE_NAME
    certificate.write(path, checkpoint=str(checkpoint))
    reasons = "" if certificate.certified else f" ({'; '.join(certificate.reasons)})"
    print(f"{certificate.verdict}{reasons}; certificate: {path}", file=sys.stderr)
    return certificate.summary()


def final_evaluation(trainer: Trainer, progress: bool = True) -> list[dict[str, Any]]:
    """``Trainer.evaluate`` at each of the config's ``eval_lengths`` (one length at a time, for the
    progress bar), as ``format_table`` rows."""
    run = trainer.config.run
    success: dict[int, float] = {}
    for length in tqdm(
        run.eval_lengths, desc="eval", unit="length", disable=not progress, dynamic_ncols=True
    ):
        success.update(trainer.evaluate((length,), run.eval_episodes))
    return evaluation_rows(success, run.eval_episodes)


def evaluation_seed(config: TrainConfig) -> int:
    """The seed of the evaluation problems of a run (``Trainer.evaluate``'s, ``actformer eval``'s default)."""
    return seed_for(config.run.seed, "evaluation")


def evaluation_title(policy: str, episodes: int, seed: int) -> str:
    """The line above an exact-match table, without its ending (the caller adds where it is saved)."""
    return f"Greedy exact match of {policy} ({episodes} problems per length, seed {seed})"


def evaluation_rows(success: Mapping[int, float], episodes: int) -> list[dict[str, Any]]:
    """``Trainer.evaluate``'s {length: exact match} as ``format_table`` rows."""
    return [{"length": int(n), "episodes": episodes, "exact_match": float(v)} for n, v in success.items()]


#: The most torch threads a command takes (torch's own limit is a C int; no machine has more cores).
MAX_THREADS = 4096


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` unless None; ``UsageError`` outside [1, MAX_THREADS]."""
    if threads is None:
        return
    if not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be in [1, {MAX_THREADS}], got {threads}")
    import torch

    torch.set_num_threads(threads)


# -- actformer eval ----------------------------------------------------------------------------


def evaluate_length(
    policy: ActformerPolicy, env: EnvSettings, length: int, episodes: int, seed: int, num_envs: int
) -> dict[str, Any]:
    """Greedy exact match of ``policy`` at one problem length: one ``format_table`` row, the one
    ``generalization_table`` computes for that length."""
    (row,) = generalization_table(
        lambda _: policy, env.env_id, [length], episodes, seed, num_envs, **env.observation_kwargs()
    )
    return row


def check_eval_lengths(env: EnvSettings, lengths: Sequence[int], flag: str) -> None:
    """``UsageError`` naming ``flag`` for a length the task cannot pose (a problem too big for
    NumPy), checked before any evaluation or training, not when the evaluation reaches it."""
    resolved = env.resolved()
    task = TASKS[env.task](resolved.base, **resolved.task_options)
    for length in lengths:
        try:
            check_size(task, length)
        except ValueError as error:
            raise UsageError(
                f"{flag} {length}: {error}".replace("max_length must", "a length must")
            ) from None


def check_report_path(path: Path | None) -> None:
    """``UsageError`` unless ``path`` (where ``--json`` writes) can be written: checked before the
    evaluation, not after it."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--json must be a file path, got the directory {path}")
    if not path.parent.is_dir():
        raise UsageError(f"--json: no directory {path.parent} to write {path.name} in")


def eval_run(
    policy: ActformerPolicy,
    config: TrainConfig,
    lengths: Sequence[int],
    episodes: int,
    seed: int,
    num_envs: int,
    source: str,
    report_path: Path | None = None,
) -> int:
    """``actformer eval``: the exact-match table of ``policy``, printed a row per length as soon
    as that length is done (stdout, flushed; stdout holds the Markdown table only, what it is goes
    to stderr above it), and written to ``report_path`` as JSON.

    Ctrl-C stops it without losing what is done: the rows printed stay, one line on stderr says
    which lengths were done, the JSON holds them (``"partial": true``); exit status 130 (else 0).
    """
    print(evaluation_title(source, episodes, seed) + ":", file=sys.stderr)  # stdout: the table only
    print(*TABLE_HEADER, sep="\n", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        for length in lengths:
            rows.append(evaluate_length(policy, config.env, length, episodes, seed, num_envs))
            print(format_row(rows[-1]), flush=True)
    except KeyboardInterrupt:
        done = ", ".join(str(row["length"]) for row in rows) or "none"
        left = ", ".join(str(length) for length in lengths[len(rows) :]) or "none"
        saved = ""
        if report_path is not None:
            write_report(report_path, source, config, seed, lengths, rows, partial=True)
            saved = f"; the finished lengths saved to {report_path} (marked partial)"
        # After the terminal's "^C": a line of its own.
        print(f"\nactformer eval: stopped; lengths done: {done} (not run: {left}){saved}", file=sys.stderr)
        return 130
    if report_path is not None:
        write_report(report_path, source, config, seed, lengths, rows, partial=False)
        print(f"saved to {report_path}", file=sys.stderr)
    return 0


def write_report(
    path: Path,
    source: str,
    config: TrainConfig,
    seed: int,
    lengths: Sequence[int],
    rows: list[dict[str, Any]],
    partial: bool,
) -> None:
    """``actformer eval --json``: the rows, with what they evaluated; ``partial`` when stopped
    before every length in ``lengths`` was done. ``UsageError`` if the file cannot be written."""
    report = {
        "checkpoint": source,
        "task": config.env.task,
        "seed": seed,
        "lengths": list(lengths),
        "partial": partial,
        "rows": rows,
    }
    try:
        path.write_text(json.dumps(report, indent=2) + "\n")
    except OSError as error:
        raise UsageError(f"--json: cannot write {path}: {error.strerror}") from None
