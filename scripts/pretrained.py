"""Regenerate the pretrained policies shipped with the package (``train/pretrained/``).

For each of ``TASKS``: its certified recipe (``TrainConfig.for_task``), seed 0, fit on the
verification set, certified as ``actformer certify`` does (a policy that is not certified is an
error: nothing is written for it), saved as a policy-only checkpoint; then ``actformer eval
--checkpoint pretrained:TASK`` at the training length and 10x on ``EPISODES`` problems, the numbers
``pretrained.json`` records and a test reproduces. Run it with the kernels pinned, whenever an env
version these policies fit changes:

    ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 OMP_NUM_THREADS=1 python -m scripts.pretrained
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from actformer_gym.train.certify import certify
from actformer_gym.train.checkpoint import save_checkpoint
from actformer_gym.train.cli import main as actformer
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.pretrained import DIRECTORY, RECORD, SUFFIX
from actformer_gym.train.runs import checkpoint_payload
from actformer_gym.train.trainer import Trainer
from benchmarks.common import machine_info, source_revision

#: The shipped policies: the tasks of the length-generalization grid.
TASKS = ("Addition", "Multiplication", "Copy", "Reverse", "Sort", "Parity")
SEED = 0
#: Problems per evaluated length in the record.
EPISODES = 50
MULTIPLIERS = (1, 10)
#: The kernel paths the shipped policies are made with (the environment must set them, before torch
#: is imported: they cannot be set from here).
PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "1"}


def make(task: str) -> dict[str, Any]:
    """Fit, certify and save ``task``'s policy; its record (the evaluation is added after)."""
    config = TrainConfig.for_task(task, seed=SEED)
    trainer = Trainer(config)
    warm = trainer.warm_start()
    env = config.env
    certificate = certify(
        trainer.policy.eval(), task, range(env.min_length, env.length_cap + 1), env.observation_kwargs()
    )
    if not certificate.certified:
        raise SystemExit(f"{task}: the recipe's policy is not certified ({'; '.join(certificate.reasons)})")
    payload = {**checkpoint_payload(trainer), "trainer": {}, "run": {}}  # the policy only
    path = save_checkpoint(DIRECTORY / f"{task}{SUFFIX}", payload)
    return {
        "task": task,
        "seed": SEED,
        "env": payload["env"]["id"],
        "train_length": env.length_cap,
        "fit_steps": int(warm["imitation/fit_steps"]),
        "certificate": certificate.summary(),
        "bytes": path.stat().st_size,
    }


def evaluate(record: dict[str, Any]) -> dict[str, float]:
    """``actformer eval --checkpoint pretrained:TASK`` at ``MULTIPLIERS`` x the training length: the
    exact match per length, as the command reports it."""
    lengths = [str(m * record["train_length"]) for m in MULTIPLIERS]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "eval.json"
        argv = ["eval", "--checkpoint", f"pretrained:{record['task']}", "--lengths", *lengths]
        status = actformer([*argv, "--episodes", str(EPISODES), "--device", "cpu", "--json", str(report)])
        if status:
            raise SystemExit(f"{record['task']}: actformer eval exited {status}")
        rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    return {str(row["length"]): row["exact_match"] for row in rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.pretrained",
        description="Retrain, certify and overwrite the shipped policies in train/pretrained/ "
        f"({', '.join(TASKS)}) and their record; takes no options.",
    )
    parser.parse_args(argv)
    unpinned = [f"{name}={value}" for name, value in PINS.items() if os.environ.get(name) != value]
    if unpinned:
        parser.error(f"run with the kernels pinned: set {' '.join(unpinned)} (nothing was written)")
    torch.set_num_threads(1)
    revision, machine = source_revision(), machine_info()  # (before this script rewrites its files)
    records = []
    for task in TASKS:
        record = make(task)
        record["exact_match"] = evaluate(record)
        print(
            f"{task}: {record['certificate']['verdict']}, exact match {record['exact_match']}",
            file=sys.stderr,
        )
        records.append(record)
    document = {
        "command": "python -m scripts.pretrained",
        "revision": revision,
        "kernel_env": machine["kernel_env"],
        "cpu": machine["cpu_model"],
        "torch": machine["torch"],
        "episodes": EPISODES,
        "policies": records,
    }
    RECORD.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} policies and {RECORD.name} to {DIRECTORY}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
