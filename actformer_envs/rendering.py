"""Rendering of one environment: a text frame (``ansi``) and a picture of the same fields (``rgb_array``).

Both frames are drawn from one :class:`FrameFields`, computed once by :func:`frame_fields`: the header
(task, step/limit, last instruction, reward), each scratchpad row as shown (its cells, the pointers
bound to it and the cells they stand on) and the footer (registers, memory, carry, compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actformer_envs.episodes import Episodes
from actformer_envs.instructions import (
    INSTRUCTIONS,
    NUM_MEMORY,
    NUM_POINTERS,
    NUM_REGISTERS,
    instruction_name,
)
from actformer_envs.raster import (
    BACKGROUND,
    CELL_H,
    CELL_W,
    FOREGROUND,
    centred_glyphs,
    draw_text,
    glyph_indices,
    pixel,
    pixels,
)
from actformer_envs.symbols import BLANK, EDGE, SYMBOL_CHARS
from actformer_envs.tasks import Task

_NAME_WIDTH = max(len(ins.name) for ins in INSTRUCTIONS)
_SYMBOL_BYTES = np.frombuffer(SYMBOL_CHARS.encode("ascii"), dtype=np.uint8)


@dataclass(frozen=True)
class RowFields:
    """One scratchpad row as the frames show it."""

    name: str
    chars: str  # the row's cells up to its extent, one character each, left to right as shown
    pointers: tuple[int, ...]  # the pointers bound to the row
    under: dict[int, tuple[int, ...]]  # shown position -> the pointers standing on that cell

    @property
    def marks(self) -> str:
        """The names of the row's pointers, as written next to it."""
        return pointer_marks(self.pointers)


def row_pointers(task: Task, row: int) -> tuple[int, ...]:
    """The pointers ``task`` binds to row ``row``."""
    return tuple(p for p in range(NUM_POINTERS) if task.pointer_rows[p] == row)


def pointer_marks(pointers: tuple[int, ...]) -> str:
    """The names of ``pointers``, as written next to their row: ``"P0 P2"``."""
    return " ".join(f"P{p}" for p in pointers)


@dataclass(frozen=True)
class FrameFields:
    """Everything a frame shows, as fixed-width text fields (so every frame of an episode has one
    size, as a video needs)."""

    task: str
    step: str  # "steps/limit", the steps right-aligned to the limit's width
    last: str  # the last instruction's name, padded to the longest name
    reward: str  # the last reward, 7 characters ("" before any)
    label_width: int  # the longest row name of the task
    rows: tuple[RowFields, ...]
    registers: tuple[str, ...]  # "R0=6    ", ...
    memory: tuple[str, ...]  # "M0=0    ", ...
    carry: str  # "C=0    "
    compare: str  # "CMP=0 "

    @property
    def header(self) -> tuple[str, str]:
        """The header's two halves: task and step; last instruction and reward."""
        return f"{self.task}  step {self.step}", f"last: {self.last}  reward {self.reward}"

    @property
    def footer(self) -> str:
        """Registers, memory, carry and compare on one line."""
        return f"{' '.join(self.registers)} {' '.join(self.memory)} {self.carry} {self.compare}"

    @property
    def footer_lines(self) -> tuple[str, str]:
        """The footer as two lines whose fields line up: registers and carry; memory and compare."""
        return f"{' '.join(self.registers)} {self.carry}", f"{' '.join(self.memory)} {self.compare}"


def frame_fields(episodes: Episodes, env: int, reward: float | None = None) -> FrameFields:
    """The fields of env ``env``'s frame (``reward``: the last step's, None before any).

    Numbers are stored least significant digit first; tasks that hold numbers
    (``task.render_reversed``) are shown the way people read them, most significant digit on the left.
    """
    machine = episodes.machine
    task = episodes.current_task(env)  # a MultiTask shows its current member
    columns = machine.columns()[env]
    limit = int(episodes.step_limit[env])
    shown_reward = "" if reward is None else f"{reward:+.3f}"
    rows = []
    for row, name in enumerate(task.rows):
        cells = machine.scratchpad[env, row, 1:-1]
        extent = int((cells != EDGE).sum())
        chars = _SYMBOL_BYTES[cells[:extent]].tobytes().decode("ascii")
        pointers = row_pointers(task, row)
        under: dict[int, tuple[int, ...]] = {}
        for p in pointers:
            column = int(columns[p])
            position = extent - 1 - column if task.render_reversed else column
            under[position] = (*under.get(position, ()), p)
        rows.append(RowFields(name, chars[::-1] if task.render_reversed else chars, pointers, under))
    values = machine.values[env]
    carry, compare = values[NUM_REGISTERS + NUM_MEMORY], values[NUM_REGISTERS + NUM_MEMORY + 1]
    return FrameFields(
        task=task.name,
        step=f"{int(episodes.steps[env]):>{len(str(limit))}}/{limit}",
        last=f"{instruction_name(int(episodes.last_action[env])):<{_NAME_WIDTH}}",
        reward=f"{shown_reward:>7}",
        label_width=max(len(name) for name in task.rows),
        rows=tuple(rows),
        registers=tuple(f"R{i}={values[i]:<5}" for i in range(NUM_REGISTERS)),
        memory=tuple(f"M{i}={values[NUM_REGISTERS + i]:<5}" for i in range(NUM_MEMORY)),
        carry=f"C={carry:<5}",
        compare=f"CMP={compare:<2}",
    )


# -- ansi ----------------------------------------------------------------------------------------


def render_text(episodes: Episodes, env: int, reward: float | None = None) -> str:
    """The scratchpad with the cell under each pointer in brackets, then registers and flags."""
    fields = frame_fields(episodes, env, reward)
    lines = ["  ".join(fields.header)]
    for row in fields.rows:
        text = "".join(f"[{c}]" if i in row.under else f" {c} " for i, c in enumerate(row.chars))
        lines.append(f"{row.name:>{fields.label_width}} {text}  {row.marks}")
    lines.append(fields.footer)
    return "\n".join(lines)


# -- rgb_array -----------------------------------------------------------------------------------

#: Text is the raster font at this scale: characters of CHAR_W x LINE_H pixels (glyphs 10 x 14).
SCALE = 2
CHAR_W, LINE_H = CELL_W * SCALE, CELL_H * SCALE
CELL = 26  #: side of a scratchpad cell, in pixels, its 1-pixel border included
ROW_GAP = 8  #: background between consecutive scratchpad rows
PAD = 12  #: margin around the picture
LINE_PITCH = LINE_H + 4  #: from one text line to the next
LEGEND_PITCH = 5 * CHAR_W  #: from one legend entry to the next
SWATCH = 14  #: side of a legend entry's colour square
BLOCK_GAP = 10  #: between the header and the rows, and the rows and the footer

TEXT = FOREGROUND
DIM = np.array([120, 126, 140], dtype=np.uint8)  # a BLANK cell's dot, so that digits stand out
CELL_FILL = np.array([40, 44, 56], dtype=np.uint8)
GRID = np.array([118, 126, 146], dtype=np.uint8)
INK = np.array([0, 0, 0], dtype=np.uint8)  # a symbol on a pointer's colour
#: The colour of each pointer P0..P3: Okabe-Ito's orange, sky blue, bluish green and reddish purple,
#: which stay distinct under the common colour-vision deficiencies. (4, 3) uint8, read-only.
POINTER_COLORS = np.array([[230, 159, 0], [86, 180, 233], [0, 158, 115], [204, 121, 167]], dtype=np.uint8)
POINTER_COLORS.flags.writeable = False

_GLYPHS = centred_glyphs(CELL, SCALE)  # (glyphs, CELL, CELL) bool
_BLANK_GLYPH = int(glyph_indices(SYMBOL_CHARS[BLANK])[0])
_CELL_PIXELS = np.empty((CELL, CELL, 3), dtype=np.uint8)  # an empty cell: border and fill
_CELL_PIXELS[:] = GRID
_CELL_PIXELS[1:-1, 1:-1] = CELL_FILL
_EMPTY_CELL = pixels(_CELL_PIXELS)
_POINTER_PIXELS = [pixel(color) for color in POINTER_COLORS]
_TEXT_PIXEL, _DIM_PIXEL, _INK_PIXEL = map(pixel, (TEXT, DIM, INK))
_GRID_TOP = PAD + 3 * LINE_PITCH + BLOCK_GAP - (LINE_PITCH - LINE_H)  # below the header and legend
_TEXT_IN_CELL = (CELL - (LINE_H - 2 * SCALE)) // 2  # a text line's offset that centres it on a cell


def grid_origin(episodes: Episodes) -> tuple[int, int]:
    """The pixel (y, x) of the top-left corner of the first cell of the first row; the cell at shown
    position ``i`` of row ``r`` starts at ``(y + r * (CELL + ROW_GAP), x + i * CELL)``.

    The same for every episode of the env: it leaves room for the row names of all a MultiTask's
    members.
    """
    label_width = max(len(name) for task in episodes.mixture.members for name in task.rows)
    return _GRID_TOP, PAD + label_width * CHAR_W + CHAR_W // 2


def frame_size(episodes: Episodes, fields: FrameFields) -> tuple[int, int]:
    """(height, width) of the picture, both even (video encoders such as libx264 want that).

    Room for every row the env's problems may fill (the scratchpad's width and rows, the row and
    task names of all a MultiTask's members), and the text's fixed-width fields: every frame of an
    episode has this size, and so do those of all episodes whose step limits have as many digits.
    """
    members = episodes.mixture.members
    marks = max(
        len(pointer_marks(row_pointers(task, row))) for task in members for row in range(len(task.rows))
    )
    _, left = grid_origin(episodes)
    grid = left + episodes.width * CELL + CHAR_W + marks * CHAR_W
    longer_name = max(len(task.name) for task in members) - len(fields.task)
    header, last = fields.header
    text = max(len(header) + longer_name, len(last), *map(len, fields.footer_lines)) * CHAR_W
    width = max(grid, PAD + text, PAD + NUM_POINTERS * LEGEND_PITCH) + PAD
    height = _footer_top(episodes) + 2 * LINE_PITCH + PAD
    return height + height % 2, width + width % 2


def render_rgb(episodes: Episodes, env: int, reward: float | None = None) -> np.ndarray:
    """Env ``env``'s frame as a picture, (H, W, 3) uint8 (:func:`frame_size`).

    From the top: the header (task and step; last instruction and reward), a legend of the
    pointers' colours, each scratchpad row as a row of bordered square cells with its name on the
    left and its pointers' names (in their colours) on the right, the cell under a pointer filled
    with its colour, and the footer (registers and carry; memory and compare).
    """
    fields = frame_fields(episodes, env, reward)
    height, width = frame_size(episodes, fields)
    image = np.empty((height, width, 3), dtype=np.uint8)
    # The background: one row of it copied down (a colour would broadcast 3 bytes a pixel, slower).
    image[:] = np.tile(BACKGROUND, (width, 1))
    canvas = pixels(image)
    for i, line in enumerate(fields.header):
        draw_text(image, PAD + i * LINE_PITCH, PAD, line, TEXT, SCALE)
    y = PAD + 2 * LINE_PITCH
    for p in range(NUM_POINTERS):
        x = PAD + p * LEGEND_PITCH
        canvas[y : y + SWATCH, x : x + SWATCH] = _POINTER_PIXELS[p]
        draw_text(image, y, x + SWATCH + CHAR_W // 2, f"P{p}", TEXT, SCALE)
    top, left = grid_origin(episodes)
    for row in fields.rows:
        y = top + _TEXT_IN_CELL
        draw_text(image, y, left - CHAR_W // 2 - len(row.name) * CHAR_W, row.name, TEXT, SCALE)
        _draw_cells(canvas, top, left, row)
        x = left + len(row.chars) * CELL + CHAR_W
        for i, p in enumerate(row.pointers):  # (each name where ``row.marks`` writes it)
            draw_text(image, y, x + 3 * i * CHAR_W, f"P{p}", POINTER_COLORS[p], SCALE)
        top += CELL + ROW_GAP
    for i, line in enumerate(fields.footer_lines):
        draw_text(image, _footer_top(episodes) + i * LINE_PITCH, PAD, line, TEXT, SCALE)
    return image


def _footer_top(episodes: Episodes) -> int:
    """The pixel row where the footer starts: below room for the env's most rows."""
    return _GRID_TOP + episodes.mixture.rows * (CELL + ROW_GAP) - ROW_GAP + BLOCK_GAP


def _draw_cells(canvas: np.ndarray, top: int, left: int, row: RowFields) -> None:
    """Draw ``row``'s cells into ``canvas`` (:func:`pixels`) from pixel (top, left): a bordered square
    each, its symbol centred (a BLANK's dot dimmed); a cell under pointers is filled with their
    colours, side by side when several share it, its symbol in black."""
    n = len(row.chars)
    if n == 0:
        return
    glyphs = glyph_indices(row.chars)
    strip = np.tile(_EMPTY_CELL, (1, n)).reshape(CELL, n, CELL)
    lit = _GLYPHS[glyphs].transpose(1, 0, 2)  # (CELL, n, CELL)
    blank = glyphs == _BLANK_GLYPH
    if blank.any():
        colors = np.where(blank, _DIM_PIXEL, _TEXT_PIXEL)
        np.copyto(strip, colors[None, :, None], where=lit)
    else:
        strip[lit] = _TEXT_PIXEL
    for position, pointers in row.under.items():
        if not 0 <= position < n:  # (a pointer stands on a shown cell; nothing to draw otherwise)
            continue
        cell = strip[:, position]
        shares = len(pointers)  # stripe k: from 1 + round(k * inner / shares), up to the next
        bounds = [1 + round(k * (CELL - 2) / shares) for k in range(shares + 1)]
        for p, start, stop in zip(pointers, bounds[:-1], bounds[1:], strict=True):
            cell[1:-1, start:stop] = _POINTER_PIXELS[p]
        cell[_GLYPHS[glyphs[position]]] = _INK_PIXEL
    canvas[top : top + CELL, left : left + n * CELL] = strip.reshape(CELL, n * CELL)
