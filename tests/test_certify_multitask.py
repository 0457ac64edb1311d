"""A MultiTask's certificate: one policy certified on every member, each member's verification set
made of its own problems at its own recipe's training lengths (``train.certify.set_parts``), posed
in a MultiTask of that member alone, whose observations are the MultiTask's.

Small on purpose: Copy and Reverse in base 2 without history, lengths 1..3 (14 problems each)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_certify import LookupPolicy, index_of, one_torch_thread, other_allowed  # noqa: F401

from actformer_envs.config import EnvConfig
from actformer_envs.episodes import Episodes
from actformer_envs.set_cache import load_set, save_set
from actformer_envs.tasks import SINGLE_TASKS, MultiTask
from actformer_envs.tasks.sort import Sort
from actformer_envs.verification import collect, covering, enumerable, expert_observations, new_observations
from actformer_gym.train.certify import certify, episode_source, set_parts, whole_set

MULTITASK = "Actformer/MultiTask-v0"
MEMBERS = ("Copy", "Reverse")
SMALL = {"base": 2, "history_length": 0, "tasks": MEMBERS}
TRAIN_LENGTHS = (1, 2, 3)
EVERY_PROBLEM = {
    name: [list(p) for n in TRAIN_LENGTHS for p in itertools.product(range(2), repeat=n)] for name in MEMBERS
}


@pytest.fixture(scope="module")
def small_set() -> Any:
    parts = set_parts(MultiTask, TRAIN_LENGTHS, 200, 100_000, SMALL)
    return whole_set(MultiTask, parts, 0, 100_000, SMALL)


@pytest.mark.parametrize("name", list(SINGLE_TASKS))
def test_a_members_observations_are_the_multitasks(name: str) -> None:
    """A member's problem posed in a MultiTask of that member alone shows, step for step, the
    observations, action masks and expert actions it shows in the MultiTask of every member."""
    all_tasks = EnvConfig.for_task(MultiTask, max_length=9, tasks=list(SINGLE_TASKS))
    every = Episodes(MultiTask, all_tasks, batch=1)
    alone = Episodes(MultiTask, EnvConfig.for_task(MultiTask, max_length=9, tasks=[name]), batch=1)
    member = alone.mixture.members[0]
    env = np.zeros(1, dtype=np.intp)
    for problem in member.adversarial_problems(4)[:3]:
        every.reset(env, problem=(name, problem))
        alone.reset(env, problem=(name, problem))
        for _ in range(5000):
            shown, own = every.observation(), alone.observation()
            assert shown.keys() == own.keys()
            for key in shown:
                np.testing.assert_array_equal(shown[key], own[key], err_msg=key)
            np.testing.assert_array_equal(every.action_masks(), alone.action_masks())
            action = every.expert_action()
            np.testing.assert_array_equal(action, alone.expert_action())
            _, terminated, truncated, _, _ = every.step(action)
            alone.step(action)
            if terminated[0] or truncated[0]:
                break
        else:
            pytest.fail(f"{name}: the expert's episode did not end")


def test_a_one_member_multitask_enumerates_its_members_problems() -> None:
    every = enumerable(MultiTask, 3, tasks=["Copy"], base=2)
    assert every is not None and len(every) == 8 and every[5] == ("Copy", [1, 0, 1])
    assert enumerable(MultiTask, 3, tasks=list(MEMBERS), base=2) is None  # (a member per problem)


def test_a_members_covering_problems_join_its_part_of_the_set() -> None:
    """Sort's part at a sampled length runs Sort's covering problems, as ``(Sort, row)`` pairs laid out
    in the one-member MultiTask: the part holds what the single task's set holds, its sources say so,
    and a covering episode is regenerated from them."""
    settings = {"base": 4, "history_length": 0, "tasks": ("Sort",)}
    parts = set_parts(MultiTask, [6], 1, 3000, settings)
    assert [(part.member, part.counts, part.covering) for part in parts] == [("Sort", [1], [2536])]
    whole, _ = whole_set(MultiTask, parts, 0, 3000, settings, projected=True)
    assert whole.sources[-1] == {"problems": "covering", "length": 6, "count": 2536, "member": "Sort"}
    single = collect("Sort", [6], [1], cap=3000, with_covering=True, base=4, history_length=0, projected=True)
    assert len(whole) == len(single) and whole.episodes == single.episodes == 2537
    family = covering(MultiTask, 6, 3000, **settings)
    assert family is not None and family[7] == ("Sort", Sort(4).covering_problems(6)[7])
    assert episode_source(whole, (), 1 + 7, task=MultiTask) == {"problem": family[7], "length": 6, "index": 7}


def test_the_set_is_the_members_sets_posed_in_the_multitask(small_set: Any) -> None:
    """Laid out a batch at a time in one-member MultiTasks, the set is what the MultiTask of both
    members shows on every problem of each, posed one by one."""
    whole, sets = small_set
    assert [len(each) for each in sets] == [56, len(whole) - 56] and len(whole) > 56
    posed = expert_observations(
        MultiTask, problems=[(name, p) for name in MEMBERS for p in EVERY_PROBLEM[name]], **SMALL
    )
    assert whole.keys == posed.keys and "task" in whole.keys
    assert {row.tobytes() for row in whole.rows} == {row.tobytes() for row in posed.rows}
    assert whole.settings["tasks"] == MEMBERS and whole.episodes == 28 == posed.episodes
    assert [source["member"] for source in whole.sources] == ["Copy"] * 3 + ["Reverse"] * 3


def test_each_member_at_its_own_recipes_lengths() -> None:
    parts = set_parts(MultiTask, range(1, 9), 10, 100, {"tasks": ("Copy", "Compare", "Sort")})
    lengths = {part.member: part.lengths for part in parts}
    assert lengths == {"Copy": [1, 2, 3, 4, 5], "Compare": [1, 2, 3, 4], "Sort": [1, 2, 3, 4, 5, 6]}
    assert all(part.kwargs["tasks"] == (part.member,) for part in parts)
    assert parts[0].counts == [None, None, 10, 10, 10]  # every problem where at most cap=100
    given = set_parts(MultiTask, [1, 2], 10, 100, {"tasks": MEMBERS}, given=[("Reverse", [1, 0])])
    assert [part.given for part in given] == [[], [("Reverse", [1, 0])]]
    with pytest.raises(ValueError, match=r"problems must be \(member, problem\) pairs"):
        set_parts(MultiTask, [1, 2], 10, 100, {"tasks": MEMBERS}, given=[("Sort", [1, 0])])
    with pytest.raises(ValueError, match=r"problems must be \(member, problem\) pairs"):
        set_parts(MultiTask, [1, 2], 10, 100, {"tasks": MEMBERS}, given=[[1, 0]])


def test_multitask_recipe_trains_every_member_at_its_own_lengths() -> None:
    """The certified MultiTask (its default members) trains up to its longest member's length."""
    assert MultiTask.recipe is not None
    assert MultiTask.recipe.train_length == max(
        SINGLE_TASKS[name].recipe.certified_length for name in MultiTask.default_members
    )


def certify_small(policy: LookupPolicy) -> Any:
    return certify(policy, "MultiTask", TRAIN_LENGTHS, SMALL, samples=200, probe_samples=20)


def lookup(whole: Any) -> LookupPolicy:
    return LookupPolicy(whole, env_id=MULTITASK, tasks=MEMBERS)


def test_certify_a_multitask_policy_on_every_member(small_set: Any) -> None:
    whole, _ = small_set
    certificate = certify_small(lookup(whole))
    assert certificate.certified and certificate.reasons == []
    closure = [(p.member, p.label, p.length) for p in certificate.closure]
    assert closure == [
        (name, label, length)
        for name in MEMBERS
        for label, length in (("train+1", 4), ("train+2", 5), ("10x", 30), ("100x", 300))
    ]
    assert all(p.strays == 0 and p.error is None for p in certificate.closure)
    verification = certificate.verification
    assert verification["observations"] == len(whole) and verification["exhaustive"]
    assert verification["members"] == {
        name: {"train_lengths": [1, 2, 3], "observations": len(each)}
        for name, each in zip(MEMBERS, small_set[1], strict=True)
    }
    every = "every problem of length 1..3"
    assert verification["provenance"] == f"Copy: {every}; Reverse: {every}"
    assert list(verification["growth"]) == [f"{name} {n}" for name in MEMBERS for n in TRAIN_LENGTHS]


def test_certify_refuses_a_multitask_policy_wrong_on_one_members_observation(small_set: Any) -> None:
    """The counterexample is a problem of the member whose observation the policy gets wrong."""
    whole, sets = small_set
    index = len(sets[0]) + int(np.flatnonzero(sets[1].step >= 2)[0])  # one of Reverse's
    policy = lookup(whole)
    policy.prefer(whole, index, other_allowed(whole, index))
    certificate = certify_small(policy)
    assert not certificate.certified
    assert any(f"not the expert's on 1 of {len(whole)}" in reason for reason in certificate.reasons)
    found = certificate.counterexample
    assert found is not None and found.reproduced and found.diverged_at == found.step >= 2
    name, problem = found.source["problem"]
    assert name == "Reverse" and problem in EVERY_PROBLEM["Reverse"]
    assert index_of(certificate.observation_set, whole.rows[index]) == index


def test_a_member_set_read_back_from_disk_compares_with_a_fresh_one(tmp_path: Path) -> None:
    """On disk a member's ``tasks`` option becomes a list; its observations still compare."""
    part = set_parts(MultiTask, [1, 2], 200, 100_000, SMALL)[0]
    fresh = collect(MultiTask, part.lengths, part.counts, **part.kwargs)
    save_set(fresh, tmp_path / "set.npz")
    read_back = load_set(tmp_path / "set.npz")
    assert read_back is not None and read_back.settings["tasks"] == ["Copy"]
    assert len(new_observations(read_back, fresh)) == 0
