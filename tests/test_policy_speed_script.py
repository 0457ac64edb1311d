"""Smoke test of the policy forward-speed benchmark: it runs into a fresh folder, says it is a smoke test,
and its JSON has the promised shape."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from test_benchmarks import check_smoke, run_with_default_output

from benchmarks import policy_speed

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.policy_speed"
MODELS = {("actformer", "local"), ("actformer", "full"), ("transformer-encoder", None)}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark from the repo root, as a user would (``python -m benchmarks.policy_speed``)."""
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_policy_speed_quick_writes_results(tmp_path: Path) -> None:
    # Small batches keep the test fast; the schema is the same as the full run's.
    args = ("--quick", "--batches", "1", "64", "1", "--device", "cpu")
    result, folder = run_with_default_output("policy_speed", args, tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["policy_speed.json"]
    document = json.loads((folder / "policy_speed.json").read_text(encoding="utf-8"))
    check_smoke(result, document)

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


@pytest.mark.parametrize(
    "args",
    [
        ("--repeats", "0"),
        ("--batches", "1", "x"),
        ("--batches", "1,64"),  # lists are space-separated
        ("--batches",),
        ("--device", "tpu"),
        ("--bogus",),
    ],
)
def test_policy_speed_rejects_bad_flags(args: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    """In process (a subprocess per flag costs seconds of imports): exit status 2, one ``error:`` line."""
    with pytest.raises(SystemExit) as exit_info:
        policy_speed.parse_args(list(args))
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err.splitlines()[-1]


def test_a_bad_flag_ends_the_command_in_one_line() -> None:
    result = run_script("--device", "tpu")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error:" in result.stderr.splitlines()[-1]
