"""PPO learns from scratch, with no expert anywhere in the loop: the recipe of
``benchmarks/rl_from_scratch.py`` on Copy, for a budget a fifth of what it takes to solve it.

A random policy solves almost no one-symbol copy (it must READ, WRITE and HALT in that order among
ten valid instructions); after 200k env-steps the greedy policy solves nearly all of them on every
seed and kernel path tried. The bar sits far below that and far above random, so the test fails only
when learning breaks, not when float bits differ between CPUs.
"""

from __future__ import annotations

import pytest

from actformer_gym.agents.baselines import RandomAgent
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import exact_match
from actformer_gym.train.trainer import Trainer
from benchmarks.rl_from_scratch import ENV_MODES, RECIPE

STEPS = 200_704  # 49 iterations of 64 envs x 64 steps
BAR = 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_ppo_from_scratch_learns_to_copy(seed: int) -> None:
    config = TrainConfig.from_flat(
        "ppo", task="Copy", seed=seed, device="cpu", total_steps=STEPS, max_length=5, **RECIPE
    )
    trainer = Trainer(config)
    assert not config.imitation.enabled and not trainer.policy.projected
    before = trainer.evaluate((1,), 200)[1]
    while not trainer.done():
        trainer.iterate()
    after = trainer.evaluate((1,), 200)[1]
    random = exact_match(RandomAgent(seed), "Actformer/Copy-v0", 1, 200, seed=seed, **ENV_MODES)
    assert max(before, random) < 0.1
    assert after >= BAR, f"greedy exact match at length 1 after {STEPS:,} env-steps: {after}"
