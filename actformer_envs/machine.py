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

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from actformer_envs.arrays import constant, opaque, row_dtype, row_items
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
    REGISTER_SLOTS,
    UNDER_SLOTS,
    VALUE_LIMIT,
    WINDOW,
    Op,
)
from actformer_envs.state import array_state, load_array_state
from actformer_envs.symbols import BLANK, EDGE, SYMBOL_VALUE

# (``WINDOW``, ``constant``, ``row_items`` and ``opaque`` are re-exported: they were defined here.)
__all__ = ["WINDOW", "Group", "Layout", "Machine", "constant", "memory_images", "opaque", "row_items"]

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

    The machine runs the members of one mixture of tasks (a plain task: one member), each in its
    own :class:`Layout`; ``layout`` says which one each environment's problem is posed in.
    """

    def __init__(
        self, batch: int, rows: int, width: int, layouts: tuple[Layout, ...], count_misses: bool = False
    ) -> None:
        """``layouts``: the layout of each member task; :meth:`load` says which one each
        environment uses. ``count_misses``: keep ``misses`` current (the ``"signed"`` reward's
        penalty; off, it stays 0 and writes cost nothing more)."""
        self.batch, self.rows, self.width = batch, rows, width
        self.count_misses = count_misses
        self._num_layouts = len(layouts)
        # What each action runs in each layout, (layouts * actions,): a family (see ``FAMILIES``).
        # A WRITE or SWAP through a pointer the layout leaves unused could only fault (unused
        # pointers rest on the void row): it runs as not allowed, so the handlers need no check.
        runs = [layout.allowed & ~_THROUGH_POINTER[:, _unused(layout)].any(axis=1) for layout in layouts]
        self._family_of = np.where(runs, _FAMILY, NOT_ALLOWED).astype(np.uint8).reshape(-1)
        self._bases = np.array([layout.base for layout in layouts], dtype=np.int32)
        # One base for every layout, so for the whole batch (a 0-d operand, see ``constant``), or
        # each env's layout's (``_follow_layouts``).
        one_base = len(set(self._bases.tolist())) == 1
        self.base = constant(self._bases[0], np.int32) if one_base else self._bases[np.zeros(batch, np.intp)]
        shape = (batch, rows + 1, width + 2)
        self.scratchpad = np.full(shape, EDGE, dtype=np.int8)  # (batch, rows + void, width + 2)
        self.target = np.full(shape, _NO_TARGET, dtype=np.int8)  # the exact answer on the output row
        self.values = np.zeros((batch, NUM_SLOTS), dtype=np.int32)  # R0..R3 M0..M3 C CMP U0..U3 Z
        self.symbols = np.zeros((batch, NUM_POINTERS * len(WINDOW)), dtype=np.int8)  # windows
        self.boundaries = np.zeros((batch, NUM_POINTERS * 2), dtype=np.int8)  # at start, at end
        self.wrong = np.zeros(batch, dtype=np.int32)  # output cells that differ from the target
        self.correct = np.zeros(batch, dtype=np.int32)  # target digits written correctly
        # Output cells holding a symbol other than their target (a wrong digit, or a digit where the
        # answer has none); a BLANK is not a miss. Kept only with ``count_misses``.
        self.misses = np.zeros(batch, dtype=np.int32)
        self.layout = np.zeros(batch, dtype=np.intp)  # which layout each environment uses
        # What follows from each layout: where its row of ``_family_of`` starts, its output row
        # and its pointers' cursors at column 0 (of env 0), (layouts, pointers).
        self._layout_offsets = np.arange(len(layouts), dtype=np.intp) * NUM_ACTIONS
        self._output_rows = np.array([layout.output_row for layout in layouts], dtype=np.intp)
        row_of = np.array(
            [[rows if r is None else r for r in layout.pointer_rows] for layout in layouts], dtype=np.intp
        )
        self._home = row_of * (width + 2) + 1
        self._env_stride = (rows + 1) * (width + 2)
        # What follows from each env's layout (``_follow_layouts``): its row of ``_family_of``, its
        # output row (an index into the rows of all envs' scratchpads) and its pointers' cursors at
        # column 0 (``_homes``). ``_action_index``: a buffer ``execute`` reuses.
        self._action_offset = np.zeros(batch, dtype=np.intp)
        self._action_index = np.zeros(batch, dtype=np.intp)
        self._answer_rows = np.zeros(batch, dtype=np.intp)
        self._homes = np.zeros((batch, NUM_POINTERS), dtype=np.intp)
        self._follow_layouts(np.arange(batch), self.layout)
        self.cursors = self._homes.copy()
        self._stale: list[np.ndarray] = []  # environments whose view needs recomputing
        self._make_views()

    #: Attributes rebuilt by ``_make_views`` (not pickled).
    _VIEWS: tuple[str, ...] = ("_flat", "_flat_target", "_flat_values", "_flat_cursors", "_rows", "_under")
    _VIEWS += ("_zero_values", "_home_rows", "_cell_rows", "_target_rows", "_unsigned_base")

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
        self._home_rows = row_items(self._homes)
        self._zero_values = np.zeros(1, dtype=self._rows["values"].dtype)
        # The U slots of each env's value file, as one opaque item each.
        slot = self.values.itemsize
        under = np.dtype(
            {"names": ["u"], "formats": [row_dtype(slot * NUM_POINTERS)], "offsets": [slot * UNDER_SLOTS[0]],
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

    #: The arrays that hold the machine's state. (What follows from each env's layout is not among
    #: them: ``load_state_dict`` derives it again, see ``_follow_layouts``.)
    _STATE: tuple[str, ...] = ("scratchpad", "target", "values", "symbols", "boundaries", "wrong", "correct")
    _STATE += ("layout", "cursors")

    def state_dict(self) -> dict[str, np.ndarray]:
        """The machine's state as plain arrays (copies); ``stale``: the envs whose view is due."""
        state = array_state(self, self._STATE)
        state["stale"] = np.concatenate([np.zeros(0, np.intp), *self._stale]).astype(np.intp)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict`` of a machine of the same shape and layouts."""
        layout, layouts = state.get("layout"), self._num_layouts
        if isinstance(layout, np.ndarray) and layout.size and not 0 <= layout.min() <= layout.max() < layouts:
            raise ValueError(f"machine state 'layout' must hold layout indices in [0, {layouts})")
        load_array_state(self, state, self._STATE, "machine")
        self._follow_layouts(np.arange(self.batch), self.layout.copy())
        if self.count_misses:  # (derived from the cells, so a state saved without counting fits)
            self._recount_misses(np.arange(self.batch))
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
        layout: np.ndarray,
    ) -> None:
        """Pose problems in ``envs``: the memory images of their scratchpad and target (n,) (from
        :func:`memory_images`), their initial scores (output cells wrong, target digits correct)
        and each one's layout."""
        self._rows["scratchpad"][envs] = scratchpad
        self._rows["target"][envs] = target
        if self._num_layouts > 1:  # (with one layout, what follows from it never changes)
            self._follow_layouts(envs, layout.astype(np.intp))
        self._rows["cursors"][envs] = self._home_rows.take(envs)  # every pointer at column 0
        self._rows["values"][envs] = self._zero_values
        self.wrong[envs] = wrong
        self.correct[envs] = correct
        if self.count_misses:
            self._recount_misses(envs)
        self._stale.append(envs)

    def _recount_misses(self, envs: np.ndarray) -> None:
        """``misses`` of ``envs`` counted afresh from their cells (off the output row every target
        is EDGE, which no cell holds: only the output row's cells can count)."""
        cells, target = self.scratchpad[envs], self.target[envs]
        missed = (cells != target) & (cells != _BLANK) & (target != _EDGE)
        self.misses[envs] = np.count_nonzero(missed.reshape(len(envs), -1), axis=1)

    def _follow_layouts(self, envs: np.ndarray, layout: np.ndarray) -> None:
        """Set the layout of ``envs`` and what follows from it: their row of the family table, their
        output row, their pointers' cursors at column 0, their base."""
        self.layout[envs] = layout
        self._action_offset[envs] = self._layout_offsets.take(layout)
        self._answer_rows[envs] = envs * (self.rows + 1) + self._output_rows.take(layout)
        self._homes[envs] = self._home.take(layout, axis=0) + (envs * self._env_stride)[:, None]
        if self.base.ndim:  # one base per env
            self.base[envs] = self._bases.take(layout)

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
        rows = self._answer_rows.take(envs)
        answers = np.empty(2 * len(envs), dtype=self._cell_rows.dtype)
        self._cell_rows.take(rows, out=answers[: len(envs)])
        self._target_rows.take(rows, out=answers[len(envs) :])
        return answers.view(np.int8).reshape(len(answers), -1)[:, 1:-1]

    def columns(self) -> np.ndarray:
        """Column of each pointer on its row, (batch, pointers); 0 for unused pointers."""
        return self.cursors - self._homes

    # -- running instructions ------------------------------------------------------------------

    def execute(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run one instruction per environment; returns (executed, halted), bool arrays.

        An instruction the task does not allow is not executed, nor is one that *faults* (a WRITE
        of a value that is not a digit of the base; a WRITE or SWAP through an unused pointer, run
        as not allowed): both leave the machine as it was.
        """
        self.sync()
        if self.batch == 1:  # (one env: Python ints index faster than a ufunc and a take)
            first = self._action_offset.item() + actions.item()
            families = self._family_of[first : first + 1]
        else:  # (actions are checked by the env faces: "clip" skips the bounds check, half the cost)
            index = np.add(self._action_offset, actions, out=self._action_index)
            families = self._family_of.take(index, mode="clip")
        executed = families != _NOT_ALLOWED
        halted = families == _HALT
        if self.batch == 1:
            family = int(families[0])
            if family < FIRST_HANDLED:
                return executed, halted
            order, counts = _FIRST, _ONE_OF[family]
        else:  # the envs of each family with a handler, by one sort of those envs
            active = (families >= _FIRST_HANDLED).nonzero()[0]
            active_families = families.take(active)
            order = active.take(active_families.argsort(kind="stable"))
            counts = np.bincount(active_families, minlength=len(FAMILIES)).tolist()
        if not any(counts[FIRST_HANDLED:]):  # nothing but HALT and not-allowed instructions
            return executed, halted
        # What every handler needs, gathered once for all of them; each takes its slice.
        issued = actions.take(order)
        operands = OPERANDS.take(issued, axis=0)
        every = Group(order, issued, order * _NUM_SLOTS, operands[:, 0], operands[:, 1])
        files, a, b = every.files, every.a, every.b
        end = 0
        for family, n in enumerate(counts):
            end += n
            run = _RUNS[family]
            if n and run is not None:
                if n == len(order):
                    group = every
                else:
                    rows = slice(end - n, end)
                    group = Group(order[rows], issued[rows], files[rows], a[rows], b[rows])
                faulted = run(self, group)
                if faulted is not None:
                    executed[faulted] = False
                if _CHANGES_VIEW[family]:
                    self._stale.append(group.envs)
        return executed, halted

    def base_of(self, envs: np.ndarray, unsigned: bool = False) -> np.ndarray:
        """The base of ``envs``: the batch's one base (0-d), or each env's; int32, or uint32 to
        compare with uint32 views (which need no cast then)."""
        base = self._unsigned_base if unsigned else self.base
        return base if base.ndim == 0 else base[envs]

    # -- the instruction handlers, one per family (see ``FAMILIES``) -----------------------------
    # Each runs the instructions of one family for the envs of ``g`` at once; one that can fault
    # returns the envs whose instruction faulted (None: none did).

    def _transfer(self, g: Group) -> None:
        """READ, LOAD, STORE, CLR, INC, DEC: slot a <- slot b + k (saturating)."""
        values = self._flat_values
        source = values.take(g.files + g.b)
        values[g.files + g.a] = _clip(source + CONSTANT.take(g.actions))

    def _arithmetic(self, g: Group, combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        """ADD/SUB/MUL: Ra <- Ra (op) Rb + C, then C <- 0 (saturating)."""
        values = self._flat_values
        a, carry = g.files + g.a, g.files + _CARRY_SLOT
        result = combine(values.take(a), values.take(g.files + g.b))
        values[a] = _clip(result + values.take(carry))
        values[carry] = 0

    def _add(self, g: Group) -> None:
        self._arithmetic(g, np.add)

    def _subtract(self, g: Group) -> None:
        self._arithmetic(g, np.subtract)

    def _multiply(self, g: Group) -> None:
        self._arithmetic(g, np.multiply)

    def _compare(self, g: Group) -> None:
        """CMP Ra,Rb: CMP <- sign(Ra - Rb)."""
        values = self._flat_values
        a, b = values.take(g.files + g.a), values.take(g.files + g.b)
        values[g.files + _COMPARE_SLOT] = np.sign(a - b)

    def _carry(self, g: Group) -> None:
        """CARRY Rr: C <- Rr // base, Rr <- Rr mod base (floor division, so a borrow is C = -1)."""
        values = self._flat_values
        a = g.files + g.a
        carry, digit = np.divmod(values.take(a), self.base_of(g.envs))
        values[a] = digit
        values[g.files + _CARRY_SLOT] = carry

    def _write(self, g: Group) -> np.ndarray | None:
        """WRITE Rr->Pp (a = p, b = r): the cell under Pp <- Rr; faults unless 0 <= Rr < base."""
        envs, value, cursors = g.envs, self._flat_values.take(g.files + g.b), self._pointer(g.envs, g.a)
        old = self._flat.take(cursors)
        # (As unsigned, a negative value is too large: one comparison checks both ends.)
        ok = value.view(np.uint32) < self.base_of(envs, unsigned=True)
        # A faulting write leaves its cell as it was: written back unchanged, it changes no count.
        self._set_cells(envs, cursors, np.where(ok, value.astype(np.int8), old), old)
        return None if np.count_nonzero(ok) == len(ok) else envs[~ok]

    def without_faults(self, masks: np.ndarray, env: int | None = None) -> np.ndarray:
        """``masks`` (every env's, or env ``env``'s) less the instructions that would fault now, by
        ``_write``'s rule: a WRITE of a register that does not hold a digit of the base. (The other
        fault, a WRITE or SWAP through an unused pointer, is run as not allowed: never in ``masks``.)"""
        rows = slice(None) if env is None else env
        registers = self.values[rows][..., _REGISTER_SLOTS]
        base = self.base if self.base.ndim == 0 else self.base[rows]
        # (As unsigned, a negative value is too large: one comparison checks both ends, as in ``_write``.)
        digit = registers.view(np.uint32) < np.expand_dims(base, -1).view(np.uint32)
        masks = masks.copy()
        masks[..., _WRITE_ACTIONS] &= digit[..., _WRITE_REGISTERS]
        return masks

    def _swap(self, g: Group) -> None:
        """SWAP Pa,Pb: exchange the cells under two pointers."""
        envs, first, second = g.envs, self._pointer(g.envs, g.a), self._pointer(g.envs, g.b)
        a, b = self._flat.take(first), self._flat.take(second)
        self._set_cells(envs, first, b, a)
        self._set_cells(envs, second, a, b)

    def _move(self, g: Group) -> None:
        """MOVE Pp LEFT|RIGHT and ADVANCE: pointers step by ``_DELTAS``, each unless it would land on EDGE."""
        cursors = self.cursors.take(g.envs, axis=0)
        moved = cursors + _DELTAS.take(g.actions, axis=0)
        np.copyto(moved, cursors, where=self._flat.take(moved) == _EDGE)  # (``np.where`` runs a slow loop)
        self._rows["cursors"][g.envs] = row_items(moved)

    def _pointer(self, envs: np.ndarray, pointers: np.ndarray) -> np.ndarray:
        """The cursor of one pointer per env."""
        return self._flat_cursors.take(envs * _NUM_POINTERS + pointers)

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
        if self.count_misses:  # a miss: wrong, and not BLANK, on the output row (target not EDGE)
            missed = (symbols != target) & (symbols != _BLANK)
            was_missed = (old != target) & (old != _BLANK)
            self.misses[envs] += np.subtract(missed, was_missed, dtype=np.int32) * (target != _EDGE)


_FIRST = np.zeros(1, dtype=np.intp)
#: The WRITE instructions, and the register each writes (``without_faults``).
_WRITE_ACTIONS = np.array([i for i, ins in enumerate(INSTRUCTIONS) if ins.op == Op.WRITE], dtype=np.intp)
_WRITE_REGISTERS = OPERANDS[_WRITE_ACTIONS, 1]
_REGISTER_SLOTS = slice(REGISTER_SLOTS[0], REGISTER_SLOTS[-1] + 1)

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


Handler = Callable[[Machine, Group], np.ndarray | None]


class Family(NamedTuple):
    """Opcodes the interpreter runs together, by one handler, for every env that issued one."""

    ops: tuple[Op, ...]
    run: Handler | None  # None: the family changes nothing (NOOP, HALT)
    changes_view: bool  # it moves pointers or writes cells: what the pointers see is recomputed


#: Every family, by index: ``execute`` groups the envs of a step by this index. The families that
#: run nothing come first (``FIRST_HANDLED``); what runs as a not-allowed instruction is NOOP's.
FAMILIES: tuple[Family, ...] = (
    Family((Op.NOOP,), None, False),  # what an instruction the task does not allow runs as
    Family((Op.HALT,), None, False),
    Family((Op.READ, Op.LOAD, Op.STORE, Op.CLR, Op.INC, Op.DEC), Machine._transfer, False),
    Family((Op.ADD,), Machine._add, False),
    Family((Op.SUB,), Machine._subtract, False),
    Family((Op.MUL,), Machine._multiply, False),
    Family((Op.CMP,), Machine._compare, False),
    Family((Op.CARRY,), Machine._carry, False),
    Family((Op.WRITE,), Machine._write, True),
    Family((Op.SWAP,), Machine._swap, True),
    Family((Op.MOVE, Op.ADVANCE), Machine._move, True),
)
_FAMILY_OF_OP = {op: index for index, family in enumerate(FAMILIES) for op in family.ops}
NOT_ALLOWED, HALT = _FAMILY_OF_OP[Op.NOOP], _FAMILY_OF_OP[Op.HALT]
#: The first family with a handler: every family from it on has one, none before it.
FIRST_HANDLED = next(index for index, family in enumerate(FAMILIES) if family.run is not None)
assert all((family.run is None) == (index < FIRST_HANDLED) for index, family in enumerate(FAMILIES))
assert len(FAMILIES) <= np.iinfo(np.uint8).max  # (families are uint8, sorted by radix)
_RUNS = tuple(family.run for family in FAMILIES)
_CHANGES_VIEW = tuple(family.changes_view for family in FAMILIES)
# The same indices as operands of the hot path's comparisons (uint8, as the families they meet).
_NOT_ALLOWED, _HALT, _FIRST_HANDLED = (constant(f, np.uint8) for f in (NOT_ALLOWED, HALT, FIRST_HANDLED))
_FAMILY = np.array([_FAMILY_OF_OP[Op(op)] for op in OPCODES[:-1]], dtype=np.uint8)  # per action
#: The family counts of one environment that issued family f: entry f.
_ONE_OF = tuple([int(f == family) for f in range(len(FAMILIES))] for family in range(len(FAMILIES)))
