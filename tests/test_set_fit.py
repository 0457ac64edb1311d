"""Imitation on the verification set: it stops exactly when what a certificate checks holds, a run
that uses it certifies itself, and an RL phase that loses agreement is rolled back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_train_cli import one_torch_thread  # noqa: F401  (autouse: one torch thread here too)

import actformer_envs
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.train.certify import greedy_agreement, set_plan, verification_set
from actformer_gym.train.cli import main
from actformer_gym.train.config import (
    PPO,
    EnvSettings,
    ImitationSettings,
    PolicySettings,
    RunSettings,
    TrainConfig,
)
from actformer_gym.train.runs import keep_agreement
from actformer_gym.train.set_fit import fit_to_set
from actformer_gym.train.trainer import Trainer


def projected_policy(task: str, seed: int = 0) -> ActformerPolicy:
    env = gym.make(f"Actformer/{task}-v0")
    torch.manual_seed(seed)
    policy = ActformerPolicy(env.observation_space, reads=env.unwrapped.mixture.read_masks(), device="cpu")
    env.close()
    return policy


def copy_set(projected: bool = True) -> Any:
    kwargs = {"history_length": 8}
    counts = set_plan(actformer_envs.tasks.SINGLE_TASKS["Copy"], [1, 2, 3], 1000, 10**4, kwargs)
    return verification_set(
        actformer_envs.tasks.SINGLE_TASKS["Copy"], [1, 2, 3], counts, 0, 10**4, kwargs, projected
    )


def test_fit_stops_when_every_observation_agrees_with_the_margin() -> None:
    obs_set = copy_set()
    policy = projected_policy("Copy")
    fit = fit_to_set(policy, obs_set, margin=1.5, max_steps=2000, check_every=5, seed=0)
    assert fit.reached and fit.steps < 2000 and fit.size == len(obs_set)
    # What it reports is what certify measures, greedily, on the saved module.
    agreement = greedy_agreement(policy, obs_set)
    assert agreement.agreement == 1.0 == fit.agreement
    assert agreement.min_margin >= 1.5 and agreement.min_margin == pytest.approx(fit.min_margin, abs=1e-4)
    # The check before the last one had not reached it: the fit stopped at the first check that did.
    assert not (fit.history[-2]["agreement"] == 1.0 and fit.history[-2]["min_margin"] >= 1.5)


def test_fit_reports_an_unreached_budget_and_checks_arguments() -> None:
    obs_set = copy_set()
    fit = fit_to_set(projected_policy("Copy"), obs_set, margin=50.0, max_steps=3, check_every=1)
    assert not fit.reached and fit.steps == 3 and len(fit.history) == 4
    for name, value in (("margin", 0.0), ("max_steps", 0), ("check_every", 0), ("lr", -1.0)):
        with pytest.raises(ValueError, match=name):
            fit_to_set(projected_policy("Copy"), obs_set, **{name: value})


def test_imitation_needs_pairs_or_the_fit() -> None:
    with pytest.raises(ValueError, match="imitation_pairs"):
        ImitationSettings(pairs=0)
    assert ImitationSettings(pairs=0, fit_set=True).pairs == 0


def test_train_fits_the_set_certifies_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "train",
        "--task",
        "Copy",
        "--max-length",
        "3",
        "--projected",
        "--fit-set",
        "--imitation-pairs",
        "0",
    ]
    argv += ["--total-steps", "0", "--eval-lengths", "3", "30", "--eval-episodes", "16", "--no-progress"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    (run,) = tmp_path.iterdir()
    report = json.loads((run / "eval.json").read_text())
    assert report["warm_start"]["imitation/agreement"] == 1.0
    assert report["warm_start"]["imitation/min_margin"] >= 1.0
    assert report["certificate"]["verdict"] == "certified" and report["certificate"]["projected"]
    assert report["certificate"]["strays"] == 0 and not report["rolled_back"]
    certificate = json.loads((run / "certificate.json").read_text())
    assert certificate["verdict"] == "certified" and certificate["settings"]["projected"] is True
    assert "certified; certificate: " in err
    assert all(row["exact_match"] == 1.0 for row in report["rows"])


def test_rl_that_loses_agreement_is_rolled_back(tmp_path: Path) -> None:
    config = TrainConfig(
        env=EnvSettings(task="Copy", num_envs=8, max_length=3),
        policy=PolicySettings(projected=True),
        imitation=ImitationSettings(pairs=0, fit_set=True),
        algo=PPO(num_steps=8, num_minibatches=2, update_epochs=1),
        run=RunSettings(total_steps=64, eval_lengths=(3,), eval_episodes=8, certify=False),
    )
    trainer = Trainer(config)
    trainer.warm_start()
    trainer.iterate()
    assert trainer.agreement()[0] == 1.0
    assert not keep_agreement(trainer, _NoWriter(), tmp_path / "checkpoint.pt")
    warm = {key: value.clone() for key, value in trainer.warm_policy.state_dict().items()}
    with torch.no_grad():  # what a harmful update does: another action wins everywhere
        trainer.policy.actor.bias[int(np.flatnonzero(trainer.rollout.mask[0])[-1])] += 1e3
    assert trainer.agreement()[0] < 1.0
    assert keep_agreement(trainer, _NoWriter(), tmp_path / "checkpoint.pt")
    assert trainer.agreement()[0] == 1.0
    for key, value in trainer.policy.state_dict().items():
        assert torch.equal(value, warm[key]), key
    assert (tmp_path / "checkpoint.pt").exists()


class _NoWriter:
    """A SummaryWriter that keeps nothing."""

    def add_scalar(self, *args: Any) -> None:
        pass

    def flush(self) -> None:
        pass
