"""The verification sets' disk cache: what it returns is the set built anew, its key names
everything the set depends on, and a bad file is rebuilt, never trusted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from actformer_envs.set_cache import CACHE_ENV, cache_dir, expert_fingerprint, load_set, save_set, set_key
from actformer_envs.tasks import TASKS
from actformer_envs.verification import ObservationSet, collect
from actformer_gym.train import certify
from actformer_gym.train.certify import verification_set

SETTINGS = {"history_length": 8, "obs_mode": "local"}


def same(first: ObservationSet, second: ObservationSet) -> None:
    """Every field of the two sets equal (arrays exactly, with their dtypes)."""
    for item in dataclasses.fields(ObservationSet):
        a, b = getattr(first, item.name), getattr(second, item.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), item.name
        else:
            assert a == b, item.name


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    certify._SETS.clear()  # (the in-memory copies would answer first)
    return tmp_path / "verification"


def build(projected: bool = True) -> ObservationSet:
    return verification_set(TASKS["Copy"], [1, 2, 3], [None, None, 50], 7, 100_000, SETTINGS, projected)


def test_a_cached_set_is_the_set_built_anew(folder: Path) -> None:
    built = build()
    (path,) = folder.glob("Copy-*.npz")
    certify._SETS.clear()
    assert load_set(path) is not None
    same(build(), built)
    fresh = collect(
        TASKS["Copy"], [1, 2, 3], [None, None, 50], seed=7, cap=100_000, projected=True, **SETTINGS
    )
    same(built, fresh)


def test_the_key_names_what_the_set_depends_on() -> None:
    task = TASKS["Copy"]
    base = {
        "lengths": (1, 2),
        "counts": (None, None),
        "seed": 0,
        "cap": 10,
        "settings": (),
        "projected": True,
    }
    key = set_key(task, **base)
    assert key is not None and key.startswith("Copy-") and set_key(task, **base) == key
    for name, other in [("lengths", (1, 3)), ("seed", 1), ("cap", 11), ("projected", False)]:
        assert set_key(task, **{**base, name: other}) != key, name
    assert set_key(TASKS["Reverse"], **base) != key
    fingerprints = {expert_fingerprint(cls) for cls in TASKS.values()}
    assert None not in fingerprints and len(fingerprints) == len(TASKS)


def test_a_change_of_the_experts_code_changes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"lengths": (1,), "counts": (None,), "seed": 0, "cap": 10, "settings": (), "projected": True}
    key = set_key(TASKS["Copy"], **base)
    monkeypatch.setattr("inspect.getsource", lambda obj: "def decide(view): return 0")
    assert set_key(TASKS["Copy"], **base) != key


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04 truncated"])
def test_a_bad_file_is_rebuilt(folder: Path, content: bytes) -> None:
    built = build()
    (path,) = folder.glob("*.npz")
    path.write_bytes(content)
    assert load_set(path) is None
    certify._SETS.clear()
    same(build(), built)
    assert load_set(path) is not None  # (written again)


def test_a_file_of_another_layout_is_not_trusted(folder: Path, tmp_path: Path) -> None:
    built = build()
    other = tmp_path / "old.npz"
    header = np.array('{"format": 0}')
    np.savez(other, header=header, rows=built.rows)
    assert load_set(other) is None


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    built = collect(
        TASKS["Sort"], [1, 2, 3], [None, None, None], seed=0, cap=100_000, projected=True, **SETTINGS
    )
    save_set(built, tmp_path / "sort.npz")
    loaded = load_set(tmp_path / "sort.npz")
    assert loaded is not None
    same(loaded, built)


def test_an_empty_variable_turns_the_disk_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() is None
    certify._SETS.clear()
    build()  # builds, writes nothing
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == Path.home() / ".cache" / "actformer_gym" / "verification"
