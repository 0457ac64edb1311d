"""The ``rgb_array`` picture: its layout, pointer colours, fixed size, and a real video of it."""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import RecordVideo
from moviepy import VideoFileClip  # (RecordVideo writes with moviepy: its absence fails, never skips)

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.raster import GLYPH_H, GLYPH_W, centred_glyphs, glyph_indices
from actformer_envs.rendering import (
    BACKGROUND,
    CELL,
    CELL_FILL,
    GRID,
    INK,
    POINTER_COLORS,
    ROW_GAP,
    SCALE,
    TEXT,
    grid_origin,
)
from actformer_envs.symbols import EDGE, SYMBOL_CHARS

TASKS = ["Addition", "Multiplication", "Sort", "Expression", "MultiTask"]


def _is(image: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Where ``image`` has exactly ``color``, (H, W) bool."""
    return np.all(image == color, axis=-1)


def _expert_frames(env: gym.Env, **reset_kwargs: object) -> list[tuple[np.ndarray, dict]]:
    """Every frame of one expert episode (the reset's and each step's), with its observation."""
    obs, _ = env.reset(**reset_kwargs)
    frames = [(env.render(), obs)]
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        frames.append((env.render(), obs))
        if "pointers" in obs:  # (the machine's own columns, as the observation shows them)
            assert np.array_equal(obs["pointers"], env.unwrapped._episodes.machine.columns()[0])
        done = terminated or truncated
    return frames


def _shown_rows(env: gym.Env, obs: dict) -> list[tuple[str, dict[int, list[int]]]]:
    """Each row of the current task as the picture should show it, from the full observation: its
    symbols (most significant first for ``render_reversed`` tasks) and which pointers stand on which
    shown position."""
    task = env.unwrapped.current_task
    pointers = obs["pointers"]
    rows = []
    for r in range(len(task.rows)):
        symbols = [int(s) for s in obs["scratchpad"][r] if s != EDGE]
        under: dict[int, list[int]] = {}
        for p, row in enumerate(task.pointer_rows):
            if row == r:
                column = int(pointers[p])
                shown = len(symbols) - 1 - column if task.render_reversed else column
                under.setdefault(shown, []).append(p)
        if task.render_reversed:
            symbols.reverse()
        rows.append(("".join(SYMBOL_CHARS[s] for s in symbols), under))
    return rows


def _cell(frame: np.ndarray, env: gym.Env, row: int, position: int) -> np.ndarray:
    """The (CELL, CELL, 3) pixels of the cell at shown ``position`` of ``row``."""
    top, left = grid_origin(env.unwrapped._episodes)
    y, x = top + row * (CELL + ROW_GAP), left + position * CELL
    return frame[y : y + CELL, x : x + CELL]


@pytest.mark.parametrize("task", TASKS)
def test_frames_are_uint8_of_one_even_shape_over_expert_episodes(task: str) -> None:
    """RecordVideo/moviepy need one frame size: within an episode, and here across episodes of
    several lengths too (the size follows the env, not the problem)."""
    env = gym.make(f"Actformer/{task}-v0", render_mode="rgb_array", obs_mode="full", max_length=5)
    shapes = set()
    for seed, length in enumerate([1, 3, 5]):
        for frame, _ in _expert_frames(env, seed=seed, options={"length": length}):
            assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
            assert frame.ndim == 3 and frame.shape[2] == 3
            shapes.add(frame.shape)
    assert len(shapes) == 1, shapes
    (height, width, _), *_ = shapes
    assert height % 2 == 0 and width % 2 == 0 and height >= 100 and width >= 200


@pytest.mark.parametrize("task", TASKS)
def test_cells_show_the_scratchpad_and_pointers_in_their_colours(task: str) -> None:
    """Each shown cell has a grid border; its symbol is the centred glyph of the observation's symbol
    at that position (reversed for numbers); the cell under a pointer is filled with that pointer's
    colour (several pointers on one cell: side by side, in pointer order), its symbol in black."""
    env = gym.make(f"Actformer/{task}-v0", render_mode="rgb_array", obs_mode="full", max_length=5)
    glyphs = centred_glyphs(CELL, SCALE)
    shared = 0
    frames = _expert_frames(env, seed=1, options={"length": 4})
    for frame, obs in frames[:: max(1, len(frames) // 50)]:  # (some 50 frames: the check is slow)
        for r, (chars, under) in enumerate(_shown_rows(env, obs)):
            for i, char in enumerate(chars):
                cell = _cell(frame, env, r, i)
                assert _is(cell[0], GRID).all() and _is(cell[-1], GRID).all()
                assert _is(cell[:, 0], GRID).all() and _is(cell[:, -1], GRID).all()
                glyph = glyphs[glyph_indices(char)[0]]
                pointers = under.get(i, [])
                ink = INK if pointers else None
                if ink is not None:
                    assert np.array_equal(_is(cell, INK), glyph), (r, i, char)
                else:  # (a BLANK's dot is dimmed: lit is "neither fill nor border")
                    lit = ~_is(cell, CELL_FILL) & ~_is(cell, GRID)
                    assert np.array_equal(lit, glyph), (r, i, char)
                    continue
                shared += len(pointers) > 1
                inner = CELL - 2
                for k, p in enumerate(pointers):  # stripe k starts here; its top rows hold no glyph
                    x = 1 + round(k * inner / len(pointers))
                    assert np.array_equal(cell[2, x + 1], POINTER_COLORS[p]), (r, i, p)
                    assert np.array_equal(cell[-3, x + 1], POINTER_COLORS[p]), (r, i, p)
            # No other cell of the row carries a pointer's colour.
            for i in set(range(len(chars))) - set(under):
                cell = _cell(frame, env, r, i)
                assert not any(_is(cell, color).any() for color in POINTER_COLORS), (r, i)
    if task == "Sort":
        assert shared, "Sort's pointers share a cell at the start: that case must have been drawn"


def test_pointer_colours_are_distinct_from_each_other_and_the_picture() -> None:
    colors = [tuple(c) for c in POINTER_COLORS]
    assert len(set(colors)) == 4
    for other in (BACKGROUND, CELL_FILL, GRID, TEXT, INK):
        assert tuple(other) not in colors
    # Distinct enough to tell apart at a glance: no two within 60 of each other in every channel.
    for a in range(4):
        for b in range(a + 1, 4):
            assert np.abs(POINTER_COLORS[a].astype(int) - POINTER_COLORS[b].astype(int)).max() >= 60


@pytest.mark.parametrize("task", ["Addition", "Sort", "Expression"])
def test_legend_and_row_marks_show_each_pointer_colour(task: str) -> None:
    """Every pointer's colour appears outside the cells too: in the legend above the rows (all four)
    and right of each row's cells, in the names of that row's pointers (and no others)."""
    env = gym.make(f"Actformer/{task}-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    top, left = grid_origin(env.unwrapped._episodes)
    for color in POINTER_COLORS:
        assert _is(frame[:top], color).sum() >= 100  # a swatch
    current = env.unwrapped.current_task
    scratchpad = env.unwrapped._episodes.machine.scratchpad[0, :, 1:-1]
    for r in range(len(current.rows)):
        y, extent = top + r * (CELL + ROW_GAP), int((scratchpad[r] != EDGE).sum())
        marks = frame[y : y + CELL, left + extent * CELL :]
        for p, row in enumerate(current.pointer_rows):
            assert _is(marks, POINTER_COLORS[p]).any() == (row == r), (r, p)


@pytest.mark.parametrize("task", ["Addition", "Expression", "Sort"])
def test_rows_are_separated_by_background(task: str) -> None:
    """The cells' pixel rows come in one band per scratchpad row, with only background between."""
    env = gym.make(f"Actformer/{task}-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    _, left = grid_origin(env.unwrapped._episodes)
    rows = len(env.unwrapped.current_task.rows)
    grid = frame[:, left:]
    has_border = _is(grid, GRID).any(axis=1)
    edges = np.diff(has_border.astype(int))
    starts, stops = (edges == 1).nonzero()[0] + 1, (edges == -1).nonzero()[0] + 1
    assert len(starts) == len(stops) == rows
    assert np.array_equal(stops - starts, np.full(rows, CELL))
    for stop, start in zip(stops[:-1], starts[1:], strict=True):
        assert start - stop >= 4
        assert _is(frame[stop:start, left:], BACKGROUND).all()


def test_vector_env_frames_equal_single_env_frames() -> None:
    vec = gym.make_vec(
        "Actformer/Multiplication-v0", 3, vectorization_mode="vector_entry_point", render_mode="rgb_array"
    )
    singles = [gym.make("Actformer/Multiplication-v0", render_mode="rgb_array") for _ in range(3)]
    vec.reset(seed=0, options={"length": 3})
    for i, env in enumerate(singles):
        env.reset(seed=i, options={"length": 3})
    for _ in range(8):
        actions = vec.unwrapped.expert_action()
        vec.step(actions)
        for env, action in zip(singles, actions, strict=True):
            env.step(int(action))
        frames = vec.render()
        assert len(frames) == 3
        for frame, env in zip(frames, singles, strict=True):
            assert np.array_equal(frame, env.render())


def test_rgb_frame_is_fast_and_works_for_a_thousand_digits() -> None:
    """A 3-digit Addition frame takes about a millisecond (bound here loosely, for slow CI machines);
    a 1000-digit one is wide but drawn in well under a second, its pointer cells coloured."""
    env = gym.make("Actformer/Addition-v0", render_mode="rgb_array", obs_mode="full")
    env.reset(seed=0, options={"length": 3})
    env.render()
    start = time.perf_counter()
    for _ in range(20):
        env.render()
    assert (time.perf_counter() - start) / 20 < 0.02
    env = gym.make("Actformer/Addition-v0", render_mode="rgb_array", obs_mode="full", max_length=1000)
    obs, _ = env.reset(seed=0, options={"length": 1000})
    for _ in range(5):
        obs, *_ = env.step(env.unwrapped.expert_action())
    start = time.perf_counter()
    frame = env.render()
    assert time.perf_counter() - start < 1.0
    assert frame.dtype == np.uint8 and frame.shape[1] > 1000 * CELL
    for r, (chars, under) in enumerate(_shown_rows(env, obs)):
        assert len(chars) == 1001
        for i, pointers in under.items():
            assert np.array_equal(_cell(frame, env, r, i)[2, 2], POINTER_COLORS[pointers[0]])


def test_glyphs_fit_their_cells() -> None:
    assert GLYPH_H * SCALE <= CELL - 2 and GLYPH_W * SCALE <= CELL - 2


def test_record_video_writes_an_mp4_of_an_expert_episode(tmp_path: Path) -> None:
    env = RecordVideo(
        gym.make("Actformer/Addition-v0", render_mode="rgb_array", max_length=4),
        video_folder=str(tmp_path / "videos"),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    env.reset(seed=0, options={"length": 4})
    done, steps = False, 0
    while not done:
        _, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        done, steps = terminated or truncated, steps + 1
    env.close()
    videos = sorted((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1, sorted((tmp_path / "videos").iterdir())
    assert videos[0].stat().st_size > 1000 and steps > 5
    clip = VideoFileClip(str(videos[0]))  # a playable video of the frames: their size, one per step
    try:
        height, width, _ = env.render().shape
        assert list(clip.size) == [width, height]
        fps = env.metadata["render_fps"]
        assert clip.duration == pytest.approx((steps + 1) / fps, abs=1.5 / fps)
    finally:
        clip.close()
