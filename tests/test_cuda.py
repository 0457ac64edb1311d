"""The CUDA path: the Actformer policy, the trainer (imitation and PPO), a checkpoint and the token
Transformer on a GPU compute what they compute on the CPU. Skipped where PyTorch sees no GPU (CI has
none); run on a GPU machine with ``pytest tests/test_cuda.py``."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_train_cli import TINY, run_dir
from test_train_core import copy_config

from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.token_transformer import (
    TokenTransformer,
    TokenTransformerConfig,
    train_token_transformer,
)
from actformer_gym.train.checkpoint import load_checkpoint
from actformer_gym.train.cli import main
from actformer_gym.train.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

#: Float32 on a GPU sums in another order than on the CPU: outputs agree to about 1e-6.
TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}


def addition_batch(num_envs: int = 64) -> tuple[gym.vector.VectorEnv, dict[str, np.ndarray], np.ndarray]:
    envs = gym.make_vec("Actformer/Addition-v0", num_envs=num_envs, vectorization_mode="vector_entry_point")
    observation, infos = envs.reset(seed=0)
    return envs, observation, infos["action_mask"]


def test_policy_on_cuda_computes_what_it_computes_on_the_cpu() -> None:
    envs, observation, mask = addition_batch()
    torch.manual_seed(0)
    cpu = ActformerPolicy(envs.single_observation_space, device="cpu")
    gpu = ActformerPolicy(envs.single_observation_space, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    logits, value = gpu(observation)
    assert logits.device.type == value.device.type == "cuda"
    expected_logits, expected_value = cpu(observation)
    torch.testing.assert_close(logits.cpu(), expected_logits, **TOLERANCE)
    torch.testing.assert_close(value.cpu(), expected_value, **TOLERANCE)
    actions = torch.as_tensor(gpu.act(observation, mask))
    _, log_prob, _, _ = gpu.get_action_and_value(observation, actions.to("cuda"), mask)
    _, expected_log_prob, _, _ = cpu.get_action_and_value(observation, actions, mask)
    torch.testing.assert_close(log_prob.cpu(), expected_log_prob, **TOLERANCE)
    assert np.asarray(mask)[np.arange(len(actions)), actions.numpy()].all()


def test_imitation_and_ppo_on_cuda_solve_copy() -> None:
    """The CPU test's recipe (``test_warm_start_and_ppo_solve_copy``) with the network on the GPU."""
    trainer = Trainer(copy_config(device="cuda", start_length=1, curriculum_window=64, kl_coef=0.1))
    assert next(trainer.policy.parameters()).device.type == "cuda"
    warm = trainer.warm_start()
    metrics = [trainer.iterate() for _ in range(4)]
    assert all(math.isfinite(m[key]) for m in metrics for key in m if key.startswith("losses/"))
    assert trainer.global_step == 4 * 32 * 32
    exact = trainer.evaluate((1, 2, 3, 4, 5), 64)
    # Margins as on the CPU, where every seed reaches 1.0 at every length (untrained: 0).
    assert warm["imitation/bc_loss"] < 0.1
    assert min(exact.values()) >= 0.5, exact


def test_a_run_trained_on_cuda_loads_and_evaluates_on_the_cpu(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    argv = ["train", *TINY, "--device", "cuda", "--total-steps", "128", "--runs-dir", str(runs)]
    assert main(argv) == 0
    payload = load_checkpoint(run_dir(runs))
    weights = [value for value in payload["policy"].values() if torch.is_tensor(value)]
    assert weights and all(value.device.type == "cpu" for value in weights)
    assert main(["eval", "--checkpoint", str(run_dir(runs)), "--lengths", "1", "--device", "cpu"]) == 0


def test_token_transformer_on_cuda_computes_and_trains_as_on_the_cpu() -> None:
    config = TokenTransformerConfig(d_model=32, layers=2, heads=2, positions="abacus", device="cpu")
    torch.manual_seed(0)
    cpu = TokenTransformer("Addition", config).eval()
    gpu = TokenTransformer("Addition", config).to("cuda").eval()
    gpu.load_state_dict(cpu.state_dict())
    tokens = torch.randint(3, 12, (4, 9))
    positions = torch.arange(9).expand(4, 9)
    keys = torch.ones_like(tokens, dtype=torch.bool)
    with torch.no_grad():
        expected = cpu(tokens, positions, keys)
        logits = gpu(tokens.cuda(), positions.cuda(), keys.cuda())
    torch.testing.assert_close(logits.cpu(), expected, **TOLERANCE)
    trained = TokenTransformerConfig(
        d_model=32, layers=2, heads=2, max_steps=300, eval_every=100, device="cuda"
    )
    model, stats = train_token_transformer("Parity", 3, seed=0, config=trained)
    assert model.device.type == "cuda" and stats["steps"] <= 300
    # Parity on 1..3 bits: chance is 0.5; the CPU's run of this config reaches 1.0.
    assert stats["accuracy"] >= 0.9, stats["curve"]
