"""``actformer trace``: a policy solving one problem, one line per step saying what each action did.

``parse_problem`` reads the problem as the user writes it (each task declares its text format);
``trace`` runs the policy on it in a one-env vector env with the scratchpad in view, and
``describe_change`` writes what each step changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from actformer_envs import ActformerVectorEnv
from actformer_envs.env import as_info_value
from actformer_envs.instructions import NUM_MEMORY, NUM_POINTERS, NUM_REGISTERS, instruction_name
from actformer_envs.rollout import Rollout, Step
from actformer_envs.symbols import SYMBOL_CHARS
from actformer_envs.tasks import TASKS
from actformer_envs.tasks import parse_problem as parse_text
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.runs import UsageError


def parse_problem(task: str, text: str) -> Any:
    """The problem ``text`` in the env's problem format for ``task``, read by the text format the
    task declares (``Task.text_format``); ``UsageError`` saying which format it takes otherwise."""
    try:
        return parse_text(task, text)
    except ValueError as error:
        raise UsageError(str(error)) from None


@dataclass
class Trace:
    """An episode of the policy on one problem."""

    steps: list[str]
    """One line per step: the instruction and what it changed."""
    info: dict[str, Any]
    """The env's final info (is_success, output, target)."""
    start: str
    """The first frame (the problem as posed), as ``render_mode="ansi"`` draws it."""
    end: str
    """The last frame."""


def trace(policy: Any, config: TrainConfig, problem: Any, greedy: bool = True) -> Trace:
    """``policy`` (anything with ``ActformerPolicy.act``) solving ``problem`` from start to end."""
    name = config.env.task
    task = TASKS[name](config.env.base or TASKS[name].default_base)  # (lengths count digits of its base)
    try:
        length = task.problem_length(problem)
    except (TypeError, ValueError) as error:
        raise UsageError(f"bad {name} problem: {error}") from None
    # obs_mode="full" shows the scratchpad and pointers to the trace; the policy gets its own keys.
    kwargs = {**config.env.observation_kwargs(), "obs_mode": "full"}
    size = max(config.env.length_cap, length)
    env = ActformerVectorEnv(1, name, min_length=1, max_length=size, render_mode="ansi", **kwargs)
    keys = _policy_keys(config)
    try:
        try:
            rollout = Rollout(env, seed=0, options={"problem": problem}, episodes=1)
        except ValueError as error:
            raise UsageError(f"bad {name} problem: {error}") from None
        rows, start = env.mixture.member_shown(rollout.observation).rows, env.render()[0]
        lines: list[str] = []
        steps: list[Step] = []

        def act(observation: Mapping[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
            single = {key: observation[key][0] for key in keys}  # the policy acts on one env's observation
            return np.array([int(policy.act(single, mask[0], greedy=greedy))])

        def show(step: Step) -> None:
            steps.append(step)
            if step.infos["invalid_action"][0]:
                change = "(invalid: no-op)"
            else:
                change = describe_change(_first(step.observation), _first(step.next_observation), rows)
            lines.append(f"{len(steps):>4}  {instruction_name(int(step.actions[0])):<16} {change}".rstrip())

        rollout.run(act, show)
        if steps[-1].truncated[0]:
            lines.append("      (step limit reached)")
        return Trace(lines, _single_info(steps[-1].infos), start, env.render()[0])
    finally:
        env.close()


def _first(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Env 0's observation of a batched one."""
    return {key: value[0] for key, value in observation.items()}


def _single_info(infos: Mapping[str, Any]) -> dict[str, Any]:
    """Env 0's entries of a vector env's infos at the end of its episode, as a single env's info."""
    return {
        "action_mask": np.array(infos["action_mask"][0]),
        "invalid_action": bool(infos["invalid_action"][0]),
        "is_success": bool(infos["is_success"][0]),
        "output": as_info_value(infos["output"][0]),
        "target": as_info_value(infos["target"][0]),
    }


def _policy_keys(config: TrainConfig) -> list[str]:
    env = gym.make(config.env.env_id, max_length=config.env.length_cap, **config.env.observation_kwargs())
    keys = list(env.observation_space.spaces)
    env.close()
    return keys


def describe_change(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], rows: Sequence[str]
) -> str:
    """What one step changed, from two ``obs_mode="full"`` observations: cells written, pointers
    moved, registers, memory, carry and compare flag, e.g. ``OUT[0]=7  P2:0->1  C=1``."""
    changes = []
    written = np.argwhere(before["scratchpad"] != after["scratchpad"])
    for row, column in written:
        changes.append(f"{rows[row]}[{column}]={SYMBOL_CHARS[after['scratchpad'][row, column]]}")
    for p in range(NUM_POINTERS):
        old, new = int(before["pointers"][p]), int(after["pointers"][p])
        if old != new:
            changes.append(f"P{p}:{old}->{new}")
    names = [f"R{i}" for i in range(NUM_REGISTERS)], [f"M{i}" for i in range(NUM_MEMORY)], ["C", "CMP"]
    for key, labels in zip(("registers", "memory", "flags"), names, strict=True):
        for label, old, new in zip(labels, before[key], after[key], strict=True):
            if old != new:
                changes.append(f"{label}={int(new)}")
    return "  ".join(changes) if changes else "(no change)"


def show_answer(value: Any) -> str:
    """An answer as the trace prints it: symbols as a string (``31415``), numbers as digits."""
    if value is None:
        return "none (no well-formed answer)"
    if isinstance(value, list):
        return "".join(SYMBOL_CHARS[v] for v in value) if all(0 <= v < 36 for v in value) else str(value)
    return str(value)
