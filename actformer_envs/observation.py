"""The observation's layout, named once: its fields, where each pointer's cells and flags lie, and a
view that reads them by meaning.

Every env observes a ``Dict`` (see :func:`observation_space`). Its arrays are flat, so positions
carry meaning: ``symbols`` holds, for each pointer P0..P3 in turn, the cells left of, under and right
of it (:data:`WINDOW`); ``boundaries`` holds, per pointer, whether it is at the start and at the end
of its row; ``flags`` holds the carry, then the compare result. This module is the one place that
knows these positions. Experts, policies and agents of your own read an observation through
:class:`ObservationView` (``view.under(P0)``, ``view.at_end(P2)``, ``view.carry``) or size their
inputs from the constants here, so a change of layout is a change of this file alone::

    view = ObservationView(observation)          # batched (arrays with a leading axis) or single
    done = (view.under(P0) == BLANK) & (view.carry == 0)

The view indexes and slices only, so it costs no copy and works on NumPy arrays and torch tensors
alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

from actformer_envs.instructions import NUM_ACTIONS, NUM_MEMORY, NUM_POINTERS, NUM_REGISTERS, VALUE_LIMIT
from actformer_envs.machine import WINDOW
from actformer_envs.symbols import NUM_SYMBOLS, NUM_TASK_IDS

if TYPE_CHECKING:
    from actformer_envs.config import EnvConfig
    from actformer_envs.tasks.mixture import Mixture

__all__ = [
    "ACTION_VALUES",
    "AT_END",
    "AT_START",
    "BOUNDARY_STATES",
    "CARRY",
    "COMPARE",
    "EDGES",
    "FIELDS",
    "LEFT",
    "NUM_FLAGS",
    "NUM_VALUES",
    "P0",
    "P1",
    "P2",
    "P3",
    "POINTERS",
    "RIGHT",
    "UNDER",
    "VALUE_FIELDS",
    "WINDOW",
    "WINDOW_SIZE",
    "ObservationView",
    "field_entries",
    "observation_space",
]

#: Every field an observation may hold, in the space's order. ``history`` is there when
#: ``history_length > 0``; ``task`` for a MultiTask; ``scratchpad`` and ``pointers`` with
#: ``obs_mode="full"``.
FIELDS = (
    "symbols",
    "boundaries",
    "registers",
    "memory",
    "flags",
    "last_action",
    "history",
    "task",
    "scratchpad",
    "pointers",
)

#: The pointers, by name (``view.under(P2)``): their index in ``symbols`` and ``boundaries``.
P0, P1, P2, P3 = range(NUM_POINTERS)
POINTERS = tuple(range(NUM_POINTERS))

# ``WINDOW`` (re-exported from the machine, which fills it): the column offsets of the cells the
# observation shows around each pointer. A pointer's cells are ``WINDOW_SIZE`` consecutive entries
# of ``symbols``, in this order:
WINDOW_SIZE = len(WINDOW)
#: Positions in a pointer's window: the cell left of it, under it, right of it.
LEFT, UNDER, RIGHT = (WINDOW.tolist().index(offset) for offset in (-1, 0, 1))

#: Entries per pointer in ``boundaries``: at the start of its row, at its end (EDGE beside it).
EDGES = 2
#: Positions in a pointer's ``boundaries`` pair.
AT_START, AT_END = 0, 1
#: The combinations of one pointer's two boundary flags (what a policy embeds per pointer).
BOUNDARY_STATES = 2**EDGES

#: Positions in ``flags``: the carry (set by CARRY, consumed by ADD/SUB/MUL), the compare result.
CARRY, COMPARE = 0, 1
NUM_FLAGS = 2

#: The fields of the value file, in order; together they hold ``NUM_VALUES`` small integers.
VALUE_FIELDS = ("registers", "memory", "flags")
NUM_VALUES = NUM_REGISTERS + NUM_MEMORY + NUM_FLAGS

#: The values ``last_action`` and ``history`` entries take: every action, and ``NO_ACTION``.
ACTION_VALUES = NUM_ACTIONS + 1


def observation_space(mixture: Mixture, config: EnvConfig) -> spaces.Dict:
    """The observation space of one environment under ``config`` whose problems are ``mixture``'s
    (``env.unwrapped.mixture``): ``task`` is there if it draws a member per problem (a MultiTask's),
    and ``scratchpad`` has the rows of the member with the most."""
    fields: dict[str, spaces.Space[Any]] = {
        # int16, not int8: libraries sum nvec in its own dtype (SB3 sizes its one-hot encoding so).
        "symbols": spaces.MultiDiscrete(np.full(NUM_POINTERS * WINDOW_SIZE, NUM_SYMBOLS), dtype=np.int16),
        "boundaries": spaces.MultiBinary(NUM_POINTERS * EDGES),
        "registers": spaces.Box(-VALUE_LIMIT, VALUE_LIMIT, (NUM_REGISTERS,), np.int32),
        "memory": spaces.Box(-VALUE_LIMIT, VALUE_LIMIT, (NUM_MEMORY,), np.int32),
        "flags": spaces.Box(
            low=np.array([-VALUE_LIMIT, -1]), high=np.array([VALUE_LIMIT, 1]), dtype=np.int32
        ),
        "last_action": spaces.Discrete(ACTION_VALUES),
    }
    if config.history_length:
        fields["history"] = spaces.MultiDiscrete(
            np.full(config.history_length, ACTION_VALUES), dtype=np.int16
        )
    if mixture.draws_member:
        fields["task"] = spaces.Discrete(NUM_TASK_IDS)
    if config.obs_mode == "full":
        width = mixture.width(config.max_length)
        fields["scratchpad"] = spaces.Box(0, NUM_SYMBOLS - 1, (mixture.rows, width), np.int8)
        fields["pointers"] = spaces.Box(0, width - 1, (NUM_POINTERS,), np.int64)
    return spaces.Dict(fields)


def field_entries(key: str, size: int) -> list[str]:
    """A name for each entry of field ``key`` (``size`` entries, flattened), by meaning:
    ``symbols[P0.left]``, ``boundaries[P2.end]``, ``registers[R1]``, ``memory[M0]``, ``flags[carry]``,
    ``last_action``, ``history[-1]`` (the newest action; ``history[-8]`` the oldest of eight),
    ``task``, then ``key[i]`` for any other (``scratchpad``, ``pointers``)."""
    if key == "symbols":
        cells = {LEFT: "left", UNDER: "under", RIGHT: "right"}
        return [f"symbols[P{i // WINDOW_SIZE}.{cells[i % WINDOW_SIZE]}]" for i in range(size)]
    if key == "boundaries":
        return [f"boundaries[P{i // EDGES}.{('start', 'end')[i % EDGES]}]" for i in range(size)]
    if key in ("registers", "memory"):
        return [f"{key}[{key[0].upper()}{i}]" for i in range(size)]
    if key == "flags":
        return [f"flags[{('carry', 'compare')[i]}]" if i < NUM_FLAGS else f"flags[{i}]" for i in range(size)]
    if key == "history":
        return [f"history[{i - size}]" for i in range(size)]
    if size == 1:
        return [key]
    return [f"{key}[{i}]" for i in range(size)]


class ObservationView:
    """An observation's fields by meaning: ``view.under(P0)``, ``view.at_end(P2)``, ``view.carry``.

    Wraps one observation dict, batched (every array with a leading batch axis, as a vector env
    returns) or single (as ``ActformerEnv`` returns). Every accessor indexes the last axis only, so
    it returns a view of the observation's own array (no copy), keeps the dtype and the batch axes,
    and works the same on NumPy arrays and torch tensors. Fields the observation lacks (``history``,
    ``task``, ``scratchpad``, ``pointers``) raise ``KeyError`` when read.
    """

    __slots__ = ("observation",)

    def __init__(self, observation: Mapping[str, Any]) -> None:
        self.observation = observation

    # -- the cells around the pointers -----------------------------------------------------------

    @property
    def symbols(self) -> Any:
        """The whole window field, (..., NUM_POINTERS * WINDOW_SIZE): pointer by pointer, each
        pointer's cells left, under, right."""
        return self.observation["symbols"]

    @property
    def windows(self) -> Any:
        """The windows as (..., NUM_POINTERS, WINDOW_SIZE): ``windows[..., p, UNDER]`` is the cell
        under pointer ``p``."""
        symbols = self.observation["symbols"]
        return symbols.reshape(*symbols.shape[:-1], NUM_POINTERS, WINDOW_SIZE)

    def window(self, pointer: int) -> Any:
        """Pointer ``pointer``'s cells (..., WINDOW_SIZE): left of it, under it, right of it."""
        start = pointer * WINDOW_SIZE
        return self.observation["symbols"][..., start : start + WINDOW_SIZE]

    def cell(self, pointer: int, position: int) -> Any:
        """The symbol at ``position`` (``LEFT``, ``UNDER`` or ``RIGHT``) of ``pointer``'s window."""
        return self.observation["symbols"][..., pointer * WINDOW_SIZE + position]

    def left(self, pointer: int) -> Any:
        """The symbol left of ``pointer`` (EDGE at the start of its row), (...)."""
        return self.cell(pointer, LEFT)

    def under(self, pointer: int) -> Any:
        """The symbol under ``pointer``, (...): a digit or BLANK (EDGE for a pointer the task
        leaves unused)."""
        return self.cell(pointer, UNDER)

    def right(self, pointer: int) -> Any:
        """The symbol right of ``pointer`` (EDGE at the end of its row), (...)."""
        return self.cell(pointer, RIGHT)

    @property
    def lefts(self) -> Any:
        """The symbol left of every pointer, (..., NUM_POINTERS)."""
        return self.observation["symbols"][..., LEFT::WINDOW_SIZE]

    @property
    def unders(self) -> Any:
        """The symbol under every pointer, (..., NUM_POINTERS)."""
        return self.observation["symbols"][..., UNDER::WINDOW_SIZE]

    @property
    def rights(self) -> Any:
        """The symbol right of every pointer, (..., NUM_POINTERS)."""
        return self.observation["symbols"][..., RIGHT::WINDOW_SIZE]

    # -- where the pointers stand in their rows --------------------------------------------------

    @property
    def boundaries(self) -> Any:
        """The whole boundary field, (..., NUM_POINTERS * EDGES), 0/1: per pointer at start, at end."""
        return self.observation["boundaries"]

    @property
    def edges(self) -> Any:
        """The boundary flags as (..., NUM_POINTERS, EDGES), 0/1: ``edges[..., p, AT_END]``."""
        boundaries = self.observation["boundaries"]
        return boundaries.reshape(*boundaries.shape[:-1], NUM_POINTERS, EDGES)

    def at_start(self, pointer: int) -> Any:
        """Whether ``pointer`` is at column 0 of its row (nothing left of it), (...) bool."""
        return self.observation["boundaries"][..., pointer * EDGES + AT_START] == 1

    def at_end(self, pointer: int) -> Any:
        """Whether ``pointer`` is at the last column of its row (nothing right of it), (...) bool."""
        return self.observation["boundaries"][..., pointer * EDGES + AT_END] == 1

    # -- the value file ----------------------------------------------------------------------------

    @property
    def registers(self) -> Any:
        """R0..R3, (..., NUM_REGISTERS)."""
        return self.observation["registers"]

    def register(self, index: int) -> Any:
        """Register R``index``, (...)."""
        return self.observation["registers"][..., index]

    @property
    def memory(self) -> Any:
        """M0..M3, (..., NUM_MEMORY)."""
        return self.observation["memory"]

    def memory_slot(self, index: int) -> Any:
        """Memory slot M``index``, (...)."""
        return self.observation["memory"][..., index]

    @property
    def flags(self) -> Any:
        """The carry and the compare result, (..., NUM_FLAGS)."""
        return self.observation["flags"]

    @property
    def carry(self) -> Any:
        """The carry C, (...): set by CARRY, consumed by ADD/SUB/MUL."""
        return self.observation["flags"][..., CARRY]

    @property
    def compare(self) -> Any:
        """The compare result CMP, (...): -1, 0 or +1 (the sign of the last CMP's Ra - Rb)."""
        return self.observation["flags"][..., COMPARE]

    def value_fields(self) -> tuple[Any, Any, Any]:
        """(registers, memory, flags): the value file's fields in order, ``NUM_VALUES`` in all."""
        return self.registers, self.memory, self.flags

    # -- actions and the rest --------------------------------------------------------------------

    @property
    def last_action(self) -> Any:
        """The action executed last, (...); ``NO_ACTION`` right after reset."""
        return self.observation["last_action"]

    @property
    def history(self) -> Any:
        """The last ``history_length`` actions, oldest first, (..., history_length)."""
        return self.observation["history"]

    @property
    def task(self) -> Any:
        """A MultiTask's task id of each environment, (...)."""
        return self.observation["task"]

    @property
    def scratchpad(self) -> Any:
        """``obs_mode="full"``: the whole scratchpad, (..., rows, width)."""
        return self.observation["scratchpad"]

    @property
    def pointers(self) -> Any:
        """``obs_mode="full"``: each pointer's column, (..., NUM_POINTERS)."""
        return self.observation["pointers"]
