"""Third-party RL code runs on Actformer envs as its users run it: CleanRL's own ``ppo.py`` (pinned, in
``tests/third_party/cleanrl``) with only its ``make_env`` changed, skrl, SB3's RecurrentPPO, and the
examples. RLlib and TorchRL pin their own Gymnasium and torch: ``.ci/run`` runs their examples in
environments of their own."""

from __future__ import annotations

import difflib
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from actformer_envs import FlatObservation, FlatVectorObservation

REPO = Path(__file__).resolve().parents[1]
CLEANRL = REPO / "tests" / "third_party" / "cleanrl" / "ppo.py"
PATCHES = REPO / "examples" / "cleanrl"
TINY = ["--env-id", "Actformer/Copy-v0", "--total-timesteps", "256", "--num-envs", "2", "--num-steps", "64"]


def _patched_cleanrl(tmp_path: Path, *patches: str) -> Path:
    """A copy of CleanRL's ppo.py with ``patches`` applied by ``git apply`` (as a user would)."""
    (tmp_path / "cleanrl").mkdir()
    script = tmp_path / "cleanrl" / "ppo.py"
    shutil.copy(CLEANRL, script)
    for patch in patches:
        subprocess.run(["git", "apply", str(PATCHES / patch)], cwd=tmp_path, check=True)
    return script


def _run(script: Path, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), *args, "--no-cuda"],
        cwd=script.parent.parent, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _changed_lines(original: str, patched: str) -> list[int]:
    """Line numbers (of the original) that a diff touches."""
    matcher = difflib.SequenceMatcher(a=original.splitlines(), b=patched.splitlines(), autojunk=False)
    return [i1 for tag, i1, _i2, _j1, _j2 in matcher.get_opcodes() if tag != "equal"]


def test_cleanrl_ppo_runs_with_only_make_env_changed(tmp_path: Path) -> None:
    script = _patched_cleanrl(tmp_path, "make_env.patch")
    original = CLEANRL.read_text().splitlines()
    start = original.index("def make_env(env_id, idx, capture_video, run_name):")
    end = original.index("def layer_init(layer, std=np.sqrt(2), bias_const=0.0):")
    changed = _changed_lines(CLEANRL.read_text(), script.read_text())
    assert changed and all(start < line < end for line in changed), changed
    out = _run(script, *TINY)
    assert "SPS:" in out  # it trained: CleanRL prints this after every iteration
    assert list((tmp_path / "runs").iterdir())  # and wrote its TensorBoard run


def test_cleanrl_gymnasium1_logging_patch_logs_episodes(tmp_path: Path) -> None:
    """CleanRL's logging reads ``final_info``, which Gymnasium 1.x's NEXT_STEP vector envs no longer
    give; the second patch reads the batched ``episode`` statistics instead."""
    script = _patched_cleanrl(tmp_path, "make_env.patch", "gymnasium1_logging.patch")
    out = _run(script, *TINY)
    assert "episodic_return=" in out


def test_skrl_wraps_and_steps() -> None:
    from skrl.envs.wrappers.torch import wrap_env

    single = wrap_env(FlatObservation(gym.make("Actformer/Copy-v0")), wrapper="gymnasium")
    obs, _ = single.reset()
    assert obs.shape == (1, single.observation_space.shape[0]) and obs.dtype == torch.float32
    vector = FlatVectorObservation(
        gym.make_vec("Actformer/Copy-v0", num_envs=4, vectorization_mode="vector_entry_point")
    )
    batched = wrap_env(vector, wrapper="gymnasium")
    assert batched.num_envs == 4
    obs, _ = batched.reset()
    ended = 0
    for _ in range(60):
        actions = torch.as_tensor(vector.unwrapped.expert_action()).reshape(4, 1)
        obs, reward, terminated, truncated, _ = batched.step(actions)
        assert obs.shape == (4, vector.single_observation_space.shape[0])
        assert reward.shape == terminated.shape == truncated.shape == (4, 1)
        ended += int(terminated.sum())
    assert ended >= 4  # the expert solves problems through skrl's wrapper


def test_recurrent_ppo_trains_with_flat_observation() -> None:
    from sb3_contrib import RecurrentPPO

    env = FlatObservation(gym.make("Actformer/Copy-v0", max_length=3))
    model = RecurrentPPO(
        "MlpLstmPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0,
        policy_kwargs={"lstm_hidden_size": 16, "net_arch": [16]},
    )  # fmt: skip
    model.learn(64)
    action, state = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(int(action)) and state is not None


def _run_example(name: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(REPO / "examples" / name), run_name="__main__")


@pytest.mark.parametrize("algo", ["ppo", "maskable-ppo", "recurrent-ppo"])
def test_sb3_example(algo: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    args = ("--algo", algo, "--timesteps", "64", "--n-steps", "64", "--eval-episodes", "2")
    _run_example("sb3_ppo.py", monkeypatch, *args)
    assert f"{algo} on Actformer/Copy-v0: 64 env-steps, greedy return" in capsys.readouterr().out


def test_masked_ppo_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    args = ("--total-timesteps", "512", "--num-envs", "4", "--num-steps", "64")
    _run_example("ppo_masked.py", monkeypatch, *args)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["iteration 1", "iteration 2"]
    assert "512 env-steps" in lines[-1]


@pytest.mark.parametrize(
    ("name", "args", "words"),
    [
        ("sb3_ppo.py", ("--timesteps", "-5"), "--timesteps must be >= 1"),
        ("sb3_ppo.py", ("--env-id", "Nope"), "--env-id must be a registered"),
        ("sb3_ppo.py", ("--max-length", "0"), "--max-length must be >= 1"),
        ("ppo_masked.py", ("--total-timesteps", "-1"), "--total-timesteps must be >= one rollout"),
        ("ppo_masked.py", ("--env-id", "Actformer/Nope-v0"), "--env-id must be a registered"),
        ("ppo_masked.py", ("--num-envs", "0"), "--num-envs must be >= 1"),
        ("ppo_masked.py", ("--max-length", "0"), "--max-length must be >= 1"),
    ],
)
def test_examples_stop_on_bad_settings_in_one_line(
    name: str,
    args: tuple[str, ...],
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run_example(name, monkeypatch, *args)
    message = exit_info.value.code if isinstance(exit_info.value.code, str) else capsys.readouterr().err
    assert exit_info.value.code != 0 and words in message.strip().splitlines()[-1]


def test_examples_document_how_to_run_them() -> None:
    for example in sorted((REPO / "examples").glob("*.py")):
        text = example.read_text()
        assert f"python examples/{example.name}" in text, example.name
    assert np.all([p.exists() for p in (PATCHES / "make_env.patch", PATCHES / "gymnasium1_logging.patch")])


def test_make_by_module_prefixed_id_without_importing_the_package() -> None:
    """``gym.make("actformer_envs:Actformer/Copy-v0")`` imports the package itself (for tools that
    only take an id): checked in a fresh interpreter, where nothing imported it before."""
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'actformer_envs' not in sys.modules\n"
        "env = gym.make('actformer_envs:Actformer/Copy-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(type(env.unwrapped).__name__, sorted(obs)[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ActformerEnv", "boundaries"]
