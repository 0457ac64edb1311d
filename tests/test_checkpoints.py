"""Checkpoints are data: a crafted pickle never runs, corruption and NaN weights are refused, a
checkpoint fits only the env it was trained on, and a run killed with SIGKILL resumes bit-identically
(parameters, optimizer, curriculum, env state, TensorBoard points each exactly once)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_train_cli import TINY, bare_checkpoint, one_line_error, run_dir

from actformer_gym.train import checkpoint as checkpoint_module
from actformer_gym.train.checkpoint import CHECKPOINT_NAME, FORMAT_VERSION, load_checkpoint, save_checkpoint
from actformer_gym.train.cli import main
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.run_dir import lock_run_dir

# ------------------------------------------------------------------------------- malicious files


class SideEffect:
    """Unpickling this runs ``os.system``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def malicious_files(directory: Path, marker: Path) -> list[Path]:
    """Checkpoints whose loading by unpickling would create ``marker``: as ``torch.save`` writes
    them (a zip, the old format) and as a bare pickle, each under the checkpoint's file name."""
    payload = {"format_version": FORMAT_VERSION, "algo": "ppo", "config": {}, "policy": SideEffect(marker)}
    paths = []
    for name, write in (
        ("zip", lambda f: torch.save(payload, f)),
        ("pickle", lambda f: pickle.dump(payload, f)),
    ):
        path = directory / name / CHECKPOINT_NAME
        path.parent.mkdir(parents=True)
        with open(path, "wb") as file:
            write(file)
        paths.append(path)
    # The payload is live: a plain unpickle runs it (the marker proves the test would notice).
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
    marker.unlink()
    return paths


@pytest.mark.parametrize("command", ["eval", "trace", "train --resume"])
def test_malicious_checkpoints_are_refused_without_running_them(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    marker = tmp_path / "pwned"
    for path in malicious_files(tmp_path, marker):
        target = str(path.parent)
        argv = {
            "eval": ["eval", "--checkpoint", target],
            "trace": ["trace", "--checkpoint", target, "--problem", "12"],
            "train --resume": ["train", "--resume", target, "--no-progress"],
        }[command]
        assert main(argv) == 2
        one_line_error(capsys, "old pickle-based checkpoint format", "refused")
        assert not marker.exists()


def test_a_checkpoint_is_a_safetensors_file_with_json_metadata(tmp_path: Path) -> None:
    """The format needs nothing but a JSON parser and raw numbers: read it by hand here."""
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    content = json.loads(header["__metadata__"]["actformer"])
    assert content["format_version"] == FORMAT_VERSION == 4 and content["algo"] == "ppo"
    assert content["config"]["env"]["task"] == "Copy" and content["config"]["algo"]["name"] == "ppo"
    assert TrainConfig.from_dict(content["config"]).to_dict() == content["config"]
    assert content["env"]["id"] == "Actformer/Copy-v0"
    weight = content["policy"]["actor.weight"]["__tensor__"]
    assert header[weight]["dtype"] == "F32"
    begin, end = header[weight]["data_offsets"]
    stored = np.frombuffer(raw[8 + size + begin : 8 + size + end], dtype="<f4")
    assert np.array_equal(stored, load_checkpoint(path)["policy"]["actor.weight"].numpy().reshape(-1))


# ----------------------------------------------------------------------------- damaged or wrong


def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def test_flipped_bytes_are_detected(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = bare_checkpoint(tmp_path / "run" / "checkpoint.pt")
    size = len(path.read_bytes())
    for offset in (size - 3, size // 2):  # inside the weights' bytes
        bare_checkpoint(path)
        flip_byte(path, offset)
        with pytest.raises(ValueError, match="corrupted"):
            load_checkpoint(path)
    assert main(["eval", "--checkpoint", str(path)]) == 2
    one_line_error(capsys, "corrupted")
    bare_checkpoint(path)
    (header_size,) = struct.unpack("<Q", path.read_bytes()[:8])
    flip_byte(path, 8 + header_size - 40)  # inside the JSON header
    with pytest.raises(ValueError, match=r"corrupted|not a readable checkpoint"):
        load_checkpoint(path)
    path.write_bytes(path.read_bytes()[: size // 2])  # truncated
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_non_finite_weights_are_refused_on_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    payload = load_checkpoint(path)
    payload["policy"]["critic.weight"][0, 0] = float("inf")
    monkeypatch.setattr(checkpoint_module, "_non_finite_weights", lambda payload: [])  # a forged file
    save_checkpoint(path, payload)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"non-finite weights \(in policy\.critic\.weight\)"):
        load_checkpoint(path)
    for argv in (["eval", "--checkpoint", str(path)], ["trace", "--checkpoint", str(path), "--problem", "1"]):
        assert main(argv) == 2
        one_line_error(capsys, "non-finite weights")


def test_unknown_algo_and_a_mismatching_env_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    payload = load_checkpoint(path)
    save_checkpoint(path, {**payload, "algo": "dqn"})
    assert main(["eval", "--checkpoint", str(path)]) == 2
    one_line_error(capsys, "unknown algo 'dqn'", "a2c", "ppo")
    for key, value in (
        ("observation_space", "0" * 64),
        ("instruction_table", "1" * 64),
        ("id", "Actformer/Copy-v9"),
    ):
        save_checkpoint(path, {**payload, "env": {**payload["env"], key: value}})
        for argv in (
            ["eval", "--checkpoint", str(path)],
            ["trace", "--checkpoint", str(path), "--problem", "1"],
        ):
            assert main(argv) == 2
            one_line_error(capsys, "fits another env", key)


def test_forged_structures_are_refused_on_load(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    payload = load_checkpoint(path)
    for key, value, message in (
        ("policy", {"actor.weight": [1.0, 2.0]}, "not a state_dict of tensors"),
        ("config", [1], "'config' is not a dict"),
        ("algo", ["ppo"], "'algo' is not a str"),
    ):
        save_checkpoint(path, {**payload, key: value})
        with pytest.raises(ValueError, match=message):
            load_checkpoint(path)
    bare_checkpoint(path)  # a policy without a trainer: it evaluates, it does not resume
    assert main(["train", "--resume", str(path), "--no-progress"]) == 2
    one_line_error(capsys, "holds a policy only")


def test_payload_that_is_not_data_is_refused_on_save(tmp_path: Path) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    payload = load_checkpoint(path)
    for value, what in ((object(), "object"), (np.array([None]), "object array"), ({1, 2}, "set")):
        with pytest.raises(TypeError, match=r"cannot store trainer\.x"):
            save_checkpoint(path, {**payload, "trainer": {"x": value}})
        assert what  # (named in the message by its type)


def test_structures_round_trip_exactly(tmp_path: Path) -> None:
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    payload = load_checkpoint(path)
    trainer = {
        "rng": np.random.default_rng(5).bit_generator.state,  # 128-bit ints
        "numpy_rng": np.random.RandomState(3).get_state(),  # a tuple holding an array
        "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"betas": (0.9, 0.99)}]},
        "arrays": [np.arange(3, dtype=np.uint64) * 2**62, np.zeros((0, 2), np.int16), np.array(7, np.int64)],
        "values": {"nan": float("nan"), "inf": -float("inf"), "none": None, "__tensor__": "not a marker"},
    }
    save_checkpoint(path, {**payload, "trainer": trainer})
    loaded = load_checkpoint(path)["trainer"]
    assert loaded["rng"] == trainer["rng"]
    name, keys, *rest = loaded["numpy_rng"]
    assert (
        name == "MT19937"
        and np.array_equal(keys, trainer["numpy_rng"][1])
        and tuple(rest) == trainer["numpy_rng"][2:]
    )
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.99)
    assert torch.equal(loaded["optimizer"]["state"][0]["step"], torch.tensor(3.0))
    for got, want in zip(loaded["arrays"], trainer["arrays"], strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
    values = loaded["values"]
    assert np.isnan(values["nan"]) and values["inf"] == -float("inf") and values["none"] is None
    assert values["__tensor__"] == "not a marker"


# ------------------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("device", ["cuda:99", "toaster"])
def test_unavailable_device_is_a_one_line_error(
    device: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY, "--total-steps", "64", "--device", device]) == 2
    one_line_error(capsys, repr(device))
    assert not (tmp_path / "runs").exists()
    path = bare_checkpoint(tmp_path / "checkpoint.pt")
    assert main(["eval", "--checkpoint", str(path), "--device", device]) == 2
    one_line_error(capsys, repr(device))


def test_bad_seeds_are_one_line_errors_naming_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for name, text in (
        ("big.yaml", f"run:\n  seed: {10**23}"),
        ("e.yaml", "run:\n  seed: 1e23"),
        ("e.json", '{"run": {"seed": 1e23}}'),
    ):
        (tmp_path / name).write_text(text + "\n")
        assert main(["train", "--config", str(tmp_path / name)]) == 2
        one_line_error(capsys, "seed must be an int in [0, 4294967295]")
    assert main(["train", *TINY, "--seed", "1e23"]) == 2
    one_line_error(capsys, "--seed", "'1e23'", "actformer train --help")
    assert main(["eval", "--checkpoint", str(tmp_path), "--episodes", "many"]) == 2
    one_line_error(capsys, "--episodes", "'many'")


def test_a_second_trainer_on_the_same_run_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["train", *TINY, "--total-steps", "64", "--runs-dir", str(tmp_path)]) == 0
    directory = run_dir(tmp_path)
    before = (directory / CHECKPOINT_NAME).read_bytes()
    capsys.readouterr()
    held = lock_run_dir(directory)  # as a running trainer holds it
    try:
        assert main(["train", "--resume", str(directory), "--total-steps", "128", "--no-progress"]) == 2
        one_line_error(capsys, "in use by another trainer", f"pid {os.getpid()}")
        assert (directory / CHECKPOINT_NAME).read_bytes() == before
    finally:
        held.close()
    assert main(["train", "--resume", str(directory), "--total-steps", "128", "--no-progress"]) == 0


# ----------------------------------------------------------------------------- kill -9 and resume


#: 24 iterations of 16 envs x 16 steps, a checkpoint after each; the curriculum lengthens as it goes.
KILLED_RUN = [
    "train", "--task", "Copy", "--num-envs", "16", "--no-imitation", "--eval-lengths", "2",
    "--eval-episodes", "4", "--curriculum-threshold", "0", "--curriculum-window", "8",
    "--max-length", "6", "ppo", "--num-steps", "16", "--num-minibatches", "2", "--update-epochs", "2",
    "--total-steps", "6144", "--checkpoint-every", "2", "--threads", "1", "--no-progress",
]  # fmt: skip


def actformer(*argv: str) -> subprocess.Popen:
    """``actformer ARGV`` in a fresh process (as a user would run it)."""
    code = "import sys; from actformer_gym.train.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def checkpoint_step(directory: Path) -> int:
    try:
        return int(load_checkpoint(directory)["trainer"]["global_step"])
    except (FileNotFoundError, ValueError):
        return -1


def scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar of a run as (step, value), in the order TensorBoard shows them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal structures, tensors and arrays bit for bit."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}.{i}")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    else:
        assert a == b or (a != a and b != b), where  # (NaN == NaN here)


def test_resume_after_kill_9_is_bit_identical_to_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = actformer(*KILLED_RUN, "--runs-dir", str(tmp_path / "whole"))
    parts = actformer(*KILLED_RUN, "--runs-dir", str(tmp_path / "parts"))
    # Kill the second run with SIGKILL once it has checkpointed a few iterations (and logged
    # past some of them): no handler runs, files may be left mid-write.
    deadline = time.monotonic() + 300
    while parts.poll() is None and time.monotonic() < deadline:
        runs = list((tmp_path / "parts").glob("*")) if (tmp_path / "parts").exists() else []
        if runs and checkpoint_step(runs[0]) >= 3 * 256:
            break
        time.sleep(0.02)
    parts.send_signal(signal.SIGKILL)
    assert parts.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    directory = run_dir(tmp_path / "parts")
    killed_at = checkpoint_step(directory)
    assert 0 < killed_at < 6144
    resumed = actformer("train", "--resume", str(directory), "--threads", "1", "--no-progress")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert whole.wait(timeout=600) == 0, whole.stderr.read() if whole.stderr else ""
    reference, result = load_checkpoint(run_dir(tmp_path / "whole")), load_checkpoint(directory)
    assert result["trainer"]["global_step"] == 6144
    assert result["trainer"]["curriculum"]["length"] > 1  # (it lengthened: part of what resumed)
    # Everything: policy, warm-start policy, optimizer, RNGs, curriculum, the env's state, the
    # current observation. Only the TensorBoard offsets differ (other files).
    result.pop("run"), reference.pop("run")
    assert_same(result, reference)
    # Each TensorBoard point exactly once, at the same steps; equal values but for timings.
    got, want = scalars(directory), scalars(run_dir(tmp_path / "whole"))
    assert got.keys() == want.keys()
    for tag in want:
        assert [s for s, _ in got[tag]] == [s for s, _ in want[tag]], tag
        if tag != "charts/SPS":
            assert [v for _, v in got[tag]] == [v for _, v in want[tag]], tag
    assert [s for s, _ in want["charts/SPS"]] == list(range(256, 6145, 256))
