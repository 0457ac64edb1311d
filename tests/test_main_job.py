"""The main-job benchmark's parts: the README's command, the baseline's import layout, the table."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from benchmarks import main_job

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_main_job_is_the_readmes_first_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    first = next(line for line in readme.splitlines() if line.startswith("python3 -m venv"))
    arguments = main_job.main_job_arguments(readme)
    assert first.endswith("actformer " + shlex.join(arguments))
    assert arguments[0] == "train" and "--total-steps" in arguments
    assert main_job.with_total_steps(arguments, 4096)[arguments.index("--total-steps") + 1] == "4096"
    with pytest.raises(ValueError, match="actformer train"):
        main_job.main_job_arguments("# no command here\n")


def test_table_rows_are_read() -> None:
    assert main_job.TABLE_ROW.match("| 1000 | 200 | 1.000 |").groups() == ("1000", "200", "1.000")
    assert main_job.TABLE_ROW.match("| length | episodes | exact match |") is None


def test_baseline_imports_from_either_layout(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, config in (
        (old, "packages = find:\n"),
        (new, "package_dir =\n    actformer_gym.train = train\n"),
    ):
        for package in ("actformer_envs", "agents", "train"):
            (folder / package).mkdir(parents=True)
        (folder / "setup.cfg").write_text(config, encoding="utf-8")
    assert main_job.importable(old, tmp_path / "old-imports") == ("train.cli", str(old))
    module, path = main_job.importable(new, tmp_path / "new-imports")
    assert module == "actformer_gym.train.cli" and path == str(tmp_path / "new-imports")
    assert (Path(path) / "actformer_gym" / "train").resolve() == (new / "train").resolve()
    assert (Path(path) / "actformer_envs").resolve() == (new / "actformer_envs").resolve()


@pytest.mark.slow
def test_quick_run_times_both_versions(tmp_path: Path) -> None:
    assert main_job.main(["--quick", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "main_job.json").read_text(encoding="utf-8"))
    assert [row["label"] for row in document["versions"]] == ["baseline", "current"]
    for row in document["versions"]:
        assert row["runs"][0]["exact_match"] == {"3": 1.0, "30": 1.0, "300": 1.0, "1000": 1.0}
    assert document["speedup"] > 0
