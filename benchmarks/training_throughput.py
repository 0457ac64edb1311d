"""Env-steps/s of PPO training: our ``Trainer`` against Stable-Baselines3's ``PPO`` on the same env.

All three train PPO on Addition (problems of length 1 to 3, shaped reward, ``obs_mode="local"``,
history 8) with the same number of envs, rollout length, epochs, minibatch size and hyperparameters,
with one torch thread, in the same run; the envs step on the CPU, the networks run on the CPU or, with
``--device cuda``, on the GPU:

- ``trainer``: ``actformer_gym.train.trainer.Trainer`` (native vector env, ``ActformerPolicy``, action
  masks);
- ``sb3-actformer``: SB3 ``PPO`` with ``actformer_gym.agents.sb3.ActformerPolicy`` (the same network) on SB3's
  ``DummyVecEnv`` of single envs (``make_vec_env``); SB3's PPO does not mask actions;
- ``sb3-multiinput``: SB3 ``PPO`` with its stock ``MultiInputPolicy`` (flattened one-hot
  observation, one hidden layer of 64 per head, as ours), a second reference.

Beside them, ``network-alone`` is the roofline: the Actformer network's own forwards (the rollout's
``num_steps`` batches of ``num_envs`` observations, without autograd) and forward+backward passes (the
update's ``update_epochs x num_minibatches`` minibatches) on real Addition observations, with nothing
else; no learner running this network can train faster, and each Actformer learner is reported as a
fraction of it.

Each learner first runs one untimed iteration (rollout + update); then in each of ``--repeats``
rounds every learner in turn runs ``--iterations`` timed ones (interleaved, so a change of the
machine's speed meets all alike); the median env-steps/s (rollout and update together, wall clock)
is reported, with the Trainer's ratio to each SB3 learner's. Results go to a Markdown table on stdout and to
``training_throughput.json`` and ``.md`` in a fresh ``benchmarks/runs/training_throughput-<UTC time>/``
(``--out DIR``: there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.training_throughput                   # 64 envs x 64 steps, 8 iterations x 5 repeats
    python -m benchmarks.training_throughput --quick           # smoke test: tiny sizes
    python -m benchmarks.training_throughput --device cuda     # the networks on the GPU
    python -m benchmarks.training_throughput --update-results  # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from actformer_gym.agents.actformer import resolve_device
from actformer_gym.agents.baselines import ExpertAgent
from actformer_gym.agents.sb3 import ActformerPolicy as SB3ActformerPolicy
from actformer_gym.train.config import PPO as PPOSettings
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import make_eval_env
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    announce_smoke,
    check_output_flags,
    fill_unset,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)

TASK, MIN_LENGTH, MAX_LENGTH = "Addition", 1, 3
LEARNERS = ("trainer", "sb3-actformer", "sb3-multiinput")
#: The network alone (``network_passes``): the same forwards and forward+backward passes as an iteration.
ROOFLINE = "network-alone"
DEFAULTS = {"num_envs": 64, "num_steps": 64, "iterations": 8, "repeats": 5}
#: Expert steps after reset before the roofline's observations are taken (mid-episode ones).
EXPERT_STEPS = 5
QUICK = {"num_envs": 8, "num_steps": 16, "iterations": 1, "repeats": 1}


def trainer_config(args: argparse.Namespace) -> TrainConfig:
    """Our PPO at its defaults, without warm start, at fixed lengths 1..3 (no curriculum)."""
    return TrainConfig.from_flat(
        task=TASK,
        device=args.device,
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
        device=config.run.device,
    )
    first = [True]

    def iterate() -> None:
        model.learn(config.batch_size, reset_num_timesteps=first[0])
        first[0] = False

    return iterate, parameters(model.policy)


def network_passes(config: TrainConfig) -> tuple[Callable[[], None], int]:
    """(the network's share of one iteration, alone: ``num_steps`` forwards of ``num_envs``
    observations without autograd, as the rollout makes, then ``update_epochs x num_minibatches``
    forward+backward passes of a minibatch, as the update makes; parameter count). Its env-steps/s
    is the roofline: no learner that runs this network can train faster."""
    assert isinstance(config.algo, PPOSettings)
    envs = make_eval_env(config.env.env_id, MAX_LENGTH, config.batch_size, **config.env.observation_kwargs())
    observation, _ = envs.reset(seed=config.run.seed)
    expert = ExpertAgent(envs.unwrapped.task)
    for _ in range(EXPERT_STEPS):  # (mid-episode observations, not all alike)
        observation, *_ = envs.step(expert.act(observation))
    policy = Trainer(config).policy
    masks = torch.as_tensor(np.array(envs.unwrapped.action_masks()), device=policy.device)
    actions = torch.as_tensor(expert.act(observation), device=policy.device)
    envs.close()
    batch = policy.as_tensors(observation)
    size, steps = config.batch_size // config.algo.num_minibatches, config.algo.num_steps
    rollout = [{key: value[i::steps] for key, value in batch.items()} for i in range(steps)]
    passes = config.algo.update_epochs * config.algo.num_minibatches
    starts = [(i * size) % config.batch_size for i in range(passes)]

    def iterate() -> None:
        with torch.no_grad():
            for part in rollout:
                policy(part)
        for start in starts:
            part = {key: value[start : start + size] for key, value in batch.items()}
            _, log_prob, entropy, value = policy.get_action_and_value(
                part, actions[start : start + size], masks[start : start + size]
            )
            (log_prob.mean() + entropy.mean() + value.square().mean()).backward()

    return iterate, parameters(policy)


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measure(config: TrainConfig, iterations: int, repeats: int) -> list[dict[str, Any]]:
    """Env-steps/s of every learner and of the network alone (``ROOFLINE``): each runs one untimed
    iteration, then ``repeats`` rounds time ``iterations`` iterations of each in turn (interleaved,
    so that a change in the machine's speed meets them all alike); the median of each one's rounds."""
    makers = {name: (lambda name=name: make_learner(name, config)) for name in LEARNERS}
    makers[ROOFLINE] = lambda: network_passes(config)
    built = {name: make() for name, make in makers.items()}
    for iterate, _ in built.values():
        iterate()
    rates: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(repeats):
        for name, (iterate, _) in built.items():
            synchronize(config.run.device)
            start = time.perf_counter()
            for _ in range(iterations):
                iterate()
            synchronize(config.run.device)
            rates[name].append(iterations * config.batch_size / (time.perf_counter() - start))
    return [
        {
            "learner": name,
            "steps_per_second": statistics.median(rates[name]),
            "repeats": rates[name],
            "parameters": count,
        }
        for name, (_, count) in built.items()
    ]


def synchronize(device: str) -> None:
    """Wait for the GPU's queued work (timings on CUDA end when the work does); nothing on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def ratios(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The Trainer's steps/s over each SB3 learner's, and each Actformer learner's over the roofline's
    (the fraction of the network's own speed it trains at)."""
    by_name = {r["learner"]: r["steps_per_second"] for r in results}
    table = {f"trainer/{name}": by_name["trainer"] / by_name[name] for name in LEARNERS[1:]}
    for name in ("trainer", "sb3-actformer"):
        table[f"{name}/{ROOFLINE}"] = by_name[name] / by_name[ROOFLINE]
    return table


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
        f"PPO on {config.env.env_id} (lengths {MIN_LENGTH}-{MAX_LENGTH}), networks on "
        f"{config.run.device}, {config.env.num_envs} envs x "
        f"{config.algo.num_steps} steps per rollout, {config.algo.update_epochs} epochs of "
        f"{config.algo.num_minibatches} minibatches; rollout and update timed together; {ROOFLINE}: "
        "the network's forwards and forward+backward passes of an iteration, alone (the roofline)."
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
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device of every learner's network and of the roofline's, e.g. cuda "
        "(default cpu); the envs step on the CPU",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} (tiny sizes unless given)")
    add_output_flags(parser, "training_throughput")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    fill_unset(args, QUICK if args.quick else DEFAULTS)
    try:
        torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device: not a torch device (cpu, cuda, cuda:1, ...): {args.device!r}")
    if (args.num_envs * args.num_steps) % 4:
        parser.error("--num-envs x --num-steps must be divisible by 4 (the minibatches)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every learner, print the table, write the JSON and Markdown files; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(1)  # the benchmark machine is shared; SB3 and the Trainer alike
    try:
        resolve_device(args.device)
    except ValueError as error:  # (e.g. cuda where torch finds no GPU)
        print(f"training_throughput: error: --device: {error}", file=sys.stderr)
        return 2
    announce_smoke(args.quick)
    started = time.perf_counter()
    config = trainer_config(args)
    results = measure(config, args.iterations, args.repeats)
    for result in results:
        print(f"{result['learner']:<16} {result['steps_per_second']:>10,.0f} env-steps/s", file=sys.stderr)
    ratio_table = ratios(results)
    date, command = run_stamp("training_throughput", argv)
    machine, revision = machine_info(), source_revision()
    machine["stable_baselines3"] = stable_baselines3.__version__
    table = markdown_table(results, ratio_table, config)
    context = with_pins_and_commit(torch_context_line(machine, command, date), machine, revision)
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
            "timed": "wall clock of rollout + update per iteration, after one untimed iteration; "
            f"learners interleaved in each of the repeats; {ROOFLINE}: the network's forwards and "
            "forward+backward passes of an iteration alone",
        },
        "machine": machine,
        "results": results,
        "ratios": ratio_table,
        "revision": revision,
        "markdown": f"{table}\n\n{context}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "training_throughput")
    write_results(folder, "training_throughput.json", document, smoke=args.quick, markdown_file=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
