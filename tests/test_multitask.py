"""MultiTask: what the registry-driven battery cannot know about a mixture of tasks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from helpers import run_expert

from actformer_envs.symbols import BLANK, EDGE
from actformer_envs.tasks import SINGLE_TASKS, MultiTask, task_id

MULTI = "Actformer/MultiTask-v0"


def _vec(num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(MULTI, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


def test_every_member_is_drawn_and_identified() -> None:
    vec = _vec(64)
    obs, _ = vec.reset(seed=0)
    seen = set()
    for _ in range(50):
        seen |= set(obs["task"].tolist())
        masks = vec.action_masks()
        for i in range(64):  # each env's mask is its member's
            member = SINGLE_TASKS[list(SINGLE_TASKS)[obs["task"][i]]]
            assert np.array_equal(masks[i], member(member.default_base).action_mask)
        obs, *_ = vec.step(vec.expert_action())
    assert seen == {task_id(name) for name in MultiTask.default_members}


def test_chosen_members_only() -> None:
    vec = _vec(32, tasks=["Copy", "Parity"])
    obs, _ = vec.reset(seed=1)
    ids = set()
    for _ in range(40):
        ids |= set(obs["task"].tolist())
        obs, *_ = vec.step(vec.expert_action())
    assert ids == {task_id("Copy"), task_id("Parity")}
    # Task ids are the suite's, whatever the members: the same space for every choice.
    assert vec.single_observation_space["task"] == _vec(2).single_observation_space["task"]


def test_members_keep_their_own_base() -> None:
    env = gym.make(MULTI, tasks=["Addition", "Parity"], base=7).unwrapped
    bases = {member.name: member.base for member in env.mixture.members}
    assert bases == {"Addition": 7, "Parity": 2}


def test_mixture_says_what_an_env_poses() -> None:
    """``env.mixture`` (read-only): a plain task alone, drawing no member; a MultiTask's members,
    one drawn per episode and shown by its id in ``obs["task"]``; the vector env's alike."""
    plain = gym.make("Actformer/Copy-v0").unwrapped
    assert plain.mixture.members == (plain.task,) and not plain.mixture.draws_member
    env = gym.make(MULTI, tasks=["Copy", "Parity"]).unwrapped
    assert env.mixture.draws_member and [m.name for m in env.mixture.members] == ["Copy", "Parity"]
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        (member,) = [m for m in env.mixture.members if task_id(m.name) == int(obs["task"])]
        assert member is env.current_task
        assert env.mixture.member_shown({"task": np.asarray(obs["task"])[None]}) is member
    assert plain.mixture.member_shown({}) is plain.task
    with pytest.raises(AttributeError):
        env.mixture = plain.mixture
    vec = _vec(3, tasks=["Copy", "Parity"]).unwrapped
    assert vec.mixture.draws_member and [m.name for m in vec.mixture.members] == ["Copy", "Parity"]
    plain_vec = gym.make_vec("Actformer/Copy-v0", 2, vectorization_mode="vector_entry_point").unwrapped
    assert plain_vec.mixture.members[0].name == "Copy" and not plain_vec.mixture.draws_member


@pytest.mark.parametrize(
    "name, problem, answer",
    [("Addition", (99, 1), 100), ("Reverse", [1, 2, 3], [3, 2, 1]), ("Parity", [1, 1, 1], 1)],
)
def test_posed_problem_names_its_member(name: str, problem, answer) -> None:
    env = gym.make(MULTI)
    _, _, info, first = run_expert(env, options={"problem": (name, problem)})
    assert first["task"] == task_id(name)
    assert env.unwrapped.current_task.name == name
    assert info["is_success"] and info["output"] == answer


@pytest.mark.parametrize("tasks", [[], "Copy", ["Copy", "Copy"], ["NoSuchTask"], ["MultiTask"], 5])
def test_bad_tasks_rejected(tasks) -> None:
    with pytest.raises(ValueError, match="tasks"):
        gym.make(MULTI, tasks=tasks)


def _random_rows(rng: np.random.Generator, n: int, width: int, base: int) -> np.ndarray:
    """Output rows as episodes leave them: digits of ``base``, BLANKs and an EDGE border, mostly in
    written prefixes (so that most decode to an answer), some with gaps."""
    rows = rng.integers(base, size=(n, width)).astype(np.int8)
    written = rng.integers(width + 1, size=n)
    rows[np.arange(width) >= written[:, None]] = BLANK
    gaps = rng.random((n, width)) < 0.05
    rows[gaps] = BLANK
    rows[:, -1] = EDGE
    return rows


def test_tasks_that_declare_the_same_decoding_decode_alike() -> None:
    """A MultiTask decodes the rows of members of equal ``decoding`` with one of them: each member's
    ``decode_batch`` must give what that one gives, on rows of every kind."""
    rng = np.random.default_rng(0)
    tasks = [cls(cls.default_base) for cls in SINGLE_TASKS.values()]
    groups: dict = {}
    for task in tasks:
        groups.setdefault(task.decoding, []).append(task)
    shared = [group for group in groups.values() if len(group) > 1]
    assert shared, "no two tasks share a decoding: a MultiTask decodes each member alone"
    for first, *others in shared:
        rows = _random_rows(rng, 500, 12, first.base)
        expected = list(first.decode_batch(rows))
        for task in others:
            assert list(task.decode_batch(rows)) == expected, (first.name, task.name)


def test_multitask_decodes_each_answer_as_its_member_does() -> None:
    env = _vec(4).unwrapped
    mixture, rng = env.mixture, np.random.default_rng(1)
    member = rng.integers(len(mixture.members), size=300)
    rows = _random_rows(rng, 600, 16, 2)  # (base 2: digits of every member's base)
    answers = mixture.decode(rows, member)
    for i, index in enumerate(np.tile(member, 2).tolist()):
        (alone,) = mixture.members[index].decode_batch(rows[i : i + 1])
        assert answers[i] == alone, i
    assert len({m.decoding for m in mixture.members}) < len(mixture.members)  # some decode together
