"""CachedGreedy: the policy's greedy actions, the network run once per distinct (view, mask)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from helpers import make_vec

from actformer_envs.reads import project
from actformer_gym.agents import cached
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.baselines import ExpertAgent
from actformer_gym.agents.cached import CachedGreedy, distinct_rows


def _policy(envs: gym.vector.VectorEnv, projected: bool) -> ActformerPolicy:
    """A random policy with decisive logits (no near-ties whose argmax a batch's rounding could flip)."""
    torch.manual_seed(0)
    reads = envs.unwrapped.mixture.read_masks() if projected else None
    policy = ActformerPolicy(envs.single_observation_space, device="cpu", reads=reads)
    with torch.no_grad():
        policy.actor.weight.mul_(300.0)
    return policy.eval()


@pytest.mark.parametrize("projected", [False, True])
@pytest.mark.parametrize("task", ["Addition", "Expression", "MultiTask"])
def test_actions_are_the_policys_greedy_actions(task: str, projected: bool) -> None:
    envs = make_vec(f"Actformer/{task}-v0", 24, max_length=4)
    obs, infos = envs.reset(seed=3)
    mask = infos["action_mask"]
    policy, expert = _policy(envs, projected), ExpertAgent(envs.unwrapped.task)
    greedy = CachedGreedy(policy)
    for step in range(150):
        direct = policy.act(obs, mask)
        assert np.array_equal(greedy.act(obs, mask), direct), step
        # Expert actions walk the envs through many states (the random policy would stall).
        obs, _, _, _, infos = envs.step(expert.act(obs))
        mask = envs.unwrapped.action_masks()
    assert greedy.lookups == 150 * 24
    assert 0 < greedy.computed == len(greedy.actions) <= greedy.lookups
    if projected:  # (a projected view repeats within a few steps: most lookups are hits)
        assert greedy.computed < greedy.lookups / 2


def test_projected_view_is_the_declared_projection_and_keys_ignore_what_it_hides() -> None:
    envs = make_vec("Actformer/Copy-v0", 8, max_length=5)
    obs, infos = envs.reset(seed=0)
    masks = envs.unwrapped.mixture.read_masks()
    policy = _policy(envs, projected=True)
    view = policy.view(obs)
    expected = project(obs, masks)
    assert view.keys() == expected.keys()
    assert all(np.array_equal(view[key], expected[key]) for key in view)
    # The history is not read: two batches that differ only there are one view, computed once.
    greedy = CachedGreedy(policy)
    other = {**obs, "history": (obs["history"] + 1) % 3}
    first = greedy.act(obs, infos["action_mask"])
    computed = greedy.computed
    assert np.array_equal(greedy.act(other, infos["action_mask"]), first) and greedy.computed == computed


def test_single_observation_bounded_cache_and_bad_arguments() -> None:
    envs = make_vec("Actformer/Copy-v0", 6, max_length=5)
    obs, infos = envs.reset(seed=1)
    mask = infos["action_mask"]
    policy = _policy(envs, projected=False)
    nothing_kept = CachedGreedy(policy, max_entries=0)
    for _ in range(2):
        assert np.array_equal(nothing_kept.act(obs, mask), policy.act(obs, mask))
    assert not nothing_kept.actions and nothing_kept.computed == nothing_kept.lookups
    single = CachedGreedy(policy).act({key: value[2] for key, value in obs.items()}, mask[2])
    assert isinstance(single, int) and single == policy.act(obs, mask)[2]
    with pytest.raises(TypeError, match="policy must be an ActformerPolicy"):
        CachedGreedy(ExpertAgent(envs.unwrapped.task))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_entries"):
        CachedGreedy(policy, max_entries=-1)


@pytest.mark.parametrize("seed", range(5))
def test_distinct_rows_is_np_unique(seed: int) -> None:
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 256, size=(7, 40), dtype=np.uint8)
    rows = patterns[rng.integers(0, 7, size=300)]
    first, inverse = distinct_rows(rows)
    _, first_expected, inverse_expected = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    assert np.array_equal(rows[first][inverse], rows)
    assert len(first) == len(first_expected) == len(np.unique(inverse_expected))


def test_distinct_rows_survives_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every row hashes alike: the byte-for-byte check must catch it and fall back to exact rows.
    monkeypatch.setattr(cached, "_hash_weights", lambda width: np.zeros(width, dtype=np.uint64))
    rows = np.repeat(np.arange(4, dtype=np.uint8)[:, None], 16, axis=1)[[0, 1, 1, 3, 2, 0]]
    first, inverse = distinct_rows(rows)
    assert len(first) == 4 and np.array_equal(rows[first][inverse], rows)


def test_views_of_other_shapes_never_share_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ``obs_mode="full"`` views with the same bytes but scratchpads of other shapes (as at
    another length) are two entries, each computed by the network (here a stand-in for it)."""
    envs = make_vec("Actformer/Copy-v0", 1, max_length=6)
    policy = _policy(envs, projected=False)
    monkeypatch.setattr(
        policy, "act", lambda batch, mask: np.zeros(len(batch["last_action"]), dtype=np.int64)
    )
    greedy = CachedGreedy(policy)
    obs = {
        "last_action": np.zeros(1, dtype=np.int64),
        "scratchpad": np.arange(6, dtype=np.int8).reshape(1, 2, 3),
    }
    other = {**obs, "scratchpad": obs["scratchpad"].reshape(1, 3, 2)}  # (the same bytes)
    greedy.act(obs)
    greedy.act(other)
    assert greedy.computed == 2 and len(greedy.actions) == 2
