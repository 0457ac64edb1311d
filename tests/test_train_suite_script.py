"""Smoke test of ``python -m benchmarks.train_suite``: a tiny run writes results of the documented shape
into a fresh folder and says it is a smoke test; ``--update`` merges with the committed rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_benchmarks import check_smoke, run_with_default_output

from benchmarks import common, train_suite

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.train_suite"


def test_quick_run_writes_results(tmp_path: Path) -> None:
    args = ("--quick", "--tasks", "Copy", "--episodes", "4")
    result, folder = run_with_default_output("train_suite", args, tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["train_suite.json"]
    document = json.loads((folder / "train_suite.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    assert {"date", "command", "machine", "rows", "markdown", "total_seconds", "settings"} <= set(document)
    (row,) = document["rows"]
    assert row["task"] == "Copy" and row["train_seconds"] > 0 and row["env_steps"] >= 2048
    assert set(row["exact_match"]) == {"5", "50", "500"}
    for score in row["exact_match"].values():
        assert 0.0 <= score["exact_match"] <= 1.0 and score["episodes"] == 4


def test_unknown_task_is_rejected() -> None:
    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--tasks", "NoSuchTask"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "NoSuchTask" in result.stderr.splitlines()[-1]


def test_tasks_are_a_space_separated_list(capsys: pytest.CaptureFixture[str]) -> None:
    args = train_suite.parse_args(["--tasks", "Parity", "Copy", "Parity"])
    assert [plan.task for plan in args.plans] == ["Copy", "Parity"]  # in the plans' order
    assert args.plans == [plan for plan in train_suite.PLANS if plan.task in ("Copy", "Parity")]
    assert train_suite.parse_args(["--tasks", "all"]).plans == list(train_suite.PLANS)
    with pytest.raises(SystemExit) as exit_info:
        train_suite.parse_args(["--tasks", "Copy,Parity"])
    assert exit_info.value.code == 2
    assert "space-separated" in capsys.readouterr().err.splitlines()[-1]


def fake_row(plan: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """A ``train_suite`` row, without the training."""
    scores = {
        str(length): {"exact_match": 0.5, "episodes": 1, "seconds": 0.0} for length in plan.eval_lengths
    }
    return {"task": plan.task, "train_length": plan.train_length, "train_seconds": 1.0, "exact_match": scores}


def test_update_merges_with_the_committed_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    """``--update`` into a fresh folder keeps the other tasks' rows of the committed file, which it
    leaves alone."""
    results, runs = tmp_path / "results", tmp_path / "runs"
    results.mkdir()
    committed = {
        "date": "then",
        "command": "python -m benchmarks.train_suite",
        "rows": [{**fake_row(plan), "exact_match": {}} for plan in train_suite.PLANS[:3]],
    }
    (results / "train_suite.json").write_text(json.dumps(committed), encoding="utf-8")
    before = (results / "train_suite.json").read_bytes()
    monkeypatch.setattr(common, "RESULTS_DIR", results)
    monkeypatch.setattr(common, "RUNS_DIR", runs)
    monkeypatch.setattr(train_suite, "run_plan", fake_row)
    rerun = train_suite.PLANS[1].task
    assert train_suite.main(["--tasks", rerun, "--update"]) == 0
    assert (results / "train_suite.json").read_bytes() == before
    (folder,) = runs.iterdir()
    document = json.loads((folder / "train_suite.json").read_text(encoding="utf-8"))
    assert [row["task"] for row in document["rows"]] == [plan.task for plan in train_suite.PLANS[:3]]
    assert document["rows"][1]["exact_match"] and not document["rows"][0]["exact_match"]
    assert document["rows"][0]["run"] == {"date": "then", "command": "python -m benchmarks.train_suite"}
    assert document["smoke"] is False
