"""Verification sets and closure (``actformer_envs.verification``), the tasks' problem enumerations
(``Task.all_problems``) and the closure study's script (``benchmarks.closure``).

A set is checked against one built independently (single ``gym.make`` envs, the expert stepped by
hand, observations in a Python set); closure detection against a toy task whose observation leaks
the length through a counter, and against Reverse, whose default history encodes run lengths while
its set without history closes at length 3.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from actformer_envs import register_task, unregister_task
from actformer_envs.instructions import NO_ACTION, instruction_index
from actformer_envs.observation import P0, ObservationView
from actformer_envs.symbols import BLANK
from actformer_envs.tasks import TASKS, Recipe, Reverse, SymbolString
from actformer_envs.tasks.base import MAX_ENUMERATION, Enumeration
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.registry import SINGLE_TASKS
from actformer_envs.tasks.sequence import SequenceTask
from actformer_envs.verification import (
    ObservationSet,
    collect,
    entry_names,
    enumerable,
    exhaustive,
    expert_observations,
    nearest_member,
    new_observations,
    row_ids,
)

# -- Task.all_problems -------------------------------------------------------------------------------


def pairs(length: int, base: int = 10, ordered: bool = False) -> int:
    """Pairs (a, b) whose longer operand has ``length`` digits (a >= b with ``ordered``), counted one
    by one from the decimal strings."""
    digits = np.base_repr if base != 10 else (lambda x, _: str(x))
    numbers = range(base**length)
    return sum(
        max(len(digits(a, base)), len(digits(b, base))) == length
        for a in numbers
        for b in numbers
        if not ordered or a >= b
    )


#: (task, env settings, length, the count by a rule of its own): the sequences of n symbols, the
#: pairs of numbers whose longer one has n digits (no leading zeros: 0 has one digit), ...
COUNTS: list[tuple[str, dict[str, Any], int, int]] = [
    *((task, {}, n, 10**n) for task in ("Copy", "Reverse", "Sort", "DuplicatedInput") for n in (1, 2, 4)),
    ("Copy", {"base": 3}, 3, 27),
    *(("Parity", {}, n, 2**n) for n in (1, 5, 9)),
    *(("RepeatCopy", {}, n, 3 * 10**n) for n in (1, 3)),
    ("RepeatCopy", {"max_repeats": 2, "base": 2}, 4, 2 * 2**4),
    *(("Logic", {}, n, 4 * 10**n) for n in (1, 3)),
    *((task, {}, n, pairs(n)) for task in ("Addition", "Compare", "Multiplication") for n in (1, 2)),
    *((task, {}, 3, 10**6 - 10**4) for task in ("Addition", "Compare", "Multiplication")),
    ("Addition", {"base": 2}, 4, pairs(4, 2)),
    ("Compare", {"base": 3}, 3, pairs(3, 3)),
    *(("Subtraction", {}, n, pairs(n, ordered=True)) for n in (1, 2)),
    ("Subtraction", {}, 3, sum(a + 1 for a in range(100, 1000))),
    ("Subtraction", {"base": 2}, 5, pairs(5, 2, ordered=True)),
]


@pytest.mark.parametrize(("task", "settings", "length", "count"), COUNTS)
def test_all_problems_counts(task: str, settings: dict[str, Any], length: int, count: int) -> None:
    enumeration = enumerable(task, length, **settings)
    assert enumeration is not None
    assert len(enumeration) == count
    assert enumeration.task.problem_count(length) == count


@pytest.mark.parametrize(("task", "settings", "length", "count"), [c for c in COUNTS if c[3] <= 10_000])
def test_every_problem_has_its_length_once_and_is_posed_as_encode_poses_it(
    task: str, settings: dict[str, Any], length: int, count: int
) -> None:
    """Each problem is distinct, of exactly ``length``, accepted by the task (``encode``), and the
    batched layout of the enumeration is exactly what ``encode`` lays out, problem by problem."""
    enumeration = enumerable(task, length, **settings)
    assert enumeration is not None
    problems = list(enumeration)
    assert len(problems) == count == len({repr(p) for p in problems})
    owner = enumeration.task
    width = owner.width(length + 1)
    assert all(owner.problem_length(p) == length for p in problems)
    assert enumeration.pose_at is not None
    some = np.unique(np.linspace(0, count - 1, min(count, 200)).astype(np.int64))  # first, last, between
    batch = enumeration.pose_at(some, width)
    for i, problem in enumerate(problems[k] for k in some.tolist()):
        one = owner.encode(problem, width)
        assert np.array_equal(one.scratchpad[0], batch.scratchpad[i]), problem
        assert np.array_equal(one.target[0], batch.target[i]), problem
        assert one.program_length[0] == batch.program_length[i], problem
    assert enumeration[-1] == problems[-1] and enumeration[1:3] == problems[1:3]


@pytest.mark.parametrize("task", [name for name, cls in SINGLE_TASKS.items() if name != "Expression"])
def test_enumerated_problems_are_accepted_and_solved_by_the_env(task: str) -> None:
    """A few problems of each enumerable task, first, last and between, posed through
    ``reset(options={"problem": p})`` of a ``gym.make`` env, are solved by its expert."""
    enumeration = enumerable(task, 2)
    assert enumeration is not None
    env = gym.make(f"Actformer/{task}-v0", max_length=2)
    for index in np.linspace(0, len(enumeration) - 1, 7).astype(int).tolist():
        env.reset(options={"problem": enumeration[index]})
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
            done = terminated or truncated
        assert terminated and info["is_success"], enumeration[index]
    env.close()


def test_all_problems_bounds() -> None:
    copy = Copy(10)
    assert copy.all_problems(8) is None  # 10**8 problems: more than the default cap
    assert copy.all_problems(3, cap=999) is None and copy.all_problems(3, cap=1000) is not None
    assert enumerable("Expression", 1) is None  # a task that does not enumerate (the base class's None)
    assert enumerable("MultiTask", 1) is None
    with pytest.raises(ValueError, match=r"^length must be an int >= 1, got 0$"):
        copy.all_problems(0)
    with pytest.raises(ValueError, match=r"^cap must be an int in"):
        copy.all_problems(2, cap=MAX_ENUMERATION + 1)
    enumeration = copy.all_problems(2)
    assert isinstance(enumeration, Enumeration) and "100 Copy problems of length 2" in repr(enumeration)
    with pytest.raises(IndexError):
        enumeration[100]


# -- the set, two ways ---------------------------------------------------------------------------------


def by_hand(task: str, problems: list[Any], **kwargs: Any) -> dict[tuple[int, ...], int]:
    """Each distinct observation (all keys, flattened in the env's order) the expert decides on,
    with its action: single ``gym.make`` envs, the task's expert called on each observation."""
    env = gym.make(f"Actformer/{task}-v0", **kwargs)
    expert = env.unwrapped.task.expert
    seen: dict[tuple[int, ...], int] = {}
    for problem in problems:
        obs, _ = env.reset(options={"problem": problem})
        while True:
            action = int(expert({key: np.asarray(value)[None] for key, value in obs.items()})[0])
            row = tuple(int(x) for value in obs.values() for x in np.asarray(value).reshape(-1))
            assert seen.setdefault(row, action) == action  # the expert is a function of the observation
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                assert info["is_success"]
                break
    env.close()
    return seen


def as_dict(obs_set: ObservationSet) -> dict[tuple[int, ...], int]:
    return dict(zip(map(tuple, obs_set.rows.tolist()), obs_set.expert_actions.tolist(), strict=True))


def test_the_set_computed_two_ways_agrees() -> None:
    problems = [list(p) for n in (1, 2, 3) for p in itertools.product(range(10), repeat=n)]
    expected = by_hand("Reverse", problems, history_length=0, max_length=3)
    obs_set = exhaustive("Reverse", [1, 2, 3], history_length=0)
    assert obs_set is not None
    assert as_dict(obs_set) == expected and len(obs_set) == len(expected) == 5950
    assert obs_set.episodes == len(problems) and obs_set.visits == 5 * sum(len(p) for p in problems)
    assert obs_set.expert_failures == obs_set.conflicts == 0
    assert obs_set.sources == [{"problems": "all", "length": n, "count": 10**n} for n in (1, 2, 3)]
    # The same problems posed one by one, as any user's, give the same set.
    given = expert_observations("Reverse", problems=problems, history_length=0)
    assert as_dict(given) == expected and given.visits == obs_set.visits


def test_an_enumeration_given_as_problems_is_laid_out_in_batches() -> None:
    """``expert_observations(problems=all_problems(n))`` takes the batched layout, and gets the
    set of the same problems given as a list (first sightings and all)."""
    enumeration = enumerable("RepeatCopy", 2)
    assert enumeration is not None
    fast = expert_observations("RepeatCopy", problems=enumeration, batch=64)
    slow = expert_observations("RepeatCopy", problems=list(enumeration), batch=64)
    assert np.array_equal(fast.rows, slow.rows) and np.array_equal(fast.episode, slow.episode)
    assert np.array_equal(fast.expert_actions, slow.expert_actions) and fast.visits == slow.visits
    assert fast.sources == [{"problems": "given", "count": 300, "all_of_length": 2}]
    assert slow.sources == [{"problems": "given", "count": 300}]
    # Of another base than the env's: posed one by one, so refused as any user's problem would be.
    other = enumerable("Copy", 2, base=3)
    assert other is not None
    with pytest.raises(ValueError, match=r"ints in \[0, 2\)"):
        expert_observations("Copy", problems=other, base=2)


def test_collect_mixes_every_problem_and_random_ones() -> None:
    mixed = collect("Copy", [1, 2, 6], [None, None, 300], seed=4, history_length=0)
    assert mixed.episodes == 10 + 100 + 300
    assert mixed.sources == [
        {"problems": "all", "length": 1, "count": 10},
        {"problems": "all", "length": 2, "count": 100},
        {"length": 6, "samples": 300, "seed": 4},
    ]
    # The random problems are those expert_observations draws with the same seed.
    alone = expert_observations("Copy", lengths=[6], samples=300, seed=4, history_length=0)
    assert not len(new_observations(mixed, alone))
    with pytest.raises(ValueError, match=r"^samples must give a count for length 9"):
        collect("Copy", [9], [None])
    with pytest.raises(ValueError, match=r"^samples must hold one entry per length"):
        collect("Copy", [1, 2], [None])
    assert exhaustive("Copy", [8]) is None and exhaustive("MultiTask", [1]) is None
    with pytest.raises(ValueError, match=r"^lengths must be an int >= 1"):
        exhaustive("Copy", [0])


# -- closure -----------------------------------------------------------------------------------------

_READ = instruction_index("READ P0->R0")
_WRITE = instruction_index("WRITE R0->P1")
_COUNT = instruction_index("INC R1")
_ADVANCE = instruction_index("ADVANCE")
_HALT = instruction_index("HALT")


class Tally(SequenceTask):
    """A test task: Copy, whose expert also counts the symbols copied in R1 (INC R1 after each
    WRITE). The count is in the observation: every length shows values no shorter one does."""

    name = "Tally"
    text_format = SymbolString()
    recipe = Recipe(3, (3, 30), 10)
    allowed_instructions = ("READ P0->R0", "WRITE R0->P1", "INC R1", "ADVANCE", "HALT")

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return inputs.copy()

    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return 4 * lengths + 1

    def decide(self, view: ObservationView) -> np.ndarray:
        last = view.last_action
        return np.select(
            [last == _READ, last == _WRITE, last == _COUNT, view.under(P0) == BLANK],
            [_WRITE, _COUNT, _ADVANCE, _HALT],
            default=_READ,
        )


@pytest.fixture
def tally() -> Iterator[str]:
    register_task(Tally)
    yield Tally.name
    unregister_task(Tally.name)


def test_closure_catches_an_observation_that_leaks_the_length(tally: str) -> None:
    train = exhaustive(tally, [1, 2, 3], base=2, history_length=0)
    assert train is not None and train.expert_failures == 0
    assert len(new_observations(train, exhaustive(tally, [3], base=2, history_length=0))) == 0  # (in range)
    longer = exhaustive(tally, [4], base=2, history_length=0)
    assert longer is not None
    strays = new_observations(train, longer)
    counts = longer.observations(strays)["registers"][:, 1]  # R1: the symbols copied so far
    # Strays: counts past the third symbol, or a count of 2 or 3 beside symbols where the set's
    # problems had ended (a count is tied to a column, and so to what the window shows there).
    assert len(strays) > 0 and counts.min() >= 2 and (counts == 4).any()
    for index in strays[counts == 4]:
        found = nearest_member(train, longer.rows[index])
        assert list(found["keys"]) == ["registers"] and found["novel_keys"] == ["registers"]
        assert list(found["entries"]) == ["registers[R1]"]
        assert (
            found["entries"]["registers[R1]"]["observation"]
            == 4
            > found["entries"]["registers[R1]"]["nearest"]
        )


def test_reverse_history_encodes_run_lengths_and_breaks_closure() -> None:
    train = exhaustive("Reverse", [1, 2, 3], history_length=8)
    longer = exhaustive("Reverse", [4], history_length=8)
    assert train is not None and longer is not None
    strays = new_observations(train, longer)
    assert len(strays) > 0
    first = nearest_member(train, longer.rows[strays[0]])
    assert list(first["keys"]) == ["history"]
    assert all(name.startswith("history[") for name in first["entries"])


def test_reverse_without_history_closes_at_length_3() -> None:
    """Every problem of length 4 and 5, and random ones of length 50, visit nothing the set of every
    problem of length 1 to 3 lacks."""
    train = exhaustive("Reverse", [1, 2, 3], history_length=0)
    assert train is not None and len(train) == 5950
    for probe in (
        exhaustive("Reverse", [4], history_length=0),
        exhaustive("Reverse", [5], history_length=0),
        expert_observations("Reverse", lengths=[50], samples=200, seed=50, history_length=0),
    ):
        assert probe is not None and probe.expert_failures == 0
        assert len(new_observations(train, probe)) == 0


def test_new_observations_refuses_sets_of_different_envs() -> None:
    reverse = expert_observations("Reverse", lengths=[3], samples=20, history_length=0)
    assert len(new_observations(reverse, reverse)) == 0
    # Other lengths (max_length) are the same env: that is what closure compares.
    longer = expert_observations("Reverse", lengths=[9], samples=20, history_length=0, min_length=9)
    assert len(new_observations(reverse, longer)) < len(longer)
    with pytest.raises(ValueError, match="keys or shapes differ"):
        new_observations(reverse, expert_observations("Reverse", lengths=[3], samples=20, history_length=8))
    with pytest.raises(ValueError, match=r"different tasks \(Reverse, Copy\)"):
        new_observations(reverse, expert_observations("Copy", lengths=[3], samples=20, history_length=0))
    with pytest.raises(ValueError, match=r"settings differ \(base\)"):
        new_observations(
            reverse, expert_observations("Reverse", lengths=[3], samples=20, history_length=0, base=3)
        )


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("history", [8, 0])
def test_every_expert_solves_and_is_a_function_of_the_observation(task: str, history: int) -> None:
    lengths = [1, 2] if task in ("Multiplication", "Expression") else [1, 3, 6]
    obs_set = expert_observations(task, lengths=lengths, samples=48, seed=1, history_length=history)
    assert obs_set.episodes == 48 * len(lengths) and len(obs_set) > 0
    assert obs_set.expert_failures == 0 and obs_set.conflicts == 0


def test_conflicts_are_counted_within_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expert that answers the first observation of every other episode differently: the same
    observation with two actions, in one batch, is a conflict."""
    original = Reverse.expert

    def two_minds(self: Reverse, observation: dict[str, np.ndarray]) -> np.ndarray:
        actions = original(self, observation)
        first = np.flatnonzero(np.asarray(observation["last_action"]) == NO_ACTION)
        actions[first[1::2]] = instruction_index("MOVE P1 RIGHT")
        return actions

    monkeypatch.setattr(Reverse, "expert", two_minds)
    # Each one-symbol problem twice, once at an even position of the batch and once at an odd one.
    problems = [[s] for s in range(10)] + [[s] for s in reversed(range(10))]
    obs_set = expert_observations("Reverse", problems=problems, history_length=0)
    assert obs_set.conflicts == 10  # the ten first observations [EDGE, s, BLANK], each seen both ways


def test_row_ids_tell_rows_apart_exactly() -> None:
    """Equal ids for equal rows and only for them, across arrays: checked against NumPy's own unique
    of whole rows, on columns of wide, narrow, negative and constant ranges, enough of them to pack
    into several fields."""
    random = np.random.default_rng(0)
    for _ in range(30):
        columns = int(random.integers(1, 60))
        low = random.integers(-5000, 1, size=columns)
        high = low + random.choice([0, 1, 3, 200, 9000], size=columns)
        rows = random.integers(low, high + 1, size=(int(random.integers(1, 3000)), columns))
        rows = np.concatenate([rows, rows[random.integers(0, len(rows), size=len(rows))]])
        first, second = rows[: len(rows) // 3], rows[len(rows) // 3 :]
        ids = np.concatenate(row_ids(first, second))
        _, by_ids = np.unique(ids, return_inverse=True)
        _, by_rows = np.unique(rows, axis=0, return_inverse=True)
        assert len(np.unique(np.stack([by_ids, by_rows.reshape(-1)]), axis=1).T) == by_rows.max() + 1
        assert by_ids.max() == by_rows.max()


def test_entry_names_name_every_column() -> None:
    obs_set = expert_observations("Addition", lengths=[2], samples=4, history_length=3)
    names = entry_names(obs_set)
    assert len(names) == obs_set.rows.shape[1] == len(set(names))
    assert names[:3] == ["symbols[P0.left]", "symbols[P0.under]", "symbols[P0.right]"]
    assert {"boundaries[P2.end]", "registers[R3]", "memory[M0]", "flags[carry]", "flags[compare]"} <= set(
        names
    )
    assert names[-4:] == ["last_action", "history[-3]", "history[-2]", "history[-1]"]
    assert nearest_member(obs_set, obs_set.rows[2]) == {
        "index": 2,
        "keys": {},
        "entries": {},
        "novel_keys": [],
    }


# -- the closure study ---------------------------------------------------------------------------------


def test_closure_script_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import closure

    out = tmp_path / "run"
    argv = ["--quick", "--tasks", "Reverse", "Parity", "--views", "full", "--out", str(out)]
    assert closure.main(argv) == 0
    document = json.loads((out / "closure.json").read_text(encoding="utf-8"))
    assert document["smoke"] is True and document["settings"]["histories"] == [8, 0]
    rows = {(row["task"], row["history_length"]): row for row in document["rows"]}
    assert set(rows) == {("Reverse", 8), ("Reverse", 0), ("Parity", 8), ("Parity", 0)}
    assert [p["label"] for p in rows[("Reverse", 0)]["probes"]] == ["+1", "+2", "10x", "100x"]
    assert all(p["strays"] == 0 for p in rows[("Reverse", 0)]["probes"])  # closed, as above
    assert any(p["strays"] for p in rows[("Reverse", 8)]["probes"])
    assert rows[("Parity", 0)]["set"]["built"][0]["problems"] == "all"
    markdown = (out / "closure.md").read_text(encoding="utf-8")
    assert "| Reverse | 0 |" in markdown and "What breaks closure" in markdown
    assert markdown.rstrip("\n") == document["markdown"]


def test_closure_script_enumerates_further_where_the_screen_finds_no_stray(tmp_path: Path) -> None:
    from benchmarks import closure

    out = tmp_path / "run"
    argv = ["--tasks", "Reverse", "--views", "full", "--histories", "0", "--budget", "30000"]
    argv += ["--exhaustive-budget", "300000"]
    argv += ["--samples", "300", "--far-samples", "4", "--max-episode-steps", "300", "--out", str(out)]
    assert closure.main(argv) == 0
    (row,) = json.loads((out / "closure.json").read_text(encoding="utf-8"))["rows"]
    assert row["closed"] and row["enumerated_again"]
    assert [b["problems"] for b in row["screen"]["set"]["built"]] == ["all"] * 3 + ["random"] * 2
    assert [b["problems"] for b in row["set"]["built"]] == ["all"] * 4 + ["random"]
    assert row["set"]["observations"] == 5950 and not any(p["strays"] for p in row["probes"])
    assert [p["asked_length"] for p in row["probes"]] == [6, 7, 50, 500]
    assert row["probes"][3]["length"] < 500  # capped: 5 steps a symbol, at most 300 an episode


def test_closure_script_refuses_smoke_numbers_in_the_results(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import closure

    with pytest.raises(SystemExit) as exit_info:
        closure.parse_args(["--quick", "--update-results"])
    assert exit_info.value.code == 2 and "--quick is a smoke test" in capsys.readouterr().err
