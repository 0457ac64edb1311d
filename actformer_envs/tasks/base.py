"""What a task is: a memory layout, a problem generator, a target, allowed opcodes and an expert.

The episode (spaces, reset, step, rewards, rendering) is shared by every task and lives in
``actformer_envs.episodes``; a task file fills in only the hooks below, the way Minigrid's envs fill
in ``_gen_grid``. Every hook works on a batch of problems at once.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import numpy as np

from actformer_envs.checks import check_int
from actformer_envs.digits import number_text
from actformer_envs.instructions import NUM_POINTERS, mask_from_names
from actformer_envs.observation import ObservationView
from actformer_envs.reads import ExpertReads
from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK, EDGE
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.text import PythonLiteral, TextFormat


@dataclass
class Problems:
    """A batch of posed problems, laid out for the machine."""

    scratchpad: np.ndarray  # (n, rows, width) int8 symbols; EDGE beyond each problem's extent
    target: np.ndarray  # (n, width) int8: the output row an exact answer leaves
    program_length: np.ndarray  # (n,) int64: the number of steps the expert takes

    def __len__(self) -> int:
        return len(self.program_length)


#: The most problems of one length that ``Task.all_problems`` lists by default (the issue's ~10**7).
ENUMERATION_CAP = 10**7
#: The largest ``cap`` it takes: problems are numbered by int64 indices.
MAX_ENUMERATION = 2**62


class Enumeration(Sequence[Any]):
    """Every problem of one length of a task, in a fixed order: a read-only sequence of problems in
    the task's user form (what ``reset(options={"problem": p})`` takes), made on demand, not listed.

    Problem ``i`` is ``problems_at([i])[0]``: the task numbers its problems and makes a batch of them
    from their numbers at once. ``pose_at``, where the task gives it, lays out a batch of them
    directly, exactly as ``encode`` lays out each (a test holds the two equal): the fast way to run
    millions of them, as posing one user problem at a time costs far more than the episode.
    """

    def __init__(
        self,
        task: Task,
        length: int,
        count: int,
        problems_at: Callable[[np.ndarray], list[Any]],
        pose_at: Callable[[np.ndarray, int], Problems] | None = None,
    ) -> None:
        self.task, self.length, self.size = task, length, count
        self.problems_at, self.pose_at = problems_at, pose_at

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            chosen = range(self.size)[index]  # (a range: no array of every index)
            return self.problems_at(np.arange(chosen.start, chosen.stop, chosen.step, dtype=np.int64))
        if not -self.size <= index < self.size:
            raise IndexError(f"problem index {index} out of range for {self.size} problems")
        return self.problems_at(np.array([index % self.size], dtype=np.int64))[0]

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, self.size, ENUMERATION_CHUNK):
            yield from self.problems_at(np.arange(start, min(start + ENUMERATION_CHUNK, self.size)))

    def __repr__(self) -> str:
        return f"<Enumeration of the {self.size} {self.task.name} problems of length {self.length}>"


#: Problems an ``Enumeration`` makes at a time while iterated.
ENUMERATION_CHUNK = 4096


def index_digits(indices: np.ndarray, radix: int, count: int) -> np.ndarray:
    """The ``count`` digits of base ``radix`` of each index, most significant first, (m, count)
    int64: index ``i`` names the ``i``-th tuple of ``itertools.product(range(radix), repeat=count)``."""
    powers = radix ** np.arange(count - 1, -1, -1, dtype=np.int64)
    return (np.asarray(indices, dtype=np.int64)[:, None] // powers) % radix


class Number(int):
    """A decoded numeric answer: an ``int`` in every way, of its own type for one reason.

    Gymnasium's ``SyncVectorEnv``/``AsyncVectorEnv`` store an info key in an int64 array when its
    first value's type is exactly ``int``; a later answer too long for int64, or ``None`` for a
    malformed one, would then fail. Any other type gets an object array, which holds every answer.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        """Its decimal digits, as ``int``'s, also past Python's limit on converting ints to text (an
        answer may have any number of digits; ``int.__repr__`` raises ``ValueError`` beyond 4300)."""
        return number_text(self)

    __str__ = __repr__


def distinct(problems: list[Any]) -> list[Any]:
    """``problems`` in order without repeats (adversarial families coincide at short lengths)."""
    kept: list[Any] = []
    for problem in problems:
        if problem not in kept:
            kept.append(problem)
    return kept


class Task(ABC):
    """A task's hooks. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    rows: ClassVar[tuple[str, ...]]  # row names, top to bottom
    output_row: ClassVar[int]  # the row whose content is the answer
    pointer_rows: ClassVar[tuple[int | None, ...]]  # row bound to each pointer, None = unused
    allowed_instructions: ClassVar[tuple[str, ...]]
    default_base: ClassVar[int] = 10
    base_range: ClassVar[tuple[int, int]] = (2, 36)
    default_lengths: ClassVar[tuple[int, int]] = (1, 10)
    #: Numbers are stored least significant digit first; render them the way people read them.
    render_reversed: ClassVar[bool] = False
    #: The task's own env kwargs and their defaults (e.g. Expression's ``stage``).
    option_defaults: ClassVar[dict[str, Any]] = {}
    #: How its problems are written as text (``actformer trace --problem``, the token baseline).
    text_format: ClassVar[TextFormat] = PythonLiteral()
    #: How it is trained and how far it is evaluated (``benchmarks.common.PLANS``); None: not in
    #: the train suite (every built-in task has one).
    recipe: ClassVar[Recipe | None] = None
    #: What the expert reads of the observation (see ``actformer_envs.reads``); None: anything.
    reads: ClassVar[ExpertReads | None] = None

    def __init__(self, base: int, **options: Any) -> None:
        """``options``: the task's own kwargs, already checked by :meth:`check_options`."""
        self.base = base
        self.options = {**self.option_defaults, **options}
        self.action_mask = mask_from_names(self.allowed_instructions)
        assert len(self.pointer_rows) == NUM_POINTERS

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """``ValueError`` naming the option if a value of the task's own kwargs is not allowed.

        Only called with names from ``option_defaults``; tasks with options override it.
        """
        return None

    def width(self, max_length: int) -> int:
        """Columns of the scratchpad needed for problems up to ``max_length``."""
        return max_length + 1

    @abstractmethod
    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        """Random problems of the given sizes (one per row of ``random``)."""

    @abstractmethod
    def encode(self, problem: Any, width: int) -> Problems:
        """One user-posed problem; ``ValueError`` saying why if it is malformed or does not fit."""

    @abstractmethod
    def problem_length(self, problem: Any) -> int:
        """The size of a user-posed problem, in the same unit as ``options={"length": n}``."""

    def problem_count(self, length: int) -> int | None:
        """How many problems of ``length`` (the size ``problem_length`` gives) there are; None: the
        task does not count them (it cannot enumerate them either)."""
        return None

    def _enumerate(self, length: int, count: int) -> Enumeration | None:
        """The ``count`` problems of ``length`` (at most ``MAX_ENUMERATION``); None: not enumerable.
        Tasks that count their problems override this too; callers use :meth:`all_problems`."""
        return None

    def all_problems(self, length: int, cap: int = ENUMERATION_CAP) -> Enumeration | None:
        """Every problem of exactly ``length`` in the user form (each ``problem_length`` is
        ``length``; ``reset(options={"problem": p})`` takes each); None if the task cannot enumerate
        them or there are more than ``cap``. Verification sets and closure checks run them all."""
        check_int("length", length, low=1)
        check_int("cap", cap, low=0, high=MAX_ENUMERATION)
        count = self.problem_count(length)
        if count is None or count > cap:
            return None
        return self._enumerate(length, count)

    def covering_problems(self, length: int, cap: int = ENUMERATION_CAP) -> Enumeration | None:
        """A family of problems of ``length`` that a verification set runs in full where it samples
        the length (too many problems to run them all): problems on which the expert makes the
        observations that random problems show rarely, so that a set holds them whatever its sample
        (Sort: every row over at most three distinct symbols). None: no such family (the default),
        or more than ``cap`` problems in it."""
        check_int("length", length, low=1)
        check_int("cap", cap, low=0, high=MAX_ENUMERATION)
        return self._covering(length, cap)

    def _covering(self, length: int, cap: int) -> Enumeration | None:
        """The covering problems of ``length``, None if none or more than ``cap``; tasks with such a
        family override this (arguments checked); callers use :meth:`covering_problems`."""
        return None

    def adversarial_problems(self, length: int) -> list[Any]:
        """Problems of ``length`` (``problem_length``) built to stress the procedure where random
        problems rarely do (Addition's longest carry chains, Sort's reversed input, one symbol
        throughout, ...), in the form ``reset(options={"problem": p})`` takes, without repeats: the
        adversarial families that benchmarks and certificates run beside random problems. Every
        built-in task declares its own; a task without any returns none."""
        return []

    @abstractmethod
    def decode_batch(self, rows: np.ndarray) -> Sequence[Any] | np.ndarray:
        """The answers output rows (n, width) hold (``None`` where one is not well formed): a list,
        or an object array."""

    @property
    def decoding(self) -> Hashable:
        """What :meth:`decode_batch` does, as a key: tasks whose ``decode_batch`` gives the same
        answers for the same rows declare equal keys (a test holds them to it), and a MultiTask
        decodes the rows of all of them in one call. The default is the task itself: decoded alone."""
        return self

    def expert(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """The correct next action for a batch of observations: :meth:`decide` on the expert's
        declared view (``reads``: the projected observation behind a guard that raises
        ``UndeclaredRead`` outside the declaration), so it is a function of that view alone."""
        view = self.reads.view(observation) if self.reads is not None else ObservationView(observation)
        return self.decide(view)

    @abstractmethod
    def decide(self, view: ObservationView) -> np.ndarray:
        """The expert's rule: the next action (n,) int64 for a batch of observations, read through
        ``view`` (its reads confined to ``reads``)."""


# Helpers shared by the tasks -------------------------------------------------------------------


def as_objects(answers: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Decoded answers as an (n,) object array (itself if it is one already)."""
    if isinstance(answers, np.ndarray) and answers.dtype == object:
        return answers
    return np.fromiter(answers, dtype=object, count=len(answers))


def pad_rows(content: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """``content`` ((n, width) or (n, rows, width)) with EDGE at and beyond each problem's extent."""
    return fill_from(content, extent, EDGE)


def fill_from(rows: np.ndarray, starts: np.ndarray, symbol: int) -> np.ndarray:
    """``rows`` (..., width) as int8, with ``symbol`` in every column at or beyond ``starts``, whose
    shape is a prefix of the rows' leading axes (one start per row, per problem, ...).

    ``symbol`` must be at least every symbol in ``rows``: BLANK after digits, EDGE after anything
    (the two largest symbols). A maximum against rows of a cached fill table, one per row, then
    does it in one fast loop; comparing every column with every start, or broadcasting one fill
    row over several rows, runs a short inner loop per row, several times slower. The table has
    (width + 1) * width cells, though: wider rows than ``FILL_TABLE_BYTES`` allows compare instead,
    which needs memory in proportion to the rows alone (same result).
    """
    leading = rows.shape[:-1]
    width = rows.shape[-1]
    starts = np.broadcast_to(starts.reshape(starts.shape + (1,) * (len(leading) - starts.ndim)), leading)
    if width * (width + 1) <= FILL_TABLE_BYTES:
        fills = _beyond(width, symbol).take(starts.reshape(-1), axis=0, mode="clip")
    else:
        fills = (np.arange(width) >= starts.reshape(-1, 1)) * np.int8(symbol)
    return np.maximum(rows, fills.reshape(rows.shape)).astype(np.int8, copy=False)


#: The largest fill table :func:`fill_from` keeps for a width (about 2000 columns); a few are cached.
FILL_TABLE_BYTES = 4 * 2**20


@functools.lru_cache(maxsize=8)
def _beyond(width: int, symbol: int) -> np.ndarray:
    """Row e (e = 0..width): ``symbol`` in the columns at or beyond e, 0 before (read-only: cached)."""
    table = np.where(np.arange(width) >= np.arange(width + 1)[:, None], np.int8(symbol), np.int8(0))
    table.flags.writeable = False
    return table


def count_per_row(columns: np.ndarray) -> np.ndarray:
    """The True cells of each row of a bool array given column by column, (width, n): (n,) intp.

    Column by column, the sum runs over the whole batch at once; along each row NumPy would loop
    over rows of a few cells, several times slower.
    """
    if len(columns) > 255:
        return np.add.reduce(columns, axis=0, dtype=np.intp)
    # Summed in uint8 (no more than 255 cells), without the cast of every cell an intp sum costs.
    return np.add.reduce(columns.view(np.uint8), axis=0, dtype=np.uint8).astype(np.intp)


def answer_lengths(rows: np.ndarray) -> np.ndarray:
    """Length of the written prefix of each output row (n, width); -1 where a symbol follows a gap."""
    count, is_prefix = written_prefix(np.ascontiguousarray(rows.T) < BLANK)  # a digit: not BLANK, EDGE
    return np.where(is_prefix, count, -1)


def written_prefix(written: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(count, is_prefix) of rows given column by column, bool (width, n): how many cells of each
    row are written, and whether they are exactly its first ``count`` (no cell after a gap).

    Runs at every episode's end on a few short rows: column by column, as ``count_per_row``.
    """
    return count_per_row(written), np.logical_and.reduce(written[:-1] >= written[1:], axis=0)


def is_sequence(value: Any) -> bool:
    """Whether a user-posed value is an ordered sequence (a list, tuple or 1-D array; not a string):
    a set, dict or generator has no order to pose, or can be read only once."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def check_sequence(problem: Any, base: int, name: str) -> list[int]:
    """A user-posed sequence of symbols as a list of ints, or ``ValueError`` saying what is wrong."""
    if not is_sequence(problem):
        raise ValueError(
            f"{name} problem must be a list, tuple or 1-D array of ints in [0, {base}), got {problem!r}"
        )
    symbols = list(problem)
    for s in symbols:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or not 0 <= s < base:
            raise ValueError(f"{name} problem symbols must be ints in [0, {base}), got {s!r}")
    if not symbols:
        raise ValueError(f"{name} problem must hold at least one symbol")
    return [int(s) for s in symbols]
