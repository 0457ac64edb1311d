"""A committed result reproduces bit for bit from its command, commit and pinned kernel path.

One small cell of ``benchmarks/results/certification.json`` (Copy, seed 0) is run again in a fresh
interpreter with the kernel pins the results record (``ATEN_CPU_CAPABILITY``, ``MKL_CBWR``, one
thread), and every number it reports is compared exactly: the verification set, the fit's optimizer
steps and minimum margin (a float, to the last bit, on the CPU model that made the result), the
closure probes, the verdict and the exact match at every length.

The pins do not fix every bit on every CPU: PyTorch's float32 GELU runs oneDNN's kernel, which picks
its instruction set itself (``ATEN_CPU_CAPABILITY`` does not reach it), and MKL's conditional
reproducibility holds within a vendor's processors. On another CPU model the margin may differ in
its last bits (seen on an Intel Xeon with AVX-512: 2e-7 relative; and between two virtual
machines both named "AMD EPYC": 3e-7); there it is compared to 1e-5. The same CPU means
the same model name and the same instruction-set extensions (``cpu_simd``; a result that did not
record them counts as made on another CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.common import cpu_model, cpu_simd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "certification.json"
TASK, SEED = "Copy", 0
#: The numbers of a row that must reproduce exactly (times are not among them).
COMPARED = ("train_length", "set_size", "exhaustive", "agreement", "min_margin", "verdict", "fit_steps")
#: The float among them, and its tolerance on a CPU model other than the one that made the result.
MARGIN, OTHER_CPU_TOLERANCE = "min_margin", 1e-5


def has_avx2() -> bool:
    """Whether this CPU runs the AVX2 kernels the committed results were pinned to."""
    return "avx2" in (cpu_simd() or [])


def committed_row() -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads(RESULTS.read_text(encoding="utf-8"))
    row = next(r for r in document["rows"] if r["task"] == TASK and r["seed"] == SEED)
    return document, row


@pytest.mark.skipif(not has_avx2(), reason="the committed results are pinned to AVX2 kernels")
def test_a_committed_certification_cell_reproduces(tmp_path: Path) -> None:
    document, row = committed_row()
    pins = document["machine"]["kernel_env"]
    assert pins == {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "1"}
    settings = document["settings"]
    argv = ["--tasks", TASK, "--seeds", str(SEED + 1), "--problems", str(settings["problems"])]
    argv += ["--long-problems", str(settings["long_problems"])]
    argv += ["--max-episode-steps", str(settings["max_episode_steps"]), "--out", str(tmp_path)]
    environment = {**os.environ, **pins}
    subprocess.run(
        [sys.executable, "-m", "benchmarks.certification", *argv],
        cwd=REPO,
        env=environment,
        check=True,
        capture_output=True,
    )
    (again,) = [
        r for r in json.loads((tmp_path / "certification.json").read_text())["rows"] if r["seed"] == SEED
    ]
    machine = document["machine"]
    same_cpu = (cpu_model(), cpu_simd()) == (machine["cpu_model"], machine.get("cpu_simd"))
    for key in COMPARED:
        if key == MARGIN and not same_cpu:
            assert again[key] == pytest.approx(row[key], rel=OTHER_CPU_TOLERANCE), key
        else:
            assert again[key] == row[key], key
    assert [(p["label"], p["length"], p["strays"], p["problems"]) for p in again["closure"]] == [
        (p["label"], p["length"], p["strays"], p["problems"]) for p in row["closure"]
    ]
    assert {n: (e["length"], e["problems"], e["exact_match"]) for n, e in again["exact_match"].items()} == {
        n: (e["length"], e["problems"], e["exact_match"]) for n, e in row["exact_match"].items()
    }
