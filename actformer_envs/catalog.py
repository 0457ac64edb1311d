"""The table of registered envs and each env's documentation page, generated from the registry
and the task docstrings so that they cannot drift.

``env_table()`` is the Markdown table; ``python -m scripts.env_table --write`` writes it into the
docs' environments page (a test checks the committed page equals it). ``env_page(env_id)`` is the
env's page of the docs site (``docs/gen_pages.py`` writes one per registered id at build time).
This module reads and writes no files.
"""

from __future__ import annotations

import inspect
import re
from typing import cast

import gymnasium as gym
from gymnasium import spaces

from actformer_envs.env import ActformerEnv, as_info_value
from actformer_envs.instructions import instruction_name
from actformer_envs.registration import ENV_IDS
from actformer_envs.rollout import Rollout, Step
from actformer_envs.vector_env import ActformerVectorEnv

#: Instructions shown of each trace; the rest is summarized by the step count.
TRACE_SHOWN = 6
_COMMON_KEYS = {"symbols", "boundaries", "registers", "memory", "flags", "last_action", "history"}


def describe(env_id: str) -> str:
    """What the task is: the first sentence of its docstring."""
    doc = cast(ActformerEnv, gym.make(env_id).unwrapped).task.__doc__ or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    return re.sub(r"^``[^`]+``:\s*", "", first).rstrip(".").replace("``", "`")


def trace_line(env_id: str, length: int = 2, seed: int = 0) -> str:
    """A small problem, the expert's first instructions and its answer, on one line."""
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point", render_mode="ansi")
    vec = cast(ActformerVectorEnv, env.unwrapped)
    rollout = Rollout(env, seed=seed, options={"length": length}, episodes=1)
    text = cast(tuple[str, ...], env.render())[0]  # render_mode="ansi": one text per env
    rows = text.split("\n")[1:-1]  # the scratchpad rows, between header and registers
    posed = "; ".join(_compact(row) for row in rows)
    if vec.mixture.draws_member:
        posed = f"{vec.mixture.member_shown(rollout.observation).name}: {posed}"
    steps: list[Step] = []
    rollout.run(lambda observation, mask: vec.expert_action(), steps.append)
    env.close()
    names = [instruction_name(int(step.actions[0])) for step in steps[:TRACE_SHOWN]]
    more = f" … ({len(steps)} steps)" if len(steps) > TRACE_SHOWN else ""
    return f"{posed} ⇒ {', '.join(names)}{more} → {as_info_value(steps[-1].infos['output'][0])!r}"


def env_table() -> str:
    """The Markdown table: id, task, spaces, default lengths and base, a trace example."""
    lines = [
        "| id | task | observation | lengths | base | allowed | trace (expert, length 2) |",
        "|---|---|---|---|---|---:|---|",
    ]
    for env_id in ENV_IDS:
        env = cast(ActformerEnv, gym.make(env_id).unwrapped)
        task, config, space = env.task, env.config, env.observation_space
        extra = sorted(set(space.spaces) - _COMMON_KEYS)
        observation = "common" + "".join(f" + `{k}`: `{space[k]}`" for k in extra)
        full = cast(spaces.Dict, gym.make(env_id, obs_mode="full").observation_space)["scratchpad"].shape
        low, high = task.base_range
        base = f"{config.base}" if low == high else f"{config.base} ({low}-{high})"
        allowed = int(env.action_masks().sum()) if not env.mixture.draws_member else "per task"
        lines.append(
            f"| [`{env_id}`]({page_name(env_id)}) | {describe(env_id)} | {observation}; full: {full} | "
            f"{config.min_length}-{config.max_length} | {base} | {allowed} | `{trace_line(env_id)}` |"
        )
    return "\n".join(lines)


def page_name(env_id: str) -> str:
    """The file name of an env's docs page: ``Addition.md`` for ``Actformer/Addition-v0``."""
    return env_id.split("/")[1].rsplit("-v", 1)[0] + ".md"


def env_page(env_id: str) -> str:
    """The Markdown page of ``env_id``: its summary table, then its task's docstring sections
    (Description, Action Space, ... Version History, as Gymnasium's env pages have them)."""
    env = cast(ActformerEnv, gym.make(env_id).unwrapped)
    task, config = env.task, env.config
    doc = inspect.cleandoc(type(task).__doc__ or "")
    _, _, body = doc.partition("\n\n")
    low, high = task.base_range
    allowed = (
        ", ".join(f"`{instruction_name(int(i))}`" for i in env.action_masks().nonzero()[0])
        if not env.mixture.draws_member
        else "the drawn task's (see each task's page)"
    )
    rows = [
        ("Import", f'`gym.make("{env_id}")`'),
        ("Action space", f"`{env.action_space}`: the shared instruction table"),
        ("Allowed instructions", allowed),
        ("Observation keys", ", ".join(f"`{key}`" for key in env.observation_space.spaces)),
        ("Default lengths", f"{config.min_length} to {config.max_length}"),
        ("Base", f"{config.base}" + ("" if low == high else f" ({low} to {high})")),
        ("Expert trace (length 2)", f"`{trace_line(env_id)}`"),
    ]
    table = "\n".join(["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])
    text = re.sub(r"``([^`]+)``", r"`\1`", body)  # reST literals as Markdown code
    return f"# {env_id}\n\n{describe(env_id).capitalize()}.\n\n{table}\n\n{text}\n"


def _compact(row: str) -> str:
    """A rendered row without brackets, blanks, spacing and pointer names: ``A 12`` (``_``: empty)."""
    name, _, cells = row.strip().partition(" ")
    cells = re.sub(r"\s*P\d(\s+P\d)*\s*$", "", cells)
    return name + " " + (re.sub(r"[\[\]\s.]", "", cells) or "_")
