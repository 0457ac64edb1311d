"""Cost of the Actformer network, this checkout against an earlier commit, in one run.

Both versions run the same weights (a freshly initialized ``ActformerPolicy`` of this checkout, as
its ``state_dict``) on the same observations (mid-episode Addition states of up to 3 digits, as
training meets them, with their action masks and the expert's actions), each in its own worker
process (``benchmarks/network_worker.py``, one torch thread, the kernel pins of this process): the
earlier version from a git worktree of ``--baseline`` (default: the commit the performance work
started from), this checkout from its own folder. Timed: a forward pass without autograd of 64 and
of 4,096 observations (a rollout step, a large evaluation batch), and a training pass of 1,024
(``network_worker.train_pass``: masked log-probabilities, entropies and values, then backward: a
PPO minibatch's share). In each of ``--repeats`` rounds every pass runs ``--calls`` timed calls in
each version, the versions alternating which goes first; a round's figure is its median call, and
the median over rounds is reported with the ratio baseline / current. The two versions' logits,
values and gradients on the same batch are compared first: the report says how far apart they are.
Results go to a Markdown table on stdout and to ``network_speed.json`` and ``.md`` in a fresh
``benchmarks/runs/network_speed-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``).

    python -m benchmarks.network_speed                   # 7 rounds of 20 calls, baseline 11ce4f6
    python -m benchmarks.network_speed --baseline HEAD~5 # another earlier version
    python -m benchmarks.network_speed --quick           # smoke test: 1 round of 3 calls
    python -m benchmarks.network_speed --update-results  # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actformer_gym.agents import actformer as policy_module
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.baselines import ExpertAgent
from actformer_gym.train.evaluate import make_eval_env
from benchmarks.common import (
    QUICK_HELP,
    REPO_ROOT,
    add_output_flags,
    announce_smoke,
    at_least,
    check_output_flags,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)
from benchmarks.main_job import DEFAULT_BASELINE, add_worktree, remove_worktree

ENV_ID = "Actformer/Addition-v0"
#: The training length of the observations (the README's main job trains on up to 3 digits).
MAX_LENGTH = 3
#: Expert steps after reset before the observations are taken (mid-episode ones, not all alike).
EXPERT_STEPS = 5
#: The timed passes: (kind, batch) in the order of the table.
PASSES = (("forward", 64), ("forward", 4096), ("train", 1024))
DEFAULT_ROUNDS, DEFAULT_CALLS = 7, 20
QUICK_ROUNDS, QUICK_CALLS = 1, 3
#: Outputs and gradients of the two versions on the same batch agree within this, relative to
#: the largest magnitude of each (float32 rounding of a different order of operations).
TOLERANCE = 1e-4
WORKER = Path(__file__).with_name("network_worker.py")
RESULTS_NAME = "network_speed.json"


@dataclass
class Worker:
    """A running ``network_worker.py`` of one version (its stderr goes to the file ``errors``)."""

    label: str
    commit: str
    process: subprocess.Popen[str]
    errors: Path

    def ask(self, command: str) -> Any:
        """Send one command, return its JSON answer; ``RuntimeError`` if the worker died."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(command + "\n")
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:  # (it exited before reading the command)
            line = ""
        if not line:
            raise RuntimeError(f"the {self.label} worker ({self.commit[:12]}) exited: {self.stderr()}")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise RuntimeError(f"the {self.label} worker answered {line.strip()!r}, not JSON") from None

    def stderr(self) -> str:
        """The last line the (stopped) worker wrote to stderr: its error."""
        self.process.kill()
        self.process.wait()
        lines = self.errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"

    def close(self) -> None:
        """Ask the worker to quit and wait for it (killing it if it hangs); close its pipes."""
        stdin, stdout = self.process.stdin, self.process.stdout
        try:
            if self.process.poll() is None and stdin is not None:
                stdin.write("quit\n")
                stdin.close()
                self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for pipe in (stdin, stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def prepare_inputs(folder: Path, seed: int) -> tuple[Path, Path]:
    """(observations, masks and actions; the weights), written to ``folder`` as ``.npz``."""
    size = max(batch for _, batch in PASSES)
    envs = make_eval_env(ENV_ID, MAX_LENGTH, size)
    observation, _ = envs.reset(seed=seed)
    expert = ExpertAgent(envs.unwrapped.task)
    for _ in range(EXPERT_STEPS):
        observation, *_ = envs.step(expert.act(observation))
    masks = np.ascontiguousarray(envs.unwrapped.action_masks())  # (as the trainer's minibatches hold them)
    actions = expert.act(observation)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    envs.close()
    inputs, weights = folder / "inputs.npz", folder / "weights.npz"
    np.savez(
        inputs,
        masks=masks,
        actions=actions,
        **{f"obs/{key}": np.asarray(v) for key, v in observation.items()},
    )
    np.savez(weights, **{name: value.numpy() for name, value in policy.state_dict().items()})
    return inputs, weights


@dataclass(frozen=True)
class Version:
    """A version of the code to time: its label, commit, ``PYTHONPATH``, the module of its policy
    (``policy_module``) and the file that module must be imported from."""

    label: str
    commit: str
    pythonpath: str
    module: str
    expected_file: str


def versions(baseline: str, folder: Path) -> list[Version]:
    """The baseline, from a worktree of it in ``folder/worktree``, and this checkout (as the
    running process imports it). ``RuntimeError`` if git cannot make the worktree."""
    commit, _, cli, path = add_worktree(baseline, folder)
    package = cli.removesuffix("train.cli")  # ("" or "actformer_gym.": the layout of that commit)
    expected = Path(path) / package.replace(".", "/") / "agents" / "actformer.py"
    current = source_revision()["commit"] or "unknown"
    return [
        Version("baseline", commit, path, f"{package}agents.actformer", str(expected)),
        Version("current", current, str(REPO_ROOT), policy_module.__name__, str(policy_module.__file__)),
    ]


def start_worker(version: Version, inputs: Path, weights: Path) -> Worker:
    """A worker of ``version``."""
    environment = {**os.environ, "PYTHONPATH": version.pythonpath}
    errors = inputs.parent / f"{version.label}.stderr"
    with errors.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(inputs), str(weights), version.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=environment,
            cwd=inputs.parent,
        )
    return Worker(version.label, version.commit, process, errors)


def compare_outputs(workers: Sequence[Worker], folder: Path) -> dict[str, float]:
    """The largest difference between the versions' logits, values and gradients on the training
    pass's batch, each relative to the largest magnitude of the baseline's."""
    batch = dict(PASSES)["train"]
    saved = [np.load(worker.ask(f"outputs {batch} {folder / (worker.label + '.npz')}")) for worker in workers]
    baseline, current = saved
    if sorted(baseline.files) != sorted(current.files):
        raise RuntimeError("the versions' parameters differ in name: their outputs cannot be compared")
    differences: dict[str, float] = {}
    for group in ("logits", "values", "grad/"):
        names = [name for name in baseline.files if name == group or name.startswith(group)]
        scale = max(float(np.abs(baseline[name]).max()) for name in names) or 1.0
        difference = max(float(np.abs(baseline[name] - current[name]).max()) for name in names)
        differences[group.rstrip("/").replace("grad", "gradients")] = difference / scale
    return differences


def measure(workers: Sequence[Worker], rounds: int, calls: int) -> list[dict[str, Any]]:
    """Per pass: each version's median call per round, the median over rounds, and the ratio."""
    figures: dict[tuple[str, int, str], list[float]] = {}
    for round_index in range(rounds):
        for kind, batch in PASSES:
            # Alternating which goes first: neither always meets a cold (or a warm) cache.
            for worker in workers if round_index % 2 == 0 else workers[::-1]:
                seconds = worker.ask(f"time {kind} {batch} {calls}")
                figures.setdefault((kind, batch, worker.label), []).append(statistics.median(seconds))
        print(f"round {round_index + 1} of {rounds} done", file=sys.stderr, flush=True)
    rows = []
    for kind, batch in PASSES:
        medians = {w.label: statistics.median(figures[(kind, batch, w.label)]) * 1e3 for w in workers}
        rows.append(
            {
                "pass": kind,
                "batch": batch,
                "median_ms": medians,
                "rounds_ms": {w.label: [s * 1e3 for s in figures[(kind, batch, w.label)]] for w in workers},
                "speedup": medians["baseline"] / medians["current"],
            }
        )
    return rows


def markdown(document: dict[str, Any], context: str) -> str:
    """The results table, the agreement line and the context line."""
    lines = [
        "| pass | batch | baseline (ms) | current (ms) | baseline / current |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in document["results"]:
        ms = row["median_ms"]
        lines.append(
            f"| {row['pass']} | {row['batch']:,} | {ms['baseline']:.2f} | {ms['current']:.2f} | "
            f"{row['speedup']:.2f}x |"
        )
    baseline, current = document["versions"]
    agreement = ", ".join(f"{name} {value:.1e}" for name, value in document["differences"].items())
    verdict = "within" if document["outputs_agree"] else "NOT within"
    lines += [
        "",
        f"Baseline: commit {baseline['commit'][:12]}; current: commit {current['commit'][:12]}. "
        f"Largest difference between the versions on the same weights and batch, relative to the "
        f"largest magnitude: {agreement} ({verdict} {TOLERANCE:g}).",
        "",
        context,
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help=f"the earlier version: a commit, tag or branch (default {DEFAULT_BASELINE}, where the "
        "performance work started)",
    )
    parser.add_argument(
        "--rounds", type=positive(int), default=None, help=f"timed rounds (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument(
        "--calls", type=positive(int), default=None, help=f"timed calls per round (default {DEFAULT_CALLS})"
    )
    parser.add_argument(
        "--seed", type=at_least(int, 0), default=0, help="seed of the weights and observations (default 0)"
    )
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    add_output_flags(parser, "network_speed")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    args.calls = args.calls or (QUICK_CALLS if args.quick else DEFAULT_CALLS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    announce_smoke(args.quick)
    date, command = run_stamp("network_speed", argv)
    with tempfile.TemporaryDirectory(prefix="network_speed-") as name:
        folder = Path(name)
        workers: list[Worker] = []
        try:
            inputs, weights = prepare_inputs(folder, args.seed)
            for version in versions(args.baseline, folder):
                workers.append(start_worker(version, inputs, weights))
                imported = workers[-1].ask("where")["policy"]
                if Path(imported) != Path(version.expected_file):
                    raise RuntimeError(
                        f"the {version.label} worker imported its policy from {imported}, "
                        f"not {version.expected_file}"
                    )
            differences = compare_outputs(workers, folder)
            results = measure(workers, args.rounds, args.calls)
        except (RuntimeError, OSError) as error:
            print(f"network_speed: {error}", file=sys.stderr)
            return 1
        finally:
            for worker in workers:
                worker.close()
            remove_worktree(folder / "worktree")
    machine = machine_info()
    machine["torch_threads"] = 1  # (the workers', not this process's)
    document: dict[str, Any] = {
        "benchmark": "network_speed",
        "date": date,
        "command": command,
        "revision": source_revision(),
        "settings": {
            "baseline": args.baseline,
            "env_id": ENV_ID,
            "max_length": MAX_LENGTH,
            "expert_steps_before_timing": EXPERT_STEPS,
            "passes": [list(each) for each in PASSES],
            "rounds": args.rounds,
            "calls": args.calls,
            "seed": args.seed,
            "tolerance": TOLERANCE,
        },
        "machine": machine,
        "versions": [{"label": w.label, "commit": w.commit} for w in workers],
        "differences": differences,
        "outputs_agree": all(value <= TOLERANCE for value in differences.values()),
        "results": results,
    }
    context = with_pins_and_commit(torch_context_line(machine, command, date), machine, document["revision"])
    document["markdown"] = markdown(document, context)
    write_results(
        output_dir(args, "network_speed"), RESULTS_NAME, document, smoke=args.quick, markdown_file=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
