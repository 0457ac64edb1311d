"""Smoke tests of the throughput benchmark script and of the demo (``python -m actformer_envs.demo``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from actformer_envs import demo

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.throughput"
CONFIGURATIONS = {("single", 1), ("sync", 64), ("native", 64), ("native", 1024), ("native", 4096)}


def run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark from the repo root, as a user would (``python -m benchmarks.throughput``)."""
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_throughput_quick_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "throughput.json"
    result = run_benchmark("--quick", "--tasks", "Addition", "--output", str(output))
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text(encoding="utf-8"))

    assert {"configurations", "ratios", "machine", "command", "date", "total_seconds", "markdown"} <= set(
        document
    )
    configurations = document["configurations"]
    reference = configurations.pop()  # Gymnasium's CartPole vector env, the yardstick
    assert (reference["env_id"], reference["face"], reference["num_envs"]) == ("CartPole-v1", "native", 4096)
    assert {(c["face"], c["num_envs"]) for c in configurations} == CONFIGURATIONS
    for config in [*configurations, reference]:
        assert config["env_id"] in ("Actformer/Addition-v0", "CartPole-v1")
        assert len(config["repeats"]) == 1
        assert all(math.isfinite(r) and r > 0 for r in config["repeats"])
        assert config["steps_per_second"] > 0

    ratios = document["ratios"]["Actformer/Addition-v0"]
    assert set(ratios) == {"native-4096/sync-64", "native-4096/single", "native-4096/CartPole-native-4096"}
    assert all(value > 0 for value in ratios.values())

    machine = document["machine"]
    assert {"platform", "python", "numpy", "gymnasium", "cpu_count", "cpu_model"} <= set(machine)
    assert machine["cpu_count"] >= 1
    assert document["total_seconds"] > 0
    assert "--quick" in document["command"]
    assert document["markdown"].splitlines()[0] in result.stdout


def test_throughput_rewrites_readme_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n<!-- throughput:start -->\nold\n<!-- throughput:end -->\nafter\n")
    args = ("--tasks", "Copy", "--seconds", "0.05", "--repeats", "1", "--output", str(tmp_path / "t.json"))
    result = run_benchmark(*args, "--readme", str(readme))
    assert result.returncode == 0, result.stderr
    text = readme.read_text()
    assert text.startswith("# Title\n<!-- throughput:start -->\n| env |")
    assert text.endswith("<!-- throughput:end -->\nafter\n")
    assert "old" not in text


@pytest.mark.parametrize(
    "args",
    [
        ("--seconds", "0"),
        ("--seconds", "abc"),
        ("--repeats", "-1"),
        ("--tasks", "NoSuchTask"),
        ("--bogus",),
    ],
)
def test_throughput_rejects_bad_flags(args: tuple[str, ...]) -> None:
    result = run_benchmark(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr


def test_throughput_readme_without_markers_fails(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# No markers here\n")
    result = run_benchmark(
        "--quick", "--tasks", "Copy", "--output", str(tmp_path / "t.json"), "--readme", str(readme)
    )
    assert result.returncode != 0
    assert "markers" in result.stderr
    assert not (tmp_path / "t.json").exists()


def test_demo_expert_solves_every_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    env_ids = [env_id for env_id in gym.registry if env_id.startswith("Actformer/")]
    assert env_ids
    summaries = [line for line in out.splitlines() if " is_success=" in line]
    for env_id in env_ids:
        assert any(line.startswith(f"{env_id} length=3:") and "is_success=True" in line for line in summaries)
    assert any(
        line.startswith("Actformer/Addition-v0 length=1000:") and "is_success=True" in line
        for line in summaries
    )
    assert "steps/s" in out


@pytest.mark.parametrize(("face", "num_envs"), [("single", 1), ("sync", 4), ("native", 16)])
def test_speed_counts_env_steps_of_every_face(face: str, num_envs: int) -> None:
    from actformer_envs.speed import steps_per_second

    assert steps_per_second("Actformer/Copy-v0", face, num_envs, seconds=0.05) > 0


def test_speed_rejects_an_unknown_face() -> None:
    from actformer_envs.speed import random_stepper

    with pytest.raises(ValueError, match="face"):
        random_stepper("Actformer/Copy-v0", "async", 2)
