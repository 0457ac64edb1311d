"""Smoke tests of the training benchmarks (RL from scratch, training throughput, history ablation): they
run on tiny budgets into a fresh folder, say they are smoke tests, and their JSON and Markdown files
have the promised shape."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from test_benchmarks import check_smoke, run_with_default_output

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT_KEYS = {"benchmark", "date", "command", "settings", "machine", "results", "markdown", "smoke"}


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks.<name>`` from the repo root, as a user would (``python -m benchmarks.<name>``)."""
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(output: Path, result: subprocess.CompletedProcess[str]) -> dict:
    """The JSON document of a ``--quick`` run, after checking the run, its smoke-test marks, the
    Markdown file beside it and the printed table."""
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in output.parent.iterdir()) == [
        output.name,
        output.with_suffix(".md").name,
    ]
    document = json.loads(output.read_text(encoding="utf-8"))
    assert set(document) >= DOCUMENT_KEYS
    assert output.with_suffix(".md").read_text(encoding="utf-8").strip() == document["markdown"].strip()
    check_smoke(result, document)
    assert document["machine"]["torch_threads"] == 1
    assert document["total_seconds"] > 0
    return document


def test_rl_from_scratch_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("rl_from_scratch", ("--quick", "--tasks", "Copy"), tmp_path)
    document = load(folder / "rl_from_scratch.json", result)
    assert document["benchmark"] == "rl_from_scratch"
    settings = document["settings"]
    assert settings["seeds"] == 1 and settings["quick"] and settings["task_max_lengths"] == {"Copy": 5}
    results = document["results"]
    runs = {(r["algorithm"], r["reward_mode"], r["warm_start"]) for r in results}
    assert runs == {
        ("PPO", "shaped", False),
        ("PPO", "sparse", False),
        ("A2C", "shaped", False),
        ("A2C", "sparse", False),
        ("PPO", "shaped", True),
        ("PPO", "sparse", True),
    }
    for r in results:
        assert r["task"] == "Copy" and r["max_length"] == 5 and r["seed"] == 0
        assert r["steps"] >= settings["steps_per_run"]
        assert 0.0 <= r["exact_match"] <= 1.0
        assert r["final_success_rate"] is None or 0.0 <= r["final_success_rate"] <= 1.0
        assert 1 <= r["final_curriculum_length"] <= 5
        assert r["wall_seconds"] >= r["rl_seconds"] > 0
        curve = r["curve"]
        assert set(curve) == {"steps", "success_rate", "episodic_return", "length"}
        assert len(curve["steps"]) == r["iterations"] >= 1
        assert all(len(values) == r["iterations"] for values in curve.values())
        assert curve["steps"] == sorted(curve["steps"]) and curve["steps"][-1] == r["steps"]
        assert all(v is None or 0.0 <= v <= 1.0 for v in curve["success_rate"])
        assert bool(r["warm_start_metrics"]) == r["warm_start"]
        assert (r["exact_match_before_rl"] is None) != r["warm_start"]
    assert document["markdown"].count("| Copy (5) |") == len(results)


def test_training_throughput_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("training_throughput", ("--quick",), tmp_path)
    document = load(folder / "training_throughput.json", result)
    assert document["benchmark"] == "training_throughput"
    settings = document["settings"]
    assert settings["num_envs"] == 8 and settings["num_steps"] == 16 and settings["repeats"] == 1
    results = document["results"]
    assert [r["learner"] for r in results] == ["trainer", "sb3-actformer", "sb3-multiinput", "network-alone"]
    for r in results:
        assert len(r["repeats"]) == 1
        assert math.isfinite(r["steps_per_second"]) and r["steps_per_second"] > 0
        assert r["parameters"] > 0
    assert set(document["ratios"]) == {
        "trainer/sb3-actformer",
        "trainer/sb3-multiinput",
        "trainer/network-alone",
        "sb3-actformer/network-alone",
    }
    assert all(math.isfinite(v) and v > 0 for v in document["ratios"].values())
    assert "stable_baselines3" in document["machine"]


def test_history_ablation_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("history_ablation", ("--quick",), tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["history_ablation.json"]
    document = json.loads((folder / "history_ablation.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    assert document["benchmark"] == "history_ablation"
    settings = document["settings"]
    assert settings["seeds"] == [0] and settings["weight_decays"] == [0.3] and settings["steps"] == 2000
    assert [(r["weight_decay"], r["history_length"]) for r in document["summary"]] == [(0.3, 8), (0.3, 0)]
    assert len(document["runs"]) == 2
    assert document["machine"]["torch_threads"] == 1


@pytest.mark.parametrize(
    "script, args",
    [
        ("rl_from_scratch", ("--tasks", "Sort")),
        ("rl_from_scratch", ("--tasks", "Copy,Reverse")),  # lists are space-separated
        ("rl_from_scratch", ("--steps", "0")),
        ("training_throughput", ("--num-envs", "0")),
        ("training_throughput", ("--num-envs", "3", "--num-steps", "3")),
        ("history_ablation", ("--seeds", "0,1")),
        ("history_ablation", ("--seeds", "-1")),
        ("history_ablation", ("--weight-decays", "0.3,0")),
    ],
)
def test_rl_benchmarks_reject_bad_flags(script: str, args: tuple[str, ...]) -> None:
    result = run_script(script, *args)
    assert result.returncode == 2
    assert "error:" in result.stderr.splitlines()[-1]


def test_list_flags_are_space_separated() -> None:
    from benchmarks import history_ablation, rl_from_scratch

    args = rl_from_scratch.parse_args(["--tasks", "Reverse", "Copy", "Reverse"])
    assert args.tasks == ["Reverse", "Copy"]
    assert rl_from_scratch.parse_args([]).tasks == list(rl_from_scratch.TASK_LENGTHS)
    args = history_ablation.parse_args(["--seeds", "0", "3", "--weight-decays", "0.3", "0"])
    assert args.seeds == [0, 3] and args.weight_decays == [0.3, 0.0]
    assert history_ablation.parse_args([]).seeds == [0, 1, 2, 3, 4]
