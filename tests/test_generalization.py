"""``python -m benchmarks.generalization``: a tiny grid writes outputs of the documented shape (into a
fresh folder, marked as a smoke test), a cell runs the same through Ray, the Wilson interval matches
known values, a grid whose every cell failed still writes its outputs, and bad flags are rejected."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from test_benchmarks import check_smoke, run_with_default_output

from benchmarks import generalization
from benchmarks.generalization import Cell, Settings, aggregate, run_cell, run_cells, wilson_interval

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUTPUTS = [
    "generalization.csv",
    "generalization.json",
    "generalization.md",
    "generalization.png",
    "generalization_seeds.csv",
]


def test_tiny_grid_writes_outputs(tmp_path: Path) -> None:
    # Parity at 1x, 2x and 50x; Multiplication's 50x is over the smoke cap of reference agents (20x).
    args = ("--quick", "--tasks", "Parity", "Multiplication", "--agents", "expert", "random")
    args += ("--multipliers", "1", "2", "50", "--episodes", "16", "--seeds", "2")
    result, folder = run_with_default_output("generalization", args, tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == OUTPUTS
    document = json.loads((folder / "generalization.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    assert {"date", "command", "settings", "machine", "cells", "rows", "aggregated", "skipped"} <= set(
        document
    )
    assert {"failed", "total_seconds", "markdown"} <= set(document)
    assert document["failed"] == [] and document["total_seconds"] > 0
    settings = document["settings"]
    assert settings["episodes"] == 16 and settings["seeds"] == 2 and settings["multipliers"] == [1, 2, 50]
    assert settings["quick"] and settings["budget"] == "smoke"
    assert settings["train_lengths"] == {"Parity": 5, "Multiplication": 3}
    assert document["machine"]["cpu_count"] >= 1 and document["machine"]["torch_threads"] == 1
    assert len(document["cells"]) == 2 * 2 * 2  # tasks x agents x seeds
    for cell in document["cells"]:
        assert cell["status"] == "ok" and cell["seconds"] >= cell["train_seconds"] >= 0

    assert len(document["rows"]) == 2 * 2 * 2 * 3  # ... x multipliers
    for row in document["rows"]:
        if row["skipped"] is None:
            assert row["episodes"] == 16 and 0 <= row["solved"] <= 16 and row["seconds"] > 0
            assert row["accuracy"] == row["solved"] / 16

    pooled = {(r["task"], r["agent"], r["multiplier"]): r for r in document["aggregated"]}
    assert len(pooled) == 2 * 2 * 3
    for multiplier, length in ((1, 5), (2, 10), (50, 250)):
        expert, random = pooled["Parity", "expert", multiplier], pooled["Parity", "random", multiplier]
        assert expert["length"] == length and expert["seeds"] == 2 and expert["episodes"] == 32
        assert expert["accuracy"] == 1.0 and expert["ci_high"] == 1.0 and 0.8 < expert["ci_low"] < 1.0
        assert random["accuracy"] < expert["accuracy"]
        assert random["ci_low"] <= random["accuracy"] <= random["ci_high"]
        assert len(expert["seed_accuracies"]) == 2
    skipped = pooled["Multiplication", "expert", 50]
    assert skipped["accuracy"] is None and skipped["seeds"] == 0
    assert "the smoke budget evaluates reference agents up to 20x" in skipped["skipped"]
    assert {(s["task"], s["agent"], s["multiplier"]) for s in document["skipped"]} == {
        ("Multiplication", "expert", 50),
        ("Multiplication", "random", 50),
    }

    with (folder / "generalization.csv").open(encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert list(table[0]) == [*generalization.CSV_COLUMNS, "skipped"]
    assert len(table) == len(pooled)
    multiplication = [r for r in table if r["task"] == "Multiplication" and r["multiplier"] == "50"]
    assert all(r["accuracy"] == "" and r["skipped"] for r in multiplication)
    with (folder / "generalization_seeds.csv").open(encoding="utf-8") as file:
        assert len(list(csv.DictReader(file))) == len(document["rows"])
    assert (folder / "generalization.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (folder / "generalization.md").read_text(encoding="utf-8").strip() == document["markdown"].strip()
    assert "| Parity (≤ 5) | expert | 1.00 [" in document["markdown"]
    assert generalization.markdown_from_file(folder / "generalization.json") == document["markdown"]


def rows_without_timings(results: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each cell's rows, less the wall-clock fields that differ from run to run."""
    return [
        [{k: v for k, v in row.items() if k != "seconds"} for row in result["rows"]] for result in results
    ]


def test_a_cell_runs_the_same_through_ray() -> None:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'actformer-gym[ray]'")
    cells = [Cell("Copy", ("expert",), 0), Cell("Copy", ("random",), 1)]
    settings = Settings(multipliers=(1, 2), episodes=8)
    local = run_cells(cells, settings, log=False)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_cells(cells, settings, ray_address="local", log=False)
    finally:
        ray.shutdown()
    assert [r["status"] for r in remote] == ["ok", "ok"]
    assert rows_without_timings(local) == rows_without_timings(remote)
    assert remote[0]["rows"][0]["accuracy"] == 1.0


def test_cells_in_worker_processes_run_the_same_and_come_back_in_order() -> None:
    cells = [Cell("Copy", ("random",), 1), Cell("Copy", ("expert",), 0), Cell("Parity", ("random",), 0)]
    settings = Settings(multipliers=(1, 2), episodes=8)
    local = run_cells(cells, settings, log=False)
    seen: list[int] = []
    spawned = run_cells(
        cells, settings, log=False, workers=2, on_result=lambda so_far: seen.append(len(so_far))
    )
    assert [(r["task"], r["agents"], r["seed"]) for r in spawned] == [
        (cell.task, list(cell.agents), cell.seed) for cell in cells
    ]
    assert rows_without_timings(local) == rows_without_timings(spawned)
    assert seen == [1, 2, 3]


@pytest.mark.parametrize(
    "successes, trials, low, high",
    [  # statsmodels' proportion_confint(method="wilson") to 4 decimals
        (0, 10, 0.0, 0.2775),
        (1, 10, 0.0179, 0.4042),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_known_values(successes: int, trials: int, low: float, high: float) -> None:
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize("trials", [1, 7, 100, 1000])
def test_wilson_interval_identities(trials: int) -> None:
    z2 = generalization.Z_95**2
    assert wilson_interval(0, trials) == pytest.approx((0.0, z2 / (trials + z2)))  # closed form at 0
    for successes in range(0, trials + 1, max(1, trials // 5)):  # symmetric in success and failure
        low, high = wilson_interval(successes, trials)
        assert low <= successes / trials <= high
        assert wilson_interval(trials - successes, trials) == pytest.approx((1 - high, 1 - low))


@pytest.mark.parametrize("successes, trials", [(1, 0), (-1, 10), (11, 10), (0.5, 10), (True, 10)])
def test_wilson_interval_rejects_bad_counts(successes: object, trials: object) -> None:
    with pytest.raises(ValueError, match=r"^(trials|successes) must be"):
        wilson_interval(successes, trials)  # type: ignore[arg-type]


def test_aggregate_pools_seeds_and_keeps_skips() -> None:
    def row(seed: int, multiplier: int, solved: int | None, skipped: str | None = None) -> dict:
        return {
            "task": "Copy",
            "agent": "expert",
            "seed": seed,
            "multiplier": multiplier,
            "length": 5 * multiplier,
            "episodes": 0 if skipped else 10,
            "solved": solved,
            "accuracy": None if solved is None else solved / 10,
            "skipped": skipped,
        }

    pooled = aggregate(
        [row(0, 1, 10), row(1, 1, 5), row(0, 2, None, "too long"), row(1, 2, None, "too long")]
    )
    first, second = pooled
    assert (first["seeds"], first["episodes"], first["solved"], first["accuracy"]) == (2, 20, 15, 0.75)
    assert (first["ci_low"], first["ci_high"]) == wilson_interval(15, 20)
    assert first["seed_accuracies"] == [1.0, 0.5] and first["skipped"] is None
    assert second["accuracy"] is None and second["seeds"] == 0 and second["skipped"] == "too long"


def test_a_failing_cell_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cell: Cell, settings: Settings) -> None:
        raise RuntimeError("no such agent here")

    monkeypatch.setitem(generalization.TRAINERS, "expert", broken)
    result = run_cell(Cell("Copy", ("expert",), 0), Settings(multipliers=(1,), episodes=2))
    assert result["status"] == "failed" and result["rows"] == []
    assert "RuntimeError: no such agent here" in result["error"]


@pytest.mark.parametrize(
    "flag, values",
    [
        ("--tasks", ["NoSuchTask"]),
        ("--tasks", ["Copy,Parity"]),  # lists are space-separated
        ("--agents", ["expert", "nobody"]),
        ("--agents", ["expert,random"]),
        ("--seeds", ["0"]),
        ("--multipliers", ["0", "1"]),
        ("--multipliers", ["1,10"]),
        ("--multipliers", ["one"]),
        ("--multipliers", []),
        ("--episodes", ["-3"]),
        ("--budget", ["tiny"]),
        ("--workers", ["0"]),
        ("--first-seed", ["-1"]),
    ],
)
def test_bad_flags_are_rejected(flag: str, values: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generalization.parse_args([flag, *values])
    assert exit_info.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err.splitlines()[-1]


def test_lists_are_space_separated() -> None:
    args = generalization.parse_args(
        [
            "--tasks",
            "Copy",
            "Parity",
            "Copy",
            "--agents",
            "random",
            "expert",
            "--multipliers",
            "10",
            "1",
            "10",
        ]
    )
    assert args.tasks == ["Copy", "Parity"] and args.agents == ["random", "expert"]
    assert args.multipliers == (1, 10)
    everything = generalization.parse_args(["--tasks", "all", "--agents", "all"])
    assert everything.tasks == list(generalization.PLANS_BY_TASK)
    assert everything.agents == list(generalization.AGENTS)


@pytest.mark.parametrize(
    ("flags", "budget", "seeds", "episodes", "multipliers"),
    [
        ([], "full", 3, 100, generalization.MULTIPLIERS),
        (["--budget", "small"], "small", 1, 32, generalization.MULTIPLIERS),
        (["--quick"], "smoke", 1, 8, generalization.SMOKE_MULTIPLIERS),
        (["--quick", "--seeds", "2", "--multipliers", "5"], "smoke", 2, 8, (5,)),
    ],
)
def test_budgets(
    flags: list[str], budget: str, seeds: int, episodes: int, multipliers: tuple[int, ...]
) -> None:
    args = generalization.parse_args(flags)
    assert (args.budget, args.seeds, args.episodes, args.multipliers) == (
        budget,
        seeds,
        episodes,
        multipliers,
    )
    settings = generalization.settings_for(args)
    assert settings.budget == budget and settings.multipliers == multipliers
    steps = {"full": generalization.DEFAULT_TOTAL_STEPS, "small": 8192, "smoke": 1024}[budget]
    assert settings.actformer_steps == settings.sb3_steps == steps


def test_quick_and_budget_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generalization.parse_args(["--quick", "--budget", "small"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err.splitlines()[-1]


def test_chart_of_no_results(tmp_path: Path) -> None:
    """Every cell failed: nothing to plot, and no ZeroDivisionError for a grid of zero panels."""
    document = {"aggregated": [], "settings": {"multipliers": [1, 2], "train_lengths": {}}}
    generalization.draw_chart(document, tmp_path / "chart.png")
    generalization.draw_chart(document, tmp_path / "smoke.png", smoke=True)
    assert (tmp_path / "chart.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "smoke.png").read_bytes()[:8] == PNG_SIGNATURE


def test_a_grid_of_failed_cells_writes_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bug: ``draw_chart`` divided by zero panels when every cell failed, and the run lost its outputs."""

    def broken(cell: Cell, settings: Settings) -> None:
        raise RuntimeError("no such agent here")

    monkeypatch.setitem(generalization.TRAINERS, "expert", broken)
    args = ["--quick", "--tasks", "Copy", "Parity", "--agents", "expert", "--episodes", "2"]
    assert generalization.main([*args, "--out", str(tmp_path)]) == 1  # a cell failed
    assert sorted(path.name for path in tmp_path.iterdir()) == OUTPUTS
    document = json.loads((tmp_path / "generalization.json").read_text(encoding="utf-8"))
    assert document["aggregated"] == [] and len(document["failed"]) == 2 and document["smoke"] is True
    assert "Failed: Copy expert seed 0." in document["markdown"]
    assert (tmp_path / "generalization.png").read_bytes()[:8] == PNG_SIGNATURE
    assert generalization.markdown_from_file(tmp_path / "generalization.json") == document["markdown"]
    assert f"to {tmp_path}" in capsys.readouterr().out


def test_cells_group_the_actformer_agents() -> None:
    cells = generalization.make_cells(["Copy"], ["actformer", "expert", "actformer-imitation"], seeds=2)
    assert cells == [
        Cell("Copy", ("actformer", "actformer-imitation"), 0),
        Cell("Copy", ("expert",), 0),
        Cell("Copy", ("actformer", "actformer-imitation"), 1),
        Cell("Copy", ("expert",), 1),
    ]


def test_learned_agents_train_and_evaluate_on_tiny_budgets() -> None:
    imitation = (("imitation_pairs", 256), ("imitation_epochs", 1), ("dagger_steps", 64))
    small = (("num_envs", 8), ("num_steps", 16))
    settings = Settings(
        multipliers=(1, 2),
        episodes=4,
        actformer_steps=128,
        actformer_overrides=imitation + small,
        sb3_steps=64,
    )
    for agents in (("actformer", "actformer-imitation"), ("ppo",), ("maskable-ppo",)):
        result = run_cell(Cell("Copy", agents, 0), settings)
        assert result["status"] == "ok", result.get("error")
        assert [(r["agent"], r["multiplier"]) for r in result["rows"]] == [
            (agent, m) for agent in agents for m in (1, 2)
        ]
        assert all(0.0 <= r["accuracy"] <= 1.0 and r["episodes"] == 4 for r in result["rows"])
    assert result["train"]["env_steps"] >= 64


def test_the_certified_recipe_is_certified_and_exact_beyond_its_training_length() -> None:
    """Copy's recipe certifies in seconds: the cell keeps the verdict, and a certified policy runs
    the expert's procedure at 10x (an outcome of our code, not of luck: certified means exact)."""
    result = run_cell(Cell("Copy", ("actformer-certified",), 0), Settings(multipliers=(1, 10), episodes=8))
    assert result["status"] == "ok", result.get("error")
    assert result["train"]["certificate"]["verdict"] == "certified"
    assert result["train"]["train_length"] == 5
    assert [(r["multiplier"], r["solved"]) for r in result["rows"]] == [(1, 8), (10, 8)]
    document = {
        "cells": [
            {**result, "task": "Sort", "train": {**result["train"], "train_length": 6}},
            {**result, "train": {**result["train"], "certificate": {"verdict": "not certified"}}},
        ],
        "settings": {"train_lengths": {"Copy": 5, "Sort": 5}},
    }
    assert generalization.certified_note(document) == [
        "Actformer (certified recipe): fit on the expert's observations at the training lengths (Sort 1..6: "
        "its recipe's lengths), no RL; certified on 1 of 2 runs."
    ]
    assert generalization.certified_note({"cells": [], "settings": {}}) == []
    assert generalization.panel_title(document, "Sort") == "Sort (trained on ≤ 5; certified recipe ≤ 6)"
    assert generalization.panel_title(document, "Copy") == "Copy (trained on ≤ 5)"


def test_redraw_draws_a_committed_results_chart_again(tmp_path: Path) -> None:
    import shutil

    source = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "generalization.json"
    copy = tmp_path / "generalization.json"
    shutil.copy(source, copy)
    assert generalization.main(["--redraw", str(copy)]) == 0
    assert (tmp_path / "generalization.png").stat().st_size > 10_000
    with pytest.raises(SystemExit) as exit_info:
        generalization.parse_args(["--redraw", str(tmp_path / "missing.json")])
    assert exit_info.value.code == 2


def tiny_grid(folder: Path, *args: str) -> dict[str, object]:
    """A quick grid of 1 seed, 4 problems at 1x, written to ``folder``: its document."""
    argv = ["--quick", "--multipliers", "1", "--episodes", "4", *args, "--out", str(folder), "--no-chart"]
    assert generalization.main(argv) == 0
    document: dict[str, object] = json.loads((folder / "generalization.json").read_text(encoding="utf-8"))
    return document


def test_merge_replaces_a_task_and_agent_whole_and_drops_what_is_asked(tmp_path: Path) -> None:
    """A later run's rows of a (task, agent, seed) replace an earlier run's, ``--drop`` leaves rows out,
    and the merged table names every run and what it still measures."""
    first = tiny_grid(tmp_path / "a", "--tasks", "Copy", "Parity", "--agents", "expert", "random")
    tiny_grid(tmp_path / "b", "--tasks", "Copy", "--agents", "expert")
    argv = [
        "--merge",
        str(tmp_path / "a" / "generalization.json"),
        str(tmp_path / "b" / "generalization.json"),
    ]
    assert generalization.main([*argv, "--drop", "Parity/random", "--out", str(tmp_path / "m")]) == 0
    merged = json.loads((tmp_path / "m" / "generalization.json").read_text(encoding="utf-8"))
    assert sorted({(r["task"], r["agent"]) for r in merged["rows"]}) == [
        ("Copy", "expert"),
        ("Copy", "random"),
        ("Parity", "expert"),
    ]
    copy_expert = [r for r in merged["rows"] if (r["task"], r["agent"]) == ("Copy", "expert")]
    assert len(copy_expert) == 1 and copy_expert[0] not in first["rows"]  # type: ignore[operator]
    assert merged["dropped"] == ["Parity/random"] and "Left out: random (Parity)" in merged["markdown"]
    assert [run["measured"] for run in merged["runs"]] == [
        ["Copy/random", "Parity/expert"],
        ["Copy/expert"],
    ]
    assert all(run["revision"] is not None for run in merged["runs"])
    assert merged["settings"]["agents"] == ["expert", "random"]
    assert (
        generalization.main([*argv, "--drop", "Parity/rnadom", "--out", str(tmp_path / "n")]) == 2
    )  # (a typo)
    with pytest.raises(SystemExit) as exit_info:
        generalization.parse_args(["--drop", "random"])  # (only with --merge)
    assert exit_info.value.code == 2


def test_merging_a_merge_keeps_the_runs_that_measured_its_rows(tmp_path: Path) -> None:
    """A merged document merged again names the runs behind its rows, not the merge that gathered
    them, each with what it still measures."""
    tiny_grid(tmp_path / "a", "--tasks", "Copy", "--agents", "expert")
    tiny_grid(tmp_path / "b", "--tasks", "Parity", "--agents", "expert")
    tiny_grid(tmp_path / "c", "--tasks", "Parity", "--agents", "expert")
    first = [str(tmp_path / name / "generalization.json") for name in ("a", "b")]
    assert generalization.main(["--merge", *first, "--out", str(tmp_path / "m")]) == 0
    again = [str(tmp_path / "m" / "generalization.json"), str(tmp_path / "c" / "generalization.json")]
    assert generalization.main(["--merge", *again, "--out", str(tmp_path / "n")]) == 0
    merged = json.loads((tmp_path / "n" / "generalization.json").read_text(encoding="utf-8"))
    commands = [run["command"] for run in merged["runs"]]
    assert [run["measured"] for run in merged["runs"]] == [["Copy/expert"], ["Parity/expert"]]
    assert commands[0].endswith(f"--out {tmp_path / 'a'} --no-chart") and "--merge" not in commands[0]
    assert commands[1].endswith(f"--out {tmp_path / 'c'} --no-chart")


def test_workers_and_ray_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generalization.parse_args(["--workers", "2", "--ray"])
    assert exit_info.value.code == 2 and "--workers: not with --ray" in capsys.readouterr().err


def test_runs_of_other_seeds_add_up_in_a_merge(tmp_path: Path) -> None:
    """``--first-seed`` runs later seeds; merged, a (task, agent) has the seeds of both runs."""
    first = tiny_grid(tmp_path / "a", "--tasks", "Copy", "--agents", "random", "--seeds", "2")
    later = tiny_grid(tmp_path / "b", "--tasks", "Copy", "--agents", "random", "--first-seed", "2")
    assert {r["seed"] for r in first["rows"]} == {0, 1} and {r["seed"] for r in later["rows"]} == {2}  # type: ignore[union-attr, index]
    paths = [str(tmp_path / name / "generalization.json") for name in ("a", "b")]
    assert generalization.main(["--merge", *paths, "--out", str(tmp_path / "m")]) == 0
    merged = json.loads((tmp_path / "m" / "generalization.json").read_text(encoding="utf-8"))
    assert sorted({r["seed"] for r in merged["rows"]}) == [0, 1, 2]
    assert all(row["seeds"] == 3 for row in merged["aggregated"])
    assert sorted(cell["seed"] for cell in merged["cells"]) == [0, 1, 2]


def test_merge_refuses_runs_of_different_problem_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_grid(tmp_path / "a", "--tasks", "Copy", "--agents", "expert")
    (tmp_path / "b").mkdir()
    document = json.loads((tmp_path / "a" / "generalization.json").read_text(encoding="utf-8"))
    document["settings"]["episodes"] = 5
    (tmp_path / "b" / "generalization.json").write_text(json.dumps(document), encoding="utf-8")
    paths = [str(tmp_path / name / "generalization.json") for name in ("a", "b")]
    assert generalization.main(["--merge", *paths, "--out", str(tmp_path / "m")]) == 2
    assert "different numbers of problems" in capsys.readouterr().err


def test_a_grid_writes_what_it_has_after_every_cell(tmp_path: Path) -> None:
    """A long grid stopped early keeps its finished cells: the results are written after each."""
    seen: list[int] = []
    original = generalization.write_outputs

    def spy(
        document: dict[str, object], output: Path, smoke: bool, chart: bool = True, quiet: bool = False
    ) -> None:
        seen.append(len(document["cells"]))  # type: ignore[arg-type]
        original(document, output, smoke, chart, quiet)

    generalization.write_outputs = spy  # type: ignore[assignment]
    try:
        tiny_grid(tmp_path, "--tasks", "Copy", "Parity", "--agents", "expert")
    finally:
        generalization.write_outputs = original  # type: ignore[assignment]
    assert seen == [1, 2, 2]  # after each cell (quietly, no chart), then the whole


def test_token_transformer_agents_record_their_training(tmp_path: Path) -> None:
    """Each position scheme is its own agent, trained for --transformer-steps optimizer steps; the
    grid records its curve, parameters and FLOPs, and writes the training table and curves."""
    args = generalization.parse_args(["--quick", "--transformer-steps", "3"])
    assert generalization.settings_for(args).transformer_steps == 3
    for name, positions in generalization.TRANSFORMER_POSITIONS.items():
        result = run_cell(
            Cell("Copy", (name,), 0),
            generalization.Settings(multipliers=(1,), episodes=2, transformer_steps=3),
        )
        assert result["status"] == "ok", result.get("error")
        stats, config = result["train"]["stats"], result["train"]["config"]
        assert stats["steps"] == 3 and config["positions"] == positions and stats["parameters"] > 0
        assert [point["step"] for point in stats["curve"]] == [3] and stats["flops"] > 0
    document = tiny_grid(tmp_path, "--tasks", "Parity", "--agents", "transformer", "transformer-abacus")
    table = (tmp_path / "transformer_training.md").read_text(encoding="utf-8")
    assert table.strip() == document["transformer_training_markdown"]
    assert "| Parity (≤ 5) | rotary |" in table and "| Parity (≤ 5) | Abacus |" in table
    assert "after 20 steps, the whole budget" in table  # (the quick budget)
    (tmp_path / "transformer_training.png").unlink(missing_ok=True)
    assert generalization.main(["--redraw", str(tmp_path / "generalization.json")]) == 0
    assert (tmp_path / "transformer_training.png").read_bytes()[:8] == PNG_SIGNATURE


def test_train_length_sets_every_tasks_training_range(tmp_path: Path) -> None:
    document = tiny_grid(tmp_path, "--tasks", "Copy", "Parity", "--agents", "expert", "--train-length", "7")
    assert document["settings"]["train_lengths"] == {"Copy": 7, "Parity": 7}  # type: ignore[index]
    assert {row["length"] for row in document["rows"]} == {7}  # type: ignore[union-attr]
    imitation = (("imitation_pairs", 64), ("imitation_epochs", 1), ("dagger_rounds", 0), ("num_envs", 8))
    settings = Settings(
        multipliers=(1,), episodes=2, actformer_steps=0, actformer_overrides=imitation, train_length=2
    )
    result = run_cell(Cell("Copy", ("actformer-imitation",), 0), settings)
    assert result["status"] == "ok", result.get("error")
    assert result["train"]["config"]["env"]["max_length"] == 2 and result["rows"][0]["length"] == 2
