"""Ray RLlib's PPO on an Actformer env: the creator below is all RLlib needs.

    pip install "ray[rllib]" torch -e .            # Ray pins its own Gymnasium: use a fresh venv
    python examples/rllib_ppo.py --iterations 2

RLlib's default networks take a flat float vector, so the creator wraps the env in
``FlatObservation`` (the Dict observation, one-hot, as float32). On a Ray cluster, start Ray there
(``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others) and run this
script on the head with ``--address auto`` and more ``--env-runners``: nothing else changes.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.tune.registry import register_env


def make_actformer_env(env_config: dict) -> gym.Env:
    """RLlib's env creator: runs in every env-runner process, so it imports the package there."""
    import actformer_envs

    env = gym.make(env_config.get("id", "Actformer/Copy-v0"), **env_config.get("kwargs", {}))
    return actformer_envs.FlatObservation(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="Actformer/Copy-v0")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--env-runners", type=int, default=0, help="0: sample in the driver process")
    parser.add_argument("--address", default=None, help="a Ray cluster's address, e.g. auto")
    args = parser.parse_args()

    ray.init(address=args.address, include_dashboard=False)
    register_env("actformer", make_actformer_env)
    config = (
        PPOConfig()
        .environment("actformer", env_config={"id": args.env_id, "kwargs": {"max_length": 3}})
        .env_runners(num_env_runners=args.env_runners, num_envs_per_env_runner=4)
        .training(train_batch_size_per_learner=512, minibatch_size=128, num_epochs=2, lr=3e-4)
    )
    algo = config.build_algo()
    for iteration in range(1, args.iterations + 1):
        result = algo.train()
        runners = result["env_runners"]
        print(
            f"iteration {iteration}: {result['num_env_steps_sampled_lifetime']} env-steps, "
            f"mean episode return {runners.get('episode_return_mean', float('nan')):.3f}",
            flush=True,
        )
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
