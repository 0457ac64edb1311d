"""Fingerprint the suite's behaviour and compare it with another commit.

Two fingerprints, each a SHA-256 per item:

* **envs** — for every registered id, single and native vector env: observations, rewards,
  terminated/truncated flags and infos of fixed-seed episodes driven by a mix of expert and random
  actions (so that wrong writes, blocked moves and truncations are covered, not just the expert path).
* **training** — the parameters of a short fixed-seed training (behaviour cloning, a DAgger round,
  two RL updates, PPO and A2C) of Addition and Multiplication.

Usage::

    python -m scripts.compare_behaviour --against ae653e5        # working tree vs that commit
    python -m scripts.compare_behaviour --fingerprint out.json     # write this tree's fingerprint

``--against`` checks the commit out into a temporary directory (``git worktree``), computes its
fingerprint there with this script, and reports every item that differs; it exits 1 if any does.
Ids present on one side only are listed, not compared (a version bump retires an id on purpose).
Compare on one machine: the training fingerprint depends on the CPU's float kernels.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXPERT_SHARE = 0.7  # chance that a step takes the expert's action rather than a random one
SINGLE_STEPS = 400
VECTOR_ENVS = 6
VECTOR_STEPS = 300


def _feed(digest: Any, value: Any) -> None:
    """Hash ``value`` structurally (dict keys sorted, arrays by dtype, shape and bytes)."""
    if isinstance(value, dict):
        for key in sorted(value):
            digest.update(repr(key).encode())
            _feed(digest, value[key])
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            digest.update(repr(value.tolist()).encode())
        else:
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(repr(value).encode())


def env_fingerprints() -> dict[str, str]:
    """``{"<id> single": sha, "<id> vector": sha}`` for every registered Actformer id."""
    import gymnasium as gym

    import actformer_envs  # noqa: F401  (registers the ids)

    out = {}
    for env_id in sorted(k for k in gym.registry if k.startswith("Actformer/")):
        out[f"{env_id} single"] = _single(gym, env_id)
        out[f"{env_id} vector"] = _vector(gym, env_id)
    return out


def _single(gym: Any, env_id: str) -> str:
    digest = hashlib.sha256()
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    observation, info = env.reset(seed=0)
    _feed(digest, (observation, info))
    for step in range(SINGLE_STEPS):
        if rng.random() < EXPERT_SHARE:
            action = int(env.unwrapped.expert_action())
        else:
            action = int(rng.integers(env.action_space.n))
        observation, reward, terminated, truncated, info = env.step(action)
        _feed(digest, (observation, float(reward), bool(terminated), bool(truncated), info))
        if terminated or truncated:
            observation, info = env.reset(seed=step) if step % 2 else env.reset()
            _feed(digest, (observation, info))
    env.close()
    return digest.hexdigest()


def _vector(gym: Any, env_id: str) -> str:
    digest = hashlib.sha256()
    env = gym.make_vec(env_id, num_envs=VECTOR_ENVS, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(1)
    observations, infos = env.reset(seed=3)
    _feed(digest, (observations, infos))
    for _ in range(VECTOR_STEPS):
        expert = np.asarray(
            env.unwrapped.expert_action() if hasattr(env, "unwrapped") else env.expert_action()
        )
        random = rng.integers(env.single_action_space.n, size=VECTOR_ENVS)
        actions = np.where(rng.random(VECTOR_ENVS) < EXPERT_SHARE, expert, random)
        result = env.step(actions)
        _feed(digest, result)
    env.close()
    return digest.hexdigest()


def training_fingerprints() -> dict[str, str]:
    """Parameter digests of short fixed-seed trainings (warm start, then two RL updates)."""
    import torch

    torch.set_num_threads(1)
    out = {}
    for task in ("Addition", "Multiplication"):
        for algo in ("ppo", "a2c"):
            trainer = _trainer(task, algo, seed=3)
            trainer.warm_start()
            out[f"train {task} {algo} warm start"] = _parameters(trainer.policy)
            while not trainer.done():
                trainer.iterate()
            out[f"train {task} {algo} rl"] = _parameters(trainer.policy)
    return out


def _trainer(task: str, algo: str, seed: int) -> Any:
    """A small training run, built with whichever config API this tree has."""
    settings = dict(
        task=task,
        seed=seed,
        device="cpu",
        num_envs=8,
        num_steps=16,
        total_steps=2 * 8 * 16,
        imitation_pairs=600,
        imitation_epochs=2,
        dagger_rounds=1,
        dagger_steps=200,
        eval_episodes=4,
        eval_lengths=(3,),
    )
    if _namespaced(Path.cwd()):
        config_module = importlib.import_module("actformer_gym.train.config")
        Trainer = importlib.import_module("actformer_gym.train.trainer").Trainer
    else:  # trees whose train/ is a top-level package (and, before it was split up, train/ppo.py)
        config_module = importlib.import_module("train.config")
        try:
            Trainer = importlib.import_module("train.trainer").Trainer
        except ImportError:
            Trainer = importlib.import_module("train.ppo").Trainer

    if hasattr(config_module, "TrainConfig"):  # one nested config, built from flag names
        return Trainer(config_module.TrainConfig.from_flat(algo, **settings))
    config_class = config_module.PPOConfig if algo == "ppo" else config_module.A2CConfig
    return Trainer(config_class(**settings))


def _parameters(module: Any) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def fingerprint(parts: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    if "envs" in parts:
        out.update(env_fingerprints())
    if "training" in parts:
        out.update(training_fingerprints())
    return out


#: Python run before the script in another tree: ``actformer_gym`` as a namespace over its folders.
_NAMESPACE_SHIM = (
    "import sys, types; _ns = types.ModuleType('actformer_gym'); _ns.__path__ = [{root!r}]; "
    "sys.modules['actformer_gym'] = _ns; "
)


def _namespaced(tree: Path) -> bool:
    """Whether ``tree`` installs train/ and agents/ as ``actformer_gym.train``/``.agents`` (else they
    are top-level packages, as in older commits)."""
    setup = tree / "setup.cfg"
    return setup.is_file() and "actformer_gym.train" in setup.read_text()


def _fingerprint_of(commit: str, parts: tuple[str, ...]) -> dict[str, str]:
    """Run this script's fingerprint inside a temporary checkout of ``commit``."""
    with tempfile.TemporaryDirectory(prefix="actformer-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
            check=True,
            capture_output=True,
        )
        try:
            (tree / "scripts").mkdir(exist_ok=True)
            (tree / "scripts" / "compare_behaviour.py").write_text(Path(__file__).read_text())
            output = Path(tmp) / "fingerprint.json"
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    # actformer_gym.* from this tree, not from the editable install of the working tree
                    (_NAMESPACE_SHIM.format(root=str(tree)) if _namespaced(tree) else "")
                    + "import runpy; runpy.run_path('scripts/compare_behaviour.py', run_name='__main__')",
                    "--fingerprint",
                    str(output),
                    "--parts",
                    *parts,
                ],
                cwd=tree,
                env=env,
                check=True,
            )
            return json.loads(output.read_text())
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="commit to compare the working tree with")
    parser.add_argument("--fingerprint", type=Path, help="write this tree's fingerprint (JSON) here")
    parser.add_argument("--parts", nargs="+", choices=("envs", "training"), default=("envs", "training"))
    args = parser.parse_args(argv)
    parts = tuple(args.parts)
    if args.fingerprint:
        names = ["actformer_envs", "actformer_gym.train" if _namespaced(Path.cwd()) else "train"]
        for name in names:
            module = importlib.import_module(name)
            if not Path(str(module.__file__)).resolve().is_relative_to(Path.cwd().resolve()):
                print(f"error: imported {name} from {module.__file__}, not this tree", file=sys.stderr)
                return 2
        args.fingerprint.write_text(json.dumps(fingerprint(parts), indent=1, sort_keys=True))
        return 0
    if not args.against:
        parser.error("give --against COMMIT or --fingerprint FILE")
    reference = _fingerprint_of(args.against, parts)
    current = fingerprint(parts)
    differ = sorted(k for k in reference.keys() & current.keys() if reference[k] != current[k])
    for key in sorted(reference.keys() ^ current.keys()):
        side = "only at " + args.against if key in reference else "only in the working tree"
        print(f"  {key}: {side}")
    for key in differ:
        print(f"DIFFERS {key}")
    same = len(reference.keys() & current.keys()) - len(differ)
    print(f"{same} identical, {len(differ)} differ (working tree vs {args.against})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
