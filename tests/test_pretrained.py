"""The pretrained policies shipped with the package: each loads by name, fits the env as installed,
is small, and reproduces the exact match its record (``pretrained.json``) states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actformer_gym.train.checkpoint import load_checkpoint
from actformer_gym.train.cli import main as actformer
from actformer_gym.train.pretrained import RECORD, available, pretrained_path

DOCUMENT = json.loads(RECORD.read_text(encoding="utf-8"))
POLICIES = {record["task"]: record for record in DOCUMENT["policies"]}


def test_every_shipped_policy_has_a_record() -> None:
    assert available() == sorted(POLICIES) and len(POLICIES) >= 6
    for record in POLICIES.values():
        assert record["certificate"]["verdict"] == "certified"
        assert pretrained_path(record["task"]).stat().st_size < 1_000_000


@pytest.mark.parametrize("task", sorted(POLICIES))
def test_pretrained_policy_reproduces_its_record(task: str, tmp_path: Path) -> None:
    record = POLICIES[task]
    payload = load_checkpoint(f"pretrained:{task}")
    assert payload["trainer"] == {} and payload["env"]["id"] == record["env"]
    report = tmp_path / "eval.json"
    lengths = list(record["exact_match"])
    argv = ["eval", "--checkpoint", f"pretrained:{task}", "--lengths", *lengths]
    assert (
        actformer([*argv, "--episodes", str(DOCUMENT["episodes"]), "--device", "cpu", "--json", str(report)])
        == 0
    )
    rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    assert {str(row["length"]): row["exact_match"] for row in rows} == record["exact_match"]


@pytest.mark.parametrize("name", ["pretrained:NoSuchTask", "pretrained:", "pretrained:../Addition"])
def test_unknown_pretrained_name_is_one_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert actformer(["eval", "--checkpoint", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "available: pretrained:Addition" in err[0]


def test_the_readme_gif_is_the_scripts() -> None:
    """``docs/assets/addition.gif`` is what ``python -m scripts.addition_gif`` draws: a frame per
    step of the shipped Addition policy solving its problem, each as rendered (up to the GIF's palette)."""
    import numpy as np
    from PIL import Image

    from scripts.addition_gif import OUT, frames

    rendered = frames(20, 0)
    with Image.open(OUT) as gif:
        assert gif.n_frames == len(rendered)
        for index in (0, len(rendered) // 2, len(rendered) - 1):
            gif.seek(index)
            shown = np.asarray(gif.convert("RGB"), dtype=np.int16)
            assert np.abs(shown - rendered[index]).mean() < 4.0


def test_the_regeneration_script_writes_nothing_unpinned_or_asked_for_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m scripts.pretrained`` overwrites the shipped files: without the recorded kernel
    pins, or with any argument (``--help`` included), it exits before making anything."""
    from scripts.pretrained import PINS, main

    assert DOCUMENT["kernel_env"] == PINS  # (the pins it asks for are those the record states)
    monkeypatch.delenv("MKL_CBWR", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "kernels pinned" in error and "MKL_CBWR=AVX2" in error
    for argv, status in ((["--help"], 0), (["--tasks", "Sort"], 2)):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == status
