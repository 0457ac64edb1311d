"""The installed package: its modules import under their own names and no generic ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_outside_the_repository(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose working directory is not the repository (so only what
    is installed imports)."""
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)


def test_train_and_agents_install_under_actformer_gym(tmp_path: Path) -> None:
    code = (
        "import actformer_envs, actformer_gym.agents, actformer_gym.train.cli, actformer_gym.train.trainer;"
        "print(actformer_gym.train.cli.main.__module__)"
    )
    result = run_outside_the_repository(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "actformer_gym.train.cli"


def test_no_generic_top_level_modules(tmp_path: Path) -> None:
    for name in ("train", "agents"):
        result = run_outside_the_repository(f"import {name}", tmp_path)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, (name, result.stderr)


def test_console_script_entry_point() -> None:
    from importlib.metadata import entry_points

    (script,) = [entry for entry in entry_points(group="console_scripts") if entry.name == "actformer"]
    assert script.value == "actformer_gym.train.cli:main"
    assert callable(script.load())
