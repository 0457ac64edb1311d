"""The benchmark protocol for anyone's agent (``benchmarks/protocol.py``): it scores an SB3 model
and the expert, batched or not, into the grid's own result format, and refuses bad input clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.protocol import expert, score

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = json.loads((ROOT / "benchmarks" / "results" / "generalization.json").read_text(encoding="utf-8"))
SMALL = {"tasks": ("Copy",), "seeds": 1, "episodes": 6, "multipliers": (1, 2), "log": False}


def test_protocol_scores_an_sb3_model_in_the_grids_format() -> None:
    from examples.sb3_protocol import make_agent

    document = score(lambda task, seed: make_agent(task, seed, timesteps=256), "MaskablePPO (tiny)", **SMALL)
    # (what only a merge of runs or a written file adds; the grid's own agents' training records)
    assert set(document) >= set(COMMITTED) - {"runs", "dropped", "smoke"}
    assert document["benchmark"] == "generalization"
    own_agents = {"actformer", "sb3", "transformer", "transformer_seconds"}
    assert set(document["settings"]) >= set(COMMITTED["settings"]) - own_agents
    assert document["settings"]["agent"]["name"] == "MaskablePPO (tiny)"
    assert not document["failed"]
    for row, committed in (
        (document["rows"][0], COMMITTED["rows"][0]),
        (document["aggregated"][0], COMMITTED["aggregated"][0]),
    ):
        assert set(row) == set(committed)
    assert [(r["agent"], r["multiplier"]) for r in document["aggregated"]] == [
        ("MaskablePPO (tiny)", 1),
        ("MaskablePPO (tiny)", 2),
    ]
    header = COMMITTED["markdown"].splitlines()[0].split("| 1x")[0]
    assert (
        document["markdown"].startswith(header)
        and "| Copy (≤ 5) | MaskablePPO (tiny) |" in document["markdown"]
    )


@pytest.mark.parametrize("batched", [True, False])
def test_protocol_scores_the_expert_exactly(batched: bool) -> None:
    document = score(expert, "the expert again", batched=batched, **SMALL)
    assert [r["accuracy"] for r in document["aggregated"]] == [1.0, 1.0]
    assert all(r["episodes"] == 6 for r in document["aggregated"])


def test_protocol_records_a_failing_agent() -> None:
    def broken(task: str, seed: int) -> object:
        return lambda observation, mask: np.full(3, 10**6)  # not an action

    document = score(broken, "broken", **SMALL)
    assert [failure["task"] for failure in document["failed"]] == ["Copy"]


@pytest.mark.parametrize("name", ["expert", ""])
def test_protocol_refuses_a_taken_or_empty_name(name: str) -> None:
    with pytest.raises(ValueError, match="name must be"):
        score(expert, name, **SMALL)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.protocol", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_protocol_command_writes_the_grids_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "--agent",
        "benchmarks.protocol:expert",
        "--name",
        "e",
        "--tasks",
        "Copy",
        "--seeds",
        "1",
        "--episodes",
        "4",
        "--multipliers",
        "1",
        "2",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "generalization.json",
            "generalization.md",
            "generalization.csv",
            "generalization_seeds.csv",
            "generalization.png",
        ]
    )
    assert "| Copy (≤ 5) | e | 1.00" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--agent", "nosuchmodule:make", "--name", "x"),
        ("--agent", "benchmarks.protocol", "--name", "x"),
        ("--agent", "benchmarks.protocol:expert", "--name", "expert"),
        ("--agent", "benchmarks.protocol:expert", "--name", "x", "--env-kwargs", "[1]"),
        ("--agent", "benchmarks.protocol:expert", "--name", "x", "--tasks", "Logic,Copy"),
    ],
)
def test_protocol_command_rejects_bad_input_in_one_line(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].count("\n") == 0 and "Traceback" not in result.stderr


def test_sb3_protocol_example_runs(tmp_path: Path) -> None:
    args = ("--timesteps", "256", "--episodes", "4", "--multipliers", "1", "2", "--out", str(tmp_path))
    result = subprocess.run(
        [sys.executable, "examples/sb3_protocol.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| Copy (≤ 5) | MaskablePPO (example) |" in (tmp_path / "generalization.md").read_text(
        encoding="utf-8"
    )
    document = json.loads((tmp_path / "generalization.json").read_text(encoding="utf-8"))
    assert [row["multiplier"] for row in document["aggregated"]] == [1, 2]


@pytest.mark.parametrize("flag", ["0", "two", "1,2"])
def test_sb3_protocol_example_rejects_a_bad_multiplier(flag: str, capsys: pytest.CaptureFixture) -> None:
    from examples.sb3_protocol import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--multipliers", flag])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: argument --multipliers" in error
