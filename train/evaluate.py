"""Exact-match evaluation: the fraction of episodes an agent ends with an exactly correct answer.

Each evaluation runs the native vector env with every problem of exactly one length; a
generalization table repeats it over lengths (train short, test long).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.checks import check_int
from actformer_envs.rollout import Rollout, Step
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.baselines import Agent
from actformer_gym.agents.cached import CachedGreedy

#: Builds the agent to evaluate from the vector env it will act in, e.g.
#: ``lambda env: ExpertAgent(env.unwrapped.task)``.
AgentFactory = Callable[[gym.vector.VectorEnv], Agent]


def make_eval_env(env_id: str, length: int, num_envs: int, **env_kwargs: Any) -> gym.vector.VectorEnv:
    """The native vector env of ``env_id`` posing problems of exactly ``length`` (also on autoreset)."""
    check_int("length", length, low=1, numpy_ints=True)
    check_int("num_envs", num_envs, low=1, numpy_ints=True)
    for fixed in ("min_length", "max_length", "num_envs", "vectorization_mode"):
        if fixed in env_kwargs:
            raise ValueError(f"{fixed} is set by the evaluation and cannot be passed in env_kwargs")
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        min_length=length,
        max_length=length,
        **env_kwargs,
    )


@dataclass(frozen=True)
class Counted:
    """What an agent did in the counted episodes of a run (``count_episodes``)."""

    solved: int
    """Episodes ended with an exactly correct answer."""
    steps: int
    """Decisions taken in them all, solved or not: the programs' total length."""


def run_episodes(agent: Agent, env: gym.vector.VectorEnv, length: int, episodes: int, seed: int) -> int:
    """Run ``agent`` in ``env`` (from ``make_eval_env``) until exactly ``episodes`` episodes have
    been counted; the number it solved.

    Which episodes count is fixed before any is run (``actformer_envs.rollout.episode_quota``): environment
    ``i`` contributes its first ``episodes // n`` (plus one for ``i < episodes % n``) episodes and
    later ones are ignored. So the counted set does not favour episodes that happen to end early
    (a quick wrong HALT), as "the first ``episodes`` to end" would. ``agent.act`` gets the batched
    observation and the action masks. An ``ActformerPolicy`` acts greedily (its default), through
    ``CachedGreedy``: its network runs once per distinct view it meets, not once per step.
    """
    return count_episodes(agent, env, length, episodes, seed).solved


def count_episodes(agent: Agent, env: gym.vector.VectorEnv, length: int, episodes: int, seed: int) -> Counted:
    """``run_episodes``, with the steps its counted episodes took: the same problems for every agent
    given the same ``env`` and ``seed``, so two agents' steps compare their programs."""
    check_int("length", length, low=1, numpy_ints=True)
    check_int("episodes", episodes, low=1, numpy_ints=True)
    # ``env`` poses only problems of ``length`` (``make_eval_env``), on reset and on autoreset alike;
    # the length is checked here, not passed as ``options={"length": ...}``: that is redundant, and
    # (as of writing) an autoreset after such a reset poses an ungenerated problem (ProblemQueue).
    if (env.unwrapped.config.min_length, env.unwrapped.config.max_length) != (length, length):
        raise ValueError(f"env must pose problems of exactly length={length}; build it with make_eval_env")
    solved = steps = 0

    def count(step: Step) -> None:
        nonlocal solved, steps
        steps += int(np.count_nonzero(step.decision & step.counted))
        if step.ended.any():
            infos, nothing = step.infos, np.zeros(env.num_envs, dtype=bool)
            success = infos.get("is_success", nothing).astype(bool) & infos.get("_is_success", nothing)
            solved += int((step.ended & step.counted & success).sum())

    if isinstance(agent, ActformerPolicy):
        agent = CachedGreedy(agent)
    Rollout(env, seed=seed, episodes=episodes).run(agent.act, count)
    return Counted(solved, steps)


def exact_match(
    agent: Agent,
    env_id: str,
    length: int,
    episodes: int = 1000,
    seed: int = 0,
    num_envs: int = 256,
    **env_kwargs: Any,
) -> float:
    """Fraction of exactly ``episodes`` episodes, all of problem length ``length``, that ``agent``
    ends with an exactly correct answer (``info["is_success"]``; truncation counts as a failure).

    Runs ``min(num_envs, episodes)`` environments of the native vector env of ``env_id``, seeded
    with ``seed`` (env ``i`` with ``seed + i``); ``env_kwargs`` go to the env (``base``,
    ``obs_mode``, ...). See ``run_episodes`` for which episodes count.
    """
    check_int("length", length, low=1, numpy_ints=True)
    check_int("episodes", episodes, low=1, numpy_ints=True)
    check_int("num_envs", num_envs, low=1, numpy_ints=True)
    env = make_eval_env(env_id, length, min(num_envs, episodes), **env_kwargs)
    try:
        return run_episodes(agent, env, length, episodes, seed) / episodes
    finally:
        env.close()


def generalization_table(
    agent_factory: AgentFactory,
    env_id: str,
    lengths: Iterable[int],
    episodes: int = 1000,
    seed: int = 0,
    num_envs: int = 256,
    **env_kwargs: Any,
) -> list[dict[str, Any]]:
    """Exact match at each length: rows ``{"length", "episodes", "exact_match"}``.

    ``agent_factory(env)`` builds a fresh agent for each length's env, so a seeded random agent
    gives the same row whatever lengths come before it.
    """
    lengths = list(lengths)
    if not lengths:
        raise ValueError("lengths must hold at least one length")
    for length in lengths:
        check_int("length", length, low=1, numpy_ints=True)
    check_int("episodes", episodes, low=1, numpy_ints=True)
    check_int("num_envs", num_envs, low=1, numpy_ints=True)
    rows = []
    for length in lengths:
        env = make_eval_env(env_id, length, min(num_envs, episodes), **env_kwargs)
        try:
            solved = run_episodes(agent_factory(env), env, length, episodes, seed)
        finally:
            env.close()
        rows.append({"length": length, "episodes": episodes, "exact_match": solved / episodes})
    return rows


#: The first two lines of ``format_table``: a caller printing rows as they finish prints these first.
TABLE_HEADER = ("| length | episodes | exact match |", "|---:|---:|---:|")


def format_row(row: dict[str, Any]) -> str:
    """One row of ``generalization_table`` as a line of ``format_table``."""
    return f"| {row['length']} | {row['episodes']} | {row['exact_match']:.3f} |"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows of ``generalization_table`` as a Markdown table."""
    return "\n".join([*TABLE_HEADER, *(format_row(row) for row in rows)])
