"""What an expert reads (``actformer_envs.reads``): each task's declared view, its projection, its guard.

The experts' rule (``Task.decide``) runs on the projected, guarded view (``Task.expert``); the tests
hold it to the same rule on the raw observation, on the expert's own path and off it (states after
random allowed actions: the labels DAgger asks for). The projection is held to its definition entry
by entry, on the env's observations and on random ones of the observation space; the policy's copy
of it (``ActformerPolicy(reads=...)``, on tensors) to the NumPy one; the projected policy to its
indifference to what the expert does not read; and ``collect(projected=True)`` to the projection of
the unprojected set.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from actformer_envs.config import EnvConfig
from actformer_envs.episodes import Episodes
from actformer_envs.instructions import (
    NUM_MEMORY,
    NUM_POINTERS,
    NUM_REGISTERS,
    VALUE_LIMIT,
    instruction_index,
)
from actformer_envs.observation import (
    ACTION_VALUES,
    COMPARE,
    EDGES,
    LEFT,
    NUM_FLAGS,
    P0,
    P1,
    P2,
    P3,
    RIGHT,
    UNDER,
    WINDOW_SIZE,
    ObservationView,
    field_entries,
    observation_space,
)
from actformer_envs.reads import ExpertReads, ReadMasks, UndeclaredRead, project
from actformer_envs.symbols import BLANK, EDGE, MAX_BASE, NUM_SYMBOLS
from actformer_envs.tasks import SINGLE_TASKS, TASKS, Copy, Mixture, MultiTask, Sort
from actformer_envs.tasks.base import Task
from actformer_envs.verification import collect
from actformer_gym.agents.actformer import ActformerPolicy

_HALT = instruction_index("HALT")

#: The fields a declaration names entries of, and their sizes (every other field reads as 0).
FIELD_SIZES = {
    "symbols": NUM_POINTERS * WINDOW_SIZE,
    "boundaries": NUM_POINTERS * EDGES,
    "registers": NUM_REGISTERS,
    "memory": NUM_MEMORY,
    "flags": NUM_FLAGS,
    "last_action": 1,
    "task": 1,
}
SYMBOL_NAMES = field_entries("symbols", FIELD_SIZES["symbols"])
ALL_NAMES = [name for key, size in FIELD_SIZES.items() for name in field_entries(key, size)]

#: Task options beyond the defaults worth running (where the registry has the task).
OPTION_VARIANTS: dict[str, list[dict[str, Any]]] = {
    "Expression": [{"stage": 0}, {"stage": 1}],
    "RepeatCopy": [{"max_repeats": 1}],
}


def _variants(every_base: bool) -> list[tuple[str, dict[str, Any]]]:
    """(task, env settings) for each single task of the registry: its defaults, the ends of its base
    range (only the low end unless ``every_base``), and its option variants."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, cls in SINGLE_TASKS.items():
        out.append((name, {}))
        low, high = cls.base_range
        ends = {low, high} if every_base else {low}
        out += [(name, {"base": base}) for base in sorted(ends - {cls.default_base})]
        out += [(name, dict(options)) for options in OPTION_VARIANTS.get(name, [])]
    return out


def _id(variant: tuple[str, dict[str, Any]]) -> str:
    name, env_settings = variant
    return "-".join([name, *(f"{key}={value}" for key, value in env_settings.items())])


ON_PATH = _variants(every_base=True)
OFF_PATH = _variants(every_base=False)


# -- running episodes ------------------------------------------------------------------------------


def start(task: str, lengths: np.ndarray, seed: int, **env_settings: Any) -> Episodes:
    """Episodes of ``task`` on random problems of ``lengths`` (one env each), seeded by ``seed``."""
    task_type = TASKS[task]
    config = EnvConfig.for_task(task_type, max_length=int(lengths.max()), **env_settings)
    episodes = Episodes(task_type, config, batch=len(lengths))
    envs = np.arange(len(lengths))
    episodes.problems.seed(envs, np.random.default_rng(seed).integers(2**63, size=len(envs), dtype=np.uint64))
    episodes.reset(envs, lengths=lengths)
    return episodes


def lengths_of(task: str, per_length: int, longer: bool = False) -> np.ndarray:
    """``per_length`` problems of each of the task's default lengths (and of twice the longest)."""
    low, high = TASKS[task].default_lengths
    return np.repeat(np.array([*range(low, high + 1), *([2 * high] if longer else [])]), per_length)


def rule_on_raw(mixture: Mixture, observation: dict[str, np.ndarray]) -> np.ndarray:
    """Each member's rule (``decide``) on the raw observation: no projection, no guard."""
    if mixture.ids is None:
        return np.asarray(mixture.members[0].decide(ObservationView(observation)))
    actions = np.full(len(observation["task"]), -1, dtype=np.int64)
    for member, task_id in zip(mixture.members, mixture.ids, strict=True):
        where = np.flatnonzero(observation["task"] == task_id)
        if len(where):
            actions[where] = member.decide(
                ObservationView({key: value[where] for key, value in observation.items()})
            )
    return actions


def copy_of(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.array(value, copy=True) for key, value in observation.items()}


def shown(observation: Mapping[str, np.ndarray], row: int) -> str:
    return ", ".join(f"{key}={np.asarray(value)[row].tolist()}" for key, value in observation.items())


def random_allowed(episodes: Episodes, rng: np.random.Generator) -> np.ndarray:
    """A random allowed action of each env, never HALT (so that episodes go on)."""
    allowed = np.array(episodes.action_masks())
    allowed[:, _HALT] = False
    return np.argmax(allowed * (rng.random(allowed.shape) + 1), axis=1)


def follow(
    episodes: Episodes, p_random: float, seed: int, max_steps: int | None = None
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Step every env, each step the expert's action or, with probability ``p_random``, a random
    allowed one; at each decision (of each env not yet ended) hold the expert through its view to
    its rule on the raw observation. Returns (decisions, decisions off the expert's path (after a
    random action), success and truncation of each env's episode)."""
    mixture = episodes.mixture
    rng = np.random.default_rng(seed)
    n = episodes.batch
    active, strayed = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    success, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    decisions = off_path = steps = 0
    while active.any() and (max_steps is None or steps < max_steps):
        observation = episodes.observation()
        raw = copy_of(observation)
        expert = np.asarray(mixture.expert(observation))
        assert all(np.array_equal(observation[key], raw[key]) for key in raw), "the expert changed its input"
        rule = rule_on_raw(mixture, raw)
        wrong = np.flatnonzero(active & (expert != rule))
        assert not len(wrong), (
            f"{mixture.name}: through its view the expert chose {expert[wrong[0]]}, its rule on the raw "
            f"observation {rule[wrong[0]]} ({'off' if strayed[wrong[0]] else 'on'} its path), at "
            f"{shown(raw, wrong[0])}"
        )
        decisions += int(active.sum())
        off_path += int((active & strayed).sum())
        chosen = rng.random(n) < p_random
        strayed |= chosen & active
        _, terminated, cut, _, solved = episodes.step(np.where(chosen, random_allowed(episodes, rng), expert))
        success |= solved & active
        truncated |= cut & active
        active &= ~(terminated | cut)
        steps += 1
    return decisions, off_path, success, truncated


@functools.cache
def visited(task: str, obs_mode: str = "local", history_length: int = 8) -> dict[str, np.ndarray]:
    """Observations the env shows on and off the expert's path (40% random actions): every decision
    of a few episodes of each default length, stacked (read-only)."""
    episodes = start(task, lengths_of(task, 3), seed=11, obs_mode=obs_mode, history_length=history_length)
    rng = np.random.default_rng(5)
    parts: list[dict[str, np.ndarray]] = []
    active = np.ones(episodes.batch, dtype=bool)
    for _ in range(80):
        observation = episodes.observation()
        parts.append({key: value[active] for key, value in observation.items()})
        chosen = rng.random(episodes.batch) < 0.4
        actions = np.where(chosen, random_allowed(episodes, rng), episodes.expert_action())
        _, terminated, truncated, _, _ = episodes.step(actions)
        active &= ~(terminated | truncated)
        if not active.any():
            break
    out = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    for value in out.values():
        value.flags.writeable = False
    return out


def space_of(task: str, **env_settings: Any) -> Any:
    """The single observation space of ``task``'s env under ``env_settings``."""
    task_type = TASKS[task]
    config = EnvConfig.for_task(task_type, **env_settings)
    instance = task_type(config.base, **config.task_options)
    mixture = instance.mixture if isinstance(instance, MultiTask) else Mixture.of(instance)
    return observation_space(mixture, config)


def mixture_of(task: str) -> Mixture:
    """The mixture of ``task``'s env with its defaults."""
    instance = TASKS[task](TASKS[task].default_base)
    return instance.mixture if isinstance(instance, MultiTask) else Mixture.of(instance)


# -- 1, 2: the expert through its view is its rule on the observation --------------------------------


def test_every_single_task_declares_its_reads() -> None:
    for name, cls in SINGLE_TASKS.items():
        assert isinstance(cls.reads, ExpertReads), f"{name} declares no reads"
    assert mixture_of("MultiTask").read_masks() is not None


@pytest.mark.parametrize(("task", "env_settings"), ON_PATH, ids=[_id(v) for v in ON_PATH])
def test_expert_through_its_view_is_its_rule_on_its_own_path(task: str, env_settings: dict) -> None:
    episodes = start(task, lengths_of(task, 3, longer=True), seed=1, **env_settings)
    decisions, _, success, truncated = follow(episodes, p_random=0.0, seed=0)
    assert success.all() and not truncated.any(), f"the expert failed on {np.flatnonzero(~success)}"
    assert decisions >= 3 * episodes.batch


@pytest.mark.parametrize("p_random", [0.25, 0.75])
@pytest.mark.parametrize(("task", "env_settings"), OFF_PATH, ids=[_id(v) for v in OFF_PATH])
def test_expert_through_its_view_is_its_rule_off_its_path(
    task: str, env_settings: dict, p_random: float
) -> None:
    """From states random allowed actions reach (DAgger's labels), the view changes no decision."""
    episodes = start(task, lengths_of(task, 2), seed=2, **env_settings)
    _, off_path, _, _ = follow(episodes, p_random=p_random, seed=3, max_steps=150)
    assert off_path >= 100  # (the check ran on many states off the expert's path)


@pytest.mark.parametrize("p_random", [0.0, 0.5])
def test_multitask_expert_through_its_members_views(p_random: float) -> None:
    episodes = start("MultiTask", np.repeat(np.arange(1, 4), 16), seed=4)
    decisions, off_path, success, truncated = follow(
        episodes, p_random, seed=5, max_steps=250 if p_random else None
    )
    assert decisions > 0
    if p_random == 0:
        assert success.all() and not truncated.any()
    else:
        assert off_path >= 100


# -- 3: the projection, entry by entry ----------------------------------------------------------------


def groups_of(reads: ExpertReads, with_task: bool = False) -> dict[str, str]:
    """Each declared entry's group: ``values``, ``kinds`` or ``relations`` (a cell of a compared pair;
    ``task`` read as it is with ``with_task``, as a mixture's member reads it)."""
    groups = {name: "values" for name in reads.values}
    groups |= {name: "kinds" for name in reads.kinds}
    groups |= {name: "relations" for first, second in reads.relations for name in (first, second)}
    if with_task:
        groups["task"] = "values"
    return groups


def pair_positions(reads: ExpertReads) -> list[tuple[int, int]]:
    """The declared pairs as positions in the flattened ``symbols`` field."""
    return [(SYMBOL_NAMES.index(first), SYMBOL_NAMES.index(second)) for first, second in reads.relations]


def components(cells: list[int], pairs: list[tuple[int, int]]) -> list[int]:
    """A plain union-find: each cell's root, the smallest position linked to it, where a declared pair
    holding equal symbols links its two cells (links chain); a cell of no such pair is its own."""
    parent = list(range(len(cells)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in pairs:
        if cells[a] == cells[b]:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)  # (the root of a set is its smallest position)
    return [root(i) for i in range(len(cells))]


def reference_labels(cells: list[int], pairs: list[tuple[int, int]]) -> list[int]:
    """The 12 symbol cells with each digit of a cell of a declared pair written as the smallest
    position of its linked group; BLANK, EDGE and every cell of no pair as they are."""
    related = {i for pair in pairs for i in pair}
    roots = components(cells, pairs)
    return [roots[i] if i in related and cells[i] < BLANK else cells[i] for i in range(len(cells))]


def assert_projects(
    x: Mapping[str, np.ndarray],
    y: Mapping[str, np.ndarray],
    reads: ExpertReads,
    with_task: bool = False,
    rows: Any = None,
) -> None:
    """``y`` is ``x`` as the declaration ``reads`` lets it through (in ``rows``; all if None; ``task``
    read as it is with ``with_task``): same keys, shapes and dtypes; values as they are; kinds' digits
    0, BLANK and EDGE kept; each digit of a cell of a compared pair the smallest position of its group
    (cells linked by declared pairs of equal symbols, the links chained), BLANK and EDGE kept, so that
    each declared pair is equal after iff it was before; every other entry 0."""
    groups = groups_of(reads, with_task)
    assert list(y) == list(x)
    for key in x:
        assert np.shape(y[key]) == np.shape(x[key]), key
        assert np.asarray(y[key]).dtype == np.asarray(x[key]).dtype, key
    pick = slice(None) if rows is None else rows
    for key in x:
        before = np.asarray(x[key])[pick]
        before = before.reshape(len(before), -1).astype(np.int64)
        after = np.asarray(y[key])[pick].reshape(len(before), -1).astype(np.int64)
        if key not in FIELD_SIZES:
            assert not after.any(), f"{key} is read nowhere, yet not all 0"
            continue
        for index, name in enumerate(field_entries(key, before.shape[1])):
            group = groups.get(name)
            if group == "values":
                assert np.array_equal(after[:, index], before[:, index]), name
            elif group == "kinds":
                assert np.array_equal(
                    after[:, index], np.where(before[:, index] >= BLANK, before[:, index], 0)
                ), name
            elif group is None:
                assert not after[:, index].any(), f"{name} is not declared, yet not 0"
    related = [i for i, name in enumerate(SYMBOL_NAMES) if groups.get(name) == "relations"]
    if not related:
        assert not reads.relations
        return
    assert related == sorted(SYMBOL_NAMES.index(name) for name in reads.related)
    before = np.asarray(x["symbols"])[pick].astype(np.int64)
    after = np.asarray(y["symbols"])[pick].astype(np.int64)
    digit = before[:, related] < BLANK
    assert np.array_equal(after[:, related][~digit], before[:, related][~digit]), (
        "a BLANK or EDGE changed under relations"
    )
    assert (after[:, related][digit] >= 0).all() and (after[:, related][digit] < BLANK).all()
    pairs = pair_positions(reads)
    for (a, b), names in zip(pairs, reads.relations, strict=True):
        assert np.array_equal(after[:, a] == after[:, b], before[:, a] == before[:, b]), (
            f"the (in)equality of the declared pair {names} changed"
        )
    for row in range(len(before)):
        expected = reference_labels(before[row].tolist(), pairs)
        assert after[row, related].tolist() == [expected[i] for i in related], (before[row].tolist(), pairs)


def assert_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    """Same keys, and per key the same dtype, shape and values."""
    assert list(a) == list(b)
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), key


def permute_digits(observation: Mapping[str, np.ndarray], permutation: list[int]) -> dict[str, np.ndarray]:
    """The observation with every symbol cell's digit ``d`` renamed ``permutation[d]``."""
    symbols = np.asarray(observation["symbols"])
    table = np.array([*permutation, BLANK, EDGE])
    return {**observation, "symbols": table[symbols].astype(symbols.dtype)}


def relabel_groups(
    observation: Mapping[str, np.ndarray], reads: ExpertReads, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The observation with, row by row, the digits of each linked group of the declared pairs' cells
    (:func:`components`) replaced by a fresh digit, drawn at random, another for each group; BLANK,
    EDGE and every other cell as they are. Every declared pair's (in)equality stays, while cells of
    different groups that were equal (an undeclared equality) mostly become unequal, and vice versa."""
    symbols = np.array(observation["symbols"], copy=True)
    flat = symbols.reshape(-1, symbols.shape[-1])
    pairs = pair_positions(reads)
    related = sorted({i for pair in pairs for i in pair})
    for row in range(len(flat)):
        cells = flat[row].tolist()
        roots = components(cells, pairs)
        groups = sorted({roots[i] for i in related if cells[i] < BLANK})
        fresh = dict(zip(groups, rng.permutation(MAX_BASE).tolist(), strict=False))
        for i in related:
            if cells[i] < BLANK:
                flat[row, i] = fresh[roots[i]]
    return {**observation, "symbols": symbols}


@st.composite
def declarations(draw: st.DrawFn) -> ExpertReads:
    """Any declaration: each entry unread or read as it is, a symbol cell also by kind or as a
    candidate for pairs; then pairs of two distinct candidates, in either order (so chains, cycles,
    both orders of a pair and repeated pairs happen); a candidate in no pair is unread."""
    groups: dict[str, list[str]] = {"values": [], "kinds": []}
    candidates: list[str] = []
    for name in ALL_NAMES:
        choices = [None, "values", "kinds", "pairs", "pairs"] if name in SYMBOL_NAMES else [None, "values"]
        group = draw(st.sampled_from(choices))
        if group == "pairs":
            candidates.append(name)
        elif group is not None:
            groups[group].append(name)
    pairs: list[tuple[str, str]] = []
    if len(candidates) >= 2:
        pair = st.permutations(candidates).map(lambda order: (order[0], order[1]))
        pairs = draw(st.lists(pair, max_size=16))
    return ExpertReads(values=tuple(groups["values"]), kinds=tuple(groups["kinds"]), relations=tuple(pairs))


#: The richest observation space: a MultiTask's (``task``), with history and ``obs_mode="full"``.
RICH_SPACE = space_of("MultiTask", obs_mode="full", history_length=4, max_length=4)


@st.composite
def space_observations(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """A batch of observations drawn from ``RICH_SPACE``, their symbols from a small alphabet (so
    that cells repeat) or from all of them."""
    count = draw(st.integers(1, 6), label="count")
    RICH_SPACE.seed(draw(st.integers(0, 2**32 - 1), label="seed"))
    samples = [RICH_SPACE.sample() for _ in range(count)]
    out = {key: np.stack([np.asarray(sample[key]) for sample in samples]) for key in RICH_SPACE.spaces}
    digits = draw(st.sampled_from([1, 2, 3, MAX_BASE]), label="digits")
    out["symbols"] = draw(
        arrays(np.int16, out["symbols"].shape, elements=st.sampled_from([*range(digits), BLANK, EDGE]))
    )
    return out


@settings(max_examples=80, deadline=None, database=None)
@given(
    observation=space_observations(),
    reads=declarations(),
    permutation=st.permutations(range(MAX_BASE)),
    seed=st.integers(0, 2**32 - 1),
)
def test_projection_of_random_observations(
    observation: dict[str, np.ndarray], reads: ExpertReads, permutation: list[int], seed: int
) -> None:
    original = copy_of(observation)
    projected = reads.project(observation)
    assert_same(observation, original)  # (the input is left as it was)
    assert_projects(observation, projected, reads)
    assert_same(reads.project(projected), projected)  # idempotent
    assert_same(project(observation, reads.masks()), projected)
    # The pairs' cells show a function of the declared pairs' (in)equalities and of which cells hold
    # digits: other digits that keep those project the same, whatever else they equal.
    assert_same(reads.project(relabel_groups(observation, reads, np.random.default_rng(seed))), projected)
    if not any(name in SYMBOL_NAMES for name in reads.values):  # digits read by kind or relation only
        assert_same(reads.project(permute_digits(observation, permutation)), projected)


#: Declarations of pairs alone: Sort's, every pair of the 12 cells, and a path through all 12 cells
#: (in a scrambled order: 11 links to chain).
PATH = [SYMBOL_NAMES[i] for i in (5, 11, 0, 7, 3, 9, 1, 10, 6, 2, 8, 4)]
PAIRS_ALONE = [
    Sort.reads,
    ExpertReads(relations=tuple(itertools.combinations(SYMBOL_NAMES, 2))),
    ExpertReads(relations=tuple(itertools.pairwise(PATH))),
]


@settings(max_examples=40, deadline=None, database=None)
@given(
    observation=space_observations(),
    permutation=st.permutations(range(MAX_BASE)),
    seed=st.integers(0, 2**32 - 1),
)
def test_relations_are_blind_to_renamed_digits(
    observation: dict[str, np.ndarray], permutation: list[int], seed: int
) -> None:
    """Declarations of pairs alone: any renaming of the digits projects the same, and so does any
    relabeling that keeps the declared pairs' (in)equalities."""
    for reads in PAIRS_ALONE:
        assert reads is not None
        projected = reads.project(observation)
        assert_projects(observation, projected, reads)
        assert_same(reads.project(projected), projected)  # idempotent
        assert_same(reads.project(permute_digits(observation, permutation)), projected)
        assert_same(reads.project(relabel_groups(observation, reads, np.random.default_rng(seed))), projected)
    # Every pair declared: every equality among the 12 cells is kept, each digit the first position of
    # its value.
    projected = PAIRS_ALONE[1].project(observation)["symbols"].astype(np.int64)
    before = observation["symbols"].astype(np.int64)
    assert np.array_equal(
        projected[:, :, None] == projected[:, None, :], before[:, :, None] == before[:, None, :]
    )
    for row, cells in enumerate(before.tolist()):
        assert projected[row].tolist() == [cells.index(c) if c < BLANK else c for c in cells]


def test_relations_worked_example() -> None:
    """By hand. Pairs (P1.left, P2.left), (P2.left, P0.under) and (P1.right, P2.right), P3.under by
    kind: each digit of a pair's cell is the smallest position (P0.under 1, P1.left 3, P1.right 5,
    P2.left 6, P2.right 8) among the cells linked to it by pairs of equal symbols, chained; equal
    digits of cells no chain of equal pairs links are told apart."""
    reads = ExpertReads(
        relations=(
            ("symbols[P1.left]", "symbols[P2.left]"),
            ("symbols[P2.left]", "symbols[P0.under]"),
            ("symbols[P1.right]", "symbols[P2.right]"),
        ),
        kinds=("symbols[P3.under]",),
    )
    assert reads.related == (
        "symbols[P1.left]",
        "symbols[P2.left]",
        "symbols[P0.under]",
        "symbols[P1.right]",
        "symbols[P2.right]",
    )
    # Positions: P0.left 0, P0.under 1, P0.right 2, P1.left 3, P1.under 4, P1.right 5, P2.left 6,
    # P2.under 7, P2.right 8, P3.left 9, P3.under 10, P3.right 11.
    symbols = np.array(
        [
            # all 7: P1.left = P2.left = P0.under chain (P1.left and P0.under through P2.left) to 1;
            # P1.right = P2.right to 5, although also 7 (undeclared: 1 != 5)
            [9, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7],
            # the chain broken at P0.under: P1.left = P2.left to 3, P0.under alone 1; BLANKs stay
            [0, 4, 0, 3, 0, BLANK, 3, 0, BLANK, 0, BLANK, 0],
            # P1.left = P0.under (2) but neither equals P2.left (8), nor is it a declared pair: 3, 1, 6
            [2, 2, 2, 2, 2, 4, 8, 2, EDGE, 2, EDGE, 2],
            # BLANK = BLANK links, yet stays BLANK; P2.left 0 equals no partner: alone, 6
            [5, BLANK, 5, BLANK, 5, 0, 0, 5, 0, 5, 5, 5],
        ],
        dtype=np.int16,
    )
    projected = reads.project({"symbols": symbols})["symbols"]
    assert projected.tolist() == [
        [0, 1, 0, 1, 0, 5, 1, 0, 5, 0, 0, 0],
        [0, 1, 0, 3, 0, BLANK, 3, 0, BLANK, 0, BLANK, 0],
        [0, 1, 0, 3, 0, 5, 6, 0, EDGE, 0, EDGE, 0],
        [0, BLANK, 0, BLANK, 0, 5, 6, 0, 5, 0, 0, 0],
    ]
    assert projected.dtype == np.int16
    assert_same(reads.project({"symbols": projected}), {"symbols": projected})  # idempotent
    # A path through all 12 cells, from P3.right down to P0.left: 11 links chain to position 0; a
    # different digit in the middle cuts it in three.
    path = ExpertReads(relations=tuple((SYMBOL_NAMES[i + 1], SYMBOL_NAMES[i]) for i in reversed(range(11))))
    chained = np.array([[4] * 12, [4] * 6 + [9] + [4] * 5], dtype=np.int16)
    assert path.project({"symbols": chained})["symbols"].tolist() == [
        [0] * 12,
        [0] * 6 + [6] + [7] * 5,
    ]


@pytest.mark.parametrize("task", list(TASKS))
def test_projection_of_env_observations(task: str) -> None:
    mixture = mixture_of(task)
    masks = mixture.read_masks()
    assert masks is not None
    for obs_mode, history_length in (("local", 8), ("full", 0)):
        observation = visited(task, obs_mode, history_length)
        projected = project(observation, masks)
        if mixture.ids is None:
            reads = mixture.members[0].reads
            assert reads is not None
            assert_projects(observation, projected, reads)
            assert_same(reads.project(observation), projected)
        else:  # each row as its member's declaration lets it through, with its task id
            assert len(np.unique(observation["task"])) > 1
            for member, task_id in zip(mixture.members, mixture.ids, strict=True):
                assert member.reads is not None
                rows = np.flatnonzero(observation["task"] == task_id)
                if len(rows):
                    assert_projects(observation, projected, member.reads, with_task=True, rows=rows)
        assert_same(project(projected, masks), projected)


# -- 4: the policy's projection (torch) is the env's (NumPy) ---------------------------------------------


@functools.cache
def projecting_policy(task: str, obs_mode: str, history_length: int, max_length: int) -> ActformerPolicy:
    """``ActformerPolicy(reads=...)`` of ``task``'s env under these settings, with its members' reads."""
    space = space_of(task, obs_mode=obs_mode, history_length=history_length, max_length=max_length)
    policy = ActformerPolicy(space, reads=mixture_of(task).read_masks(), device="cpu")
    assert policy.projected and policy.projection is not None
    return policy


def torch_projection(policy: ActformerPolicy, observation: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The policy's projection of ``observation``, as tensors."""
    tensors = policy.as_tensors(copy_of(observation))
    before = {key: value.clone() for key, value in tensors.items()}
    assert policy.projection is not None
    out = policy.projection(tensors)
    assert all(torch.equal(before[key], tensors[key]) for key in tensors)  # (the input is left as it was)
    return out


def assert_torch_is_numpy(ours: Mapping[str, torch.Tensor], expected: Mapping[str, np.ndarray]) -> None:
    """The same keys, and per key the same dtype, shape and values."""
    assert list(ours) == list(expected)
    for key, tensor in ours.items():
        array = expected[key]
        assert tensor.dtype == torch.from_numpy(np.zeros(0, dtype=array.dtype)).dtype, (
            key,
            tensor.dtype,
            array.dtype,
        )
        assert tuple(tensor.shape) == array.shape and np.array_equal(tensor.numpy(), array), key


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task", list(TASKS))
def test_policy_projection_is_the_envs(task: str) -> None:
    masks = mixture_of(task).read_masks()
    assert masks is not None
    for obs_mode, history_length in (("local", 8), ("full", 0)):
        observation = visited(task, obs_mode, history_length)
        policy = projecting_policy(task, obs_mode, history_length, TASKS[task].default_lengths[1])
        assert_torch_is_numpy(torch_projection(policy, observation), project(observation, masks))


@pytest.mark.usefixtures("one_thread")
@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(observation=space_observations(), task=st.sampled_from(list(TASKS)))
def test_policy_projection_is_the_envs_on_random_observations(
    observation: dict[str, np.ndarray], task: str
) -> None:
    masks = mixture_of(task).read_masks()
    assert masks is not None
    if task != "MultiTask":  # (a single task's observation shows no task id)
        observation = {key: value for key, value in observation.items() if key != "task"}
    policy = projecting_policy(task, "full", 4, 4)
    assert_torch_is_numpy(torch_projection(policy, observation), project(observation, masks))


# -- 5: the guard -------------------------------------------------------------------------------------


def peeking(read: Callable[[ObservationView], Any], task_type: type[Task] = Copy) -> Task:
    """A task of ``task_type``'s declaration whose rule also makes ``read`` of its view."""

    class Peeking(task_type):  # type: ignore[misc, valid-type]
        def decide(self, view: ObservationView) -> np.ndarray:
            read(view)
            return super().decide(view)

    return Peeking(task_type.default_base)


#: Reads of Copy's view outside its declaration (``last_action``, ``symbols[P0.under]`` by kind), and
#: what the error names.
UNDECLARED: list[tuple[str, Callable[[ObservationView], Any], str]] = [
    ("right", lambda view: view.right(P0), "symbols[P0.right]"),
    ("left", lambda view: view.left(P0), "symbols[P0.left]"),
    ("other pointer", lambda view: view.under(P1), "symbols[P1.under]"),
    ("window", lambda view: view.window(P0), "symbols[P0.left]"),
    ("unders", lambda view: view.unders, "symbols[P1.under]"),
    ("windows", lambda view: view.windows, "symbols[P0.left]"),
    ("batch index", lambda view: view.symbols[0], "symbols"),
    ("registers", lambda view: view.registers, "registers"),
    ("register", lambda view: view.register(0), "registers"),
    ("memory", lambda view: view.memory_slot(1), "memory"),
    ("carry", lambda view: view.carry, "flags"),
    ("at_end", lambda view: view.at_end(P0), "boundaries"),
    ("edges", lambda view: view.edges, "boundaries"),
    ("history", lambda view: view.history, "history"),
]


@pytest.mark.parametrize(
    ("read", "named"), [case[1:] for case in UNDECLARED], ids=[case[0] for case in UNDECLARED]
)
def test_guard_refuses_undeclared_reads(read: Callable[[ObservationView], Any], named: str) -> None:
    task = peeking(read)
    observation = visited("Copy")
    with pytest.raises(UndeclaredRead, match=re.escape(named)):
        task.expert(observation)
    # The same rule on the raw observation reads anything: only the declared view refuses.
    assert np.array_equal(
        task.decide(ObservationView(observation)), Copy(10).decide(ObservationView(observation))
    )


def test_guard_lets_declared_reads_through_as_projected() -> None:
    observation = visited("Copy")
    seen: dict[str, Any] = {}

    def read(view: ObservationView) -> None:
        seen["under"] = np.asarray(view.under(P0))
        seen["cell"] = np.asarray(view.cell(P0, UNDER))
        seen["slice"] = np.asarray(view.symbols[..., P0 * WINDOW_SIZE + UNDER])
        seen["last_action"] = np.asarray(view.last_action)

    assert np.array_equal(peeking(read).expert(observation), Copy(10).expert(observation))
    under = observation["symbols"][:, P0 * WINDOW_SIZE + UNDER]
    assert (under < BLANK).any() and (under == BLANK).any()  # (both kinds are read)
    for key in ("under", "cell", "slice"):
        assert np.array_equal(seen[key], np.where(under >= BLANK, under, 0)), key
    assert np.array_equal(seen["last_action"], observation["last_action"])
    assert issubclass(UndeclaredRead, LookupError)


def test_guard_on_partly_declared_fields() -> None:
    """Sort reads R0, R1, the compare flag, and six cells of P0..P2 by relation: those, not the rest."""
    observation = visited("Sort")
    reads = Sort.reads
    assert reads is not None
    projected = reads.project(observation)
    view = reads.view(observation)
    assert np.array_equal(view.register(0), observation["registers"][:, 0])
    assert np.array_equal(view.registers[..., :2], observation["registers"][:, :2])
    assert np.array_equal(view.compare, observation["flags"][:, COMPARE])
    for pointer in (P0, P1, P2):
        assert np.array_equal(view.left(pointer), projected["symbols"][:, 3 * pointer + LEFT])
    for pointer in (P1, P2):
        assert np.array_equal(view.under(pointer), projected["symbols"][:, 3 * pointer + UNDER])
    assert np.array_equal(view.right(P0), projected["symbols"][:, 3 * P0 + RIGHT])
    refused: list[tuple[Callable[[ObservationView], Any], str]] = [
        (lambda v: v.register(2), "registers[R2]"),
        (lambda v: v.registers.reshape(-1), "registers[R2]"),
        (lambda v: v.carry, "flags[carry]"),
        (lambda v: v.window(P3), "symbols[P3.left]"),
        (lambda v: v.under(P0), "symbols[P0.under]"),
        (lambda v: v.window(P1), "symbols[P1.right]"),
        (lambda v: v.symbols[..., :9], "symbols[P0.under]"),
        (lambda v: v.unders, "symbols[P3.under]"),
        (lambda v: v.symbols[..., -1], "symbols[P3.right]"),
        (lambda v: v.value_fields(), "memory"),
        (lambda v: v.boundaries, "boundaries"),
    ]
    for read, named in refused:
        with pytest.raises(UndeclaredRead, match=re.escape(named)):
            read(view)
        with pytest.raises(UndeclaredRead, match=re.escape(named)):
            peeking(read, Sort).expert(observation)


@pytest.mark.parametrize(
    ("declaration", "named"),
    [
        ({"values": ("symbols[P4.under]",)}, "symbols[P4.under]"),
        ({"values": ("history[-1]",)}, "history[-1]"),
        ({"values": ("registers[R4]",)}, "registers[R4]"),
        ({"values": ("flags[2]",)}, "flags[2]"),
        ({"kinds": ("carry",)}, "carry"),
        ({"relations": (("symbols[P0.under]", "scratchpad[0]"),)}, "scratchpad[0]"),
        ({"relations": (("P1.left", "symbols[P2.left]"),)}, "P1.left"),
        ({"values": ("last_action", "under")}, "under"),
    ],
)
def test_reads_reject_unknown_entries(declaration: dict, named: str) -> None:
    with pytest.raises(ValueError, match="must be one of .*got " + re.escape(repr(named))):
        ExpertReads(**declaration)


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize(
    "name", ["registers[R0]", "flags[carry]", "last_action", "boundaries[P0.end]", "task"]
)
def test_reads_reject_kinds_and_relations_of_non_symbols(name: str, first: bool) -> None:
    with pytest.raises(ValueError, match=rf"kinds must be symbol cells.*got {re.escape(repr(name))}"):
        ExpertReads(kinds=("symbols[P0.under]", name) if first else (name, "symbols[P0.under]"))
    pair = (name, "symbols[P0.under]") if first else ("symbols[P0.under]", name)
    with pytest.raises(ValueError, match=rf"related must be symbol cells.*got {re.escape(repr(name))}"):
        ExpertReads(relations=(("symbols[P1.under]", "symbols[P2.under]"), pair))


@pytest.mark.parametrize(
    "pair",
    [
        ("symbols[P0.under]", "symbols[P0.under]"),  # (not two distinct cells)
        ("symbols[P0.under]",),
        ("symbols[P0.under]", "symbols[P1.under]", "symbols[P2.under]"),
        (),
        "symbols[P0.under]",  # (a single cell: how relations were declared before pairs)
        None,
        {"symbols[P0.under]", "symbols[P1.under]"},
    ],
    ids=["same cell", "one cell", "three cells", "empty", "a name", "None", "a set"],
)
def test_reads_reject_relations_that_are_not_pairs(pair: Any) -> None:
    good = ("symbols[P1.left]", "symbols[P2.left]")
    for relations in ((pair,), (good, pair), (pair, good)):
        with pytest.raises(ValueError, match="pairs of two distinct cells, got " + re.escape(repr(pair))):
            ExpertReads(relations=relations)


def test_reads_reject_relations_not_a_tuple_of_pairs() -> None:
    with pytest.raises(ValueError, match="relations must be a tuple"):
        ExpertReads(relations="symbols[P0.under]")  # type: ignore[arg-type]
    # A flat tuple of cell names (the declaration before pairs) is not one of pairs.
    with pytest.raises(ValueError, match="pairs of two distinct cells"):
        ExpertReads(relations=("symbols[P0.under]", "symbols[P1.under]"))  # type: ignore[arg-type]


def test_reads_accept_a_cell_in_several_pairs() -> None:
    """A cell may be compared with several cells, a pair declared in both orders or twice: ``related``
    names each cell once, in order of appearance."""
    a, b, c = "symbols[P2.left]", "symbols[P0.under]", "symbols[P1.right]"
    reads = ExpertReads(relations=((a, b), (b, c), (c, a), (b, a), (a, b)))
    assert reads.relations == ((a, b), (b, c), (c, a), (b, a), (a, b))
    assert reads.related == (a, b, c)
    assert Sort.reads is not None and len(Sort.reads.relations) == 4
    cells = {
        f"symbols[{cell}]" for cell in ("P0.left", "P0.right", "P1.left", "P1.under", "P2.left", "P2.under")
    }
    assert set(Sort.reads.related) == cells


@pytest.mark.parametrize(
    ("declaration", "twice"),
    [
        ({"values": ("last_action", "flags[carry]", "last_action")}, "last_action"),
        ({"values": ("symbols[P0.under]",), "kinds": ("symbols[P0.under]",)}, "symbols[P0.under]"),
        (
            {"kinds": ("symbols[P2.left]",), "relations": (("symbols[P1.left]", "symbols[P2.left]"),)},
            "symbols[P2.left]",
        ),
        (
            {"values": ("symbols[P0.right]",), "relations": (("symbols[P0.right]", "symbols[P2.under]"),)},
            "symbols[P0.right]",
        ),
    ],
)
def test_reads_reject_an_entry_named_twice(declaration: dict, twice: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(twice)) + r".*more than once"):
        ExpertReads(**declaration)


# -- 6: the projected policy is indifferent to what the expert does not read -------------------------------


def twin_policies(space: Any, masks: ReadMasks) -> tuple[ActformerPolicy, ActformerPolicy]:
    """A policy without and one with ``reads``, of the same random weights."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        plain = ActformerPolicy(space, device="cpu")
        torch.manual_seed(0)
        projected = ActformerPolicy(space, device="cpu", reads=masks)
    for a, b in zip(plain.parameters(), projected.parameters(), strict=True):
        assert torch.equal(a, b)
    return plain, projected


def changed(key: str, index: int, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another valid value than each of ``values`` (entry ``index`` of field ``key``)."""
    x = values.astype(np.int64)
    if key == "symbols":
        return (x + rng.integers(1, NUM_SYMBOLS, size=x.shape)) % NUM_SYMBOLS
    if key in ("last_action", "history"):
        return (x + rng.integers(1, ACTION_VALUES, size=x.shape)) % ACTION_VALUES
    if key == "boundaries":
        return 1 - x
    if key == "flags" and index == COMPARE:  # -1, 0 or 1
        return (x + 1 + rng.integers(1, 3, size=x.shape)) % 3 - 1
    step = rng.integers(1, 6, size=x.shape)
    return np.where(x > -VALUE_LIMIT + 6, x - step, x + step)


def outputs(policy: ActformerPolicy, observation: Mapping[str, np.ndarray]) -> torch.Tensor:
    """The policy's logits and value, (B, actions + 1)."""
    with torch.no_grad():
        logits, value = policy(observation)
    return torch.cat([logits, value[:, None]], dim=1)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task", list(SINGLE_TASKS))
def test_projected_policy_ignores_what_the_expert_does_not_read(task: str) -> None:
    masks = mixture_of(task).read_masks()
    reads = SINGLE_TASKS[task].reads
    assert masks is not None and reads is not None
    groups = groups_of(reads)
    observation = {key: np.array(value[::7][:96]) for key, value in visited(task).items()}
    plain, projected = twin_policies(space_of(task), masks)
    plain_before, projected_before = outputs(plain, observation), outputs(projected, observation)
    rng = np.random.default_rng(0)
    unread = set()
    for key in observation:
        size = observation[key].reshape(len(observation[key]), -1).shape[1]
        for index, name in enumerate(field_entries(key, size)):
            other = copy_of(observation)
            flat = other[key].reshape(len(other[key]), -1)
            flat[:, index] = changed(key, index, flat[:, index], rng)
            plain_after, projected_after = outputs(plain, other), outputs(projected, other)
            assert (plain_after != plain_before).any(1).all(), f"the policy without reads ignores {name}"
            if name not in groups:
                unread.add(name)
                assert torch.equal(projected_after, projected_before), (
                    f"{name} is not read, yet moves the policy"
                )
            elif groups[name] == "values":  # (what it reads as it is, it sees)
                assert (projected_after != projected_before).any(1).all(), f"{name} is read, yet ignored"
    assert {"history[-1]", "history[-8]", "symbols[P3.right]", "memory[M3]"} <= unread
    # A cell read by kind: which digit it holds is not seen, that it holds one is.
    base = mixture_of(task).members[0].base
    for name in reads.kinds:
        index = SYMBOL_NAMES.index(name)
        digits = np.flatnonzero(observation["symbols"][:, index] < BLANK)
        assert len(digits), name
        other = copy_of(observation)
        cells = other["symbols"][digits, index]
        other["symbols"][digits, index] = (cells + rng.integers(1, base, size=len(digits))) % base
        assert torch.equal(outputs(projected, other), projected_before), name
        assert (outputs(plain, other)[digits] != plain_before[digits]).any(1).all(), name
        other["symbols"][digits, index] = BLANK
        assert (outputs(projected, other)[digits] != projected_before[digits]).any(1).all(), name
    # Cells read by relation only: any renaming of the digits is the same input.
    if reads.relations and not any(name in SYMBOL_NAMES for name in reads.values):
        renamed = permute_digits(observation, rng.permutation(MAX_BASE).tolist())
        assert torch.equal(outputs(projected, renamed), projected_before)
        moved = (renamed["symbols"] != observation["symbols"]).any(1)
        assert moved.any() and (outputs(plain, renamed)[moved] != plain_before[moved]).any(1).all()
    # Cells of compared pairs: only each declared pair's (in)equality is seen. Other digits that keep
    # those are the same input, although they tell apart cells that were equal without being a
    # declared pair (or linked through declared pairs of equal symbols); breaking a declared equality
    # is another input.
    if reads.relations:
        related = [SYMBOL_NAMES.index(name) for name in reads.related]
        relabeled = relabel_groups(observation, reads, rng)
        assert torch.equal(outputs(projected, relabeled), projected_before)
        moved = (relabeled["symbols"] != observation["symbols"]).any(1)
        assert moved.any() and (outputs(plain, relabeled)[moved] != plain_before[moved]).any(1).all()
        was, now = observation["symbols"][:, related], relabeled["symbols"][:, related]
        undeclared = (was[:, :, None] == was[:, None, :]) & (now[:, :, None] != now[:, None, :])
        assert undeclared.any(), "no undeclared equality was undone: the check above shows nothing"
        for (a, b), pair in zip(pair_positions(reads), reads.relations, strict=True):
            symbols = observation["symbols"]
            rows = np.flatnonzero((symbols[:, a] == symbols[:, b]) & (symbols[:, a] < BLANK))
            assert len(rows), f"no observation where the declared pair {pair} holds equal digits"
            other = copy_of(observation)
            for row in rows:  # b: a digit no cell of the row holds
                other["symbols"][row, b] = min(set(range(MAX_BASE)) - set(symbols[row].tolist()))
            assert (outputs(projected, other)[rows] != projected_before[rows]).any(1).all(), pair


@pytest.mark.usefixtures("one_thread")
def test_projected_multitask_policy_ignores_what_each_member_does_not_read() -> None:
    """Per task id: each row's entries its member does not read change, and nothing else."""
    mixture = mixture_of("MultiTask")
    masks = mixture.read_masks()
    assert masks is not None and mixture.ids is not None
    observation = {key: np.array(value[::5][:160]) for key, value in visited("MultiTask").items()}
    plain, projected = twin_policies(space_of("MultiTask"), masks)
    plain_before, projected_before = outputs(plain, observation), outputs(projected, observation)
    rng = np.random.default_rng(1)
    other = copy_of(observation)
    for row, task_id in enumerate(observation["task"].tolist()):
        reads = mixture.members[mixture.ids.index(task_id)].reads
        assert reads is not None
        groups = groups_of(reads, with_task=True)
        for key in observation:
            flat = other[key].reshape(len(other[key]), -1)
            for index, name in enumerate(field_entries(key, flat.shape[1])):
                if name not in groups:
                    flat[row, index] = changed(key, index, flat[row : row + 1, index], rng)[0]
    assert torch.equal(outputs(projected, other), projected_before)
    assert (outputs(plain, other) != plain_before).any(1).all()
    # The task id is read: the same row under another member's id reads differently.
    other = copy_of(observation)
    other["task"] = np.where(observation["task"] == mixture.ids[0], mixture.ids[1], mixture.ids[0])
    assert (outputs(projected, other) != projected_before).any(1).all()


# -- 7: a projected verification set is the projection of the unprojected one ------------------------


def as_rows(observation: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    count = len(observation[keys[0]])
    return np.concatenate(
        [np.asarray(observation[key]).reshape(count, -1).astype(np.int64) for key in keys], axis=1
    )


@pytest.mark.parametrize("task", list(TASKS))
def test_projected_set_is_the_projection_of_the_set(task: str) -> None:
    low, high = TASKS[task].default_lengths
    lengths = [length for length in (low, low + 1, low + 2) if length <= high]
    if task == "MultiTask":  # (every member in turn: fewer of each)
        lengths = lengths[:2]
    samples = [16 if task == "MultiTask" else 24] * len(lengths)
    plain = collect(task, lengths, samples, seed=7)
    projected = collect(task, lengths, samples, seed=7, projected=True)
    assert projected.settings == {**plain.settings, "projected": True}
    assert (projected.keys, projected.shapes, projected.dtypes) == (plain.keys, plain.shapes, plain.dtypes)
    assert (projected.episodes, projected.visits, projected.sources) == (
        plain.episodes,
        plain.visits,
        plain.sources,
    )
    assert plain.expert_failures == projected.expert_failures == 0
    assert plain.conflicts == projected.conflicts == 0
    masks = mixture_of(task).read_masks()
    assert masks is not None
    images = as_rows(project(plain.observations(), masks), plain.keys)
    distinct, image_of = np.unique(images, axis=0, return_inverse=True)
    ours = np.unique(projected.rows, axis=0)
    assert len(ours) == len(projected.rows)  # (its rows are distinct)
    assert np.array_equal(distinct, ours), "the projected set is not the set of the projected rows"
    # Each projected row: the expert's action and mask there are those of every row projecting onto it,
    # and it was first seen where one of them was first seen.
    index = {row: i for i, row in enumerate(map(tuple, projected.rows.tolist()))}
    position = np.array([index[row] for row in map(tuple, distinct.tolist())])[image_of.reshape(-1)]
    assert np.array_equal(projected.expert_actions[position], plain.expert_actions)
    assert np.array_equal(projected.action_masks[position], plain.action_masks)
    firsts = {(int(e), int(s), int(j)) for e, s, j in zip(plain.episode, plain.step, position, strict=True)}
    for j in range(len(projected)):
        assert (int(projected.episode[j]), int(projected.step[j]), j) in firsts, j


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_single_observation_projects_as_a_batch_of_one(name: str) -> None:
    """``project`` takes an unbatched observation (as ``ActformerEnv`` returns it) too, and gives what
    it gives that observation in a batch of one, in the same dtypes."""
    env = gym.make(f"Actformer/{name}-v0")
    observation, _ = env.reset(seed=3)
    masks = env.unwrapped.mixture.read_masks()
    for _ in range(12):
        single = project(observation, masks)
        batched = project({key: np.asarray(value)[None] for key, value in observation.items()}, masks)
        for key, value in single.items():
            assert np.asarray(value).dtype == batched[key].dtype, key
            assert np.array_equal(np.asarray(value), batched[key][0]), key
        observation, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        if terminated or truncated:
            break
    env.close()
