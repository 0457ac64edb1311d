"""A digest of everything an env returns over a seeded run: observations, rewards, ends and infos.

``tests/data/behaviour_digests.json`` holds the digests of every registered id under each reward
and mask mode, single and vector; ``test_behaviour_digest`` checks that the code still produces
them bit for bit, so a change made for speed cannot change behaviour unnoticed. A change that means
to change behaviour bumps the ids it affects and rewrites the file:

    python tests/behaviour_digest.py   # (from the repository root)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import NUM_ACTIONS

DIGESTS = Path(__file__).parent / "data" / "behaviour_digests.json"
#: (face, reward_mode, mask_mode) of every digest; a vector env of ``NUM_ENVS`` envs.
SETTINGS = (
    ("single", "shaped", "allowed"),
    ("single", "dense", "valid"),
    ("single", "sparse", "allowed"),
    ("single", "signed", "valid"),
    ("vector", "shaped", "allowed"),
    ("vector", "dense", "valid"),
    ("vector", "sparse", "allowed"),
    ("vector", "signed", "valid"),
)
NUM_ENVS, STEPS, SEED = 8, 400, 7


def behaviour_digest(env_id: str, face: str, reward_mode: str, mask_mode: str) -> str:
    """The hex digest of ``STEPS`` steps of ``env_id``: actions drawn from a seeded generator, half the
    expert's (so episodes get somewhere), the rest uniform over the whole action space."""
    kwargs: dict[str, Any] = {"reward_mode": reward_mode, "mask_mode": mask_mode}
    h = hashlib.blake2b(digest_size=16)
    rng = np.random.default_rng(SEED)
    if face == "single":
        env = gym.make(env_id, **kwargs)
        obs, info = env.reset(seed=SEED)
        _update(h, obs, info)
        for _ in range(STEPS):
            expert = env.unwrapped.expert_action()  # type: ignore[attr-defined]
            action = expert if rng.random() < 0.5 else int(rng.integers(NUM_ACTIONS))
            obs, reward, terminated, truncated, info = env.step(action)
            _update(h, obs, info, np.float64(reward), np.bool_(terminated), np.bool_(truncated))
            if terminated or truncated:
                obs, info = env.reset()
                _update(h, obs, info)
    else:
        env = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", **kwargs)
        obs, info = env.reset(seed=SEED)
        _update(h, obs, info)
        for _ in range(STEPS):
            expert = env.expert_action()  # type: ignore[attr-defined]
            random = rng.integers(NUM_ACTIONS, size=NUM_ENVS)
            actions = np.where(rng.random(NUM_ENVS) < 0.5, expert, random)
            obs, reward, terminated, truncated, info = env.step(actions)
            _update(h, obs, info, reward, terminated, truncated)
    env.close()
    return h.hexdigest()


def _update(h: Any, obs: dict[str, Any], info: dict[str, Any], *arrays: Any) -> None:
    """Feed an observation, an info dict and some arrays into ``h``: keys, dtypes, shapes, bytes
    (an object array, as ``output``/``target``: its items' reprs)."""
    for key in sorted(obs):
        _array(h, key, obs[key])
    for key in sorted(info):
        _array(h, key, info[key])
    for index, array in enumerate(arrays):
        _array(h, str(index), array)


def _array(h: Any, key: str, value: Any) -> None:
    value = np.asarray(value)
    h.update(f"{key}:{value.dtype}:{value.shape}".encode())
    if value.dtype == object:  # (``output``/``target``: Python values)
        h.update(repr(value.tolist()).encode())
    else:
        h.update(np.ascontiguousarray(value).tobytes())


def all_digests() -> dict[str, str]:
    """The digest of every registered Actformer id under every setting, keyed ``id|face|reward|mask``."""
    ids = sorted(spec.id for spec in gym.registry.values() if spec.id.startswith("Actformer/"))
    return {"|".join((i, *setting)): behaviour_digest(i, *setting) for i in ids for setting in SETTINGS}


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps(all_digests(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS}", file=sys.stderr)
