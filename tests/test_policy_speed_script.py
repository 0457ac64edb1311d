"""Smoke test of the policy forward-speed benchmark: it runs, and its JSON has the promised shape."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.policy_speed"
MODELS = {("actformer", "local"), ("actformer", "full"), ("transformer-encoder", None)}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark from the repo root, as a user would (``python -m benchmarks.policy_speed``)."""
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_policy_speed_quick_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "policy_speed.json"
    # Small batches keep the test fast; the schema is the same as the full run's.
    result = run_script("--quick", "--batches", "1,64", "--device", "cpu", "--output", str(output))
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text(encoding="utf-8"))

    assert document["benchmark"] == "policy_speed"
    assert {
        "date",
        "command",
        "settings",
        "machine",
        "results",
        "ratios",
        "markdown",
        "total_seconds",
    } <= set(document)
    assert "--quick" in document["command"]
    settings = document["settings"]
    assert settings["batches"] == [1, 64] and settings["devices"] == ["cpu"]
    assert settings["repeats"] == 3
    assert settings["references"]["transformer-encoder"]["d_model"] == 64

    results = document["results"]
    assert {(r["model"], r["obs_mode"]) for r in results} >= MODELS
    for r in results:
        assert {"model", "obs_mode", "device", "batch", "median_ms", "repeats_ms", "parameters"} <= set(r)
        assert r["device"] == "cpu" and r["batch"] in (1, 64)
        assert len(r["repeats_ms"]) == 3
        assert all(math.isfinite(t) and t > 0 for t in r["repeats_ms"])
        assert min(r["repeats_ms"]) <= r["median_ms"] <= max(r["repeats_ms"])
        assert r["parameters"] > 0
    assert len(results) == len({(r["model"], r["obs_mode"], r["batch"]) for r in results})

    ratios = document["ratios"]["cpu"]
    assert ratios and all(math.isfinite(v) and v > 0 for v in ratios.values())

    machine = document["machine"]
    assert {"platform", "python", "torch", "torch_threads", "cpu_count", "cpu_model", "cuda"} <= set(machine)
    assert document["total_seconds"] > 0
    assert document["markdown"].splitlines()[0] in result.stdout


@pytest.mark.parametrize(
    "args", [("--repeats", "0"), ("--batches", "1,x"), ("--device", "tpu"), ("--bogus",)]
)
def test_policy_speed_rejects_bad_flags(args: tuple[str, ...]) -> None:
    result = run_script(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr
