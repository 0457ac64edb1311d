"""The ``actformer`` command (train/eval/trace) and checkpoint I/O: config files, atomic saves,
clear errors, TensorBoard logs, exact resume."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from actformer_envs.tasks import TASKS
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.train import cli, runs
from actformer_gym.train.checkpoint import FORMAT_VERSION, env_signature, load_checkpoint, save_checkpoint
from actformer_gym.train.cli import main, parse_train
from actformer_gym.train.config import A2C, PPO, AlgoSettings, EnvSettings, RunSettings, TrainConfig
from actformer_gym.train.runs import UsageError, load_policy
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trace import parse_problem, trace
from actformer_gym.train.trainer import Trainer

#: A training run of a few seconds: Copy, 2 iterations of 8 envs x 8 steps per checkpoint. The algo
#: flags follow the ``ppo`` subcommand, and so do the others, so that a test may append a flag that
#: overrides any of them (tyro refuses a flag given both before and after the subcommand).
TINY = [
    "ppo", "--num-steps", "8", "--num-minibatches", "2", "--update-epochs", "1",
    "--task", "Copy", "--num-envs", "8", "--no-imitation", "--eval-lengths", "1", "2",
    "--eval-episodes", "8", "--no-progress", "--no-certify", "--no-projected", "--no-fit-set",
]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Any:
    """Tiny models on a shared CPU: more than one torch thread only adds contention (6x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def bare_checkpoint(path: Path, task: str = "Copy", algo: AlgoSettings | None = None) -> Path:
    """A checkpoint of an untrained policy (no trainer state): what eval and trace need."""
    settings = TrainConfig(
        env=EnvSettings(task=task, num_envs=8),
        algo=PPO() if algo is None else algo,
        run=RunSettings(eval_lengths=(1, 2), eval_episodes=8),
    )
    env = gym.make(settings.env.env_id, max_length=settings.env.length_cap)
    policy = ActformerPolicy(
        env.observation_space, d_model=settings.policy.d_model, hidden=settings.policy.hidden, device="cpu"
    )
    payload = {
        "format_version": FORMAT_VERSION,
        "algo": settings.algo.name,
        "config": settings.to_dict(),
        "env": env_signature(settings.env.env_id, env.observation_space),
        "policy": policy.state_dict(),
        "trainer": {},
    }
    return save_checkpoint(path, payload)


def one_line_error(capsys: pytest.CaptureFixture, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


# --------------------------------------------------------------------------------- config files


def write_config(path: Path, values: dict[str, Any]) -> Path:
    """``values`` as the YAML or JSON file ``path`` (by its suffix)."""
    path.write_text(json.dumps(values) if path.suffix == ".json" else yaml.safe_dump(values))
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_config_file_is_loaded_then_overridden_by_flags(tmp_path: Path, suffix: str) -> None:
    values = {"env": {"task": "Copy", "num_envs": 8}, "run": {"seed": 3, "eval_lengths": [2, 4]}}
    path = write_config(tmp_path / f"run{suffix}", values)
    options, config, resumed = parse_train(["--config", str(path), "--seed", "5", "a2c"])
    assert resumed is None and options.config == path
    assert (config.env.task, config.run.seed, config.env.num_envs) == ("Copy", 5, 8)
    assert config.run.eval_lengths == (2, 4)
    assert isinstance(config.algo, A2C) and config.algo.num_steps == 16  # A2C's own default, not PPO's


def test_a2c_subcommand_takes_its_own_defaults_unless_overridden(tmp_path: Path) -> None:
    plain = write_config(tmp_path / "plain.yaml", {"env": {"task": "Copy"}})
    a2c_file = write_config(
        tmp_path / "a2c.yaml", {"env": {"task": "Copy"}, "algo": {"name": "a2c", "num_steps": 8}}
    )
    ppo_file = write_config(tmp_path / "ppo.yaml", {"env": {"task": "Copy"}, "algo": {"num_steps": 32}})

    def algo(*argv: str) -> AlgoSettings:
        return parse_train(list(argv))[1].algo

    assert algo("--config", str(plain)) == PPO()  # no subcommand: PPO
    assert algo("--config", str(plain), "a2c") == A2C() and A2C().num_steps == 16
    assert algo("--config", str(plain), "a2c", "--num-steps", "4") == A2C(num_steps=4)
    assert algo("a2c", "--num-steps", "4", "--config", str(plain)) == A2C(num_steps=4)
    # The file's algo section, when it is A2C's, overrides A2C's defaults; the flags override both.
    assert algo("--config", str(a2c_file)) == A2C(num_steps=8)
    assert algo("--config", str(a2c_file), "a2c") == A2C(num_steps=8)
    assert algo("--config", str(a2c_file), "a2c", "--learning-rate", "0.01") == A2C(
        num_steps=8, learning_rate=0.01
    )
    # A PPO file's settings are not A2C's: a2c starts from its own defaults, ppo from the file.
    assert algo("--config", str(ppo_file), "a2c") == A2C()
    assert algo("--config", str(ppo_file), "ppo") == PPO(num_steps=32)
    assert algo("--config", str(ppo_file), "ppo", "--clip-coef", "0.1") == PPO(num_steps=32, clip_coef=0.1)


def test_max_length_follows_the_task_given_after_a_config_file(tmp_path: Path) -> None:
    """A config file of Copy (its max_length left to the recipe) then --task Multiplication: the
    run's max_length is Multiplication's recipe's, not Copy's; the file's own fields still hold."""
    path = write_config(tmp_path / "copy.yaml", {"env": {"task": "Copy", "num_envs": 8}})
    config = parse_train(["--config", str(path), "--task", "Multiplication"])[1]
    assert config == TrainConfig.for_task("Multiplication", num_envs=8)
    assert config.env.max_length == TASKS["Multiplication"].recipe.certified_length == 3
    assert parse_train(["--config", str(path)])[1] == TrainConfig.for_task("Copy", num_envs=8)
    assert parse_train(["--config", str(path)])[1].env.max_length == 5
    # Where the file sets max_length to None, the task's default max_length holds (not the recipe's).
    open_ended = write_config(tmp_path / "open.yaml", {"env": {"task": "Copy", "max_length": None}})
    assert parse_train(["--config", str(open_ended)])[1].env.length_cap == TASKS["Copy"].default_lengths[1]


@pytest.mark.parametrize("task", sorted(TASKS))
def test_the_defaults_of_a_task_are_its_recipe(task: str) -> None:
    """``actformer train --task T --seed S`` with no other flag: T's recipe (the certified one where
    T declares a recipe: projected, fit on the verification set of lengths 1..certified_length, no
    expert pairs, no RL), the seed given, and every other field the config's default."""
    config = parse_train(["--task", task, "--seed", "7"])[1]
    assert config == TrainConfig.for_task(task, seed=7)
    assert parse_train([f"--task={task}", "--seed=7"])[1] == config
    recipe = TASKS[task].recipe
    if recipe is None:
        assert config == TrainConfig.from_flat(task=task, seed=7)
        return
    assert config.env.max_length == recipe.certified_length
    assert config.policy.projected and config.imitation.fit_set and config.imitation.pairs == 0
    assert (
        config.run.total_steps == 0 and config.run.certify and config.run.eval_lengths == recipe.eval_lengths
    )
    # Every flag still overrides its recipe value.
    custom = parse_train(
        ["--task", task, "--no-projected", "--imitation-pairs", "100", "--total-steps", "64"]
    )[1]
    assert not custom.policy.projected and custom.imitation.pairs == 100 and custom.run.total_steps == 64


@pytest.mark.parametrize(
    "text, words",
    [
        ("env:\n  task: Copy\nalgo:\n  learning_rat: 0.1\n", ["learning_rat", "algo"]),  # a field
        ("env:\n  task: Copy\n  num_env: 8\n", ["num_env", "env"]),
        ("envs:\n  task: Copy\n", ["envs", "section"]),  # a section
        ("task: Copy\nseed: 3\n", ["seed", "task", "section"]),  # a flat (old) config file
        ("algo:\n  name: dqn\n", ["dqn", "algo"]),
        ("algo:\n  name: a2c\n  clip_coef: 0.1\n", ["clip_coef", "algo"]),  # PPO's, not A2C's
    ],
)
def test_config_file_unknown_section_or_field_is_named(
    text: str, words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    assert main(["train", "--config", str(path)]) == 2
    one_line_error(capsys, *words, str(path))


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--num-envs", "0"], ["num_envs"]),
        (["train", "--task", "Nope"], ["task", "Nope"]),
        (["train", "--history-length", "500"], ["history_length"]),
        (["train", "--task", "Copy", "--start-length", "6"], ["start_length", "max_length=5"]),
        (["train", "ppo", "--num-minibatches", "3"], ["num_minibatches"]),
        (["train", "a2c", "--clip-coef", "0.1"], ["--clip-coef"]),  # PPO's flag, not A2C's
        (["train", "--algo", "a2c"], ["--algo"]),  # the algorithm is a subcommand now
        (["train", "--checkpoint-every", "0"], ["checkpoint-every"]),
        (["train", "--config", "missing.yaml"], ["missing.yaml", "not found"]),
        (["eval", "--checkpoint", "missing_run"], ["missing_run", "not found"]),
        (["trace", "--checkpoint", "missing.pt", "--problem", "1+2"], ["missing.pt"]),
        (["fly"], ["fly"]),
    ],
)
def test_bad_values_and_paths_are_one_line_errors(
    argv: list[str], words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    one_line_error(capsys, *words)
    assert not (tmp_path / "runs").exists()


def test_bad_value_in_config_file_and_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad_value, broken = tmp_path / "bad.yaml", tmp_path / "broken.json"
    bad_value.write_text("run:\n  seed: -1\n")
    broken.write_text("{not json")
    assert main(["train", "--config", str(bad_value)]) == 2
    one_line_error(capsys, "seed")
    assert main(["train", "--config", str(broken)]) == 2
    one_line_error(capsys, "broken.json")


# ---------------------------------------------------------------------------------- checkpoints


def test_save_is_atomic_and_refuses_non_finite(tmp_path: Path) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    good = load_checkpoint(path)["policy"]
    code = {**load_checkpoint(path), "trainer": {"env": {"hook": lambda: None}}}  # not data
    with pytest.raises(TypeError, match=r"trainer\.env\.hook \(function\)"):
        save_checkpoint(path, code)
    nan = {**load_checkpoint(path)}
    nan["policy"] = {**good, "actor.bias": torch.full_like(good["actor.bias"], float("nan"))}
    with pytest.raises(ValueError, match=r"non-finite.*actor\.bias"):
        save_checkpoint(path, nan)
    left = load_checkpoint(path)["policy"]
    assert all(torch.equal(left[k], good[k]) for k in good)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary files left


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint in run directory"):
        load_checkpoint(tmp_path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format_version": 1}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="old pickle-based checkpoint format"):
        load_checkpoint(tmp_path / "old.pt")


# ---------------------------------------------------------------------------------- eval, trace


def test_eval_cli_on_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bare_checkpoint(tmp_path / "run" / "checkpoint.pt")
    report = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(tmp_path / "run"), "--lengths", "1", "3", "--episodes", "5"]
    assert main([*argv, "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| 1 | 5 |" in out and "| 3 | 5 |" in out
    saved = json.loads(report.read_text())
    assert [(r["length"], r["episodes"]) for r in saved["rows"]] == [(1, 5), (3, 5)]
    assert saved["partial"] is False and saved["lengths"] == [1, 3]
    assert main([*argv[:3], "--lengths", "3", "x"]) == 2


def test_a_policy_without_neighbours_is_saved_and_loaded_as_trained(tmp_path: Path) -> None:
    """``--no-neighbours`` reaches the policy, its checkpoint records it, and eval rebuilds the
    same policy from it (a mismatch would fail to load the state dict)."""
    runs = tmp_path / "runs"
    assert main(["train", *TINY, "--no-neighbours", "--total-steps", "128", "--runs-dir", str(runs)]) == 0
    directory = run_dir(runs)
    payload = load_checkpoint(directory / "checkpoint.pt")
    config = TrainConfig.from_dict(payload["config"])
    assert config.policy.neighbours is False
    policy = load_policy(payload, config, device="cpu")
    assert not policy.neighbours
    assert main(["eval", "--checkpoint", str(directory), "--lengths", "2", "--episodes", "4"]) == 0


def test_trace_cli_on_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt", task="Addition")
    assert main(["trace", "--checkpoint", str(path), "--problem", "12+345", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.match(r"Addition +step +0/", lines[0]) and "1 [2]" in lines[1]  # the first frame
    assert re.fullmatch(r" +1  \S.*", lines[5]), lines[5]  # then the steps
    assert lines[-1].startswith("output: ") and "expected: 357" in lines[-1]
    assert main(["trace", "--checkpoint", str(path), "--problem", "12*345"]) == 2
    one_line_error(capsys, "a+b")


class ExpertPolicy:
    """The task's expert behind the policy's ``act``, to check what a trace says."""

    def __init__(self, task: str, base: int | None = None) -> None:
        self.task = TASKS[task](base or TASKS[task].default_base)

    def act(self, observation: dict[str, np.ndarray], action_mask: Any = None, greedy: bool = True) -> int:
        return int(self.task.expert({k: np.asarray(v)[None] for k, v in observation.items()})[0])


def test_trace_says_what_each_step_changed() -> None:
    result = trace(ExpertPolicy("Addition"), TrainConfig(env=EnvSettings(task="Addition")), (95, 17))
    lines, info = result.steps, result.info
    assert [" ".join(line.split()[1:]) for line in lines[:6]] == [
        "READ P0->R0 R0=5",
        "READ P1->R1 R1=7",
        "ADD R0,R1 R0=12",
        "CARRY R0 R0=2 C=1",
        "WRITE R0->P2 OUT[0]=2",
        "ADVANCE P0:0->1 P1:0->1 P2:0->1",
    ]
    assert lines[-1].split()[1] == "HALT"
    assert info["is_success"] and info["output"] == 112
    # Longer than the run's max_length: the trace env is sized for the problem.
    copy = TrainConfig(env=EnvSettings(task="Copy"))
    info = trace(ExpertPolicy("Copy"), copy, parse_problem("Copy", "3" * 25)).info
    assert info["is_success"] and info["output"] == [3] * 25


def test_trace_measures_a_problem_in_the_run_s_base() -> None:
    """A problem's length counts digits of the run's base: 12 + 3 is 4 bits long, beyond a 3-bit
    run's max_length (2 digits in base 10), and the trace env is sized for it."""
    config = TrainConfig(env=EnvSettings(task="Addition", base=2, max_length=3))
    info = trace(ExpertPolicy("Addition", base=2), config, (12, 3)).info
    assert info["is_success"] and info["output"] == 15


@pytest.mark.parametrize(
    "task, text, problem",
    [
        ("Addition", "123 + 456", (123, 456)),
        ("Subtraction", "50-7", (50, 7)),
        ("Multiplication", "12*34", (12, 34)),
        ("Compare", "5?7", (5, 7)),
        ("Compare", "5<>7", (5, 7)),
        ("Sort", "31415", [3, 1, 4, 1, 5]),
        ("RepeatCopy", "([3, 1], 2)", ([3, 1], 2)),
    ],
)
def test_parse_problem(task: str, text: str, problem: Any) -> None:
    assert parse_problem(task, text) == problem


@pytest.mark.parametrize(
    "task, text",
    [
        ("Addition", "1-2"),
        ("Addition", "a+b"),
        ("Copy", "12-3"),
        ("Logic", "(("),
        ("RepeatCopy", "{[]: 1}"),  # (a literal Python cannot build: an unhashable key)
        ("RepeatCopy", "-" * 100_000 + "1"),  # (nested too deep for the parser)
    ],
    ids=["1-2", "a+b", "12-3", "((", "unhashable", "deep"],
)
def test_parse_problem_errors(task: str, text: str) -> None:
    with pytest.raises(UsageError, match=task):
        parse_problem(task, text)


# ----------------------------------------------------------------------------------------- train


def run_dir(runs: Path) -> Path:
    (found,) = runs.iterdir()
    return found


def test_train_writes_logs_checkpoint_config_and_eval(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    argv = ["train", *TINY, "--imitation", "--imitation-pairs", "200", "--imitation-epochs", "1"]
    argv += ["--dagger-rounds", "0", "--total-steps", "128", "--runs-dir", str(runs)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    directory = run_dir(runs)
    assert directory.name.startswith("Copy__ppo__0__")
    # The table (stdout holds it alone) and, on stderr just before it, what it is and where it is saved.
    seed = seed_for(0, "evaluation")
    title = f"Greedy exact match of the final policy (8 problems per length, seed {seed}), saved to "
    assert err.splitlines()[-1] == f"{title}{directory / 'eval.json'}:"
    assert out.splitlines() == [
        "| length | episodes | exact match |",
        "|---:|---:|---:|",
        *out.splitlines()[2:],
    ]
    assert len(out.splitlines()) == 4
    assert "| 2 | 8 |" in out
    assert "behaviour cloning" not in err and "curriculum_length" not in err  # --no-progress: no bars
    saved = yaml.safe_load((directory / "config.yaml").read_text())
    assert saved["env"]["num_envs"] == 8 and saved["algo"]["name"] == "ppo"
    report = json.loads((directory / "eval.json").read_text())
    assert [row["length"] for row in report["rows"]] == [1, 2] and report["global_step"] == 128
    payload = load_checkpoint(directory)
    assert payload["trainer"]["global_step"] == 128 and payload["algo"] == "ppo"
    assert payload["format_version"] == FORMAT_VERSION and payload["config"] == saved
    config = TrainConfig.from_dict(saved)
    assert config.algo == PPO(num_steps=8, num_minibatches=2, update_epochs=1)
    assert config.imitation.enabled and config.imitation.pairs == 200  # the flags after TINY's
    events = EventAccumulator(str(directory))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    required = {
        "charts/success_rate",
        "charts/episodic_return",
        "charts/SPS",
        "charts/curriculum_length",
        "losses/policy",
        "losses/value",
        "imitation/bc_loss",
        "eval/exact_match_2",
    }
    assert required <= tags, required - tags
    assert [event.step for event in events.Scalars("charts/SPS")] == [64, 128]


def final_state(directory: Path) -> dict[str, Any]:
    """The trainer's state in the run's checkpoint, with the policy (stored once, beside it)."""
    payload = load_checkpoint(directory)
    return {**payload["trainer"], "policy": payload["policy"]}


@pytest.mark.parametrize(
    "exploration",
    [[], ["--count-bonus", "0.01"], ["--self-imitation", "1.0"]],
    ids=["plain", "count_bonus", "self_imitation"],
)
def test_resume_after_interruption_matches_an_uninterrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, exploration: list[str]
) -> None:
    # The curriculum lengthens every 8 episodes (threshold 0), so its length is part of what resumes;
    # with a count bonus, so are its counts.
    argv = ["train", *TINY, *exploration, "--total-steps", "384", "--checkpoint-every", "2"]
    argv += ["--curriculum-threshold", "0", "--curriculum-window", "8", "--max-length", "6"]
    assert main([*argv, "--runs-dir", str(tmp_path / "whole")]) == 0
    whole = final_state(run_dir(tmp_path / "whole"))

    iterate, calls = Trainer.iterate, []

    def interrupted(self: Trainer) -> dict[str, float]:
        calls.append(self.global_step)
        if len(calls) == 4:  # during the 4th iteration: the last checkpoint is after the 2nd
            raise KeyboardInterrupt
        return iterate(self)

    monkeypatch.setattr(Trainer, "iterate", interrupted)
    assert main([*argv, "--runs-dir", str(tmp_path / "parts")]) == 130
    directory = run_dir(tmp_path / "parts")
    saved = final_state(directory)
    assert saved["global_step"] == 128 and not (directory / "eval.json").exists()
    monkeypatch.setattr(Trainer, "iterate", iterate)
    capsys.readouterr()
    # TensorBoard reads a run's event files in name order, and a name carries the second its writer
    # started: a resumed writer started within the interrupted one's second may sort first.
    time.sleep(1.01 - time.time() % 1.0)
    assert main(["train", "--resume", str(directory), "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().err
    resumed = final_state(directory)
    assert resumed["global_step"] == whole["global_step"] == 384
    assert resumed["curriculum"] == whole["curriculum"] and whole["curriculum"]["length"] > 1
    if "--count-bonus" in exploration:
        for key in ("keys", "counts"):
            assert np.array_equal(resumed["count_bonus"][key], whole["count_bonus"][key]), key
    if "--self-imitation" in exploration:
        assert resumed["self_imitation"]["size"] == whole["self_imitation"]["size"]
        for episode, expected in zip(
            resumed["self_imitation"]["pending"], whole["self_imitation"]["pending"], strict=True
        ):
            for key, value in expected.items():
                assert np.array_equal(episode[key], value), key
    for key, value in whole["policy"].items():
        assert torch.equal(resumed["policy"][key], value), key
    # The interrupted run logged its 3rd iteration past the checkpoint; the resumed run logs it
    # again: TensorBoard shows every step once, at the same steps as the uninterrupted run.
    assert tensorboard_steps(directory) == tensorboard_steps(run_dir(tmp_path / "whole"))
    assert tensorboard_steps(directory)["charts/SPS"] == list(range(64, 385, 64))


def tensorboard_steps(directory: Path) -> dict[str, list[int]]:
    """The steps of every TensorBoard scalar of a run, in the order TensorBoard shows them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [event.step for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_resume_refuses_a_changed_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bare = bare_checkpoint(tmp_path / "checkpoint.pt", algo=PPO(num_steps=8, num_minibatches=2))
    assert main(["train", "--resume", str(bare), "--seed", "4"]) == 2
    one_line_error(capsys, "seed", "total_steps")
    assert main(["train", "--resume", str(bare), "ppo", "--num-steps", "16"]) == 2
    assert "instead of" not in one_line_error(capsys, "algo.num_steps", "total_steps")
    for runs_dir in (["--runs-dir", str(tmp_path / "elsewhere")], [f"--runs-dir={tmp_path / 'elsewhere'}"]):
        assert main(["train", "--resume", str(bare), *runs_dir, "--total-steps", "99"]) == 2
        one_line_error(capsys, "--resume", "its own directory", "--runs-dir")
    assert not (tmp_path / "elsewhere").exists()


def test_resume_refuses_another_algo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bare = bare_checkpoint(tmp_path / "checkpoint.pt", algo=PPO(num_steps=8, num_minibatches=2))
    assert main(["train", "--resume", str(bare), "a2c"]) == 2
    one_line_error(capsys, "algo (a2c instead of ppo)", "--resume")
    assert main(["train", "--seed", "0", "a2c", "--resume", str(bare)]) == 2
    one_line_error(capsys, "algo (a2c instead of ppo)")
    # The saved algo's own subcommand keeps the saved settings: resuming gets past the config check.
    _, config, resumed = parse_train(["--resume", str(bare), "ppo", "--total-steps", "99"])
    assert config.algo == PPO(num_steps=8, num_minibatches=2) and config.run.total_steps == 99
    assert resumed is not None and resumed[0] == tmp_path
    assert main(["train", "--resume", str(bare), "ppo"]) == 2
    one_line_error(capsys, "holds a policy only")


def test_divergence_stops_without_overwriting_the_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    iterate = Trainer.iterate

    def diverging(self: Trainer) -> dict[str, float]:
        if self.global_step >= 128:
            raise FloatingPointError("loss is nan")
        return iterate(self)

    monkeypatch.setattr(Trainer, "iterate", diverging)
    argv = ["train", *TINY, "--total-steps", "512", "--checkpoint-every", "1", "--runs-dir", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "loss is nan" in err and "Traceback" not in err
    assert final_state(run_dir(tmp_path))["global_step"] == 128


def test_a_diverging_run_is_one_line_error_and_keeps_its_last_good_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """--imitation-lr 1e6: here the cloned weights stay finite but so large that the rollout's
    logits overflow (a Categorical traceback before the guard), after the warm start's checkpoint.
    Where it diverges depends on float rounding, so any stage is accepted with its own outcome."""
    argv = ["train", *TINY, "--imitation", "--imitation-pairs", "200", "--imitation-epochs", "2"]
    argv += ["--dagger-rounds", "0", "--imitation-lr", "1e6", "--total-steps", "256"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert [line for line in lines if "error" in line] == lines[-1:], err
    stages = r"imitation epoch [12]|(rollout|update) of iteration [1-4]"
    pattern = rf"actformer train: error: training diverged at ({stages}): non-finite [a-z ,]+; (.+)"
    match = re.fullmatch(pattern, lines[-1])
    assert match, lines[-1]
    checkpoint = run_dir(tmp_path) / "checkpoint.pt"
    if match.group(1).startswith("imitation"):  # before the first checkpoint
        assert match.group(3) == "no checkpoint" and not checkpoint.exists()
    else:
        assert match.group(3) == f"last good checkpoint: {checkpoint}"
        payload = load_checkpoint(checkpoint)
        assert payload["trainer"]["global_step"] == 0  # the warm start's: the next is due at the end
        assert all(torch.isfinite(value).all() for value in payload["policy"].values())
    assert not (run_dir(tmp_path) / "eval.json").exists()


def test_a_learning_rate_too_large_for_float32_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """torch refuses an Adam step that overflows float32 with a RuntimeError; it is a divergence."""
    argv = ["train", *TINY, "--no-imitation", "--learning-rate", "1e38", "--total-steps", "256"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(
            "actformer train: error: training diverged at update of iteration 1: the optimizer's step "
            "overflows float32 (learning rate too large)"
        )
    )


# ------------------------------------------------------------- the command line as a user meets it


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of a tiny trained run (one PPO iteration of Copy, a few seconds)."""
    runs = tmp_path_factory.mktemp("trained")
    assert main(["train", *TINY, "--total-steps", "64", "--runs-dir", str(runs)]) == 0
    return run_dir(runs)


def test_help_lists_the_commands(capsys: pytest.CaptureFixture) -> None:
    for argv in (["--help"], ["-h"]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert out.startswith("usage: actformer COMMAND") and not err
        for name, command in cli.COMMANDS.items():
            assert re.search(rf"^  {name} +{re.escape(command.summary)}$", out, flags=re.MULTILINE), out
        assert "'actformer COMMAND --help'" in out and "--lengths 3 30 300 1000" in out
        assert "This module" not in out and "``" not in out  # not the module's docstring
    # No command: the same list, and a one-line error.
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out.strip() == cli.USAGE and err.count("\n") == 1
    assert err.startswith("actformer: error: no command given; choose from train, eval, trace")
    # Each command's own help, by tyro, with exit status 0.
    for command, option in (("train", "--eval-lengths"), ("eval", "--lengths"), ("trace", "--problem")):
        assert main([command, "--help"]) == 0
        assert option in capsys.readouterr().out


def test_unknown_command_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["--task", "Copy"]) == 2
    one_line_error(capsys, "'--task' is an option: the command comes first", "train, eval, trace")
    assert main(["evaluate"]) == 2
    one_line_error(capsys, "'evaluate' is an unknown command", "actformer --help")


def test_every_list_flag_takes_space_separated_values(
    trained_run: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The list flags there are; a new one is held to the same syntax by check_list_syntax.
    list_flags = {"train": cli.TRAIN_LIST_FLAGS, "eval": cli.EVAL_LIST_FLAGS}
    assert list_flags == {"train": {"--eval-lengths"}, "eval": {"--lengths"}}
    assert parse_train(["--eval-lengths", "5", "50", "500"])[1].run.eval_lengths == (5, 50, 500)
    config = parse_train(["--eval-lengths", "5", "50", "ppo", "--num-steps", "8"])[1]
    assert config.run.eval_lengths == (5, 50) and config.algo.num_steps == 8
    assert main(["eval", "--checkpoint", str(trained_run), "--lengths", "2", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert [row.split()[1] for row in rows] == ["2", "1"]
    # The comma form is a one-line error that says how to write it.
    monkeypatch.chdir(tmp_path)
    checkpoint = ["--checkpoint", str(trained_run)]
    for argv, flag in (
        (["eval", *checkpoint, "--lengths", "5,50,500"], "--lengths"),
        (["eval", *checkpoint, "--lengths=5,50"], "--lengths"),
        (["train", *TINY, "--eval-lengths", "5,50,500"], "--eval-lengths"),
        (["train", "--eval-lengths", "5", "50,500"], "--eval-lengths"),
    ):
        assert main(argv) == 2
        err = one_line_error(capsys, f"{flag} takes its values separated by spaces, not commas")
        assert f"write {flag} 5 50" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["train", "eval", "trace"])
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "gpu"])
def test_an_unavailable_or_unknown_device_is_one_line(
    command: str,
    device: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # no GPU, as on this machine
    monkeypatch.chdir(tmp_path)
    checkpoint = ["--checkpoint", str(bare_checkpoint(tmp_path / "checkpoint.pt"))]
    argv = {
        "train": ["train", *TINY, "--total-steps", "64"],
        "eval": ["eval", *checkpoint, "--lengths", "1"],
        "trace": ["trace", *checkpoint, "--problem", "12"],
    }[command]
    assert main([*argv, "--device", device]) == 2
    err = one_line_error(capsys, f"actformer {command}: error: ", repr(device))
    assert ("not available" in err) == device.startswith("cuda"), err
    assert not (tmp_path / "runs").exists()


def test_auto_device_is_the_cpu_without_a_gpu(
    trained_run: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["eval", "--checkpoint", str(trained_run), "--lengths", "1", "--device", "auto"]) == 0
    assert main(["trace", "--checkpoint", str(trained_run), "--problem", "12", "--device", "auto"]) == 0
    assert "Traceback" not in capsys.readouterr().err


#: Bad invocations of each command: ``{run}`` is a trained run directory, ``{junk}`` a file that
#: is no checkpoint, ``{dir}`` an empty directory. Each is one line on stderr and exit status 2.
BAD_INVOCATIONS = [
    ["eval", "--checkpoint", "{dir}/missing.pt"],
    ["eval", "--checkpoint", "{dir}"],
    ["eval", "--checkpoint", "{junk}"],
    ["eval", "--checkpoint", "{run}/config.yaml"],
    ["eval"],
    ["eval", "--checkpoint", "{run}", "--lengths", "0"],
    ["eval", "--checkpoint", "{run}", "--lengths", "3", "-1"],
    ["eval", "--checkpoint", "{run}", "--lengths", "x"],
    ["eval", "--checkpoint", "{run}", "--lengths", "2.5"],
    ["eval", "--checkpoint", "{run}", "--lengths"],
    ["eval", "--checkpoint", "{run}", "--lengths", "3", "2000000000"],
    ["eval", "--checkpoint", "{run}", "--episodes", "0"],
    ["eval", "--checkpoint", "{run}", "--num-envs", "-2"],
    ["eval", "--checkpoint", "{run}", "--seed", "-1"],
    ["eval", "--checkpoint", "{run}", "--threads", "0"],
    ["eval", "--checkpoint", "{run}", "--threads", "3000000000"],
    ["eval", "--checkpoint", "{run}", "--json", "{dir}/no/such/dir/eval.json"],
    ["eval", "--checkpoint", "{run}", "--json", "{dir}"],
    ["eval", "--checkpoint", "{run}", "--bogus"],
    ["eval", "--chekpoint", "{run}"],
    ["trace", "--checkpoint", "{junk}", "--problem", "12"],
    ["trace", "--checkpoint", "{dir}/missing.pt", "--problem", "12"],
    ["trace", "--checkpoint", "{run}"],
    ["trace", "--checkpoint", "{run}", "--problem", "1+2"],
    ["trace", "--checkpoint", "{run}", "--problem", "12", "--bogus"],
    ["trace", "--checkpoint", "{run}", "--problem", "12", "--sample", "--seed", "-1"],
    ["trace", "--checkpoint", "{run}", "--problem", "12", "--sample", "--seed", "18446744073709551616"],
    ["train", "--resume", "{junk}"],
    ["train", "--resume", "{dir}/missing"],
    ["train", "--eval-lengths", "0"],
    ["train", "--eval-lengths", "-3"],
    ["train", "--eval-lengths", "x"],
    ["train", "--eval-lengths"],
    ["train", "--task", "Copy", "--eval-lengths", "2000000000"],
    ["train", "--bogus-flag"],
    ["train", "a2c", "--clip-coef", "0.1"],
    ["train", "--total-steps", "many"],
]


@pytest.mark.parametrize("argv", BAD_INVOCATIONS, ids=[" ".join(argv) for argv in BAD_INVOCATIONS])
def test_every_error_is_one_line_and_exit_status_2(
    argv: list[str],
    trained_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "notes.pt"
    junk.write_text("not a checkpoint\n")
    (tmp_path / "empty").mkdir()
    places = {"run": str(trained_run), "junk": str(junk), "dir": str(tmp_path / "empty")}
    assert main([arg.format(**places) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert not out and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"actformer {argv[0]}: error: "), err
    flag = next((arg for arg in argv if arg.startswith("--") and arg not in ("--checkpoint",)), None)
    if flag in ("--lengths", "--episodes", "--num-envs", "--seed", "--threads", "--json", "--total-steps"):
        assert flag in err, err  # names the parameter
    assert not (tmp_path / "runs").exists()


def test_eval_prints_each_length_as_it_finishes(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each row is on stdout before the next length starts, and the table is the run's own final
    evaluation (eval.json): the title's seed and problem count are the ones used."""
    evaluate, printed = runs.evaluate_length, []

    def watched(*args: Any) -> dict[str, Any]:
        printed.append(capsys.readouterr())  # what was printed before this length started
        return evaluate(*args)

    monkeypatch.setattr(runs, "evaluate_length", watched)
    report = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(trained_run), "--json", str(report)]) == 0
    out, err = capsys.readouterr()
    seed = seed_for(0, "evaluation")
    assert printed[0].err == f"Greedy exact match of {trained_run} (8 problems per length, seed {seed}):\n"
    assert printed[0].out.splitlines() == ["| length | episodes | exact match |", "|---:|---:|---:|"]
    assert err == f"saved to {report}\n"
    printed = [chunk.out for chunk in printed] + [out]
    final = json.loads((trained_run / "eval.json").read_text())["rows"]
    assert [chunk.splitlines() for chunk in printed[1:]] == [
        [f"| {row['length']} | 8 | {row['exact_match']:.3f} |"] for row in final
    ]
    assert json.loads(report.read_text())["rows"] == final


@pytest.mark.parametrize("stop_at", [1, 2])
def test_ctrl_c_stops_eval_and_keeps_the_lengths_done(
    stop_at: int,
    trained_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    evaluate, calls = runs.evaluate_length, []

    def interrupted(*args: Any) -> dict[str, Any]:
        calls.append(args[2])
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return evaluate(*args)

    monkeypatch.setattr(runs, "evaluate_length", interrupted)
    report = tmp_path / "partial.json"
    argv = ["eval", "--checkpoint", str(trained_run), "--lengths", "1", "2", "3", "--json", str(report)]
    assert main(argv) == 130
    out, err = capsys.readouterr()
    rows = [line for line in out.splitlines() if re.fullmatch(r"\| \d+ \| 8 \| [\d.]+ \|", line)]
    done = "1" if stop_at == 2 else "none"
    assert [row.split()[1] for row in rows] == ([] if stop_at == 1 else ["1"])
    lines = [line for line in err.splitlines() if line]  # the title, then one line saying it stopped
    assert "Traceback" not in err and len(lines) == 2 and lines[0].startswith("Greedy exact match"), err
    assert f"stopped; lengths done: {done} (not run: {'2, 3' if stop_at == 2 else '1, 2, 3'})" in err
    assert str(report) in err
    saved = json.loads(report.read_text())
    assert saved["partial"] is True and saved["lengths"] == [1, 2, 3]
    assert [row["length"] for row in saved["rows"]] == ([1] if stop_at == 2 else [])


def test_eval_streams_through_a_pipe_and_stops_on_sigint(trained_run: Path, tmp_path: Path) -> None:
    """As a user runs it: the row of length 1 reaches a pipe while length 2 is still running (stdout
    is flushed per row), and SIGINT (Ctrl-C) then stops it with exit status 130. Length 2 is made
    to take ten minutes, whatever the policy does."""
    report = tmp_path / "partial.json"
    argv = ["eval", "--checkpoint", str(trained_run), "--lengths", "1", "2", "--json", str(report)]
    code = (
        "import sys, time; from actformer_gym.train import runs; from actformer_gym.train.cli import main; "
        "evaluate = runs.evaluate_length; "
        "runs.evaluate_length = lambda *args: evaluate(*args) if args[2] == 1 else time.sleep(600); "
        "sys.exit(main(sys.argv[1:]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv, "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
        env={key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"},  # buffered
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("| 1 |") for line in lines):
            assert selector.select(timeout=deadline - time.monotonic()), f"no row of length 1: {lines}"
            line = process.stdout.readline()
            assert line, f"ended without the row of length 1: {lines}, {process.stderr.read()}"
            lines.append(line)
        assert process.poll() is None  # still evaluating length 2
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "lengths done: 1 (not run: 2)" in err
    assert not out.strip()  # nothing more after the row of length 1
    saved = json.loads(report.read_text())
    assert saved["partial"] is True and [row["length"] for row in saved["rows"]] == [1]


def test_ctrl_c_elsewhere_is_exit_status_130(
    trained_run: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "trace", interrupted)
    assert main(["trace", "--checkpoint", str(trained_run), "--problem", "12"]) == 130
    one_line_error(capsys, "actformer trace: interrupted")


def test_training_shows_what_it_is_doing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """With progress bars on: one per warm-start phase (behaviour cloning, each DAgger round) with
    its epochs and loss, then the RL bar, after a line saying what its fields are."""
    argv = ["train", *(arg for arg in TINY if arg != "--no-progress"), "--imitation"]
    argv += ["--imitation-pairs", "200", "--imitation-epochs", "2", "--dagger-rounds", "1"]
    argv += ["--dagger-steps", "100", "--total-steps", "64", "--runs-dir", str(tmp_path)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    final = {line.split(":")[0]: line for line in re.split(r"[\r\n]+", err) if "100%" in line}
    assert re.search(r"2/2 .*epoch/s, pairs=200, loss=[\d.]+", final["behaviour cloning"])
    assert re.search(r"2/2 .*pairs=\d+, agreement=[\d.]+, loss=[\d.]+", final["DAgger round 1/1"])
    assert re.search(r"64/64 .*curriculum_length=1, success_rate=([\d.]+|nan)", final["PPO"])
    legend = (
        "PPO bar: curriculum_length = the curriculum's current max problem length (training problems "
        "have lengths 1..curriculum_length; it grows up to 5); success_rate = fraction of the "
        "training episodes that ended in the last rollout that were solved exactly, acting by "
        "sampling (nan: none ended)"
    )
    assert legend in err.splitlines()
    assert err.index("DAgger round 1/1") > err.index("behaviour cloning") and err.index(legend) < err.index(
        "PPO:"
    )
