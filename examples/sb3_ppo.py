"""Stable-Baselines3 on Actformer envs: PPO, MaskablePPO (sb3-contrib) and RecurrentPPO, unchanged.

    python examples/sb3_ppo.py --algo maskable-ppo --timesteps 100000

PPO and MaskablePPO take the Dict observation as it is (``MultiInputPolicy``); MaskablePPO reads
the allowed instructions from ``env.action_masks()`` (and is scored with them). RecurrentPPO's
LSTM policy wants one flat vector: ``FlatObservation`` gives it. The score is SB3's
``evaluate_policy`` (deterministic, i.e. greedy, actions) on fresh problems of the training lengths.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
from sb3_contrib import MaskablePPO, RecurrentPPO
from sb3_contrib.common.maskable.evaluation import evaluate_policy as evaluate_masked
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy

from actformer_envs import FlatObservation


def make(
    algo: str, env_id: str, max_length: int, seed: int, n_steps: int = 256
) -> PPO | MaskablePPO | RecurrentPPO:
    env = gym.make(env_id, max_length=max_length)
    small = {"n_steps": n_steps, "batch_size": min(64, n_steps), "seed": seed, "verbose": 0}
    if algo == "ppo":
        return PPO("MultiInputPolicy", env, **small)
    if algo == "maskable-ppo":
        return MaskablePPO("MultiInputPolicy", env, **small)
    return RecurrentPPO("MlpLstmPolicy", FlatObservation(env), **small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=["ppo", "maskable-ppo", "recurrent-ppo"], default="maskable-ppo")
    parser.add_argument("--env-id", default="Actformer/Copy-v0")
    parser.add_argument("--max-length", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-steps", type=int, default=256, help="env-steps per rollout (default 256)")
    args = parser.parse_args()
    if args.env_id not in gym.registry:
        parser.error(f"--env-id must be a registered env id such as Actformer/Copy-v0, got {args.env_id!r}")
    # (--n-steps: SB3 normalizes advantages over a minibatch, which needs two samples)
    for flag, low in (("max_length", 1), ("timesteps", 1), ("eval_episodes", 1), ("n_steps", 2)):
        if getattr(args, flag) < low:
            parser.error(f"--{flag.replace('_', '-')} must be >= {low}, got {getattr(args, flag)}")

    model = make(args.algo, args.env_id, args.max_length, args.seed, args.n_steps)
    model.learn(total_timesteps=args.timesteps)
    evaluate = evaluate_masked if isinstance(model, MaskablePPO) else evaluate_policy
    mean_return, std_return = evaluate(
        model, model.get_env(), n_eval_episodes=args.eval_episodes, deterministic=True
    )
    print(
        f"{args.algo} on {args.env_id}: {args.timesteps} env-steps, "
        f"greedy return {mean_return:.3f} ± {std_return:.3f}"
    )


if __name__ == "__main__":
    main()
