"""The worker of ``benchmarks.network_speed``: one version of the Actformer network, timed on request.

Run as a script by the benchmark, once per version, with that version's packages first on
``PYTHONPATH``; it imports nothing from ``benchmarks`` (which belongs to this checkout) and only the
policy interface every version has: ``ActformerPolicy(observation_space, device="cpu")``, its
``forward`` and ``get_action_and_value(obs, action, action_mask)``.

    python benchmarks/network_worker.py INPUTS.npz WEIGHTS.npz POLICY_MODULE

``INPUTS.npz`` holds the observations (``obs/<key>``), action masks and actions; ``WEIGHTS.npz`` the
policy's parameters by ``state_dict`` name; ``POLICY_MODULE`` is the module of ``ActformerPolicy`` in
the version's layout (``actformer_gym.agents.actformer``; before commit 8602e54,
``agents.actformer``). Commands arrive on stdin, one per line; each answer is one line of JSON on
stdout:

- ``where``: the files the policy and the env package were imported from;
- ``outputs BATCH PATH``: the logits and values of the first ``BATCH`` observations, and the
  parameters' gradients of one training pass over them, saved to ``PATH`` (``.npz``);
- ``time forward|train BATCH CALLS``: the seconds of each of ``CALLS`` calls: a forward pass without
  autograd, or a training pass (``train_pass``);
- ``quit``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import actformer_envs

ENV_ID = "Actformer/Addition-v0"


def load(
    inputs_path: str, weights_path: str, policy_module: Any
) -> tuple[Any, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(the policy with the given weights, observations, masks, actions)."""
    inputs = np.load(inputs_path)
    observations = {key[4:]: inputs[key] for key in inputs.files if key.startswith("obs/")}
    policy = policy_module.ActformerPolicy(gym.make(ENV_ID).observation_space, device="cpu")
    weights = np.load(weights_path)
    policy.load_state_dict({name: torch.from_numpy(weights[name]) for name in weights.files})
    return policy, observations, inputs["masks"], inputs["actions"]


def train_pass(policy: Any, obs: dict[str, torch.Tensor], actions: torch.Tensor, masks: torch.Tensor) -> None:
    """The network's share of a PPO minibatch: the masked log-probabilities of the taken actions,
    the entropies and the values, and the backward pass of a loss of all three, into fresh
    gradients (as the trainer's ``zero_grad(set_to_none=True)`` leaves them)."""
    policy.zero_grad(set_to_none=True)
    _, log_prob, entropy, value = policy.get_action_and_value(obs, actions, masks)
    (log_prob.mean() + entropy.mean() + value.square().mean()).backward()


def main() -> int:
    torch.set_num_threads(1)
    policy_module = importlib.import_module(sys.argv[3])
    policy, observations, masks, actions = load(sys.argv[1], sys.argv[2], policy_module)

    def batch(size: int) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        obs = policy.as_tensors({key: value[:size] for key, value in observations.items()})
        return obs, torch.as_tensor(actions[:size]), torch.as_tensor(masks[:size])

    def forward(size: int) -> Callable[[], None]:
        obs, _, _ = batch(size)

        def call() -> None:
            with torch.no_grad():
                policy(obs)

        return call

    def training(size: int) -> Callable[[], None]:
        obs, taken, allowed = batch(size)
        return lambda: train_pass(policy, obs, taken, allowed)

    passes = {"forward": forward, "train": training}
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        if command[0] == "where":
            answer: Any = {"policy": policy_module.__file__, "envs": actformer_envs.__file__}
        elif command[0] == "outputs":
            size, path = int(command[1]), command[2]
            obs, taken, allowed = batch(size)
            with torch.no_grad():
                logits, values = policy(obs)
            train_pass(policy, obs, taken, allowed)
            gradients = {
                f"grad/{name}": parameter.grad.numpy()
                for name, parameter in policy.named_parameters()
                if parameter.grad is not None
            }
            np.savez(path, logits=logits.numpy(), values=values.numpy(), **gradients)
            answer = path
        else:  # time
            call = passes[command[1]](int(command[2]))
            call()  # (a warm-up call: first-call costs are not the network's)
            seconds = []
            for _ in range(int(command[3])):
                start = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - start)
            answer = seconds
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
