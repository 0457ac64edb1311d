"""The machine: the working memory of a batch of environments, and the interpreter that runs it.

One implementation serves every face: the single env is this code at batch size 1, the vector env
at batch size N. The interpreter groups the batch by instruction family and runs each family's
handler once on the environments that issued it, so a step costs a bounded number of NumPy calls
whatever the batch size.

Every per-step access picks a few environments out of the batch, so it is written in the forms
NumPy runs fastest: ``take`` and 1-D index arrays on flat views, and whole rows moved as opaque
items (:func:`row_items`). Two-dimensional fancy indexing, or broadcasting over a short last axis,
pays NumPy's per-inner-loop overhead once per environment and would cost several times more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from actformer_envs.instructions import (
    CARRY_SLOT,
    COMPARE_SLOT,
    CONSTANT,
    INSTRUCTIONS,
    NUM_ACTIONS,
    NUM_POINTERS,
    NUM_SLOTS,
    OPCODES,
    OPERANDS,
    UNDER_SLOTS,
    VALUE_LIMIT,
    Op,
)
from actformer_envs.state import array_state, load_array_state
from actformer_envs.symbols import BLANK, EDGE, SYMBOL_VALUE

#: Window of cells the observation shows around each pointer: left neighbour, under, right.
WINDOW = np.array([-1, 0, 1])
#: The target of every cell off the output row: EDGE, which no instruction writes and no written
#: cell holds, so scoring a write needs no test of whether the cell is scored.
_NO_TARGET = EDGE


class Layout(NamedTuple):
    """What the machine needs to know of a task: where pointers start and the answer goes, what runs."""

    pointer_rows: tuple[int | None, ...]  # the row of each pointer, None = unused
    output_row: int
    base: int
    allowed: np.ndarray  # (actions,) bool: the task's action mask


class Machine:
    """Scratchpad, pointers and value file of ``batch`` environments.

    The scratchpad carries one EDGE column on each side and an all-EDGE *void* row where unused
    pointers rest, so every window read stays in bounds and a pointer never moves onto EDGE. A
    pointer is stored as its flat index into the scratchpad (its *cursor*). What the pointers see
    (``symbols``, ``boundaries``, the U slots) is recomputed lazily, once per step, by :meth:`sync`.
    """

    def __init__(
        self,
        batch: int,
        rows: int,
        width: int,
        layouts: tuple[Layout, ...],
    ) -> None:
        """``layouts``: what may differ between the tasks of the batch (one entry for a plain task;
        one per member for a MultiTask); :meth:`load` says which one each environment uses."""
        self.batch, self.rows, self.width = batch, rows, width
        # A WRITE or SWAP through a pointer the layout leaves unused could only fault (unused
        # pointers rest on the void row): it runs as not allowed, so the handlers need no check.
        runs = [layout.allowed & ~_THROUGH_POINTER[:, _unused(layout)].any(axis=1) for layout in layouts]
        self._family_of = np.where(runs, _FAMILY, _NOT_ALLOWED).astype(np.uint8).reshape(-1)
        self._output_rows = np.array([layout.output_row for layout in layouts], dtype=np.intp)
        bases = {layout.base for layout in layouts}
        # One base for the batch (a plain task's case: a 0-d operand, see ``constant``), or one per env.
        self.base = constant(bases.pop(), np.int32) if len(bases) == 1 else np.zeros(batch, dtype=np.int32)
        self._bases = np.array([layout.base for layout in layouts], dtype=np.int32)
        shape = (batch, rows + 1, width + 2)
        self.scratchpad = np.full(shape, EDGE, dtype=np.int8)  # (batch, rows + void, width + 2)
        self.target = np.full(shape, _NO_TARGET, dtype=np.int8)  # the exact answer on the output row
        self.values = np.zeros((batch, NUM_SLOTS), dtype=np.int32)  # R0..R3 M0..M3 C CMP U0..U3 Z
        self.symbols = np.zeros((batch, NUM_POINTERS * len(WINDOW)), dtype=np.int8)  # windows
        self.boundaries = np.zeros((batch, NUM_POINTERS * 2), dtype=np.int8)  # at start, at end
        self.wrong = np.zeros(batch, dtype=np.int32)  # output cells that differ from the target
        self.correct = np.zeros(batch, dtype=np.int32)  # target digits written correctly
        self.layout = np.zeros(batch, dtype=np.intp)  # which layout each environment uses
        self._action_offset: np.ndarray | None = None if len(layouts) == 1 else np.zeros(batch, np.intp)
        row_of = np.array(
            [[rows if r is None else r for r in layout.pointer_rows] for layout in layouts], dtype=np.intp
        )
        self._home = row_of * (width + 2) + 1  # (layouts, pointers): cursors at column 0 of env 0
        self._env_stride = (rows + 1) * (width + 2)
        self._env_start = np.arange(batch, dtype=np.intp)[:, None] * self._env_stride
        self.cursors = self._env_start + self._home[0]
        # Each env's output row, in layout 0, as an index into the rows of all envs' scratchpads.
        self._answer_rows = np.arange(batch, dtype=np.intp) * (rows + 1) + self._output_rows[0]
        self._stale: list[np.ndarray] = []  # environments whose view needs recomputing
        self._make_views()

    #: Attributes rebuilt by ``_make_views`` (not pickled).
    _VIEWS = ("_flat", "_flat_target", "_flat_values", "_flat_cursors", "_rows", "_under")
    _VIEWS += ("_zero_values", "_home_cursors", "_cell_rows", "_target_rows", "_unsigned_base")

    def _make_views(self) -> None:
        """Flat and row views of the state arrays, for the hot paths."""
        self._flat = self.scratchpad.reshape(-1)
        self._unsigned_base = self.base.view(np.uint32)
        self._flat_target = self.target.reshape(-1)
        # The rows of all envs' scratchpads (and targets), EDGE borders included, one item each.
        self._cell_rows = row_items(self.scratchpad.reshape(-1, self.width + 2))
        self._target_rows = row_items(self.target.reshape(-1, self.width + 2))
        self._flat_values = self.values.reshape(-1)
        self._flat_cursors = self.cursors.reshape(-1)
        self._rows = {
            name: row_items(getattr(self, name))
            for name in ("scratchpad", "target", "symbols", "boundaries", "cursors", "values")
        }
        self._home_cursors = row_items(self._env_start + self._home[0])  # each env's, in layout 0
        self._zero_values = np.zeros(1, dtype=self._rows["values"].dtype)
        # The U slots of each env's value file, as one opaque item each.
        slot = self.values.itemsize
        under = np.dtype(
            {"names": ["u"], "formats": [_row_dtype(slot * NUM_POINTERS)], "offsets": [slot * UNDER_SLOTS[0]],
             "itemsize": slot * NUM_SLOTS}
        )  # fmt: skip
        self._under = self.values.view(under).reshape(self.batch)["u"]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for view in self._VIEWS:  # rebuilt on unpickling
            del state[view]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    def _state_names(self) -> tuple[str, ...]:
        """The arrays that hold the machine's state (a MultiTask's adds what differs per env)."""
        names = ("scratchpad", "target", "values", "symbols", "boundaries", "wrong", "correct", "layout")
        names += ("cursors",)
        if self._action_offset is not None:
            names += ("_action_offset",)
        if self.base.ndim:  # one base per env
            names += ("base",)
        return names

    def state_dict(self) -> dict[str, np.ndarray]:
        """The machine's state as plain arrays (copies); ``stale``: the envs whose view is due."""
        state = array_state(self, self._state_names())
        state["stale"] = np.concatenate([np.zeros(0, np.intp), *self._stale]).astype(np.intp)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict`` of a machine of the same shape and layouts."""
        load_array_state(self, state, self._state_names(), "machine")
        stale = state.get("stale")
        if not isinstance(stale, np.ndarray) or stale.ndim != 1 or stale.dtype.kind not in "iu":
            raise ValueError("machine state 'stale' must be a 1-D int array")
        if len(stale) and not (stale.min() >= 0 and stale.max() < self.batch):
            raise ValueError(f"machine state 'stale' must hold env indices in [0, {self.batch})")
        self._stale = [stale.astype(np.intp)] if len(stale) else []

    # -- loading problems ----------------------------------------------------------------------

    def load(
        self,
        envs: np.ndarray,
        scratchpad: np.ndarray,
        target: np.ndarray,
        wrong: np.ndarray,
        correct: np.ndarray,
        layout: np.ndarray | None = None,
    ) -> None:
        """Pose problems in ``envs``: the memory images of their scratchpad and target (n,) (from
        :func:`memory_images`), their initial scores (output cells wrong, target digits correct)
        and each one's layout."""
        self._rows["scratchpad"][envs] = scratchpad
        self._rows["target"][envs] = target
        if self._action_offset is None:  # one layout
            self._rows["cursors"][envs] = self._home_cursors.take(envs)
        else:
            self.layout[envs] = layout
            self._action_offset[envs] = layout * NUM_ACTIONS
            if self.base.ndim:
                self.base[envs] = self._bases[layout]
            self.cursors[envs] = self._env_start[envs] + self._home[layout]
        self._rows["values"][envs] = self._zero_values
        self.wrong[envs] = wrong
        self.correct[envs] = correct
        self._stale.append(envs)

    def sync(self) -> None:
        """Recompute what the pointers see, for every environment changed since the last sync."""
        if not self._stale:
            return
        envs = self._stale[0] if len(self._stale) == 1 else np.concatenate(self._stale)
        self._stale = []
        cursors = self._rows["cursors"].take(envs).view(np.intp)  # (n * pointers,)
        cells = self._flat
        left, under, right = cells.take(cursors - _STEP), cells.take(cursors), cells.take(cursors + _STEP)
        # Each result is built in an array of one item per env, then scattered as such.
        symbols = np.empty(len(envs), self._rows["symbols"].dtype)
        window = symbols.view(np.int8).reshape(len(cursors), len(WINDOW))  # (n * pointers, 3)
        window[:, 0], window[:, 1], window[:, 2] = left, under, right
        # A neighbour that is EDGE: the pointer is at the start (left) or the end (right) of its row.
        boundaries = np.empty(len(envs), self._rows["boundaries"].dtype)
        edges = boundaries.view(np.bool_).reshape(len(cursors), 2)  # (0/1 int8 in the machine)
        np.equal(left, _EDGE, out=edges[:, 0])
        np.equal(right, _EDGE, out=edges[:, 1])
        values = SYMBOL_VALUE.take(under).reshape(len(envs), NUM_POINTERS)
        self._rows["symbols"][envs] = symbols
        self._rows["boundaries"][envs] = boundaries
        self._under[envs] = row_items(values)

    def answer_rows(self, envs: np.ndarray) -> np.ndarray:
        """The output rows of ``envs``, then their targets: (2 * n, width), decoded in one batch."""
        if self._action_offset is None:  # one layout
            rows = self._answer_rows.take(envs)
        else:
            rows = envs * (self.rows + 1) + self._output_rows.take(self.layout.take(envs))
        answers = np.empty(2 * len(envs), dtype=self._cell_rows.dtype)
        self._cell_rows.take(rows, out=answers[: len(envs)])
        self._target_rows.take(rows, out=answers[len(envs) :])
        return answers.view(np.int8).reshape(len(answers), -1)[:, 1:-1]

    def columns(self) -> np.ndarray:
        """Column of each pointer on its row, (batch, pointers); 0 for unused pointers."""
        return (self.cursors - self._home[self.layout]) % self._env_stride

    # -- running instructions ------------------------------------------------------------------

    def execute(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run one instruction per environment; returns (executed, halted), bool arrays.

        An instruction the task does not allow is not executed, nor is one that *faults* (a WRITE
        of a value that is not a digit of the base; a WRITE or SWAP through an unused pointer, run
        as not allowed): both leave the machine as it was.
        """
        self.sync()
        # (Actions are checked by the env faces: "clip" skips the bounds check, half the cost.)
        if self._action_offset is None:
            families = self._family_of.take(actions, mode="clip")
        else:
            families = self._family_of.take(self._action_offset + actions, mode="clip")
        executed = families != _FAMILY_CONSTANTS[_NOT_ALLOWED]
        halted = families == _FAMILY_CONSTANTS[_HALT]
        if self.batch == 1:
            family = int(families[0])
            if family <= _HALT:
                return executed, halted
            order, counts = _FIRST, _ONE_OF[family]
        else:  # the envs of each family with a handler, by one sort of those envs
            active = (families > _FAMILY_CONSTANTS[_HALT]).nonzero()[0]
            active_families = families.take(active)
            order = active.take(active_families.argsort(kind="stable"))
            counts = np.bincount(active_families, minlength=len(_HANDLERS)).tolist()
        if not any(counts[_HALT + 1 :]):  # nothing but HALT and not-allowed instructions
            return executed, halted
        # What every handler needs, gathered once for all of them; each takes its slice.
        issued = actions.take(order)
        operands = OPERANDS.take(issued, axis=0)
        every = Group(order, issued, order * _NUM_SLOTS, operands[:, 0], operands[:, 1])
        files, a, b = every.files, every.a, every.b
        end = 0
        for family, n in enumerate(counts):
            end += n
            handler = _HANDLERS[family]
            if n and handler is not None:
                if n == len(order):
                    group = every
                else:
                    rows = slice(end - n, end)
                    group = Group(order[rows], issued[rows], files[rows], a[rows], b[rows])
                faulted = handler(self, group)
                if faulted is not None:
                    executed[faulted] = False
                if family >= _CHANGES_VIEW:
                    self._stale.append(group.envs)
        return executed, halted

    def base_of(self, envs: np.ndarray, unsigned: bool = False) -> np.ndarray:
        """The base of ``envs``: the batch's one base (0-d), or each env's; int32, or uint32 to
        compare with uint32 views (which need no cast then)."""
        base = self._unsigned_base if unsigned else self.base
        return base if base.ndim == 0 else base[envs]

    def _set_cells(self, envs: np.ndarray, cursors: np.ndarray, symbols: np.ndarray, old: np.ndarray) -> None:
        """Write cells, which held ``old``, and keep the output's wrong/correct counts current (one
        cell per env)."""
        self._flat[cursors] = symbols
        target = self._flat_target.take(cursors)
        # A cell counts as wrong where it differs from its target, as correct where it equals a
        # digit target: so the change in correct is minus the change in wrong, on digit targets.
        # Off the output row (target EDGE) both changes are 0.
        more_wrong = np.subtract(symbols != target, old != target, dtype=np.int32)
        self.wrong[envs] += more_wrong
        self.correct[envs] -= more_wrong * (target < _BLANK)


_FIRST = np.zeros(1, dtype=np.intp)


def constant(value: float, dtype: type) -> np.ndarray:
    """``value`` as a read-only 0-d array of ``dtype``: as a ufunc operand it skips the conversion
    that a Python or NumPy scalar costs on every call (about half a call's overhead)."""
    array = np.array(value, dtype=dtype)
    array.flags.writeable = False
    return array


# Operands of the hot path's ufuncs, in the dtypes of the arrays they meet.
_EDGE, _BLANK = constant(EDGE, np.int8), constant(BLANK, np.int8)
_LOWEST, _HIGHEST = constant(-VALUE_LIMIT, np.int32), constant(VALUE_LIMIT, np.int32)
_STEP, _NUM_SLOTS, _NUM_POINTERS = (constant(k, np.intp) for k in (1, NUM_SLOTS, NUM_POINTERS))
_CARRY_SLOT, _COMPARE_SLOT = constant(CARRY_SLOT, np.intp), constant(COMPARE_SLOT, np.intp)


def memory_images(
    scratchpad: np.ndarray, target: np.ndarray, output_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Problems as :meth:`Machine.load` takes them: the machine's scratchpad (EDGE border columns,
    void row) and target (EDGE but on the output row) of each, as one opaque item each (n,).

    ``scratchpad`` (n, rows, width), ``target`` (n, width), ``output_rows`` (n,). Made once per
    problem when it is generated, so a reset copies two items per env.
    """
    n, rows, width = scratchpad.shape
    images = np.full((2, n, rows + 1, width + 2), EDGE, dtype=np.int8)
    images[0, :, :rows, 1:-1] = scratchpad
    if n and output_rows.min() == output_rows.max():  # one output row: slicing, not fancy indexing
        images[1, :, output_rows[0], 1:-1] = target
    else:
        images[1, np.arange(n), output_rows, 1:-1] = target
    return row_items(images[0]), row_items(images[1])


def row_items(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array (n, ...) as a 1-D array of n opaque items, one per row (a view).

    ``row_items(state)[envs] = row_items(rows)`` moves whole rows in one 1-D fancy assignment,
    several times faster than ``state[envs] = rows`` on a 2-D array.
    """
    rows = array.reshape(len(array), -1)
    return rows.view(_row_dtype(rows.shape[1] * rows.itemsize)).reshape(len(array))


def opaque(items: np.ndarray) -> np.ndarray:
    """A 1-D array of records as opaque items of the same size (a view), moved in one copy each."""
    return items.view(_row_dtype(items.itemsize))


@functools.cache
def _row_dtype(size: int) -> np.dtype:
    return np.dtype((np.void, max(size, 1)))


def _clip(x: np.ndarray) -> np.ndarray:
    """Saturate at +-VALUE_LIMIT, in place (two ufunc calls: np.clip's wrapper is slow)."""
    return np.minimum(np.maximum(x, _LOWEST, out=x), _HIGHEST, out=x)


class Group(NamedTuple):
    """The environments that issued instructions of one family, and those instructions."""

    envs: np.ndarray  # (n,) which environments
    actions: np.ndarray  # (n,) the instruction each issued
    files: np.ndarray  # (n,) where each env's value file starts in ``Machine._flat_values``
    a: np.ndarray  # (n,) operand a of each instruction (a slot or a pointer)
    b: np.ndarray  # (n,) operand b (a slot, a pointer or a direction)


def _transfer(m: Machine, g: Group) -> None:
    """READ, LOAD, STORE, CLR, INC, DEC: slot a <- slot b + k (saturating)."""
    values = m._flat_values
    source = values.take(g.files + g.b)
    values[g.files + g.a] = _clip(source + CONSTANT.take(g.actions))


def _arithmetic(combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable:
    def handler(m: Machine, g: Group) -> None:
        """ADD/SUB/MUL: Ra <- Ra (op) Rb + C, then C <- 0 (saturating)."""
        values = m._flat_values
        a, carry = g.files + g.a, g.files + _CARRY_SLOT
        result = combine(values.take(a), values.take(g.files + g.b))
        values[a] = _clip(result + values.take(carry))
        values[carry] = 0

    return handler


def _compare(m: Machine, g: Group) -> None:
    """CMP Ra,Rb: CMP <- sign(Ra - Rb)."""
    values = m._flat_values
    a, b = values.take(g.files + g.a), values.take(g.files + g.b)
    values[g.files + _COMPARE_SLOT] = np.sign(a - b)


def _carry(m: Machine, g: Group) -> None:
    """CARRY Rr: C <- Rr // base, Rr <- Rr mod base (floor division, so a borrow is C = -1)."""
    values = m._flat_values
    a = g.files + g.a
    carry, digit = np.divmod(values.take(a), m.base_of(g.envs))
    values[a] = digit
    values[g.files + _CARRY_SLOT] = carry


def _pointers(m: Machine, envs: np.ndarray, pointers: np.ndarray) -> np.ndarray:
    """The cursor of one pointer per env."""
    return m._flat_cursors.take(envs * _NUM_POINTERS + pointers)


def _write(m: Machine, g: Group) -> np.ndarray | None:
    """WRITE Rr->Pp (a = p, b = r): the cell under Pp <- Rr; faults unless 0 <= Rr < base."""
    envs, value, cursors = g.envs, m._flat_values.take(g.files + g.b), _pointers(m, g.envs, g.a)
    old = m._flat.take(cursors)
    # (As unsigned, a negative value is too large: one comparison checks both ends.)
    ok = value.view(np.uint32) < m.base_of(envs, unsigned=True)
    # A faulting write leaves its cell as it was: written back unchanged, it changes no count.
    m._set_cells(envs, cursors, np.where(ok, value.astype(np.int8), old), old)
    return None if np.count_nonzero(ok) == len(ok) else envs[~ok]


def _swap(m: Machine, g: Group) -> None:
    """SWAP Pa,Pb: exchange the cells under two pointers."""
    envs, first, second = g.envs, _pointers(m, g.envs, g.a), _pointers(m, g.envs, g.b)
    a, b = m._flat.take(first), m._flat.take(second)
    m._set_cells(envs, first, b, a)
    m._set_cells(envs, second, a, b)


def _move(m: Machine, g: Group) -> None:
    """MOVE Pp LEFT|RIGHT and ADVANCE: pointers step by ``_DELTAS``, each unless it would land on EDGE."""
    cursors = m.cursors.take(g.envs, axis=0)
    moved = cursors + _DELTAS.take(g.actions, axis=0)
    np.copyto(moved, cursors, where=m._flat.take(moved) == _EDGE)  # (``np.where`` runs a slow loop)
    m._rows["cursors"][g.envs] = row_items(moved)


def _pointer_deltas() -> np.ndarray:
    """(actions + 1, pointers): how far each instruction moves each pointer."""
    deltas = np.zeros((len(INSTRUCTIONS) + 1, NUM_POINTERS), dtype=np.intp)
    for index, ins in enumerate(INSTRUCTIONS):
        if ins.op == Op.MOVE:
            deltas[index, ins.a] = ins.b
        elif ins.op == Op.ADVANCE:
            deltas[index] = 1
    return deltas


_DELTAS = _pointer_deltas()


def _through_pointer() -> np.ndarray:
    """(actions, pointers) bool: which pointers each WRITE or SWAP writes through."""
    through = np.zeros((len(INSTRUCTIONS), NUM_POINTERS), dtype=bool)
    for index, ins in enumerate(INSTRUCTIONS):
        if ins.op == Op.WRITE:
            through[index, ins.a] = True
        elif ins.op == Op.SWAP:
            through[index, [ins.a, ins.b]] = True
    return through


_THROUGH_POINTER = _through_pointer()


def _unused(layout: Layout) -> list[int]:
    """The pointers a layout leaves unused."""
    return [p for p, row in enumerate(layout.pointer_rows) if row is None]


# Handler families, in order; those from _CHANGES_VIEW on move pointers or write cells.
_NOT_ALLOWED, _HALT = 0, 1
_FAMILIES: tuple[tuple[Callable | None, tuple[Op, ...]], ...] = (
    (None, (Op.NOOP,)),  # what an instruction the task does not allow runs as
    (None, (Op.HALT,)),
    (_transfer, (Op.READ, Op.LOAD, Op.STORE, Op.CLR, Op.INC, Op.DEC)),
    (_arithmetic(np.add), (Op.ADD,)),
    (_arithmetic(np.subtract), (Op.SUB,)),
    (_arithmetic(np.multiply), (Op.MUL,)),
    (_compare, (Op.CMP,)),
    (_carry, (Op.CARRY,)),
    (_write, (Op.WRITE,)),
    (_swap, (Op.SWAP,)),
    (_move, (Op.MOVE, Op.ADVANCE)),
)
_CHANGES_VIEW = 8
_FAMILY_CONSTANTS = tuple(constant(family, np.uint8) for family in range(_HALT + 1))
_HANDLERS = tuple(handler for handler, _ in _FAMILIES)
_FAMILY_OF_OP = {op: family for family, (_, ops) in enumerate(_FAMILIES) for op in ops}
_FAMILY = np.array([_FAMILY_OF_OP[Op(op)] for op in OPCODES[:-1]], dtype=np.uint8)  # per action
#: The family counts of one environment that issued family f: entry f.
_ONE_OF = tuple([int(f == family) for f in range(len(_HANDLERS))] for family in range(len(_HANDLERS)))
