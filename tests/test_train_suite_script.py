"""Smoke test of ``python -m benchmarks.train_suite``: a tiny run writes results of the documented shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.train_suite"


def test_quick_run_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "suite.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            MODULE,
            "--quick",
            "--tasks",
            "Copy",
            "--episodes",
            "4",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(output.read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "rows", "markdown", "total_seconds", "settings"} <= set(document)
    (row,) = document["rows"]
    assert row["task"] == "Copy" and row["train_seconds"] > 0 and row["env_steps"] >= 2048
    assert set(row["exact_match"]) == {"5", "50", "500"}
    for score in row["exact_match"].values():
        assert 0.0 <= score["exact_match"] <= 1.0 and score["episodes"] == 4
    assert document["markdown"].splitlines()[0] in result.stdout


def test_unknown_task_is_rejected() -> None:
    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--tasks", "NoSuchTask"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "NoSuchTask" in result.stderr
