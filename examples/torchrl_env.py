"""TorchRL on Actformer envs: ``GymEnv`` by id, and ``GymWrapper`` around the native vector env.

    pip install torchrl torch -e .                  # TorchRL pins its torch: use a fresh venv
    python examples/torchrl_env.py

TorchRL's batched-env wrapper needs Gymnasium's SAME_STEP autoreset (the last observation of an
ended episode in ``info["final_obs"]``); the native vector env offers it with
``autoreset_mode=AutoresetMode.SAME_STEP`` (NEXT_STEP is its default, as for Gymnasium's own).
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import torch
from gymnasium.vector import AutoresetMode
from torchrl.envs import GymEnv, GymWrapper
from torchrl.envs.utils import check_env_specs

from actformer_envs import TensorInfos  # (importing the package registers the ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="Actformer/Copy-v0")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    torch.manual_seed(0)

    env = GymEnv(args.env_id)  # one env, made by id
    check_env_specs(env)
    rollout = env.rollout(args.steps)  # random actions
    print(f"GymEnv: {rollout.batch_size[0]} steps, keys {sorted(rollout['next'].keys())}")

    vector = gym.make_vec(
        args.env_id,
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    # TensorInfos drops the infos TorchRL cannot make tensors of (the decoded answers); categorical
    # encoding, because TorchRL fills the final observation of an env that did not end with zeros,
    # which is not a valid one-hot of last_action.
    batched = GymWrapper(TensorInfos(vector), categorical_action_encoding=True)
    check_env_specs(batched)
    rollout = batched.rollout(args.steps, break_when_any_done=False)
    ended = int(rollout["next", "done"].sum())
    print(f"GymWrapper(native vector env): batch {tuple(rollout.batch_size)}, {ended} episodes ended")


if __name__ == "__main__":
    main()
