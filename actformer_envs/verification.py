"""Verification sets: the distinct observations an expert visits, and whether they stop growing.

The observation is a finite, length-invariant view and every expert is a function of it. If the
observations the expert visits on training-length problems already contain every observation it
visits on longer ones (the set is *closed*), a policy that takes the expert's action on each
observation of the set takes the expert's actions step for step on every problem, at any length.
This module builds such sets (``expert_observations``; ``exhaustive``: from every problem of some
lengths, as the tasks enumerate them with ``Task.all_problems``; ``collect``: every problem of some
lengths and random ones of others), compares them (``new_observations``) and says what makes a stray
observation new (``nearest_member``: the entries in which it differs from the closest observation of
a set, named by ``entry_names``); the policy's side (greedy agreement on a set) lives with the agents.

Every problem of a length is laid out a batch at a time (``Enumeration.pose_at``), as fast as random
problems, so that sets of millions of problems take seconds; rows are compared as one exact int64 id
each (``row_ids``), not as opaque bytes, which NumPy sorts many times slower.

An observation is recorded where a decision is made: at the start of an episode and after every
step that does not end it (not the state after HALT). With ``projected=True`` each is recorded as
the expert reads it (``actformer_envs.reads``: the task's declared view, every unread entry 0):
the set a projected policy is certified on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actformer_envs.checks import check_int
from actformer_envs.config import EnvConfig
from actformer_envs.env import task_class
from actformer_envs.episodes import Episodes
from actformer_envs.observation import field_entries
from actformer_envs.posing import STEP_LIMIT_FACTOR, Posed, pose
from actformer_envs.problem_queue import ProblemQueue
from actformer_envs.reads import ReadMasks, project
from actformer_envs.tasks import Mixture, MultiTask, Task
from actformer_envs.tasks.base import ENUMERATION_CAP, MAX_ENUMERATION, Enumeration, Problems

#: Episodes run together; a batch's observations are deduplicated before they join the set.
BATCH = 1024
#: Random problems per training length in a verification set where they are not all run: enough
#: for Copy and Reverse at ``history_length=0``, lengths 1..3, to reach their exhaustive sets (3,640
#: and 5,950 observations). Used by ``actformer certify`` and by imitation's fit on the set.
SET_SAMPLES = 10_000
#: Every problem of a length joins the set where there are at most this many: seconds for 10**5
#: (10**7 takes minutes a length, and memory).
SET_CAP = 100_000


@dataclass
class ObservationSet:
    """Distinct observations, each with the expert's action and mask there, and where it was first
    seen (``episode``: index of the problem in generation order, ``step``: steps into its episode).

    ``rows`` holds each observation as one int64 row: the env's keys (``keys``) in order, each
    flattened; ``observations()`` gives them back as the env's batched dict.
    """

    task: str
    settings: dict[str, Any]  # the env's, and ``projected``: rows as the expert reads them
    keys: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    rows: np.ndarray  # (n, width) int64
    expert_actions: np.ndarray  # (n,) int64
    action_masks: np.ndarray  # (n, actions) bool
    episode: np.ndarray  # (n,) int64
    step: np.ndarray  # (n,) int64
    sources: list[dict[str, Any]] = field(default_factory=list)  # what problems were run
    episodes: int = 0  # problems run
    visits: int = 0  # decisions made (observations seen, with repeats)
    expert_failures: int = 0  # problems the expert did not solve (should be 0)
    conflicts: int = 0  # observations on which the expert chose two different actions (should be 0)

    def __len__(self) -> int:
        return len(self.rows)

    def observations(self, index: np.ndarray | slice = slice(None)) -> dict[str, np.ndarray]:
        """The observations at ``index`` as the env's batched dict (its keys, shapes and dtypes)."""
        rows = self.rows[index]
        out, start = {}, 0
        for key, shape, dtype in zip(self.keys, self.shapes, self.dtypes, strict=True):
            size = int(np.prod(shape))
            out[key] = rows[:, start : start + size].reshape(len(rows), *shape).astype(dtype)
            start += size
        return out

    def contains(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` (observations as rows, as ``rows``) is in the set, (m,) bool."""
        ours, theirs = row_ids(self.rows, rows)
        return np.isin(theirs, ours)


def expert_observations(
    task: str | type[Task] | type[MultiTask],
    problems: Iterable[Any] = (),
    lengths: Sequence[int] = (),
    samples: int = 0,
    seed: int = 0,
    batch: int = BATCH,
    projected: bool = False,
    **env_kwargs: Any,
) -> ObservationSet:
    """The distinct observations the expert visits on ``problems`` (the user's, e.g. every problem of
    a length) and on ``samples`` random problems of each length in ``lengths`` (seeded by ``seed``).

    ``env_kwargs`` are the env's (``history_length``, ``base``, ...); ``max_length`` defaults to the
    longest problem run, as the observation does not depend on it. ``projected``: record each
    observation as the expert reads it (its task's ``reads``). ``problems`` may be an
    ``Enumeration`` (``Task.all_problems``): made of the env's task with its settings, its problems
    are laid out a batch at a time (as fast as random ones) instead of posed one by one.
    """
    task_type = task_class(task)
    enumerated = problems if isinstance(problems, Enumeration) else None
    explicit: Sequence[Any] = enumerated if enumerated is not None else list(problems)
    if "max_length" not in env_kwargs:
        if enumerated is not None:
            sizes = [*lengths, enumerated.length]
        else:
            sizes = [*lengths, *(_problem_length(task_type, p, env_kwargs) for p in explicit)]
        env_kwargs["max_length"] = max(sizes, default=1)
    config = EnvConfig.for_task(task_type, **env_kwargs)
    collector = _Collector(task_type, config, batch, projected)
    if enumerated is not None:
        collector.run_all(enumerated)
    else:
        for start in range(0, len(explicit), batch):
            collector.run(problems=explicit[start : start + batch])
    if len(explicit):
        source: dict[str, Any] = {"problems": "given", "count": len(explicit)}
        if enumerated is not None:
            source["all_of_length"] = enumerated.length
        collector.sources.append(source)
    random = np.random.default_rng(seed)
    for length in lengths:
        for start in range(0, samples, batch):
            count = min(batch, samples - start)
            collector.run(lengths=np.full(count, length), seeds=random.integers(2**63, size=count))
        collector.sources.append({"length": int(length), "samples": int(samples), "seed": int(seed)})
    return collector.result()


#: Random problems whose expert episodes estimate a length's mean episode (``mean_episode_steps``).
PILOT = 64


def mean_episode_steps(
    task: str | type[Task] | type[MultiTask], length: int, seed: int = 0, **env_kwargs: Any
) -> float:
    """The expert's mean episode (its program length, known when a problem is posed: nothing is
    run) on ``PILOT`` random problems of ``length`` drawn with ``seed``."""
    task_type = task_class(task)
    settings = {key: value for key, value in env_kwargs.items() if key not in ("min_length", "max_length")}
    episodes = Episodes(task_type, EnvConfig.for_task(task_type, max_length=length, **settings), batch=PILOT)
    envs = np.arange(PILOT)
    episodes.problems.seed(envs, np.random.default_rng(seed).integers(2**63, size=PILOT).astype(np.uint64))
    episodes.reset(envs, lengths=np.full(PILOT, length))
    return float(episodes.step_limit.mean()) / STEP_LIMIT_FACTOR


def affordable_length(
    task: str | type[Task] | type[MultiTask],
    length: int,
    floor: int,
    max_steps: float,
    seed: int = 0,
    **env_kwargs: Any,
) -> int:
    """``length``, or the longest length in ``(floor, length)`` whose expert episodes take at most
    ``max_steps`` on average (``floor + 1`` if none does): where far closure probes of tasks whose
    episodes grow with the square of the length (long multiplication, Expression) are run."""
    if mean_episode_steps(task, length, seed, **env_kwargs) <= max_steps:
        return length
    low, high = floor + 1, length  # the answer lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if mean_episode_steps(task, middle, seed, **env_kwargs) <= max_steps:
            low = middle
        else:
            high = middle
    return low


def enumerable(
    task: str | type[Task] | type[MultiTask], length: int, cap: int = ENUMERATION_CAP, **env_kwargs: Any
) -> Enumeration | None:
    """Every problem of ``length`` of the env's task with the env's settings (``env_kwargs``: ``base``
    and the task's own options), if the task enumerates them and they number at most ``cap``; else
    None. A MultiTask of one member (``tasks=[name]``) enumerates that member's problems, as the
    ``(name, problem)`` pairs it poses; one of several members: None."""
    return _family(task, length, cap, env_kwargs, covering=False)


def covering(
    task: str | type[Task] | type[MultiTask], length: int, cap: int = ENUMERATION_CAP, **env_kwargs: Any
) -> Enumeration | None:
    """The env's task's covering problems of ``length`` (``Task.covering_problems``: what a
    verification set runs in full besides its random problems of a length), as :func:`enumerable`
    gives every problem; None where the task has none, or more than ``cap``."""
    return _family(task, length, cap, env_kwargs, covering=True)


def _family(
    task: str | type[Task] | type[MultiTask],
    length: int,
    cap: int,
    env_kwargs: dict[str, Any],
    covering: bool,
) -> Enumeration | None:
    """Every problem of ``length`` (``Task.all_problems``) or its covering ones, of the env's task:
    :func:`enumerable` and :func:`covering`."""
    task_type = task_class(task)
    settings = {key: value for key, value in env_kwargs.items() if key not in ("min_length", "max_length")}
    config = EnvConfig.for_task(task_type, max_length=max(length, 1), **settings)
    made = task_type(config.base, **config.task_options)
    if isinstance(made, MultiTask):
        return _member_problems(made, length, cap, covering)
    return made.covering_problems(length, cap) if covering else made.all_problems(length, cap)


def _member_problems(task: MultiTask, length: int, cap: int, covering: bool) -> Enumeration | None:
    """A MultiTask of one member: that member's problems of ``length`` (every one, or its covering
    ones) as ``(name, problem)`` pairs, laid out as the member lays them out (a mixture of one member
    has its rows)."""
    if len(task.mixture.members) != 1:
        return None
    member = task.mixture.members[0]
    inner = member.covering_problems(length, cap) if covering else member.all_problems(length, cap)
    if inner is None:
        return None

    def problems_at(indices: np.ndarray) -> list[Any]:
        return [(member.name, problem) for problem in inner.problems_at(indices)]

    return Enumeration(member, length, len(inner), problems_at, inner.pose_at)


def exhaustive(
    task: str | type[Task] | type[MultiTask],
    lengths: Sequence[int],
    cap: int = ENUMERATION_CAP,
    batch: int = BATCH,
    projected: bool = False,
    **env_kwargs: Any,
) -> ObservationSet | None:
    """The distinct observations the expert visits on every problem of each of ``lengths``
    (``Task.all_problems``); None if the task cannot enumerate some length's problems, or they
    number more than ``cap`` there. ``env_kwargs`` as :func:`expert_observations`'.
    """
    if not len(lengths):
        raise ValueError("lengths must hold at least one length, got none")
    for length in lengths:
        check_int("lengths", length, low=1, numpy_ints=True)
    check_int("cap", cap, low=0, high=MAX_ENUMERATION)
    if any(enumerable(task, int(length), cap, **env_kwargs) is None for length in lengths):
        return None
    return collect(
        task, lengths, [None] * len(lengths), cap=cap, batch=batch, projected=projected, **env_kwargs
    )


def collect(
    task: str | type[Task] | type[MultiTask],
    lengths: Sequence[int],
    samples: Sequence[int | None],
    seed: int = 0,
    cap: int = ENUMERATION_CAP,
    batch: int = BATCH,
    projected: bool = False,
    with_covering: bool = False,
    **env_kwargs: Any,
) -> ObservationSet:
    """One set from each of ``lengths`` in turn: every problem of it where its entry of ``samples``
    is None (``Task.all_problems``, at most ``cap`` of them), else that many random problems (one
    generator seeded by ``seed`` draws their seeds, over the sampled lengths in order, as
    :func:`expert_observations` draws them), and with ``with_covering`` then the task's covering
    problems of the length (:func:`covering`, if any, at most ``cap``): a verification set's.
    ``env_kwargs`` as :func:`expert_observations`'.

    The sources say which: ``{"problems": "all", "length": n, "count": ...}``, whose episode ``e``
    (counted from the source's first) is ``all_problems(n)[e]``; ``{"length": n, "samples": k,
    "seed": s}``; ``{"problems": "covering", "length": n, "count": ...}``, whose episode ``e`` is
    ``covering_problems(n)[e]``. ``ValueError`` naming ``samples`` where a length's problems are not
    enumerable.
    """
    if len(samples) != len(lengths) or not len(lengths):
        raise ValueError(f"samples must hold one entry per length ({len(lengths)}), got {len(samples)}")
    for length, count in zip(lengths, samples, strict=True):
        check_int("lengths", length, low=1, numpy_ints=True)
        if count is not None:
            check_int("samples", count, low=1, numpy_ints=True)
    task_type = task_class(task)
    env_kwargs.setdefault("max_length", max(int(length) for length in lengths))
    collector = _Collector(task_type, EnvConfig.for_task(task_type, **env_kwargs), batch, projected)
    random = np.random.default_rng(seed)
    for length, count in zip(lengths, samples, strict=True):
        if count is None:
            enumeration = enumerable(task, int(length), cap, **env_kwargs)
            if enumeration is None:
                raise ValueError(
                    f"samples must give a count for length {length}: {task_type.name} does not enumerate "
                    f"its problems of that length within cap={cap}"
                )
            collector.run_all(enumeration)
            collector.sources.append({"problems": "all", "length": int(length), "count": len(enumeration)})
        else:
            for start in range(0, count, batch):
                size = min(batch, count - start)
                collector.run(lengths=np.full(size, length), seeds=random.integers(2**63, size=size))
            collector.sources.append({"length": int(length), "samples": int(count), "seed": int(seed)})
            family = covering(task, int(length), cap, **env_kwargs) if with_covering else None
            if family is not None:
                collector.run_all(family)
                collector.sources.append(
                    {"problems": "covering", "length": int(length), "count": len(family)}
                )
    return collector.result()


def new_observations(reference: ObservationSet, probe: ObservationSet) -> np.ndarray:
    """Indices of ``probe``'s observations that ``reference`` lacks (the strays: closure fails on
    each of them). ``ValueError`` unless both are of the same env: the same task, and the same
    settings but for the problem lengths (``min_length``, ``max_length``), which the observation does
    not show; two envs of the same keys (Copy and Reverse, base 10 and base 3) are not comparable."""
    if reference.keys != probe.keys or reference.shapes != probe.shapes:
        raise ValueError("the two sets hold observations of different envs (keys or shapes differ)")
    if reference.task != probe.task:
        raise ValueError(
            f"the two sets hold observations of different tasks ({reference.task}, {probe.task})"
        )
    ours, theirs = _observed_settings(reference), _observed_settings(probe)
    if ours != theirs:
        differ = sorted(key for key in {*ours, *theirs} if ours.get(key) != theirs.get(key))
        raise ValueError(
            f"the two sets hold observations of envs whose settings differ ({', '.join(differ)})"
        )
    return np.flatnonzero(~reference.contains(probe.rows))


def entry_names(obs_set: ObservationSet) -> list[str]:
    """A name for each column of the set's rows, by meaning (:func:`field_entries`):
    ``symbols[P0.left]``, ``boundaries[P2.end]``, ``registers[R1]``, ``last_action``, ..."""
    return [
        name
        for key, shape in zip(obs_set.keys, obs_set.shapes, strict=True)
        for name in field_entries(key, int(np.prod(shape)))
    ]


def nearest_member(reference: ObservationSet, row: np.ndarray) -> dict[str, Any]:
    """What makes an observation (one row, as ``ObservationSet.rows``) differ from ``reference``: the
    member that differs from it in the fewest keys (then the fewest entries), and those keys, each
    with its value in the observation and in that member; ``novel_keys``: the keys whose value
    occurs in no member at all (a feature whose range grows, as a counter or a run in the history).

    ``{"index": i, "keys": {...}, "entries": {...}, "novel_keys": [...]}``, ``entries`` the differing
    entries by :func:`entry_names`; ``index`` is None for an empty set."""
    row = np.asarray(row, dtype=np.int64).reshape(-1)
    spans = _key_spans(reference)
    if not len(reference):
        return {"index": None, "keys": {}, "entries": {}, "novel_keys": list(reference.keys)}
    unequal = reference.rows != row  # (n, width)
    per_key = np.stack([unequal[:, start:stop].any(axis=1) for start, stop in spans.values()], axis=1)
    keys_off = per_key.sum(axis=1)
    cells_off = unequal.sum(axis=1)
    index = int(np.lexsort((cells_off, keys_off))[0])
    member = reference.rows[index]
    differing = {
        key: {"observation": row[start:stop].tolist(), "nearest": member[start:stop].tolist()}
        for key, (start, stop) in spans.items()
        if (row[start:stop] != member[start:stop]).any()
    }
    names = entry_names(reference)
    entries = {
        names[i]: {"observation": int(row[i]), "nearest": int(member[i])}
        for i in np.flatnonzero(row != member).tolist()
    }
    novel = [
        key
        for key, (start, stop) in spans.items()
        if not (reference.rows[:, start:stop] == row[start:stop]).all(axis=1).any()
    ]
    return {"index": index, "keys": differing, "entries": entries, "novel_keys": novel}


class _Collector:
    """Runs the expert on batches of problems and keeps the distinct observations it decides on."""

    def __init__(
        self, task_type: type[Task] | type[MultiTask], config: EnvConfig, batch: int, projected: bool = False
    ) -> None:
        self.task_type, self.config, self.batch = task_type, config, batch
        self.projected = projected
        task = task_type(config.base, **config.task_options)
        self.mixture = task.mixture if isinstance(task, MultiTask) else Mixture.of(task)
        self.masks: ReadMasks | None = None
        if projected:
            self.masks = self.mixture.read_masks()
            if self.masks is None:
                raise ValueError(
                    f"projected=True needs declared reads: {task_type.name}'s expert declares none"
                )
        self.sources: list[dict[str, Any]] = []
        self._parts: list[tuple[np.ndarray, ...]] = []
        self.episodes = self.visits = self.failures = 0
        self.layout: tuple[tuple[str, tuple[int, ...], str], ...] | None = None

    def run(
        self,
        problems: Sequence[Any] = (),
        lengths: np.ndarray | None = None,
        seeds: np.ndarray | None = None,
        posed: Problems | None = None,
    ) -> None:
        """Run the expert on one batch: the user's ``problems``, random ones of ``lengths`` (seeded
        per problem by ``seeds``), or problems laid out already (``posed``, of the env's task)."""
        count = len(posed) if posed is not None else len(problems) if lengths is None else len(lengths)
        if not count:
            return
        episodes = Episodes(self.task_type, self.config, batch=count)
        envs = np.arange(count)
        if posed is not None:
            episodes.problems = _Given(pose(episodes.mixture.members, posed, np.zeros(count, dtype=np.intp)))
            episodes.reset(envs)
        elif lengths is None:
            episodes.reset(envs, problems=problems)
        else:
            episodes.problems.seed(envs, np.asarray(seeds, dtype=np.uint64))
            episodes.reset(envs, lengths=lengths)
        active = np.ones(count, dtype=bool)
        parts: list[tuple[np.ndarray, ...]] = []
        step = 0
        while active.any():
            obs = episodes.observation()
            actions = episodes.expert_action()
            where = np.flatnonzero(active)
            rows = self._rows(obs)[where]
            masks = np.asarray(episodes.action_masks())[where]
            parts.append((rows, actions[where], masks, where + self.episodes, np.full(len(where), step)))
            _, terminated, truncated, _, success = episodes.step(actions)
            self.failures += int((truncated & active).sum() + (terminated & ~success & active).sum())
            active &= ~(terminated | truncated)
            step += 1
        self.visits += sum(len(part[0]) for part in parts)
        self.episodes += count
        rows, actions, masks, episode, steps = (np.concatenate(column) for column in zip(*parts, strict=True))
        # Distinct (observation, action) pairs: a batch keeps an observation once per action it got,
        # so that ``result`` counts the conflicts within a batch too.
        paired = _distinct(np.concatenate([rows, actions[:, None]], axis=1), masks, episode, steps)
        self._parts.append((paired[0][:, :-1], paired[0][:, -1], *paired[1:]))

    def lays_out(self, enumeration: Enumeration) -> bool:
        """Whether ``enumeration``'s batched layout poses what this env would: its task is the env's
        one member (same class, base and options: the task itself, or a MultiTask's only member)
        and it has one. Otherwise its problems are posed one by one, each checked, as any user's."""
        task, members = enumeration.task, self.mixture.members
        return (
            enumeration.pose_at is not None
            and len(members) == 1
            and type(task) is type(members[0])
            and task.base == members[0].base
            and task.options == members[0].options
            and enumeration.length <= self.config.max_length
        )

    def run_all(self, enumeration: Enumeration) -> None:
        """Run every problem of ``enumeration``: laid out a batch at a time where it lays out what
        this env would pose (:meth:`lays_out`), else posed one by one."""
        if self.lays_out(enumeration):
            self.run_enumeration(enumeration)
        else:
            for start in range(0, len(enumeration), self.batch):
                self.run(problems=enumeration[start : start + self.batch])

    def run_enumeration(self, enumeration: Enumeration) -> None:
        """Run every problem of ``enumeration``, ``batch`` at a time, laid out by its ``pose_at``."""
        assert enumeration.pose_at is not None
        for start in range(0, len(enumeration), self.batch):
            indices = np.arange(start, min(start + self.batch, len(enumeration)), dtype=np.int64)
            self.run(posed=enumeration.pose_at(indices, self.width))

    @property
    def width(self) -> int:
        """The scratchpad's columns in this env."""
        return self.mixture.width(self.config.max_length)

    def _rows(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The batched observation as int64 rows, keys in the env's order (projected if asked)."""
        if self.masks is not None:
            obs = project(obs, self.masks)
        if self.layout is None:
            self.layout = tuple(
                (key, np.shape(value)[1:], np.asarray(value).dtype.str) for key, value in obs.items()
            )
        count = len(next(iter(obs.values())))
        return np.concatenate(
            [np.asarray(obs[key]).reshape(count, -1).astype(np.int64) for key, _, _ in self.layout], axis=1
        )

    def result(self) -> ObservationSet:
        if not self._parts:
            raise ValueError("no problems to run: give problems, or lengths and samples > 0")
        rows, actions, masks, episode, step = (
            np.concatenate(column) for column in zip(*self._parts, strict=True)
        )
        ranks, distinct = _ranks(row_ids(rows)[0])
        # Distinct (observation, action) pairs beyond one per observation (the parts hold each pair once).
        conflicts = len(np.unique(ranks * (int(actions.max()) + 1) + actions)) - distinct
        _, first = np.unique(ranks, return_index=True)
        first.sort()  # (in order of first occurrence)
        rows, actions, masks, episode, step = (
            column[first] for column in (rows, actions, masks, episode, step)
        )
        assert self.layout is not None
        keys, shapes, dtypes = zip(*self.layout, strict=True)
        settings = {
            "min_length": self.config.min_length,
            "max_length": self.config.max_length,
            "base": self.config.base,
            "obs_mode": self.config.obs_mode,
            "history_length": self.config.history_length,
            **self.config.task_options,
            "projected": self.projected,
        }
        return ObservationSet(
            task=self.task_type.name,
            settings=settings,
            keys=tuple(keys),
            shapes=tuple(shapes),
            dtypes=tuple(dtypes),
            rows=rows,
            expert_actions=actions,
            action_masks=masks,
            episode=episode,
            step=step,
            sources=self.sources,
            episodes=self.episodes,
            visits=self.visits,
            expert_failures=self.failures,
            conflicts=conflicts,
        )


class _Given(ProblemQueue):
    """Stands in for an ``Episodes``' problem queue: env ``i`` pops problem ``i`` of a batch laid out
    and posed already (``reset`` then loads them as it loads its own random ones)."""

    def __init__(self, posed: Posed) -> None:  # (none of the queue's own state: it is never refilled)
        self.posed = posed

    def pop(self, envs: np.ndarray) -> Posed:
        return self.posed[envs]


def _observed_settings(obs_set: ObservationSet) -> dict[str, Any]:
    """A set's env settings but for the problem lengths, which the observation does not show (a
    list as a tuple: a set read back from disk has its tuples as lists)."""
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in obs_set.settings.items()
        if key not in ("min_length", "max_length")
    }


def _key_spans(obs_set: ObservationSet) -> dict[str, tuple[int, int]]:
    """Each key's columns in the set's rows, (start, stop)."""
    spans, start = {}, 0
    for key, shape in zip(obs_set.keys, obs_set.shapes, strict=True):
        size = int(np.prod(shape))
        spans[key] = (start, start + size)
        start += size
    return spans


def row_ids(*arrays: np.ndarray) -> list[np.ndarray]:
    """Each row of each 2-D int array (all of one width) as one int64, the same for equal rows, of
    any of the arrays, and only for them: an exact stand-in for whole rows in NumPy's set operations
    (``unique``, ``isin``), which sort int64 many times faster than rows as opaque items.

    Each column takes the bits its range needs; the columns are packed into as few fields as they
    fit, and the fields are joined by ranking the ids so far (their rank among the distinct ones,
    fewer than the rows) whenever the next field would not fit beside them: a field has room for
    ``62 - bits(rows)`` bits, so that a rank times a field's range stays below 2**62.
    """
    sizes = [len(array) for array in arrays]
    rows = np.concatenate([np.asarray(array, dtype=np.int64).reshape(len(array), -1) for array in arrays])
    if not len(rows):
        return np.split(np.zeros(0, dtype=np.int64), np.cumsum(sizes)[:-1])
    lows, highs = rows.min(axis=0), rows.max(axis=0)
    bits = [int(span).bit_length() for span in (highs - lows).tolist()]
    room_bits = _ID_BITS - len(rows).bit_length()
    fields: list[list[tuple[int, int]]] = [[]]  # per field: (column, shift)
    used = 0
    for column, width in enumerate(bits):
        if not width:
            continue  # a constant column tells no row from another
        if used + width > room_bits and fields[-1]:
            fields.append([])
            used = 0
        fields[-1].append((column, used))
        used += width
    shifts = np.zeros((rows.shape[1], len(fields)), dtype=np.int64)
    for index, members in enumerate(fields):
        for column, shift in members:
            shifts[column, index] = 1 << shift
    packed = np.empty((len(rows), len(fields)), dtype=np.int64)
    for start in range(0, len(rows), _PACK_ROWS):  # (a block at a time: no full-size temporaries)
        block = rows[start : start + _PACK_ROWS] - lows
        packed[start : start + _PACK_ROWS] = block @ shifts  # exact: every column in bits of its own
    ids, size = packed[:, 0].copy(), 1 << sum(bits[column] for column, _ in fields[0])
    for index, members in enumerate(fields[1:], start=1):
        room = 1 << sum(bits[column] for column, _ in members)
        if size * room > 1 << _ID_BITS:
            ids, size = _ranks(ids)
        ids *= room
        ids += packed[:, index]
        size *= room
    return np.split(ids, np.cumsum(sizes)[:-1])


#: ``row_ids``' ids stay below 2 ** this (int64's range, with room to spare).
_ID_BITS = 62
#: Rows packed at a time.
_PACK_ROWS = 65536


def _ranks(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Each id's rank among the distinct ids (0, 1, ...), and how many there are."""
    if not len(ids):
        return ids.copy(), 0
    order = np.argsort(ids)
    ordered = ids[order]
    steps = np.empty(len(ids), dtype=np.int64)
    steps[0] = 0
    np.not_equal(ordered[1:], ordered[:-1], out=steps[1:])
    ranks = np.empty_like(ids)
    ranks[order] = np.cumsum(steps)
    return ranks, int(ranks[order[-1]]) + 1


def _distinct(rows: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The first occurrence of each distinct row (in order of first occurrence), with its columns."""
    _, first = np.unique(row_ids(rows)[0], return_index=True)
    first.sort()
    return (rows[first], *(column[first] for column in columns))


def _problem_length(task_type: type[Task] | type[MultiTask], problem: Any, env_kwargs: dict[str, Any]) -> int:
    """The size of a user's problem, by the task's own rule."""
    base = env_kwargs.get("base", task_type.default_base)
    options = {key: value for key, value in env_kwargs.items() if key in task_type.option_defaults}
    task = task_type(base, **options)
    mixture = task.mixture if isinstance(task, MultiTask) else Mixture.of(task)
    return int(mixture.problem_length(problem))
