"""The README: every Python example runs as written (each in a fresh interpreter), its commands are
CI's and the main job's, it stays short and links to every page of the docs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_docs import variant

EN_DASH = "\u2013"
TIMES = "\u00d7"
README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


#: The README's length at most (tables and details belong in the docs).
README_LIMIT = 12_000


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 1


def test_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8")) <= README_LIMIT, "move details to docs/"


def test_readme_links_every_docs_page() -> None:
    text = README.read_text(encoding="utf-8")
    pages = sorted(p.relative_to(README.parent).as_posix() for p in (README.parent / "docs").rglob("*.md"))
    missing = [page for page in pages if f"]({page})" not in text]
    assert not missing, f"the README links no {missing}"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code],
        cwd=README.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_ci_runs_the_readme_test_command() -> None:
    """CI (``.ci/run``) runs the Quick start's second command word for word."""
    quick_start = README.read_text(encoding="utf-8").split("## Quick start")[1]
    commands = re.search(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL).group(1).strip().splitlines()
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci


def test_the_main_job_is_additions_recipe_with_ppo() -> None:
    """The Quick start's first command trains Addition's certified recipe (the task's defaults)
    with 65,536 env-steps of PPO, as the README says."""
    from actformer_gym.train.cli import parse_train
    from actformer_gym.train.config import TrainConfig

    quick_start = README.read_text(encoding="utf-8").split("## Quick start")[1]
    main_job = re.search(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL).group(1).splitlines()[0]
    argv = main_job.split(".venv/bin/actformer train ")[1].split()
    options, config, _ = parse_train(argv)
    assert options.threads == 1
    assert config == TrainConfig.for_task("Addition", total_steps=65536)
    assert config.policy.projected and config.imitation.fit_set and config.env.max_length == 3


def test_readme_headline_is_the_committed_certification() -> None:
    """The headline table (seeds certified and exact per task) is the committed results' own, and
    the chart beside it exists."""
    from benchmarks.certification import headline_table

    rows = json.loads(
        (README.parent / "benchmarks" / "results" / "certification.json").read_text(encoding="utf-8")
    )
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- headline:start -->")[1].split("<!-- headline:end -->")[0]
    assert block.strip() == headline_table(rows["rows"])
    charts = re.findall(r"\]\((benchmarks/results/[^)]+\.png)\)", text)
    assert charts and all((README.parent / chart).is_file() for chart in charts)


def test_readme_weak_warm_start_count_is_the_committed_one() -> None:
    results = README.parent / "benchmarks" / "results" / "weak_warm_start.json"
    rows = [r for r in json.loads(results.read_text(encoding="utf-8"))["results"] if r["before"]["1"] < 1.0]
    raised = sum(r["after"]["1"] > r["before"]["1"] for r in rows)
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"training length on {raised} of {len(rows)} runs" in text


def slow_anchor_variant(name: str, task: str) -> tuple[dict, list[dict], str]:
    """A weak-warm-start variant's settings and slow-anchor rows (seeds 0, 1, ... of ``task``), and the
    README's text with its whitespace collapsed."""
    document = variant(name)
    settings = document["settings"]
    slow = sorted((r for r in document["results"] if r["arm"] == "slow anchor"), key=lambda r: r["seed"])
    assert [r["seed"] for r in slow] == list(range(len(slow))) and len(slow) >= 3
    assert {r["task"] for r in slow} == {task}
    assert settings["arms"]["slow anchor"]["anneal_share"] == 1.0
    return settings, slow, " ".join(README.read_text(encoding="utf-8").split())


def test_readme_closer_sort_clone_claim_is_the_committed_variant() -> None:
    """The slow anchor raised every seed's closer Sort clone at its training length and at 10x."""
    settings, slow, text = slow_anchor_variant("length_6_pairs_5000", "Sort")
    assert all(r["after"][m] > r["before"][m] for r in slow for m in ("1", "10"))
    length = settings["train_length"]
    claim = f"from Sort clones of {settings['warm_pairs']:,} pairs at {length} symbols, with the KL anchor"
    assert claim in text and f"on every seed at {length} and {10 * length} symbols" in text


def test_readme_multiplication_clone_claim_is_the_committed_variant() -> None:
    """The slow anchor raised the 1,650-pair Multiplication clones at 1x and 10x on the seeds stated, and
    the floored anchor with a count bonus on the seeds stated."""
    settings, slow, text = slow_anchor_variant("pairs_1650", "Multiplication")
    raised = sum(all(r["after"][m] > r["before"][m] for m in ("1", "10")) for r in slow)
    length = slow[0]["train_length"]
    pairs = settings["warm_pairs"]
    assert f"from Multiplication clones of {pairs:,} pairs (they halt after the multiplier's" in text
    assert f"on {raised} of {len(slow)} seeds at {length} and {10 * length} digits, on" in text
    floored = variant("pairs_1650_floored_count")
    rows = [r for r in floored["results"] if r["arm"] == "floored anchor"]
    assert [r["seed"] for r in rows] == list(range(5)) and floored["settings"]["recipe"]["count_bonus"] > 0
    repaired = sum(all(r["after"][m] > r["before"][m] for m in ("1", "10")) for r in rows)
    budget = f"{floored['settings']['budget'] / 1e6:g}M env-steps"
    assert f"{repaired} of {len(rows)} with a floored anchor and a count bonus ({budget})." in text


def test_readme_token_baseline_sentence_is_the_committed_grid() -> None:
    """The token Transformer reached its target on every seed of the tasks named, within the steps
    stated, in the committed full grid."""
    results = README.parent / "benchmarks" / "results" / "generalization_full" / "generalization.json"
    named = {"Addition", "Copy", "Reverse", "Sort", "Parity"}
    transformer = [
        c for c in json.loads(results.read_text(encoding="utf-8"))["cells"] if c["agents"] == ["transformer"]
    ]
    cells = [c for c in transformer if c["task"] in named]
    stats = [cell["train"]["stats"] for cell in cells]
    assert len(cells) == 15 and all(s["reached_target"] == 1.0 for s in stats)
    assert {c["task"] for c in cells} == named
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"Parity within {max(s['steps'] for s in stats):,} optimizer steps" in text
    multiplication = [c["train"]["stats"] for c in transformer if c["task"] == "Multiplication"]
    assert len(multiplication) == 3 and max(s["accuracy"] for s in multiplication) < 0.5
    assert {s["steps"] for s in multiplication} == {20_000}
    assert "stays below 50 % in range after 20,000 optimizer steps" in text


def test_readme_certified_grid_sentence_is_the_committed_grid() -> None:
    """The certified recipe in the full grid: every row measured is 1.00, on every task and seed,
    and every run certified, as the README states."""
    results = README.parent / "benchmarks" / "results" / "generalization_full" / "generalization.json"
    document = json.loads(results.read_text(encoding="utf-8"))
    rows = [r for r in document["rows"] if r["agent"] == "actformer-certified"]
    cells = [c for c in document["cells"] if c["agents"] == ["actformer-certified"]]
    measured = [r for r in rows if r["skipped"] is None]
    assert measured and all(r["accuracy"] == 1.0 for r in measured)
    assert {(r["task"], r["seed"]) for r in rows} == {
        (task, seed) for task in document["settings"]["tasks"] for seed in range(3)
    }
    certified = sum(c["train"]["certificate"]["verdict"] == "certified" for c in cells)
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert (
        "scores 1.00 at every length of the grid, on every task and seed "
        f"({certified} of {len(cells)} runs certified)"
    ) in text


def test_readme_long_abacus_sentence_is_the_committed_run() -> None:
    """Abacus trained on 1..20 digits: the seeds at the target and the per-seed range at 2x (40
    digits) and 5x (100 digits) that the README states are the committed run's."""
    results = README.parent / "benchmarks" / "results" / "generalization_token_long" / "generalization.json"
    document = json.loads(results.read_text(encoding="utf-8"))
    stats = [cell["train"]["stats"] for cell in document["cells"]]
    reached = sum(int(s["reached_target"]) for s in stats)
    at = {m: [r["accuracy"] for r in document["rows"] if r["multiplier"] == m] for m in (2, 5)}
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"(99 % in range on {reached} of {len(stats)} seeds)" in text
    assert f"scores {min(at[2]):.2f}{EN_DASH}{max(at[2]):.2f} at 40 digits and 0 at 100" in text
    assert max(at[5]) == 0.0 and document["settings"]["train_lengths"] == {"Addition": 20}


def test_readme_abacus_grid_sentence_is_the_committed_run() -> None:
    """Abacus positions in the grid: every seed at the target but Multiplication's (below 50 % in
    range after the whole budget), nothing from 5x on but Parity's one bit, at most 0.03 at 2x but
    on Sort, and Sort's per-seed range at 2x, as the README states."""
    results = README.parent / "benchmarks" / "results" / "generalization_token_abacus" / "generalization.json"
    document = json.loads(results.read_text(encoding="utf-8"))
    stats = {(cell["task"], cell["seed"]): cell["train"]["stats"] for cell in document["cells"]}
    assert all(s["reached_target"] == 1.0 for (task, _), s in stats.items() if task != "Multiplication")
    multiplication = [s for (task, _), s in stats.items() if task == "Multiplication"]
    assert len(multiplication) == 3 and all(
        s["accuracy"] < 0.5 and s["steps"] == 20_000 for s in multiplication
    )
    rows = [
        r for r in document["rows"] if r["task"] != "Parity" and r["multiplier"] >= 2 and r["skipped"] is None
    ]
    assert {r["task"] for r in rows} == {"Addition", "Multiplication", "Copy", "Reverse", "Sort"}
    assert max(r["accuracy"] for r in rows if r["multiplier"] >= 5) == 0.0
    assert max(r["accuracy"] for r in rows if r["task"] != "Sort") <= 0.03
    sort = [r["accuracy"] for r in rows if r["task"] == "Sort" and r["multiplier"] == 2]
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert (
        "(99 % in range on every seed but Multiplication's, where it too stays below 50 %), it scores 0 "
        f"from 5{TIMES} on every task but Parity"
    ) in text
    assert f"at most 0.03 at 2{TIMES} but on Sort ({min(sort):.2f}{EN_DASH}{max(sort):.2f})" in text


#: Numbers as the README spells them.
NUMBERS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
)


def test_readme_chomsky_counts_are_the_committed_ones() -> None:
    results = README.parent / "benchmarks" / "results" / "chomsky.json"
    rows = [r for r in json.loads(results.read_text(encoding="utf-8"))["rows"] if r["agent"] == "actformer"]
    exact = sum(row["exact_everywhere"] for row in rows)
    tasks = {row["task"] for row in rows}
    text = " ".join(README.read_text(encoding="utf-8").split())
    covered = "all fifteen tasks" if len(tasks) == 15 else f"{NUMBERS[len(tasks)]} of the fifteen tasks"
    assert f"On {covered}" in text
    assert f"exact at every test length on {exact} of {len(rows)} runs" in text
    assert "the paper's score, at most 100, is 100 on each" in text
    assert all(row["score"] == 1.0 for row in rows)


def test_readme_states_the_comparison_with_the_published_scores() -> None:
    from benchmarks.chomsky import PUBLISHED_SCORES, published_comparison

    results = README.parent / "benchmarks" / "results" / "chomsky.json"
    comparison = published_comparison(json.loads(results.read_text(encoding="utf-8"))["rows"])
    beats = {model: len(verdicts["beats"]) for model, verdicts in comparison.items()}
    assert not any(verdicts["loses to"] for verdicts in comparison.values())
    assert beats["RNN"] == beats["LSTM"] and beats["Tape-RNN"] == 0
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert (
        f"Against the published scores we could read ({NUMBERS[len(PUBLISHED_SCORES)]} tasks), it beats the "
        f"paper's Transformer on {beats['Transformer']}, its RNN and LSTM on {beats['RNN']}, its "
        f"Stack-RNN on {beats['Stack-RNN']}, matches every other one and loses to none"
    ) in text


def test_readme_env_speed_status_is_the_committed_throughput_run() -> None:
    results = README.parent / "benchmarks" / "results" / "throughput.json"
    ratios = json.loads(results.read_text(encoding="utf-8"))["ratios"]
    vector = {env: r["native-4096/CartPole-native-4096"] for env, r in ratios.items() if env != "CartPole-v1"}
    multitask = vector.pop("Actformer/MultiTask-v0")
    low, high = min(vector.values()), max(vector.values())
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"runs at {low:.1f}{EN_DASH}{high:.1f}{TIMES} Gymnasium's CartPoleVectorEnv" in text
    assert f"and MultiTask at {multitask:.2f}{TIMES}" in text
