"""A task is one file: a toy task defined here, and nowhere else, becomes a registered env that
passes the whole env battery, is learned by imitation, and is traced by ``actformer trace``.

``Last`` (write the input's last symbol) is defined below with its hooks: layout (a
``SequenceTask``), target, allowed instructions, expert, program length, text format and recipe.
``register_task`` makes it ``Actformer/Last-v0``; the battery of ``test_env_api``, ``test_experts``
and ``test_vector_env`` runs on it through this module's ``env_id`` fixture, against an oracle
written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import test_env_api
import test_experts
import test_vector_env
from oracles import ORACLES
from oracles.sequences import SequenceOracle

from actformer_envs import register_task, unregister_task
from actformer_envs.instructions import instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.symbols import BLANK
from actformer_envs.tasks import Recipe, SymbolString
from actformer_envs.tasks.sequence import SequenceTask

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_LEFT = instruction_index("MOVE P0 LEFT")
_RIGHT = instruction_index("MOVE P0 RIGHT")
_HALT = instruction_index("HALT")


class Last(SequenceTask):
    """``Actformer/Last-v0``: write the last symbol of the input on ``OUT``.

    The expert walks P0 right to the BLANK after the input, steps back, reads, writes, halts:
    n + 4 steps for n symbols.
    """

    name = "Last"
    text_format = SymbolString()
    recipe = Recipe(5, (5, 50), 50)
    allowed_instructions = ("READ P0->R0", "WRITE R0->P1", "MOVE P0 LEFT", "MOVE P0 RIGHT", "HALT")

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        target = np.full_like(inputs, BLANK)
        target[:, 0] = inputs[np.arange(len(inputs)), lengths - 1]
        return target

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return lengths + 4

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        return np.select(
            [last == _LEFT, last == _READ, last == _WRITE, view.under(P0) == BLANK],
            [_READ, _WRITE, _HALT, _LEFT],
            default=_RIGHT,
        )


class LastOracle(SequenceOracle):
    """What ``Last`` must do, restated without its code."""

    task = "Last"

    def answer(self, problem: Any, base: int) -> Any:
        return [problem[-1]]

    def program_length(self, problem: Any, base: int) -> int:
        return len(problem) + 4


ENV_ID = "Actformer/Last-v0"


@pytest.fixture(autouse=True)
def last_is_registered() -> Iterator[None]:
    """``Last`` registered (with its oracle) for each test of this module, and removed after, so
    that no other module sees it."""
    register_task(Last)
    ORACLES[Last.name] = LastOracle()
    yield
    del ORACLES[Last.name]
    unregister_task(Last.name)


@pytest.fixture
def env_id() -> str:
    """The battery's env id, here the toy task's alone."""
    return ENV_ID


@pytest.fixture
def spec() -> gym.envs.registration.EnvSpec:
    """The battery's spec, here the toy task's alone."""
    return gym.spec(ENV_ID)


# The registry-driven battery, run on Last: every test of these modules that takes ``env_id``.
for _module in (test_env_api, test_experts, test_vector_env):
    for _name, _test in vars(_module).items():
        if _name.startswith("test_") and callable(_test):
            globals()[f"{_name}__{_module.__name__}"] = _test


def test_the_battery_ran_here() -> None:
    """The loop above brought the battery into this module (a guard against collecting nothing)."""
    imported = [name for name in globals() if name.startswith("test_") and "__test_" in name]
    assert len(imported) > 50, imported


def test_register_task_errors() -> None:
    with pytest.raises(ValueError, match="taken"):
        register_task(Last)
    with pytest.raises(TypeError, match="Task"):
        register_task(dict)  # type: ignore[arg-type]


def test_learned_by_imitation_and_traced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``actformer train`` learns Last by imitation alone and generalizes 10x; ``actformer trace``
    shows the policy's steps on a problem written in Last's text format."""
    from actformer_gym.train.cli import main

    runs = tmp_path / "runs"
    argv = ["train", "--task", "Last", "--max-length", "5", "--num-envs", "16", "--imitation-pairs", "3000"]
    argv += ["--imitation-epochs", "10", "--dagger-rounds", "1", "--dagger-steps", "500", "--seed", "0"]
    argv += ["--eval-lengths", "5", "50", "--eval-episodes", "32", "--no-progress", "--threads", "1"]
    argv += ["--no-certify"]
    argv += ["--runs-dir", str(runs), "ppo", "--num-steps", "8", "--num-minibatches", "2"]
    assert main([*argv, "--total-steps", "128", "--kl-coef", "1.0"]) == 0
    out = capsys.readouterr().out
    run_dir = next(runs.iterdir())
    rows = {line.split("|")[1].strip(): float(line.split("|")[3]) for line in out.splitlines()[2:]}
    assert rows["5"] >= 0.9 and rows["50"] >= 0.9, out
    assert main(["trace", "--checkpoint", str(run_dir), "--problem", "31415", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Last")  # the first frame names the task
    steps = [line.split()[1] for line in lines if line[:4].strip().isdigit()]
    assert steps[:5] == ["MOVE"] * 5 and steps[-3:] == ["READ", "WRITE", "HALT"], lines
    assert lines[-1] == "output: 5  expected: 5  (right)", lines[-1]


def test_text_format_is_the_tasks_own() -> None:
    from actformer_envs.tasks import parse_problem

    assert parse_problem("Last", "31415") == [3, 1, 4, 1, 5]
    with pytest.raises(ValueError, match="Last"):
        parse_problem("Last", "3+1")


def test_unregister_removes_the_task_and_its_id() -> None:
    """What the fixture's teardown relies on, so that no other module sees Last."""
    from actformer_envs import TASKS

    unregister_task(Last.name)
    try:
        assert Last.name not in TASKS and ENV_ID not in gym.registry
    finally:
        register_task(Last)
