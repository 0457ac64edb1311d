"""The network-cost benchmark: two versions' workers on the same weights and batch, compared and timed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import network_speed

REPO_ROOT = Path(__file__).resolve().parents[1]


def this_checkout_twice(baseline: str, folder: Path) -> list[network_speed.Version]:
    module = network_speed.policy_module
    return [
        network_speed.Version(label, digit * 40, str(REPO_ROOT), module.__name__, str(module.__file__))
        for label, digit in (("baseline", "0"), ("current", "1"))
    ]


def test_two_workers_of_one_version_agree_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With this checkout as both versions (no worktree), the outputs and gradients agree bit for bit
    and every pass is timed in both."""

    monkeypatch.setattr(network_speed, "versions", this_checkout_twice)
    assert network_speed.main(["--rounds", "2", "--calls", "1", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "network_speed.json").read_text(encoding="utf-8"))
    assert document["differences"] == {"logits": 0.0, "values": 0.0, "gradients": 0.0}
    assert document["outputs_agree"] is True
    assert [(row["pass"], row["batch"]) for row in document["results"]] == list(network_speed.PASSES)
    for row in document["results"]:
        assert all(len(rounds) == 2 for rounds in row["rounds_ms"].values()) and row["speedup"] > 0
    assert "| train | 1,024 |" in document["markdown"]


def test_a_worker_that_cannot_start_is_reported(tmp_path: Path) -> None:
    version = this_checkout_twice("", tmp_path)[0]
    worker = network_speed.start_worker(version, tmp_path / "missing.npz", tmp_path / "missing.npz")
    worker.process.wait(timeout=120)  # (gone before the command: the pipe is broken, not just empty)
    with pytest.raises(RuntimeError, match=r"the baseline worker \(000000000000\) exited: .*missing\.npz"):
        worker.ask("where")


@pytest.mark.slow
def test_quick_run_against_the_default_baseline(tmp_path: Path) -> None:
    """The baseline from a worktree of its commit (the earlier import layout): its outputs agree with
    this checkout's within the tolerance."""
    assert network_speed.main(["--quick", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "network_speed.json").read_text(encoding="utf-8"))
    assert document["versions"][0]["commit"].startswith(network_speed.DEFAULT_BASELINE)
    assert document["outputs_agree"] is True


class FakeWorker:
    """A worker that answers every ``time`` command with fixed call times (seconds)."""

    def __init__(self, label: str, seconds: float) -> None:
        self.label, self.seconds = label, seconds

    def ask(self, command: str) -> list[float]:
        assert command.startswith("time ")
        calls = int(command.split()[3])
        return [self.seconds] * calls


def test_ratios_are_baseline_over_current() -> None:
    """A baseline three times slower per call reads as 3.00x for every pass; the medians are in ms."""
    workers = [FakeWorker("baseline", 0.003), FakeWorker("current", 0.001)]
    rows = network_speed.measure(workers, rounds=3, calls=4)  # type: ignore[arg-type]
    assert [(row["pass"], row["batch"]) for row in rows] == list(network_speed.PASSES)
    for row in rows:
        assert row["median_ms"] == pytest.approx({"baseline": 3.0, "current": 1.0})
        assert row["speedup"] == pytest.approx(3.0) and len(row["rounds_ms"]["current"]) == 3


@pytest.mark.parametrize("flags", [["--seed", "-1"], ["--rounds", "0"], ["--calls", "x"]])
def test_bad_arguments_are_one_line_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        network_speed.parse_args(flags)
    last = capsys.readouterr().err.splitlines()[-1]  # (after argparse's usage, as every benchmark's)
    assert exit_info.value.code == 2 and re.fullmatch(rf".+: error: argument {flags[0]}: .+", last)
