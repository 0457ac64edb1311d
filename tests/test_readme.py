"""Every Python example in the README runs as written (each in a fresh interpreter)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 5


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


def test_readme_env_table_is_current() -> None:
    """The table of registered envs is what ``python -m scripts.env_table`` prints now."""
    from actformer_envs.catalog import env_table
    from scripts.env_table import END, START

    block = README.read_text(encoding="utf-8").split(START)[1].split(END)[0]
    assert block.strip() == env_table(), "run: python -m scripts.env_table --readme"


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


@pytest.mark.parametrize(
    ("marker", "folder"), [("generalization", ""), ("generalization-full", "generalization_full")]
)
def test_readme_generalization_tables_are_the_committed_ones(marker: str, folder: str) -> None:
    """The length-generalization tables are the committed results' own, and their charts exist."""
    results = README.parent / "benchmarks" / "results" / folder
    document = json.loads((results / "generalization.json").read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0]
    assert block.strip() == document["markdown"].strip()
    chart = (results / "generalization.png").relative_to(README.parent).as_posix()
    assert f"]({chart})" in text and (results / "generalization.png").is_file()


def test_readme_rl_from_scratch_table_is_the_committed_one() -> None:
    """The RL-from-scratch summary (seeds solved per task and learner) is the committed results'
    own, and its chart exists."""
    results = README.parent / "benchmarks" / "results"
    document = json.loads((results / "rl_from_scratch.json").read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- rl-from-scratch:start -->")[1].split("<!-- rl-from-scratch:end -->")[0]
    assert block.strip() == document["markdown"].split("\n\n")[0].strip()
    assert "](benchmarks/results/rl_from_scratch.png)" in text and (results / "rl_from_scratch.png").is_file()
