"""Helpers shared by the test modules: comparing observations and infos, task oracles, expert runs."""

from __future__ import annotations

import hashlib
from typing import Any

import gymnasium as gym
import numpy as np
from oracles import oracle

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import INSTRUCTIONS, NUM_ACTIONS, Op
from actformer_envs.vector_env import ActformerVectorEnv


def make_vec(env_id: str, num_envs: int, **kwargs: Any) -> ActformerVectorEnv:
    """The native vector env of ``env_id`` (``gym.make_vec``'s ``vector_entry_point``)."""
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    assert isinstance(env, ActformerVectorEnv)
    return env


def actformer_specs() -> list:
    """Every registered spec whose entry point lives in ``actformer_envs``, sorted by id."""

    def module(entry_point: object) -> str:
        if isinstance(entry_point, str):
            return entry_point.split(":")[0]
        return getattr(entry_point, "__module__", "")

    specs = [s for s in gym.registry.values() if module(s.entry_point).startswith("actformer_envs")]
    return sorted(specs, key=lambda s: s.id)


def ids_of_task(task: str) -> list[str]:
    """The registered ids that run ``task``."""
    return [s.id for s in actformer_specs() if s.kwargs.get("task") == task]


def task_name(env_id: str) -> str:
    """The task a registered id runs (``gym.spec(id).kwargs["task"]``)."""
    return gym.spec(env_id).kwargs["task"]


def unwrapped(env: gym.Env) -> Any:
    return env.unwrapped


# -- comparing ---------------------------------------------------------------------------------


def assert_obs_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray], where: str = "") -> None:
    """Same keys, same dtypes, same values."""
    assert a.keys() == b.keys(), where
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.shape == y.shape, f"{where} key {key}: shape {x.shape} != {y.shape}"
        assert np.array_equal(x, y), f"{where} key {key}: {x} != {y}"


def obs_differ(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() != b.keys() or any(not np.array_equal(a[k], b[k]) for k in a)


def values_equal(a: Any, b: Any) -> bool:
    """Deep equality for infos: dicts, lists, tuples, numpy arrays and scalars."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(values_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.dtype == object or y.dtype == object:
            pairs = zip(x.tolist(), y.tolist(), strict=False)
            return x.shape == y.shape and all(values_equal(p, q) for p, q in pairs)
        return x.shape == y.shape and np.array_equal(x, y)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(values_equal(p, q) for p, q in zip(a, b, strict=False))
        )
    if a is None or b is None:
        return a is b
    return isinstance(a == b, (bool, np.bool_)) and bool(a == b)


def obs_digest(obs: dict[str, np.ndarray]) -> bytes:
    """A hash of every key of an observation: name, dtype, shape and bytes."""
    h = hashlib.blake2b(digest_size=16)
    for key in sorted(obs):
        value = np.ascontiguousarray(obs[key])
        h.update(key.encode())
        h.update(str(value.dtype).encode())
        h.update(str(value.shape).encode())
        h.update(value.tobytes())
    return h.digest()


# -- actions -----------------------------------------------------------------------------------


def action_mix(
    rng: np.random.Generator, mask: np.ndarray, expert: int, p_expert: float = 0.6, p_masked: float = 0.15
) -> int:
    """An expert action, a random allowed one, or a random masked-out one."""
    u = rng.random()
    if u < p_expert:
        return int(expert)
    pool = np.flatnonzero(~mask) if u < p_expert + p_masked else np.flatnonzero(mask)
    return int(rng.choice(pool))


def would_fault(action: int, obs: dict[str, np.ndarray], base: int, pointer_rows: tuple) -> bool:
    """Whether an allowed instruction faults, by its documented rule (WRITE of a non-digit value or
    to an unused pointer; SWAP with an unused pointer)."""
    ins = INSTRUCTIONS[action]
    if ins.op == Op.WRITE:
        value = int(obs["registers"][ins.b])
        return not 0 <= value < base or pointer_rows[ins.a] is None
    if ins.op == Op.SWAP:
        return pointer_rows[ins.a] is None or pointer_rows[ins.b] is None
    return False


BAD_ACTIONS = [-1, NUM_ACTIONS, 1.5, "a", True, np.int64(NUM_ACTIONS), None, [0]]


# -- task oracles (independent of the package's own code; one module per task in oracles/) -------


def problem_from_full_obs(task: str, obs: dict[str, np.ndarray], base: int) -> Any:
    """The posed problem, read off a ``obs_mode="full"`` observation taken right after reset."""
    return oracle(task).problem_from_full_obs(obs, base)


def problem_length(task: str, problem: Any, base: int) -> int:
    return oracle(task).problem_length(problem, base)


def expected_answer(task: str, problem: Any, base: int) -> Any:
    """What ``info["output"]`` must hold after an exactly correct episode."""
    return oracle(task).answer(problem, base)


def program_length(task: str, problem: Any, base: int) -> int:
    """Steps the task's documented expert takes on ``problem``."""
    return oracle(task).program_length(problem, base)


# -- running the expert ------------------------------------------------------------------------


def run_expert_batch(
    env_id: str, num_envs: int, reset_kwargs: dict[str, Any], **make_kwargs: Any
) -> list[tuple[int, float, dict[str, Any], dict[str, np.ndarray]]]:
    """The expert in each of ``num_envs`` envs of the native vector env, reset with ``reset_kwargs``
    (``options={"problems": ...}`` poses one problem per env; ``seed=s`` gives env i the problem of
    a single env's ``seed=s + i``), to the end of each one's first episode: (steps, return, last
    info, reset obs) per env, as ``run_expert`` gives them one at a time (the vector env steps as
    single envs do: ``test_vector_env``), at a fraction of the cost for long programs."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **make_kwargs)
    first, _ = envs.reset(**reset_kwargs)
    steps = np.zeros(num_envs, dtype=np.int64)
    totals = np.zeros(num_envs, dtype=np.float64)
    ended_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    done = np.zeros(num_envs, dtype=bool)
    while not done.all():
        _, rewards, terminated, truncated, info = envs.step(envs.unwrapped.expert_action())
        live = ~done
        steps += live
        totals += np.where(live, np.asarray(rewards, dtype=np.float64), 0.0)
        assert not info["invalid_action"][live].any(), "the expert issued an invalid action"
        ended = (terminated | truncated) & live
        for i in np.flatnonzero(ended):
            ended_infos[i] = {key: info[key][i] for key in ("output", "target")}
            ended_infos[i]["is_success"] = bool(info["is_success"][i])
        done |= ended
    envs.close()
    firsts = [{key: value[i] for key, value in first.items()} for i in range(num_envs)]
    return [(int(s), float(t), i, f) for s, t, i, f in zip(steps, totals, ended_infos, firsts, strict=True)]


def run_expert(env: gym.Env, **reset_kwargs: Any) -> tuple[int, float, dict[str, Any], dict[str, np.ndarray]]:
    """Reset, then follow ``expert_action()`` to the end: (steps, return, last info, reset obs)."""
    first, _ = env.reset(**reset_kwargs)
    steps, total = 0, 0.0
    while True:
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        steps += 1
        total += reward
        assert not info["invalid_action"], f"expert issued an invalid action at step {steps}"
        if terminated or truncated:
            return steps, total, info, first
