"""The Chomsky-hierarchy benchmark: its task list, its scores, and a tiny run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actformer_envs.tasks import SINGLE_TASKS
from benchmarks import chomsky

PAPER_TASKS = {
    "R": ["Even Pairs", "Modular Arithmetic (Simple)", "Parity Check", "Cycle Navigation"],
    "DCF": ["Stack Manipulation", "Reverse String", "Modular Arithmetic", "Solve Equation"],
    "CS": [
        "Duplicate String", "Missing Duplicate", "Odds First", "Binary Addition", "Binary Multiplication",
        "Compute Sqrt", "Bucket Sort",
    ],
}  # fmt: skip


def test_every_task_of_the_paper_is_listed_once_with_an_env_or_a_reason() -> None:
    listed = {level: [e.paper for e in chomsky.CHOMSKY_TASKS if e.level == level] for level in PAPER_TASKS}
    assert listed == PAPER_TASKS
    for entry in chomsky.CHOMSKY_TASKS:
        assert entry.task in SINGLE_TASKS or (entry.task is None and entry.note), entry
        if entry.base is not None:
            low, high = SINGLE_TASKS[entry.task].base_range  # type: ignore[index]
            assert low <= entry.base <= high


def test_lengths_map_to_the_same_input() -> None:
    missing = chomsky.chomsky_task("MissingDuplicate")
    assert [missing.our_length(n) for n in (41, 50, 500)] == [20, 25, 250]  # 2n cells (+ the paper's pad)
    assert chomsky.chomsky_task("EvenPairs").our_length(41) == 41
    arithmetic = chomsky.chomsky_task("ModularArithmetic")
    assert [arithmetic.our_length(n) for n in (41, 50, 500)] == [
        21,
        25,
        250,
    ]  # 2n - 1 symbols (even: one fewer)
    assert chomsky.chomsky_task("ModularArithmeticBrackets").our_length(41) == 41  # symbols, as the paper's
    assert chomsky.chomsky_task("SolveEquation").our_length(41) == 39  # the expression of E = v
    assert chomsky.default_test_lengths() == [41, *range(50, 501, 10)]


@pytest.mark.parametrize(
    ("output", "target", "terminated", "expected"),
    [
        (1, 1, False, 1.0),
        (0, 1, False, 0.0),
        (None, 1, False, 0.0),
        ([1, 0, 1, 1], [1, 0, 0, 1], False, 0.75),
        ([1, 0], [1, 0, 0, 1], False, 0.5),
        ([1, 0, 0, 1, 1], [1, 0, 0, 1], False, 1.0),  # (too long: each target position right)
        (None, [1, 0], False, 0.0),
        ([1, 0], [1, 0], True, 1.0),
        ([1, 0, 1], [1, 0], True, 2 / 3),  # right tokens, wrong end
        ([], [], True, 1.0),  # an empty stack, answered empty
        ([0], [], True, 0.0),
    ],
)
def test_token_accuracy(output: object, target: object, terminated: bool, expected: float) -> None:
    assert chomsky.token_accuracy(output, target, terminated) == pytest.approx(expected)


def test_numbers_are_scored_digit_by_digit_least_significant_first() -> None:
    binary = chomsky.chomsky_task("Addition")
    assert chomsky.as_scored(binary, 6) == [0, 1, 1] and chomsky.as_scored(binary, None) is None
    assert chomsky.token_accuracy(chomsky.as_scored(binary, 7), chomsky.as_scored(binary, 6), True) == 0.75
    assert chomsky.as_scored(chomsky.chomsky_task("Reverse"), [1, 0]) == [1, 0]  # (not a number)


def test_training_ranges_are_the_papers_inputs_in_our_units() -> None:
    """The paper trains on inputs of 1..40 symbols: n <= 20 where n is half the input or counts
    terms; the token Transformer only on tasks trained in their default base."""
    assert chomsky.train_lengths_of("MissingDuplicate", "actformer")[-1] == 20
    assert chomsky.train_lengths_of("ModularArithmetic", "transformer") == [20]
    assert chomsky.train_lengths_of("EvenPairs", "actformer")[-1] == 40
    assert chomsky.train_lengths_of("Addition", "actformer") == [3, 20]
    assert chomsky.train_lengths_of("Addition", "transformer") == []
    multiplication = chomsky.chomsky_task("Multiplication")
    assert chomsky.test_lengths_of(multiplication, chomsky.default_test_lengths())[-1] == 100
    assert chomsky.test_lengths_of(chomsky.chomsky_task("Sort"), [41, 500]) == [41, 500]


def test_quick_run_writes_the_table_and_the_chart(tmp_path: Path) -> None:
    argv = ["--quick", "--tasks", "EvenPairs", "Reverse", "--agents", "actformer", "transformer"]
    assert chomsky.main([*argv, "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "chomsky.json").read_text(encoding="utf-8"))
    assert document["smoke"] is True and (tmp_path / "chomsky.png").is_file()
    rows = document["rows"]
    assert {(row["task"], row["agent"]) for row in rows} == {
        (task, agent) for task in ("EvenPairs", "Reverse") for agent in ("actformer", "transformer")
    }
    for row in rows:
        assert [s["paper_length"] for s in row["scores"]] == [41, 60]
        assert all(0 <= s["token_accuracy"] <= 1 and 0 <= s["exact_match"] <= 1 for s in row["scores"])
        assert row["score"] == pytest.approx(sum(s["token_accuracy"] for s in row["scores"]) / 2)
    transformer = next(row for row in rows if row["agent"] == "transformer")
    assert transformer["steps"] == 20 and transformer["parameters"] > 0  # (the budget is in steps)
    table = (tmp_path / "chomsky.md").read_text(encoding="utf-8")
    for entry in chomsky.CHOMSKY_TASKS:
        assert f"| {entry.paper} |" in table
    assert document["published_markdown"] == chomsky.published_markdown(rows)
    assert "| R | Even Pairs |" not in document["published_markdown"]  # (no published score read)
    assert "| DCF | Reverse String |" in document["published_markdown"]


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [(100.0, 100.0, "matches"), (99.96, 100.0, "matches"), (99.9, 100.0, "loses to"), (62.4, 62.3, "beats")],
)
def test_verdict_compares_at_the_papers_precision(ours: float, theirs: float, expected: str) -> None:
    assert chomsky.verdict(ours, theirs) == expected


def test_published_comparison_counts_each_published_score_once() -> None:
    rows = [
        {"task": "Parity", "agent": "actformer", "score": 1.0, "seed": 0},
        {"task": "Parity", "agent": "actformer", "score": 0.5, "seed": 1},  # the lowest run counts
        {"task": "Reverse", "agent": "actformer", "score": 1.0, "seed": 0},
    ]
    comparison = chomsky.published_comparison(rows)
    assert comparison["Transformer"] == {
        "beats": ["Reverse String"],
        "matches": [],
        "loses to": ["Parity Check"],
    }
    assert comparison["Tape-RNN"] == {
        "beats": [],
        "matches": ["Reverse String"],
        "loses to": ["Parity Check"],
    }
    assert all(len(scores) == len(chomsky.PUBLISHED_MODELS) for scores in chomsky.PUBLISHED_SCORES.values())
    assert set(chomsky.PUBLISHED_SCORES) <= {entry.paper for entry in chomsky.CHOMSKY_TASKS}


def test_quick_rl_from_scratch_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The expert-free Actformer trains on its RL recipe's lengths, where it has a recipe, and is
    scored in the env settings it trained with."""
    assert chomsky.train_lengths_of("Reverse", chomsky.RL_AGENT) == [10]
    assert chomsky.train_lengths_of("EvenPairs", chomsky.RL_AGENT) == []
    # Binary Addition is Addition in base 2; Addition's recipe trains in base 10.
    assert chomsky.train_lengths_of("Addition", chomsky.RL_AGENT) == []
    assert "default base" in chomsky.not_run_because("Addition", chomsky.RL_AGENT)
    argv = [
        "--quick",
        "--tasks",
        "EvenPairs",
        "Reverse",
        "--agents",
        chomsky.RL_AGENT,
        "--out",
        str(tmp_path),
    ]
    assert chomsky.main(argv) == 0
    rows = json.loads((tmp_path / "chomsky.json").read_text(encoding="utf-8"))["rows"]
    assert [(row["task"], row["agent"], row["train_length"]) for row in rows] == [
        ("Reverse", "actformer-rl", 10)
    ]
    not_run = "EvenPairs actformer-rl: not run (benchmarks.rl_from_scratch has no recipe for it)"
    assert not_run in capsys.readouterr().err
    assert rows[0]["recipe"] == "annealed-markov" and rows[0]["rl_steps"] >= 2048
    assert [s["paper_length"] for s in rows[0]["scores"]] == [41, 60]
    assert "| actformer-rl (output reward) | 1..10 |" in (tmp_path / "chomsky.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv", [["--tasks", "Copy"], ["--seeds", "0"], ["--test-lengths", "40"], ["--agents", "ppo"]]
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        chomsky.parse_args(argv)
    assert stop.value.code == 2
    assert "error: " in capsys.readouterr().err.strip().splitlines()[-1]
