"""Env-steps/s of PPO training: our ``Trainer`` against Stable-Baselines3's ``PPO`` on the same env.

All three train PPO on Addition (problems of length 1 to 3, shaped reward, ``obs_mode="local"``,
history 8) with the same number of envs, rollout length, epochs, minibatch size and hyperparameters,
on the CPU with one torch thread, in the same run:

- ``trainer``: ``actformer_gym.train.trainer.Trainer`` (native vector env, ``ActformerPolicy``, action
  masks);
- ``sb3-actformer``: SB3 ``PPO`` with ``actformer_gym.agents.sb3.ActformerPolicy`` (the same network) on SB3's
  ``DummyVecEnv`` of single envs (``make_vec_env``); SB3's PPO does not mask actions;
- ``sb3-multiinput``: SB3 ``PPO`` with its stock ``MultiInputPolicy`` (flattened one-hot
  observation, one hidden layer of 64 per head, as ours), a second reference.

Each learner first runs one untimed iteration (rollout + update), then ``--iterations`` timed ones,
``--repeats`` times; the median env-steps/s (rollout and update together, wall clock) is reported,
and its ratio to each SB3 learner's. Results go to a Markdown table on stdout and to
``training_throughput.json`` and ``.md`` in a fresh ``benchmarks/runs/training_throughput-<UTC time>/``
(``--out DIR``: there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.training_throughput                   # 64 envs x 64 steps, 8 iterations x 3 repeats
    python -m benchmarks.training_throughput --quick           # smoke test: tiny sizes
    python -m benchmarks.training_throughput --update-results  # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from actformer_gym.agents.sb3 import ActformerPolicy as SB3ActformerPolicy
from actformer_gym.train.config import PPO as PPOSettings
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.trainer import Trainer
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

TASK, MIN_LENGTH, MAX_LENGTH = "Addition", 1, 3
LEARNERS = ("trainer", "sb3-actformer", "sb3-multiinput")
DEFAULTS = {"num_envs": 64, "num_steps": 64, "iterations": 8, "repeats": 3}
QUICK = {"num_envs": 8, "num_steps": 16, "iterations": 1, "repeats": 1}


def trainer_config(args: argparse.Namespace) -> TrainConfig:
    """Our PPO at its defaults, without warm start, at fixed lengths 1..3 (no curriculum)."""
    return TrainConfig.from_flat(
        task=TASK,
        device="cpu",
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        imitation=False,
        min_length=MIN_LENGTH,
        start_length=MAX_LENGTH,
        max_length=MAX_LENGTH,
    )


def make_learner(name: str, config: TrainConfig) -> tuple[Callable[[], None], int]:
    """(one iteration of ``name``: a rollout of num_envs x num_steps and its update, parameter count)."""
    assert isinstance(config.algo, PPOSettings), "SB3's learners here are PPO"
    if name == "trainer":
        trainer = Trainer(config)
        trainer.warm_start()  # imitation is off: only freezes the KL reference
        return (lambda: (trainer.iterate(), None)[1]), parameters(trainer.policy)
    env = make_vec_env(
        config.env.env_id,
        n_envs=config.env.num_envs,
        seed=config.run.seed,
        env_kwargs={
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
            "reward_mode": config.env.reward_mode,
        },
    )
    policy: Any = SB3ActformerPolicy if name == "sb3-actformer" else "MultiInputPolicy"
    # Both heads one hidden layer of config.policy.hidden units, as our policy's (SB3's default is [64, 64]).
    policy_kwargs: dict[str, Any] = {"net_arch": {"pi": [config.policy.hidden], "vf": [config.policy.hidden]}}
    if name == "sb3-actformer":
        policy_kwargs["features_extractor_kwargs"] = {"d_model": config.policy.d_model}
    model = PPO(
        policy,
        env,
        learning_rate=config.algo.learning_rate,
        n_steps=config.algo.num_steps,
        batch_size=config.batch_size // config.algo.num_minibatches,
        n_epochs=config.algo.update_epochs,
        gamma=config.algo.gamma,
        gae_lambda=config.algo.gae_lambda,
        clip_range=config.algo.clip_coef,
        ent_coef=config.algo.ent_coef,
        vf_coef=config.algo.vf_coef,
        max_grad_norm=config.algo.max_grad_norm,
        policy_kwargs=policy_kwargs,
        seed=config.run.seed,
        device="cpu",
    )
    first = [True]

    def iterate() -> None:
        model.learn(config.batch_size, reset_num_timesteps=first[0])
        first[0] = False

    return iterate, parameters(model.policy)


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measure(name: str, config: TrainConfig, iterations: int, repeats: int) -> dict[str, Any]:
    """Env-steps/s of ``repeats`` timed runs of ``iterations`` iterations, after one untimed one."""
    iterate, count = make_learner(name, config)
    iterate()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            iterate()
        rates.append(iterations * config.batch_size / (time.perf_counter() - start))
    return {
        "learner": name,
        "steps_per_second": statistics.median(rates),
        "repeats": rates,
        "parameters": count,
    }


def ratios(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The Trainer's steps/s over each SB3 learner's."""
    by_name = {r["learner"]: r["steps_per_second"] for r in results}
    return {f"trainer/{name}": by_name["trainer"] / by_name[name] for name in LEARNERS[1:]}


def markdown_table(
    results: Sequence[dict[str, Any]], ratio_table: dict[str, float], config: TrainConfig
) -> str:
    """One row per learner, then the ratios and the settings in words."""
    lines = [
        "| learner | env-steps/s (median) | repeats (min-max) | parameters |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        spread = f"{min(r['repeats']):,.0f}-{max(r['repeats']):,.0f}"
        lines.append(f"| {r['learner']} | {r['steps_per_second']:,.0f} | {spread} | {r['parameters']:,} |")
    lines.append("")
    lines.append(", ".join(f"{name} = {value:.2f}x" for name, value in ratio_table.items()))
    lines.append("")
    lines.append(
        f"PPO on {config.env.env_id} (lengths {MIN_LENGTH}-{MAX_LENGTH}), {config.env.num_envs} envs x "
        f"{config.algo.num_steps} steps per rollout, {config.algo.update_epochs} epochs of "
        f"{config.algo.num_minibatches} minibatches; rollout and update timed together."
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` sets the sizes that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, help_text in (
        ("num_envs", "envs stepped together"),
        ("num_steps", "rollout length"),
        ("iterations", "timed iterations (rollout + update) per repeat"),
        ("repeats", "timed runs per learner; the median is reported"),
    ):
        parser.add_argument(
            f"--{flag.replace('_', '-')}",
            type=positive(int),
            default=None,
            help=f"{help_text} (default {DEFAULTS[flag]})",
        )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} (tiny sizes unless given)")
    add_output_flags(parser, "training_throughput")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if (args.num_envs * args.num_steps) % 4:
        parser.error("--num-envs x --num-steps must be divisible by 4 (the minibatches)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every learner, print the table, write the JSON and Markdown files; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(1)  # the benchmark machine is shared; SB3 and the Trainer alike
    announce_smoke(args.quick)
    started = time.perf_counter()
    config = trainer_config(args)
    results = []
    for name in LEARNERS:
        result = measure(name, config, args.iterations, args.repeats)
        print(f"{name:<16} {result['steps_per_second']:>10,.0f} env-steps/s", file=sys.stderr)
        results.append(result)
    ratio_table = ratios(results)
    date, command = run_stamp("training_throughput", argv)
    machine = machine_info()
    machine["stable_baselines3"] = stable_baselines3.__version__
    table = markdown_table(results, ratio_table, config)
    document = {
        "benchmark": "training_throughput",
        "date": date,
        "command": command,
        "settings": {
            "env_id": config.env.env_id,
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
            "num_envs": args.num_envs,
            "num_steps": args.num_steps,
            "update_epochs": config.algo.update_epochs,
            "minibatch_size": config.batch_size // config.algo.num_minibatches,
            "iterations": args.iterations,
            "repeats": args.repeats,
            "trainer_config": config.to_dict(),
            "sb3_env": "make_vec_env (DummyVecEnv of gym.make envs)",
            "timed": "wall clock of rollout + update per iteration, after one untimed iteration",
        },
        "machine": machine,
        "results": results,
        "ratios": ratio_table,
        "markdown": f"{table}\n\n{torch_context_line(machine, command, date)}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "training_throughput")
    write_results(folder, "training_throughput.json", document, smoke=args.quick, markdown_file=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
