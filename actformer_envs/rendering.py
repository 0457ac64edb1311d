"""Rendering: a readable text frame of one environment (``ansi``), rasterized for ``rgb_array``."""

from __future__ import annotations

import numpy as np

from actformer_envs.episodes import Episodes
from actformer_envs.instructions import (
    INSTRUCTIONS,
    NUM_MEMORY,
    NUM_POINTERS,
    NUM_REGISTERS,
    instruction_name,
)
from actformer_envs.raster import text_to_rgb
from actformer_envs.symbols import EDGE, SYMBOL_CHARS


def render_text(episodes: Episodes, env: int, reward: float | None = None) -> str:
    """The scratchpad with the cell under each pointer in brackets, then registers and flags.

    Numbers are stored least significant digit first; tasks that hold numbers are shown the way
    people read them, most significant digit on the left.
    """
    machine = episodes.machine
    task = episodes.current_task(env)  # a MultiTask shows its current member
    columns = machine.columns()[env]
    # Fixed-width fields, so that every frame of an episode has the same size (video needs that).
    limit = int(episodes.step_limit[env])
    step = f"{int(episodes.steps[env]):>{len(str(limit))}}/{limit}"
    last = f"{instruction_name(int(episodes.last_action[env])):<{_NAME_WIDTH}}"
    shown_reward = "" if reward is None else f"{reward:+.3f}"
    header = f"{task.name}  step {step}  last: {last}  reward {shown_reward:>7}"
    label_width = max(len(name) for name in task.rows)
    lines = [header]
    for row, name in enumerate(task.rows):
        cells = machine.scratchpad[env, row, 1:-1]
        extent = int((cells != EDGE).sum())
        pointers = [p for p in range(NUM_POINTERS) if task.pointer_rows[p] == row]
        chars = [SYMBOL_CHARS[symbol] for symbol in cells[:extent].tolist()]
        under = {int(columns[p]) for p in pointers}  # the columns of this row's pointers
        text = [f"[{char}]" if column in under else f" {char} " for column, char in enumerate(chars)]
        if task.render_reversed:
            text.reverse()
        marks = " ".join(f"P{p}" for p in pointers)
        lines.append(f"{name:>{label_width}} {''.join(text)}  {marks}")
    values = machine.values[env]
    registers = " ".join(f"R{i}={values[i]:<5}" for i in range(NUM_REGISTERS))
    memory = " ".join(f"M{i}={values[NUM_REGISTERS + i]:<5}" for i in range(NUM_MEMORY))
    carry, compare = values[NUM_REGISTERS + NUM_MEMORY], values[NUM_REGISTERS + NUM_MEMORY + 1]
    lines.append(f"{registers} {memory} C={carry:<5} CMP={compare:<2}")
    return "\n".join(lines)


_NAME_WIDTH = max(len(ins.name) for ins in INSTRUCTIONS)


def render_rgb(text: str) -> np.ndarray:
    """The text frame as an RGB image (H, W, 3) uint8."""
    return text_to_rgb(text)
