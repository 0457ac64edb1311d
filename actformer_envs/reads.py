"""What an expert reads of the observation, made structural: its declared view.

The observation shows more than any expert needs: the cells beside a pointer, register contents,
the history. What the expert never reads can still vary with length (the digits beside a pointer
combine in ever more ways), so the observations the expert visits never stop growing, although
the expert's decisions repeat. Each task therefore declares what its expert reads
(:class:`ExpertReads`), entry by entry and in one of three ways:

- ``values``: read as they are (``last_action``, ``flags[carry]``, ``registers[R0]``, a gate id);
- ``kinds``: symbol cells read only as *digit*, BLANK or EDGE (``view.under(P0) == BLANK``): the
  projection writes every digit as 0;
- ``relations``: pairs of symbol cells compared with each other for equality, never with a
  constant (Sort: "P1's window equals P2's"). The projection links the two cells of each declared
  pair that hold equal symbols, and writes each digit as the smallest position in its linked
  group: every BLANK and EDGE stays, and so does the (in)equality of every declared pair, while
  what the cells show is a function of those pairs' equalities alone, however many distinct
  digits are in view (renaming by first appearance would keep every equality, a number of
  patterns that grows until the window holds as many digits as cells).

Every other entry reads as 0. The *projection* (:func:`project`) maps an observation to what the
declaration lets through, with the observation's keys, shapes and dtypes; the expert is called on
the projection through a guard (:meth:`ExpertReads.view`) that raises :class:`UndeclaredRead` on
any entry it does not declare, so a declaration cannot silently leave out what the expert uses. A
policy that projects its input the same way (``ActformerPolicy(reads=...)``) is, by construction,
indifferent to everything the expert does not read, and its certificate is over the projected
observations: a finite set that stops growing with length (``benchmarks/closure.py``).

``project`` uses only operators NumPy arrays and torch tensors share, so the env's experts and the
policy run the same code on their own arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from actformer_envs.instructions import NUM_MEMORY, NUM_POINTERS, NUM_REGISTERS
from actformer_envs.observation import EDGES, NUM_FLAGS, WINDOW_SIZE, ObservationView, field_entries
from actformer_envs.symbols import BLANK

__all__ = ["ExpertReads", "ReadMasks", "UndeclaredRead", "project"]

#: The entries of each field a declaration may name (every field of the compact observation).
_FIELD_SIZES = {
    "symbols": NUM_POINTERS * WINDOW_SIZE,
    "boundaries": NUM_POINTERS * EDGES,
    "registers": NUM_REGISTERS,
    "memory": NUM_MEMORY,
    "flags": NUM_FLAGS,
    "last_action": 1,
    "task": 1,
}
#: Entry name -> (field, index in the flattened field).
_ENTRIES = {
    name: (key, index)
    for key, size in _FIELD_SIZES.items()
    for index, name in enumerate(field_entries(key, size))
}
_SYMBOLS = _FIELD_SIZES["symbols"]
#: Fields of one entry, which an observation holds without a trailing axis.
_SCALAR_FIELDS = ("last_action", "task")


class UndeclaredRead(LookupError):
    """An expert read an observation entry its task's :class:`ExpertReads` does not declare."""


@dataclass(frozen=True)
class ReadMasks:
    """A declaration as arrays, per field, for :func:`project` (NumPy here; a policy keeps them as
    tensors): ``keep[key]`` 0/1 per entry (1: read as it is), ``kinds`` 0/1 per symbol cell (read
    as digit/BLANK/EDGE), ``relations`` 0/1 per symbol cell (in a compared pair), ``pairs``
    (cells, cells) 0/1, symmetric (the compared pairs); ``positions`` numbers the cells.

    Each array has the field's entries on its last axis; a leading axis, where there is one, is
    indexed by the observation's ``task`` (a MultiTask's members read differently)."""

    keep: Mapping[str, Any]
    kinds: Any
    relations: Any
    pairs: Any
    positions: Any  # (cells,): 0, 1, ..., the label of an equal anchor
    relates: bool = True  # whether any cell is relation-read (else the renaming is skipped)

    def arrays(self) -> Iterator[tuple[str, Any]]:
        """Every array, by a flat name (what a policy registers as buffers)."""
        for key, mask in self.keep.items():
            yield f"keep_{key}", mask
        yield from (("kinds", self.kinds), ("relations", self.relations), ("pairs", self.pairs))
        yield "positions", self.positions

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], relates: bool) -> ReadMasks:
        """The masks of :meth:`arrays`' output (e.g. as tensors)."""
        keep = {
            name.removeprefix("keep_"): value for name, value in arrays.items() if name.startswith("keep_")
        }
        return cls(keep, arrays["kinds"], arrays["relations"], arrays["pairs"], arrays["positions"], relates)

    @classmethod
    def stack(cls, members: Mapping[int, ReadMasks], rows: int) -> ReadMasks:
        """One table for a mixture: row ``task_id`` holds that member's masks (``rows`` in all; rows
        of no member read nothing)."""

        def table(pick: Any) -> np.ndarray:
            first = pick(next(iter(members.values())))
            out = np.zeros((rows, *np.shape(first)), dtype=np.asarray(first).dtype)
            for task_id, masks in members.items():
                out[task_id] = pick(masks)
            return out

        keys = next(iter(members.values())).keep
        return cls(
            {key: table(lambda m, k=key: m.keep[k]) for key in keys},
            table(lambda m: m.kinds),
            table(lambda m: m.relations),
            table(lambda m: m.pairs),
            next(iter(members.values())).positions,
            any(masks.relates for masks in members.values()),
        )


@dataclass(frozen=True)
class ExpertReads:
    """What a task's expert reads: entry names (:func:`~actformer_envs.observation.field_entries`'
    spelling: ``"symbols[P0.under]"``, ``"boundaries[P2.end]"``, ``"flags[carry]"``, ...).

    ``values``: entries read as they are; ``kinds``: symbol cells read only as digit, BLANK or EDGE;
    ``relations``: pairs of symbol cells compared only with each other, for equality.
    ``ValueError`` for a name that is not an entry, a ``kinds``/``relations`` entry that is not a
    symbol cell, a pair that is not two distinct cells, or an entry named twice."""

    values: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    relations: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for group in ("values", "kinds", "relations"):
            names = getattr(self, group)
            if isinstance(names, str) or not isinstance(names, (tuple, list)):
                raise ValueError(f"ExpertReads {group} must be a tuple of entry names, got {names!r}")
            object.__setattr__(self, group, tuple(tuple(n) if isinstance(n, list) else n for n in names))
        for pair in self.relations:
            if not isinstance(pair, tuple) or len(pair) != 2 or pair[0] == pair[1]:
                raise ValueError(f"ExpertReads relations must be pairs of two distinct cells, got {pair!r}")
        named = [*self.values, *self.kinds, *self.related]
        for name in named:
            if name not in _ENTRIES:
                raise ValueError(f"ExpertReads entry must be one of {sorted(_ENTRIES)}, got {name!r}")
        for group in ("kinds", "related"):
            for name in getattr(self, group):
                if _ENTRIES[name][0] != "symbols":
                    raise ValueError(f"ExpertReads {group} must be symbol cells (symbols[...]), got {name!r}")
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise ValueError(f"ExpertReads names each entry once, got {repeated} more than once")

    @property
    def related(self) -> tuple[str, ...]:
        """The cells of the compared pairs, each once, in order of appearance."""
        return tuple(dict.fromkeys(name for pair in self.relations for name in pair))

    def masks(self) -> ReadMasks:
        """The declaration as arrays for :func:`project`."""
        keep = {key: np.zeros(size, dtype=np.int64) for key, size in _FIELD_SIZES.items()}
        kinds, relations = (np.zeros(_SYMBOLS, dtype=np.int64) for _ in range(2))
        pairs = np.zeros((_SYMBOLS, _SYMBOLS), dtype=np.int64)
        for name in self.values:
            key, index = _ENTRIES[name]
            keep[key][index] = 1
        for name in self.kinds:
            kinds[_ENTRIES[name][1]] = 1
        for name in self.related:
            relations[_ENTRIES[name][1]] = 1
        for first, second in self.relations:
            i, j = _ENTRIES[first][1], _ENTRIES[second][1]
            pairs[i, j] = pairs[j, i] = 1
        positions = np.arange(_SYMBOLS, dtype=np.int64)
        return ReadMasks(keep, kinds, relations, pairs, positions, bool(self.relations))

    def readable(self) -> dict[str, np.ndarray]:
        """Per field, which entries the expert may read (bool), the guard's rule."""
        masks = self.masks()
        readable = {key: mask.astype(bool) for key, mask in masks.keep.items()}
        readable["symbols"] |= (masks.kinds | masks.relations).astype(bool)
        return readable

    def project(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """The observation as this declaration lets it through (:func:`project`)."""
        return project(observation, _masks(self))

    def view(self, observation: Mapping[str, Any]) -> ObservationView:
        """The expert's view: the projected observation behind a guard that raises
        :class:`UndeclaredRead` when it is read outside the declaration."""
        return ObservationView(_Guarded(self.project(observation), _readable(self)))


def project(observation: Mapping[str, Any], masks: ReadMasks) -> dict[str, Any]:
    """``observation`` (batched, NumPy arrays or torch tensors) with every entry ``masks`` does not
    read as 0, kind-read cells' digits as 0 and relation-read cells' digits renamed in order of
    first appearance; same keys, shapes and dtypes. ``masks`` holds arrays of the observation's
    library; with a leading task axis they are looked up by ``observation["task"]``."""
    per_task = len(masks.kinds.shape) == 2

    def mask(array: Any) -> Any:
        return array[observation["task"]] if per_task else array

    out = {}
    for key, x in observation.items():
        if key == "symbols":
            kinds, relations = mask(masks.kinds), mask(masks.relations)
            y = x * mask(masks.keep[key]) + x * (x >= BLANK) * kinds
            if masks.relates:
                y = y + _linked(x, relations, mask(masks.pairs), masks.positions) * relations
        elif key in masks.keep:
            keep = mask(masks.keep[key])
            y = x * (keep[..., 0] if key in _SCALAR_FIELDS else keep)
        else:
            y = x * 0  # read nowhere: history, and obs_mode="full"'s scratchpad and pointers
        out[key] = _like(y, x)
    return out


def _linked(symbols: Any, relations: Any, pairs: Any, positions: Any) -> Any:
    """``symbols`` (..., cells) with each digit of a relation-read cell written as the smallest
    position among the cells it is linked to (a declared pair holding equal symbols links its
    cells; links chain); every other cell as it is."""
    equal = symbols[..., :, None] == symbols[..., None, :]
    reach = (equal & (pairs == 1) | (positions[:, None] == positions[None, :])) * 1.0
    for _ in range(_LINK_ROUNDS):  # paths of up to 2**rounds links
        reach = ((reach @ reach) > 0) * 1.0
    linked = reach > 0
    first = linked & (linked.cumsum(-1) == 1)
    label = (first * positions).sum(-1)
    digit = (symbols < BLANK) & (relations == 1)
    return label * digit + symbols * ~digit


#: Squarings of the link matrix: chains of up to 2**4 = 16 links, more than the cells.
_LINK_ROUNDS = 4


def _like(y: Any, x: Any) -> Any:
    """``y`` in ``x``'s dtype (NumPy array or scalar, or torch tensor)."""
    if isinstance(x, (np.ndarray, np.generic)) or not hasattr(x, "to"):
        return np.asarray(y).astype(np.asarray(x).dtype, copy=False)
    return y.to(x.dtype)


_MASKS: dict[ExpertReads, ReadMasks] = {}
_READABLE: dict[ExpertReads, dict[str, np.ndarray]] = {}


def _masks(reads: ExpertReads) -> ReadMasks:
    if reads not in _MASKS:
        _MASKS[reads] = reads.masks()
    return _MASKS[reads]


def _readable(reads: ExpertReads) -> dict[str, np.ndarray]:
    if reads not in _READABLE:
        _READABLE[reads] = reads.readable()
    return _READABLE[reads]


class _Guarded(Mapping[str, Any]):
    """An observation that raises :class:`UndeclaredRead` where it is read outside ``readable``."""

    def __init__(self, observation: Mapping[str, Any], readable: Mapping[str, np.ndarray]) -> None:
        self._observation, self._readable = observation, readable

    def __getitem__(self, key: str) -> Any:
        value = self._observation[key]
        allowed = self._readable.get(key)
        if allowed is None or not allowed.any():
            raise UndeclaredRead(f"the expert reads {key}, which its ExpertReads does not declare")
        return value if allowed.all() else _GuardedField(key, value, allowed)

    def __iter__(self) -> Iterator[str]:
        return iter(self._observation)

    def __len__(self) -> int:
        return len(self._observation)


class _GuardedField:
    """A field of which only some entries are declared: indexing its last axis checks them."""

    def __init__(self, key: str, array: np.ndarray, allowed: np.ndarray) -> None:
        self.key, self.array, self.allowed = key, array, allowed

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: Any) -> Any:
        last = index[-1] if isinstance(index, tuple) else slice(None)
        leading = index[:-1] if isinstance(index, tuple) else (index,)
        if any(part is not Ellipsis for part in leading):
            raise UndeclaredRead(f"the expert indexes {self.key} other than along its entries: {index!r}")
        self._check(np.arange(len(self.allowed))[last])
        return self.array[index]

    def reshape(self, *shape: Any) -> Any:
        self._check(np.arange(len(self.allowed)))
        return self.array.reshape(*shape)

    def _check(self, positions: Sequence[int] | np.ndarray) -> None:
        positions = np.atleast_1d(positions)
        undeclared = positions[~self.allowed[positions]]
        if len(undeclared):
            names = field_entries(self.key, len(self.allowed))
            shown = ", ".join(names[i] for i in undeclared)
            raise UndeclaredRead(f"the expert reads {shown}, which its ExpertReads does not declare")
