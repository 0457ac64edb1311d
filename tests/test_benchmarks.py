"""Smoke tests of the throughput and closure benchmark scripts, of what every benchmark script shares
(where its results go, the smoke-test marking, the refusals), and of the demo (``python -m
actformer_envs.demo``).

The helpers ``run_with_default_output``, ``check_smoke`` and ``check_not_smoke`` are imported by the other
benchmark scripts' tests.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from actformer_envs import NUM_ACTIONS, demo
from actformer_envs.tasks import TASKS, MultiTask
from benchmarks import common
from benchmarks.common import SMOKE_BANNER

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results"
RUNS = REPO_ROOT / "benchmarks" / "runs"
MODULE = "benchmarks.throughput"
CONFIGURATIONS = {("single", 1), ("sync", 64), ("native", 64), ("native", 1024), ("native", 4096)}
#: Every benchmark script, as ``benchmarks.<name>``.
SCRIPTS = (
    "throughput",
    "training_throughput",
    "policy_speed",
    "history_ablation",
    "rl_from_scratch",
    "train_suite",
    "generalization",
    "closure",
    "certification",
    "main_job",
    "action_masks",
    "network_speed",
)


# -- helpers shared with the other benchmark scripts' tests -----------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder``: its modification time and a digest of its bytes."""
    return {
        path.relative_to(folder).as_posix(): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def written_folder(stdout: str) -> Path:
    """The folder a script's last ``Wrote ... to DIR`` line names."""
    matches = re.findall(r"^Wrote .+ to (.+?)/?$", stdout, flags=re.MULTILINE)
    assert matches, f"no 'Wrote ... to DIR' line in:\n{stdout[-2000:]}"
    return Path(matches[-1])


def run_with_default_output(
    script: str, args: tuple[str, ...], tmp_path: Path, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``benchmarks.<script> *args`` as ``python -m`` does, from the repo root, with its default
    output, but with ``benchmarks.common``'s results and runs folders moved into ``tmp_path`` (so that a
    regression fails the test without overwriting the committed results, and parallel runs do not
    meet); check that it left the results folder untouched (and the committed one) and wrote into a
    fresh ``<script>-<UTC time>`` folder of the runs folder; (the finished run, that folder)."""
    results, runs = tmp_path / "results", tmp_path / "runs"
    results.mkdir()
    (results / f"{script}.json").write_text("{}\n", encoding="utf-8")  # a committed file
    before = snapshot(results), snapshot(RESULTS)
    code = (
        "import runpy, sys; from pathlib import Path; from benchmarks import common; "
        f"common.RESULTS_DIR, common.RUNS_DIR = Path({str(results)!r}), Path({str(runs)!r}); "
        f"sys.argv = ['-m', *{list(args)!r}]; "
        f"runpy.run_module('benchmarks.{script}', run_name='__main__', alter_sys=True)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (snapshot(results), snapshot(RESULTS)) == before, "the run changed the results folder"
    folder = written_folder(result.stdout)
    assert folder.parent == runs and list(runs.iterdir()) == [folder]
    assert re.fullmatch(rf"{script}-\d{{8}}T\d{{6}}Z", folder.name), folder.name
    return result, folder


def check_smoke(result: subprocess.CompletedProcess[str], document: dict[str, Any]) -> None:
    """A ``--quick`` run says it is a smoke test at its start, right above and below its table, in
    its Markdown and in its JSON."""
    assert document["smoke"] is True
    assert result.stdout.splitlines()[0] == SMOKE_BANNER
    assert result.stdout.count(SMOKE_BANNER) == 3  # at the start, then above and below the table
    markdown = document["markdown"]
    assert markdown.splitlines()[0] == SMOKE_BANNER
    assert markdown in result.stdout
    after = result.stdout.split(markdown, 1)[1].strip().splitlines()
    assert after[0] == SMOKE_BANNER


def check_not_smoke(result: Any, document: dict[str, Any]) -> None:
    """A run without ``--quick`` is no smoke test: no banner, ``smoke`` false."""
    assert document["smoke"] is False
    assert SMOKE_BANNER not in document["markdown"]
    if isinstance(result, str):
        assert SMOKE_BANNER not in result


# -- the throughput benchmark ------------------------------------------------------------------------


def run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark from the repo root, as a user would (``python -m benchmarks.throughput``)."""
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_throughput_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("throughput", ("--quick", "--tasks", "Addition"), tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["throughput.json"]
    document = json.loads((folder / "throughput.json").read_text(encoding="utf-8"))
    check_smoke(result, document)

    assert {"configurations", "ratios", "machine", "command", "date", "total_seconds", "markdown"} <= set(
        document
    )
    configurations = document["configurations"]
    references = [configurations.pop() for _ in range(2)][::-1]  # Gymnasium's CartPole, the yardstick
    faces = [(r["env_id"], r["face"], r["num_envs"]) for r in references]
    assert faces == [("CartPole-v1", "single", 1), ("CartPole-v1", "native", 4096)]
    assert {(c["face"], c["num_envs"]) for c in configurations} == CONFIGURATIONS
    for config in [*configurations, *references]:
        assert config["env_id"] in ("Actformer/Addition-v0", "CartPole-v1")
        assert len(config["repeats"]) == 1
        assert all(math.isfinite(r) and r > 0 for r in config["repeats"])
        assert config["steps_per_second"] > 0

    ratios = document["ratios"]["Actformer/Addition-v0"]
    assert set(ratios) == {
        "native-4096/sync-64",
        "native-4096/single",
        "single/CartPole-single",
        "native-4096/CartPole-native-4096",
    }
    assert all(value > 0 for value in ratios.values())

    machine = document["machine"]
    assert {"platform", "python", "numpy", "gymnasium", "cpu_count", "cpu_model"} <= set(machine)
    assert machine["cpu_count"] >= 1
    assert document["total_seconds"] > 0
    assert "--quick" in document["command"]
    assert document["markdown"].splitlines()[2] in result.stdout


def test_closure_quick_writes_results(tmp_path: Path) -> None:
    """Both views of one small task: all keys at each history length, and projected (what the
    expert reads), in the same tables."""
    from benchmarks import closure

    result, folder = run_with_default_output("closure", ("--quick", "--tasks", "Reverse"), tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["closure.json", "closure.md"]
    document = json.loads((folder / "closure.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    assert document["settings"]["views"] == ["full", "projected"]
    rows = {(row["view"], row["history_length"]): row for row in document["rows"]}
    assert list(rows) == [("full", 8), ("full", 0), ("projected", 8)]
    projected = rows[("projected", 8)]
    assert projected["set"]["observations"] < rows[("full", 0)]["set"]["observations"]
    assert projected["closed"] and not any(p["strays"] for p in projected["probes"])
    markdown = document["markdown"]
    views = ((8, "all keys, history 8"), (0, "all keys, history 0"), (8, closure.PROJECTED_VIEW))
    for history, view in views:
        assert f"| Reverse | {history} | {view} |" in markdown
    assert (folder / "closure.md").read_text(encoding="utf-8").rstrip("\n") == markdown


def test_closure_says_how_a_set_was_built_covering_problems_too() -> None:
    from benchmarks.closure import LengthPlan, _built

    plans = [LengthPlan(1, None, 10, 5.0), LengthPlan(2, None, 100, 9.0), LengthPlan(3, 200, 1000, 14.0)]
    assert _built(plans) == "all 1-2 (110); 3: 200 random each"
    assert _built(plans, {3: 1000}) == "all 1-2 (110); 3: 200 random each; 3: 1,000 covering"


def test_closure_views_choose_the_rows() -> None:
    from benchmarks import closure

    assert closure.configs(closure.parse_args([])) == [(8, False), (0, False), (8, True)]
    assert closure.configs(closure.parse_args(["--views", "projected"])) == [(8, True)]
    assert closure.configs(closure.parse_args(["--views", "projected", "full", "--histories", "0"])) == [
        (0, False),
        (8, True),
    ]
    assert closure.parse_args(["--views", "all"]).views == ["full", "projected"]
    assert closure.parse_args([]).train_length is None
    assert closure.train_length("Compare", closure.parse_args(["--train-length", "4"])) == 4


def test_certification_quick_writes_results(tmp_path: Path) -> None:
    """Copy, fit on its projected verification set: certified, and exact everywhere it is measured."""
    result, folder = run_with_default_output("certification", ("--quick", "--tasks", "Copy"), tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["certification.json", "certification.md"]
    document = json.loads((folder / "certification.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    (row,) = document["rows"]
    assert (row["task"], row["seed"], row["train_length"], row["projected"]) == ("Copy", 0, 5, True)
    assert row["verdict"] == "certified" and row["reasons"] == [] and row["fit_reached"]
    assert row["agreement"] == 1.0 and row["min_margin"] >= 1.0 and row["fit_steps"] > 0
    assert [probe["strays"] for probe in row["closure"]] == [0] * len(row["closure"]) != []
    assert row["fit_seconds"] > 0 and row["certify_seconds"] > 0
    scores = row["exact_match"]
    assert [score["asked_length"] for score in scores.values()] == [50, 500]
    assert scores["50"]["length"] == 50 and list(scores)[1] != "500"  # capped by the quick episode budget
    for score in scores.values():
        assert score["exact_match"] == 1.0 and score["problems"] == 8
    markdown = document["markdown"]
    line = (
        "- Copy: 1 of 1 seeds certified; exact match >= 0.999 at every length (and every adversarial "
        "problem posed solved) on 1 of 1 seeds"
    )
    assert line in markdown.splitlines()
    families = len(TASKS["Copy"](10).adversarial_problems(50))
    assert row["adversarial"]["50"] == [True] * families and "| 14/14 solved |" in markdown
    assert "| Copy | 0 | 1..5 | " in markdown and "kernels pinned" in markdown
    assert (folder / "certification.md").read_text(encoding="utf-8").rstrip("\n") == markdown


def test_certification_update_keeps_the_other_tasks_rows(tmp_path: Path) -> None:
    """``--update`` reruns the given tasks and keeps the other tasks' rows, each with its own run."""
    from benchmarks import certification

    assert certification.main(["--quick", "--tasks", "Parity", "--out", str(tmp_path)]) == 0
    assert certification.main(["--quick", "--update", "--tasks", "Copy", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "certification.json").read_text(encoding="utf-8"))
    assert [(row["task"], row["seed"]) for row in document["rows"]] == [("Copy", 0), ("Parity", 0)]
    commands = {row["task"]: row["run"]["command"] for row in document["rows"]}
    assert "--update" in commands["Copy"] and "--update" not in commands["Parity"]
    assert "Rows from several runs" in document["markdown"]
    assert certification.main(["--quick", "--tasks", "Copy", "--out", str(tmp_path)]) == 0  # no --update
    assert [row["task"] for row in json.loads((tmp_path / "certification.json").read_text())["rows"]] == [
        "Copy"
    ]


def test_certification_update_replaces_the_seeds_it_runs(tmp_path: Path) -> None:
    """A rerun of some seeds of a task replaces those rows and keeps the task's other seeds."""
    from benchmarks import certification

    assert certification.main(["--quick", "--tasks", "Copy", "--seeds", "2", "--out", str(tmp_path)]) == 0
    argv = ["--quick", "--update", "--tasks", "Copy", "--seeds", "1", "--out", str(tmp_path)]
    assert certification.main(argv) == 0
    rows = json.loads((tmp_path / "certification.json").read_text(encoding="utf-8"))["rows"]
    assert [(row["task"], row["seed"], "--update" in row["run"]["command"]) for row in rows] == [
        ("Copy", 0, True),
        ("Copy", 1, False),
    ]


def test_certification_merges_runs_made_apart(tmp_path: Path) -> None:
    """``--merge``: the rows each run measured (not those it kept with ``--update``), each with its
    own run, and with ``--update`` the other tasks' rows of the output folder; nothing is run."""
    from benchmarks import certification

    committed = json.loads((RESULTS / "certification.json").read_text(encoding="utf-8"))
    tasks = list(dict.fromkeys(row["task"] for row in committed["rows"]))
    first, second, kept = tasks[0], tasks[1], tasks[2]
    files = []
    for name, measured in (("a", [first]), ("b", [second])):
        run = {"date": f"date-{name}", "command": f"command-{name}", "revision": {"commit": name * 40}}
        document = {**committed, **run, "settings": {**committed["settings"], "tasks": measured}}
        document["rows"] = [{k: v for k, v in row.items() if k != "run"} for row in committed["rows"]]
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "certification.json").write_text(
        json.dumps({**committed, "rows": [row for row in committed["rows"] if row["task"] in (first, kept)]})
    )
    argv = ["--merge", *map(str, files), "--out", str(out)]
    assert certification.main([*argv, "--update"]) == 0
    document = json.loads((out / "certification.json").read_text(encoding="utf-8"))
    runs = {row["task"]: row["run"]["command"] for row in document["rows"]}
    assert runs[first] == "command-a" and runs[second] == "command-b" and kept in runs
    assert set(runs) == {first, second, kept}
    expected = [row for row in committed["rows"] if row["task"] in (first, second, kept)]
    assert [(row["task"], row["seed"]) for row in document["rows"]] == [
        (r["task"], r["seed"]) for r in expected
    ]
    assert document["settings"]["tasks"] == [first, second]
    assert "command-a" in document["markdown"] and "command-b" in document["markdown"]
    assert certification.main(argv) == 0  # without --update: the merged rows alone
    document = json.loads((out / "certification.json").read_text(encoding="utf-8"))
    assert {row["task"] for row in document["rows"]} == {first, second}
    assert certification.main(["--merge", str(tmp_path / "missing.json")]) == 2


def test_certification_resumes_a_stopped_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each finished row is saved as it finishes; ``--resume`` keeps them and runs only the others
    (a line cut short by the stop is ignored), and the progress file goes once the results are written."""
    from benchmarks import certification

    template = next(
        row
        for row in json.loads((RESULTS / "certification.json").read_text(encoding="utf-8"))["rows"]
        if row["task"] == "Copy"
    )
    ran: list[tuple[str, int]] = []

    def fake_run_seed(task: str, seed: int, args: Any) -> dict[str, Any]:
        ran.append((task, seed))
        if len(ran) == 2 and not args.resume:
            raise KeyboardInterrupt  # stopped after the first row
        return {**template, "task": task, "seed": seed}

    monkeypatch.setattr(certification, "run_seed", fake_run_seed)
    argv = ["--tasks", "Copy", "--seeds", "3", "--out", str(tmp_path)]
    with pytest.raises(KeyboardInterrupt):
        certification.main(argv)
    progress = tmp_path / certification.PROGRESS_NAME
    assert [json.loads(line)["seed"] for line in progress.read_text().splitlines()] == [0]
    progress.write_text(progress.read_text() + '{"task": "Copy", "se')  # a line cut short
    ran.clear()
    assert certification.main([*argv, "--resume"]) == 0
    assert ran == [("Copy", 1), ("Copy", 2)]
    document = json.loads((tmp_path / "certification.json").read_text(encoding="utf-8"))
    assert [row["seed"] for row in document["rows"]] == [0, 1, 2]
    assert not progress.exists()
    with pytest.raises(SystemExit):
        certification.parse_args(["--resume"])  # (no folder to resume in)


def test_certification_seeds_and_lengths() -> None:
    from benchmarks import certification

    args = certification.parse_args(["--tasks", "Sort", "Copy", "Sort"])
    assert args.tasks == ["Copy", "Sort"]  # in the tasks' order
    assert (certification.seeds_of("Copy", args), certification.seeds_of("Sort", args)) == (5, 10)
    args = certification.parse_args(["--seeds", "2"])
    assert {certification.seeds_of(task, args) for task in args.tasks} == {2}
    assert certification.parse_args(["--quick"]).seeds == 1
    assert certification.train_length("Compare") == 4 and certification.train_length("Addition") == 3
    args = certification.parse_args([])
    assert [e["length"] for e in certification.eval_plan("Multiplication", 3, args)] == [30, 100]
    assert [e["problems"] for e in certification.eval_plan("Multiplication", 3, args)] == [100, 100]
    expression = certification.eval_plan("Expression", 2, args)
    assert [e["asked_length"] for e in expression] == [20, 200] and 20 < expression[1]["length"] < 200
    assert args.tasks[-1] == "MultiTask" and certification.seeds_of("MultiTask", args) == 3
    assert certification.train_length("MultiTask") == 6
    members = certification.eval_plan("MultiTask", 6, args)
    assert [e["member"] for e in members] == list(MultiTask.default_members)
    assert {e["problems"] for e in members} == {100}
    assert members[2] == {"member": "Multiplication", "asked_length": 30, "length": 30, "problems": 100}
    assert members[4]["length"] == 50  # Copy: 10 x 5
    args = certification.parse_args(["--first-seed", "7", "--seeds", "3", "--eval-envs", "1000"])
    assert (args.first_seed, args.eval_envs) == (7, 1000) and args.seeds == 3


@pytest.mark.parametrize(
    ("flag", "value"), [("--first-seed", "-1"), ("--eval-envs", "0"), ("--first-seed", "x")]
)
def test_certification_rejects_bad_seed_and_env_counts(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import certification

    with pytest.raises(SystemExit) as exit_info:
        certification.parse_args([flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf".+: error: argument {flag}: .+", err.splitlines()[-1])  # (after argparse's usage)


def test_certification_multitask_closure_cell() -> None:
    """A MultiTask row sums its members' probes, naming the members with strays."""
    from benchmarks import certification

    probe = {"label": "train+1", "length": 4, "strays": 0, "problems": 8, "exhaustive": True, "error": None}
    row = {"closure": [{**probe, "member": name} for name in ("Copy", "Sort") for _ in range(4)]}
    assert certification._closure_cell(row) == "8 probes of 2 members: 0 strays"
    row["closure"][5]["strays"] = 3
    assert certification._closure_cell(row) == "8 probes of 2 members: 3 strays (in Sort)"
    assert certification._closure_cell({"closure": [{**probe, "member": None}]}) == "+1 (4): 0"


def test_throughput_rewrites_the_page_block(tmp_path: Path) -> None:
    readme = tmp_path / "throughput.md"
    readme.write_text("# Title\n<!-- throughput:start -->\nold\n<!-- throughput:end -->\nafter\n")
    args = ("--tasks", "Copy", "--seconds", "0.05", "--repeats", "1", "--out", str(tmp_path / "out"))
    result = run_benchmark(*args, "--page", str(readme))
    assert result.returncode == 0, result.stderr
    check_not_smoke(result.stdout, json.loads((tmp_path / "out" / "throughput.json").read_text()))
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
        ("--tasks", "Copy,Addition"),  # lists are space-separated
        ("--bogus",),
    ],
)
def test_throughput_rejects_bad_flags(args: tuple[str, ...]) -> None:
    result = run_benchmark(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr


def test_training_throughput_rejects_a_bad_device(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from benchmarks import training_throughput

    with pytest.raises(SystemExit) as exit_info:
        training_throughput.parse_args(["--device", "toaster"])
    assert exit_info.value.code == 2
    assert "--device: not a torch device" in capsys.readouterr().err.splitlines()[-1]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # no GPU, as in CI
    assert training_throughput.main(["--device", "cuda", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--device:" in err and "Traceback" not in err


def test_throughput_tasks_are_a_space_separated_list() -> None:
    from benchmarks import throughput

    args = throughput.parse_args(["--tasks", "Copy", "Actformer/Addition-v0", "Copy"])
    assert args.tasks == ["Actformer/Copy-v0", "Actformer/Addition-v0"]
    assert throughput.parse_args([]).tasks == throughput.registered_ids()
    assert throughput.parse_args(["--tasks", "all"]).tasks == throughput.registered_ids()


def test_throughput_comma_list_gets_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import throughput

    with pytest.raises(SystemExit) as exit_info:
        throughput.parse_args(["--tasks", "Copy,Addition"])
    assert exit_info.value.code == 2
    assert "space-separated" in capsys.readouterr().err.splitlines()[-1]


def test_throughput_page_without_markers_fails(tmp_path: Path) -> None:
    readme = tmp_path / "throughput.md"
    readme.write_text("# No markers here\n")
    result = run_benchmark(
        "--seconds", "0.05", "--tasks", "Copy", "--out", str(tmp_path / "out"), "--page", str(readme)
    )
    assert result.returncode != 0
    assert "markers" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--quick", "--page", "{tmp}/throughput.md"), "smoke test"),  # smoke numbers never go into the docs
        (("--page",), "--update-results"),  # docs/throughput.md's table is the committed results'
    ],
)
def test_throughput_page_refusals(
    args: tuple[str, ...], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import throughput

    with pytest.raises(SystemExit) as exit_info:
        throughput.parse_args([arg.format(tmp=tmp_path) for arg in args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and words in err


# -- what every benchmark script shares ---------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """``benchmarks.common``'s results and runs folders, moved into ``tmp_path`` for the test."""
    results, runs = tmp_path / "results", tmp_path / "runs"
    results.mkdir()
    monkeypatch.setattr(common, "RESULTS_DIR", results)
    monkeypatch.setattr(common, "RUNS_DIR", runs)
    return results, runs


def output_args(**flags: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"quick": False, "out": None, "update_results": False, **flags})


def test_results_and_runs_folders() -> None:
    """The committed results, and the git-ignored folder of the runs (the tests move both)."""
    assert common.RESULTS_DIR == RESULTS and common.RUNS_DIR == RUNS
    assert RESULTS.is_dir()
    if shutil.which("git") is None:
        return
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "benchmarks/runs/throughput-20260101T000000Z/throughput.json"],
        cwd=REPO_ROOT,
        capture_output=True,
    )
    assert ignored.returncode in (0, 128)  # 128: not a git checkout (an sdist); 1 would be "not ignored"


def test_default_output_is_a_fresh_folder_per_run(folders: tuple[Path, Path]) -> None:
    results, runs = folders
    first = common.output_dir(output_args(), "throughput")
    second = common.output_dir(output_args(), "throughput")  # the same second: a suffix keeps it fresh
    assert first != second and first.parent == runs == second.parent
    assert first.is_dir() and second.is_dir() and not any(first.iterdir())
    assert re.fullmatch(r"throughput-\d{8}T\d{6}Z", first.name)
    third = common.output_dir(output_args(), "throughput")
    assert len({first, second, third}) == 3 and all(f.name.startswith("throughput-") for f in (second, third))
    assert not any(results.iterdir())


def test_update_results_and_out_choose_the_folder(folders: tuple[Path, Path], tmp_path: Path) -> None:
    results, runs = folders
    assert common.output_dir(output_args(update_results=True), "throughput") == results
    assert common.output_dir(output_args(out=tmp_path / "mine"), "throughput") == tmp_path / "mine"
    assert (tmp_path / "mine").is_dir() and not runs.exists()
    inside = output_args(out=results / "full", update_results=True)
    assert common.output_problem(inside.quick, inside.out, inside.update_results) is None


def test_write_results_marks_smoke_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"benchmark": "x", "markdown": "| a |\n|---|"}
    path = common.write_results(tmp_path, "x.json", document, smoke=True, markdown_file=True)
    out = capsys.readouterr().out
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["smoke"] is True and written["markdown"] == f"{SMOKE_BANNER}\n\n| a |\n|---|"
    assert (tmp_path / "x.md").read_text(encoding="utf-8") == written["markdown"] + "\n"
    assert out.splitlines()[0] == SMOKE_BANNER and out.count(SMOKE_BANNER) == 2
    assert f"Wrote x.json, x.md to {tmp_path}" in out
    assert common.smoke_markdown(written["markdown"], True) == written["markdown"]  # once only

    document = {"benchmark": "x", "markdown": "| a |\n|---|"}
    common.write_results(tmp_path, "y.json", document, smoke=False)
    assert SMOKE_BANNER not in capsys.readouterr().out
    assert json.loads((tmp_path / "y.json").read_text(encoding="utf-8"))["smoke"] is False


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--quick", "--update-results"), "--quick is a smoke test"),
        (("--out", "{results}/sub"), "add --update-results"),
        (("--update-results", "--out", "{tmp}/elsewhere"), "lies outside"),
    ],
    ids=["quick-update-results", "out-into-results", "update-results-elsewhere"],
)
def test_scripts_refuse_smoke_numbers_in_the_results(
    script: str,
    flags: tuple[str, ...],
    words: str,
    folders: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results, runs = folders
    module = importlib.import_module(f"benchmarks.{script}")
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args([flag.format(results=results, tmp=tmp_path) for flag in flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{Path(sys.argv[0]).name}: error: ") and words in err
    assert not any(results.iterdir()) and not runs.exists()


def test_quick_update_results_is_refused_from_the_command_line(tmp_path: Path) -> None:
    """The whole process exits 2 with one line. Its results folder is a temporary one, so that a
    broken refusal fails this test without overwriting the committed throughput results."""
    code = (
        "import sys; from pathlib import Path; from benchmarks import common, throughput; "
        f"common.RESULTS_DIR = common.RUNS_DIR = Path({str(tmp_path)!r}); "
        "sys.exit(throughput.main(['--quick', '--update-results', '--tasks', 'Copy', '--seconds', '0.01']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--quick is a smoke test" in result.stderr
    assert not any(tmp_path.iterdir())


def fake_rl_run(run: Any, args: argparse.Namespace) -> dict[str, Any]:
    """A finished ``rl_from_scratch`` run, without the training (minutes without --quick)."""
    return {
        "task": run.task,
        "learner": run.learner,
        "seed": run.seed,
        "recipe": "uniform",
        "train_length": 5,
        "budget": args.steps,
        "steps": args.steps,
        "steps_to_target": None,
        "checks": {"steps": [args.steps], "exact_match": [0.5]},
        "exact_match": {"1": 0.5, "10": 0.0, "100": 0.0},
        "wall_seconds": 1.0,
    }


def fake_learners(*args: Any) -> list[dict[str, Any]]:
    """A ``training_throughput`` measurement, without SB3's and our training."""
    from benchmarks.training_throughput import LEARNERS, ROOFLINE

    return [
        {"learner": name, "steps_per_second": 1.0, "repeats": [1.0], "parameters": 1}
        for name in (*LEARNERS, ROOFLINE)
    ]


def fake_ablation_run(history_length: int, weight_decay: float, seed: int, args: Any) -> dict[str, Any]:
    """A ``history_ablation`` run, without the behaviour cloning and the 100-digit probes."""
    return {
        "history_length": history_length,
        "weight_decay": weight_decay,
        "seed": seed,
        "parameters": 1,
        "final_loss": 0.1,
        "losses": [0.1],
        "exact_match": {"3": 1.0},
        "decision_error_rate_100": 0.0,
        "changed_by_blanked_history": None,
        "changed_by_shuffled_history": None,
        "train_seconds": 1.0,
        "eval_seconds": 1.0,
    }


def fake_suite_row(plan: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """A ``train_suite`` row, without the training (minutes without --quick)."""
    scores = {
        str(length): {"exact_match": 1.0, "episodes": 1, "seconds": 0.0} for length in plan.eval_lengths
    }
    return {"task": plan.task, "train_length": plan.train_length, "train_seconds": 1.0, "exact_match": scores}


def fake_baseline(revision: str, folder: Path) -> Any:
    """A baseline ``main_job.Version`` without a worktree (nothing of it is run: ``fake_main_job``)."""
    from benchmarks.main_job import Version

    return Version("baseline", "0" * 40, ["train", "--total-steps", "65536"], [], None)


def fake_main_job(version: Any, total_steps: int | None) -> dict[str, Any]:
    """A run of a main job, without the run (a minute or more)."""
    return {"seconds": 3.0 if version.label == "baseline" else 1.0, "exact_match": {"3": 1.0, "1000": 1.0}}


def fake_versions(baseline: str, folder: Path) -> list[Any]:
    """This checkout as both versions of ``network_speed`` (no worktree: the timing is not under test)."""
    from benchmarks import network_speed

    module = network_speed.policy_module
    return [
        network_speed.Version(label, digit * 40, str(REPO_ROOT), module.__name__, str(module.__file__))
        for label, digit in (("baseline", "0"), ("current", "1"))
    ]


#: Per script: arguments of a small run that is not a smoke test, and what to stub (the training and
#: measuring of those that take more than a few seconds: only the writing is under test).
SMALL_RUNS: dict[str, tuple[tuple[str, ...], dict[str, Callable[..., Any]]]] = {
    "throughput": (("--tasks", "Copy", "--seconds", "0.02", "--repeats", "1", "--no-reference"), {}),
    "training_throughput": (("--iterations", "1", "--repeats", "1"), {"measure": fake_learners}),
    "policy_speed": (("--repeats", "1", "--warmup", "1", "--batches", "1", "--device", "cpu"), {}),
    "history_ablation": (("--seeds", "0", "--weight-decays", "0"), {"run": fake_ablation_run}),
    "rl_from_scratch": (("--tasks", "Copy", "--steps", "64"), {"train": fake_rl_run}),
    "train_suite": (("--tasks", "Copy"), {"run_plan": fake_suite_row}),
    "generalization": (
        ("--tasks", "Copy", "--agents", "expert", "--multipliers", "1", "--episodes", "2", "--seeds", "1"),
        {},
    ),
    "closure": (
        ("--tasks", "Reverse", "--views", "projected", "--budget", "2000", "--exhaustive-budget", "2000"),
        {},
    ),
    "certification": (("--tasks", "Copy", "--seeds", "1", "--problems", "8"), {}),
    "main_job": (("--repeats", "2"), {"baseline_version": fake_baseline, "run_once": fake_main_job}),
    "action_masks": (("--tasks", "Copy", "--steps", "5", "--num-envs", "2"), {}),
    "network_speed": (("--rounds", "1", "--calls", "1"), {"versions": fake_versions}),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_update_results_writes_into_the_results_folder(
    script: str,
    folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    one_thread: None,
) -> None:
    results, runs = folders
    module = importlib.import_module(f"benchmarks.{script}")
    args, stubs = SMALL_RUNS[script]
    for name, stub in stubs.items():
        monkeypatch.setattr(module, name, stub)
    assert module.main([*args, "--update-results"]) == 0
    out = capsys.readouterr().out
    document = json.loads((results / f"{script}.json").read_text(encoding="utf-8"))
    check_not_smoke(out, document)
    assert f"to {results}" in out.splitlines()[-1]
    assert not runs.exists()


def test_default_output_leaves_the_results_folder_alone(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import throughput

    results, runs = folders
    args = SMALL_RUNS["throughput"][0]
    assert throughput.main(list(args)) == 0
    assert throughput.main(list(args)) == 0
    assert not any(results.iterdir())
    made = sorted(runs.iterdir())
    assert len(made) == 2 and all((folder / "throughput.json").is_file() for folder in made)
    assert capsys.readouterr().out.count(f"to {runs}") == 2


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


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every ``python -m benchmarks.NAME ...`` line of the scripts' and ``benchmarks.common``'s
    docstrings: (NAME, its arguments)."""
    commands = []
    for name in ("common", *SCRIPTS):
        doc = importlib.import_module(f"benchmarks.{name}").__doc__ or ""
        for match in re.finditer(
            r"^\s*python -m benchmarks\.(\w+)(.*?)(?:\s+#.*)?$", doc, flags=re.MULTILINE
        ):
            commands.append((match.group(1), shlex.split(match.group(2))))
    return commands


@pytest.mark.parametrize(("script", "args"), documented_commands())
def test_documented_commands_parse(script: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands the docstrings show are accepted as written (parsed only, nothing runs)."""
    monkeypatch.chdir(REPO_ROOT)
    assert script in SCRIPTS
    importlib.import_module(f"benchmarks.{script}").parse_args(args)


def test_every_script_documents_its_output_and_smoke_test() -> None:
    """Each script's docstring shows a --quick and an --update-results command and says where results go."""
    by_script: dict[str, list[list[str]]] = {}
    for script, args in documented_commands():
        by_script.setdefault(script, []).append(args)
    for script in SCRIPTS:
        doc = importlib.import_module(f"benchmarks.{script}").__doc__ or ""
        assert any("--quick" in args for args in by_script[script]), script
        assert any("--update-results" in args for args in by_script[script]), script
        assert f"benchmarks/runs/{script}-<UTC" in " ".join(doc.split()), script


def test_action_masks_counts_both_masks_on_the_same_states() -> None:
    from benchmarks.action_masks import measure

    copy, addition = measure("Copy", 4, 30), measure("Addition", 4, 30)
    for row in (copy, addition):
        assert row["states"] == 120 and 1 <= row["mean_valid"] <= row["mean_allowed"] < NUM_ACTIONS
    # Addition's registers hold sums and carries that are no digit: some WRITEs fault there.
    assert addition["mean_valid"] < addition["mean_allowed"] and addition["states_where_they_differ"] > 0
