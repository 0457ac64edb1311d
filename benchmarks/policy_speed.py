"""Forward-pass time of the Actformer policy, against a plain Transformer encoder as the yardstick.

For each device (CPU, and CUDA when present), each ``obs_mode`` (``local``, ``full``) and each
batch size, ``ActformerPolicy`` (default size) runs forward on a batch of real Addition
observations, already tensors on the device, under ``torch.inference_mode()``. After a warm-up,
``--repeats`` single forward passes are timed (CUDA synchronised around each); the median is
reported. The reference is a plain 2-layer ``torch.nn.TransformerEncoder`` (d_model 64, 4 heads,
PyTorch's default feed-forward width 2048) over 16 tokens per sample, and the same with a
feed-forward width of 4 x 64 = 256, timed the same way. Results go to a Markdown table on stdout and
to ``policy_speed.json`` in a fresh ``benchmarks/runs/policy_speed-<UTC time>/`` (``--out DIR``:
there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.policy_speed                   # 20 repeats, batches 1, 256, 4096
    python -m benchmarks.policy_speed --batches 1 64    # other batch sizes (space-separated)
    python -m benchmarks.policy_speed --quick           # smoke test: 3 repeats
    python -m benchmarks.policy_speed --threads 1       # torch.set_num_threads(1) first
    python -m benchmarks.policy_speed --update-results  # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from actformer_envs.rollout import Rollout
from actformer_gym.agents import ActformerPolicy
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    announce_smoke,
    check_output_flags,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    torch_context_line,
    write_results,
)

ENV_ID = "Actformer/Addition-v0"
BATCHES = (1, 256, 4096)
OBS_MODES = ("local", "full")
DEFAULT_REPEATS, DEFAULT_WARMUP = 20, 3
QUICK_REPEATS, QUICK_WARMUP = 3, 1
#: Expert steps taken after reset, so the timed observations are mid-episode, not all alike.
EXPERT_STEPS = 5
#: The yardsticks: plain Transformer encoders of this shape, by name: their feed-forward width
#: (PyTorch's default, then the customary 4 x d_model).
REFERENCE_LAYERS, REFERENCE_D_MODEL, REFERENCE_HEADS, REFERENCE_TOKENS = 2, 64, 4, 16
REFERENCES = {"transformer-encoder": 2048, "transformer-encoder-ff256": 256}
ACTFORMER = "actformer"


@dataclass(frozen=True)
class Case:
    """One measured configuration."""

    model: str  # ACTFORMER or a key of REFERENCES
    obs_mode: str | None  # the Actformer's observation mode; None for the reference
    device: str
    batch: int


def devices_available() -> list[str]:
    """``cpu``, and ``cuda`` when PyTorch sees a GPU."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def cases(devices: Sequence[str], batches: Sequence[int]) -> list[Case]:
    """Every (device, model, obs_mode, batch) to measure, the references last on each device."""
    result = []
    for device in devices:
        for obs_mode in OBS_MODES:
            result.extend(Case(ACTFORMER, obs_mode, device, batch) for batch in batches)
        for reference in REFERENCES:
            result.extend(Case(reference, None, device, batch) for batch in batches)
    return result


def reference_encoder(dim_feedforward: int) -> nn.TransformerEncoder:
    """A plain 2-layer ``TransformerEncoder`` (d_model 64, 4 heads, batch first), as in the issue."""
    layer = nn.TransformerEncoderLayer(
        REFERENCE_D_MODEL, REFERENCE_HEADS, dim_feedforward=dim_feedforward, batch_first=True
    )
    return nn.TransformerEncoder(layer, REFERENCE_LAYERS, enable_nested_tensor=False)


def make_forward(case: Case, seed: int) -> tuple[Callable[[], Any], int]:
    """(a call running one forward pass of ``case``, the model's parameter count)."""
    torch.manual_seed(seed)
    device = torch.device(case.device)
    if case.model in REFERENCES:
        model: nn.Module = reference_encoder(REFERENCES[case.model]).to(device).eval()
        tokens = torch.randn(case.batch, REFERENCE_TOKENS, REFERENCE_D_MODEL, device=device)
        return lambda: model(tokens), parameter_count(model)
    env = gym.make_vec(
        ENV_ID, num_envs=case.batch, vectorization_mode="vector_entry_point", obs_mode=case.obs_mode
    )
    try:
        rollout = Rollout(env, seed=seed)
        rollout.run(lambda observation, mask: env.unwrapped.expert_action(), steps=EXPERT_STEPS)
        observation = rollout.observation
        policy = ActformerPolicy(env.unwrapped.single_observation_space, device=device).eval()
    finally:
        env.close()
    inputs = policy.as_tensors(observation)
    return lambda: policy(inputs), parameter_count(policy)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def measure(case: Case, repeats: int, warmup: int, seed: int) -> dict[str, Any]:
    """Milliseconds of ``repeats`` single forward passes after ``warmup`` untimed ones."""
    forward, parameters = make_forward(case, seed)
    synchronize = torch.cuda.synchronize if case.device == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            forward()
        synchronize()
        for _ in range(repeats):
            start = time.perf_counter()
            forward()
            synchronize()
            times.append((time.perf_counter() - start) * 1000)
    return {
        "model": case.model,
        "obs_mode": case.obs_mode,
        "device": case.device,
        "batch": case.batch,
        "median_ms": statistics.median(times),
        "repeats_ms": times,
        "parameters": parameters,
    }


def ratios(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per device: each reference's median time over each Actformer mode's, at the largest batch."""
    by_key = {(r["model"], r["obs_mode"], r["device"], r["batch"]): r["median_ms"] for r in results}
    largest = max(r["batch"] for r in results)
    table = {}
    for device in dict.fromkeys(r["device"] for r in results):
        table[device] = {
            f"{reference}/{ACTFORMER}-{mode} @ batch {largest}": by_key[(reference, None, device, largest)]
            / by_key[(ACTFORMER, mode, device, largest)]
            for reference in REFERENCES
            for mode in OBS_MODES
        }
    return table


def markdown_table(results: Sequence[dict[str, Any]], ratio_table: dict[str, dict[str, float]]) -> str:
    """The results as a Markdown table, then the ratios per device."""
    lines = [
        "| model | obs_mode | device | batch | forward ms (median) | repeats (min-max) | parameters |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        spread = f"{min(r['repeats_ms']):.3f}-{max(r['repeats_ms']):.3f}"
        lines.append(
            f"| {r['model']} | {r['obs_mode'] or '-'} | {r['device']} | {r['batch']} "
            f"| {r['median_ms']:.3f} | {spread} | {r['parameters']:,} |"
        )
    lines.append("")
    for device, values in ratio_table.items():
        text = ", ".join(f"{name} = {value:,.1f}x" for name, value in values.items())
        lines.append(f"- {device}: {text}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` sets the repeats and warm-up that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats",
        type=positive(int),
        default=None,
        help=f"timed forward passes per configuration; the median is reported (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--warmup",
        type=positive(int),
        default=None,
        help=f"untimed forward passes first (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_HELP} ({QUICK_REPEATS} repeats, {QUICK_WARMUP} warm-up unless given)",
    )
    parser.add_argument(
        "--batches",
        type=positive(int),
        nargs="+",
        default=list(BATCHES),
        metavar="BATCH",
        help=f"batch sizes, space-separated (default {' '.join(map(str, BATCHES))})",
    )
    parser.add_argument(
        "--device",
        choices=("all", "cpu", "cuda"),
        default="all",
        help="'all' (CPU, and CUDA when present), 'cpu' or 'cuda' (default all)",
    )
    parser.add_argument(
        "--threads", type=positive(int), default=None, help="torch.set_num_threads first (default: torch's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and envs (default 0)")
    add_output_flags(parser, "policy_speed")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    args.batches = list(dict.fromkeys(args.batches))
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if args.warmup is None:
        args.warmup = QUICK_WARMUP if args.quick else DEFAULT_WARMUP
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA device")
    args.devices = devices_available() if args.device == "all" else [args.device]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    announce_smoke(args.quick)
    started = time.perf_counter()
    results = []
    for case in cases(args.devices, args.batches):
        result = measure(case, args.repeats, args.warmup, args.seed)
        print(
            f"{case.model:<20} {case.obs_mode or '-':<6} {case.device:<5} batch {case.batch:>5}: "
            f"{result['median_ms']:>10.3f} ms",
            file=sys.stderr,
        )
        results.append(result)
    ratio_table = ratios(results)
    date, command = run_stamp("policy_speed", argv)
    machine = machine_info()
    table = markdown_table(results, ratio_table)
    context = torch_context_line(machine, command, date)
    document = {
        "benchmark": "policy_speed",
        "date": date,
        "command": command,
        "settings": {
            "env_id": ENV_ID,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "batches": args.batches,
            "devices": args.devices,
            "seed": args.seed,
            "expert_steps_before_timing": EXPERT_STEPS,
            "actformer": "ActformerPolicy defaults (d_model 16, 2 heads, hidden 64), history_length 8",
            "references": {
                name: {
                    "module": "torch.nn.TransformerEncoder",
                    "layers": REFERENCE_LAYERS,
                    "d_model": REFERENCE_D_MODEL,
                    "heads": REFERENCE_HEADS,
                    "dim_feedforward": width,
                    "tokens": REFERENCE_TOKENS,
                }
                for name, width in REFERENCES.items()
            },
            "timed": "one forward pass on tensors already on the device, under torch.inference_mode()",
        },
        "machine": machine,
        "results": results,
        "ratios": ratio_table,
        "markdown": f"{table}\n\n{context}",
        "total_seconds": time.perf_counter() - started,
    }
    write_results(output_dir(args, "policy_speed"), "policy_speed.json", document, smoke=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
