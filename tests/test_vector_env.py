"""The native vector env: step for step the same as N single envs (and as Gymnasium's SyncVectorEnv)
under NEXT_STEP and SAME_STEP autoreset, plus its own API (spaces, seeding, masks, action checks,
reset options)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Discrete, MultiDiscrete
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space
from helpers import (
    action_mix,
    assert_obs_equal,
    make_vec,
    problem_from_full_obs,
    problem_length,
    program_length,
    task_name,
    values_equal,
)
from oracles import oracle

from actformer_envs import NUM_ACTIONS, ActformerVectorEnv, instruction_index

OUTCOME_KEYS = ("is_success", "output", "target")


def _row(obs: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {key: value[i] for key, value in obs.items()}


@pytest.mark.parametrize(
    ("num_envs", "modes"),
    [
        (1, {}),
        (3, {}),
        (8, {}),
        (3, {"reward_mode": "dense", "mask_mode": "valid"}),
        (3, {"reward_mode": "signed", "mask_mode": "valid"}),
    ],
    ids=["1", "3", "8", "3-dense-valid", "3-signed-valid"],
)
def test_vector_matches_single_envs_step_for_step(env_id: str, num_envs: int, modes: dict) -> None:
    seed, steps = 17 * num_envs, 400
    vec = make_vec(env_id, num_envs, obs_mode="full", **modes)
    singles = [gym.make(env_id, obs_mode="full", **modes) for _ in range(num_envs)]
    rng = np.random.default_rng(num_envs)

    obs, info = vec.reset(seed=seed)
    for i, env in enumerate(singles):
        single_obs, single_info = env.reset(seed=seed + i)
        assert_obs_equal(_row(obs, i), single_obs, f"reset env {i}")
        assert np.array_equal(info["action_mask"][i], single_info["action_mask"])
    mask = singles[0].unwrapped.action_masks()

    restart = [False] * num_envs
    ends = invalid = 0
    for step in range(steps):
        expert = vec.expert_action()
        assert expert.shape == (num_envs,)
        actions = []
        for i, env in enumerate(singles):
            if not restart[i]:
                assert expert[i] == env.unwrapped.expert_action(), f"step {step} env {i}"
            actions.append(action_mix(rng, mask, int(expert[i]), 0.6, 0.15))
        obs, rewards, terminated, truncated, info = vec.step(np.array(actions))
        for i, env in enumerate(singles):
            where = f"step {step} env {i}"
            if restart[i]:  # NEXT_STEP autoreset, by hand: the action is ignored
                single_obs, _ = env.reset()
                reward, term, trunc, single_info = 0.0, False, False, {}
            else:
                single_obs, reward, term, trunc, single_info = env.step(actions[i])
            assert_obs_equal(_row(obs, i), single_obs, where)
            assert rewards[i] == pytest.approx(reward, abs=1e-12), where
            assert bool(terminated[i]) is term and bool(truncated[i]) is trunc, where
            assert bool(info["_invalid_action"][i]) is not restart[i], where
            if not restart[i]:
                assert bool(info["invalid_action"][i]) is single_info["invalid_action"], where
                invalid += single_info["invalid_action"]
                assert np.array_equal(info["action_mask"][i], single_info["action_mask"]), where
            ended = term or trunc
            for key in OUTCOME_KEYS:
                if ended:
                    assert info[f"_{key}"][i], (where, key)
                    assert values_equal(info[key][i], single_info[key]), (where, key)
                else:
                    assert f"_{key}" not in info or not info[f"_{key}"][i], (where, key)
            restart[i] = ended
            ends += ended
    assert ends >= 3 * num_envs and invalid >= 10


@pytest.mark.parametrize("num_envs", [1, 4])
def test_vector_matches_sync_vector_env(env_id: str, num_envs: int) -> None:
    vec = make_vec(env_id, num_envs)
    sync = SyncVectorEnv([lambda: gym.make(env_id) for _ in range(num_envs)])
    assert sync.metadata["autoreset_mode"] == vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(3)
    obs, _ = vec.reset(seed=100)
    sync_obs, _ = sync.reset(seed=100)
    assert_obs_equal(obs, sync_obs)
    mask = vec.action_masks()[0]
    ends = 0
    for step in range(300):
        expert = vec.expert_action()
        actions = np.array([action_mix(rng, mask, int(a), 0.7, 0.1) for a in expert])
        obs, rewards, terminated, truncated, info = vec.step(actions)
        sync_obs, sync_rewards, sync_terminated, sync_truncated, sync_info = sync.step(actions)
        assert_obs_equal(obs, sync_obs, f"step {step}")
        np.testing.assert_allclose(rewards, sync_rewards, rtol=0, atol=1e-12)
        assert np.array_equal(terminated, sync_terminated) and np.array_equal(truncated, sync_truncated)
        done = terminated | truncated
        if done.any():
            assert np.array_equal(info["_is_success"], sync_info["_is_success"])
            assert np.array_equal(info["is_success"][done], sync_info["is_success"][done])
        ends += int(done.sum())
    assert ends >= 2 * num_envs


@pytest.mark.parametrize("num_envs", [1, 4])
def test_same_step_matches_single_envs_and_sync_vector_env(env_id: str, num_envs: int) -> None:
    """SAME_STEP: an ended env starts its next episode in the same step; its last observation and
    info are in ``final_obs``/``final_info``, exactly as Gymnasium's SyncVectorEnv of single envs
    gives them (an independent implementation of the convention), and equal to the single envs'."""
    seed = 31 * num_envs
    vec = make_vec(env_id, num_envs, obs_mode="full", autoreset_mode=AutoresetMode.SAME_STEP)
    sync = SyncVectorEnv(
        [lambda: gym.make(env_id, obs_mode="full") for _ in range(num_envs)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    singles = [gym.make(env_id, obs_mode="full") for _ in range(num_envs)]
    assert vec.autoreset_mode is vec.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    obs, info = vec.reset(seed=seed)
    sync_obs, _ = sync.reset(seed=seed)
    assert_obs_equal(obs, sync_obs)
    for i, env in enumerate(singles):
        env.reset(seed=seed + i)
    rng = np.random.default_rng(num_envs)
    mask = vec.action_masks()[0]
    ends = 0
    for step in range(300):
        expert = vec.expert_action()
        actions = np.array([action_mix(rng, mask, int(a), 0.6, 0.15) for a in expert])
        obs, rewards, terminated, truncated, info = vec.step(actions)
        sync_obs, sync_rewards, sync_terminated, sync_truncated, sync_info = sync.step(actions)
        where = f"step {step}"
        assert_obs_equal(obs, sync_obs, where)
        np.testing.assert_allclose(rewards, sync_rewards, rtol=0, atol=1e-12)
        assert np.array_equal(terminated, sync_terminated) and np.array_equal(truncated, sync_truncated)
        assert info.keys() == sync_info.keys(), where
        for key in ("action_mask", "_action_mask", "_invalid_action", "_final_obs", "_final_info"):
            if key in info:
                assert np.array_equal(info[key], sync_info[key]), (where, key)
        ended = terminated | truncated
        if not ended.all():
            assert np.array_equal(info["invalid_action"][~ended], sync_info["invalid_action"][~ended])
        for i, env in enumerate(singles):
            single_obs, reward, _, _, single_info = env.step(int(actions[i]))
            assert rewards[i] == pytest.approx(reward, abs=1e-12), (where, i)
            if not ended[i]:
                assert_obs_equal(_row(obs, i), single_obs, f"{where} env {i}")
                assert "final_obs" not in info or info["final_obs"][i] is None
                continue
            ends += 1
            assert_obs_equal(info["final_obs"][i], single_obs, f"{where} env {i} final_obs")
            assert_obs_equal(sync_info["final_obs"][i], single_obs, f"{where} env {i} sync final_obs")
            final, sync_final = info["final_info"], sync_info["final_info"]
            assert final.keys() == sync_final.keys() == {k for key in single_info for k in (key, f"_{key}")}
            for key, value in single_info.items():
                assert final[f"_{key}"][i] and sync_final[f"_{key}"][i], (where, key)
                assert values_equal(final[key][i], value), (where, key)
                assert values_equal(sync_final[key][i], value), (where, key)
            next_obs, _ = env.reset()
            assert_obs_equal(_row(obs, i), next_obs, f"{where} env {i} next episode")
    assert ends >= 2 * num_envs


def test_autoreset_mode_argument() -> None:
    env_id = "Actformer/Copy-v0"
    assert make_vec(env_id, 2).autoreset_mode is AutoresetMode.NEXT_STEP
    assert make_vec(env_id, 2, autoreset_mode="SameStep").autoreset_mode is AutoresetMode.SAME_STEP
    assert ActformerVectorEnv(2, "Copy").metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    for bad in (AutoresetMode.DISABLED, "same_step", 1):
        with pytest.raises(ValueError, match=r"^autoreset_mode must be AutoresetMode.NEXT_STEP or"):
            make_vec(env_id, 2, autoreset_mode=bad)


def test_same_step_refuses_a_state_with_pending_resets() -> None:
    next_step = make_vec("Actformer/Copy-v0", 2)
    next_step.reset(seed=0)
    while not next_step.unwrapped._autoreset.any():
        next_step.step(next_step.expert_action())
    same_step = make_vec("Actformer/Copy-v0", 2, autoreset_mode=AutoresetMode.SAME_STEP)
    with pytest.raises(ValueError, match="resets pending"):
        same_step.unwrapped.load_state_dict(next_step.unwrapped.state_dict())


# -- the API -----------------------------------------------------------------------------------


def test_make_vec_gives_the_native_vector_env(env_id: str) -> None:
    vec = make_vec(env_id, 3)
    assert isinstance(vec.unwrapped, ActformerVectorEnv)
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert vec.num_envs == 3


@pytest.mark.parametrize("obs_mode", ["local", "full"])
def test_spaces(env_id: str, obs_mode: str) -> None:
    vec = make_vec(env_id, 5, obs_mode=obs_mode)
    single = gym.make(env_id, obs_mode=obs_mode)
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space == Discrete(NUM_ACTIONS)
    assert vec.observation_space == batch_space(vec.single_observation_space, 5)
    assert vec.action_space == batch_space(vec.single_action_space, 5) == MultiDiscrete([NUM_ACTIONS] * 5)


def test_observations_in_space_and_masks(env_id: str) -> None:
    vec = make_vec(env_id, 6, obs_mode="full")
    single_masks = []
    for i in range(6):
        single = gym.make(env_id).unwrapped
        single.reset(seed=i)
        single_masks.append(single.action_masks())
    obs, info = vec.reset(seed=0)
    masks = vec.action_masks()
    assert masks.shape == (6, NUM_ACTIONS) and masks.dtype == bool
    assert np.array_equal(masks, single_masks)
    assert np.array_equal(info["action_mask"], masks)
    masks[:] = False  # a copy: the env's masks are unaffected
    assert np.array_equal(vec.action_masks(), single_masks)
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert obs in vec.observation_space
        actions = np.where(rng.random(6) < 0.5, vec.expert_action(), rng.integers(0, NUM_ACTIONS, 6))
        obs, rewards, _, _, info = vec.step(actions)
        assert np.isfinite(rewards).all() and rewards.dtype.kind == "f"
        assert np.array_equal(info["action_mask"], vec.action_masks())


def test_seed_list(env_id: str) -> None:
    seeds = [5, 9, 2]
    vec = make_vec(env_id, 3, obs_mode="full")
    obs, _ = vec.reset(seed=seeds)
    for i, seed in enumerate(seeds):
        single_obs, _ = gym.make(env_id, obs_mode="full").reset(seed=seed)
        assert_obs_equal(_row(obs, i), single_obs, f"env {i}")
    vec.reset(seed=[1, None, 3])
    with pytest.raises(ValueError):
        vec.reset(seed=[1, 2])


def test_same_seed_same_run_and_reseeding(env_id: str) -> None:
    def run(vec: ActformerVectorEnv) -> list:
        rng = np.random.default_rng(0)
        records = [vec.reset(seed=4)]
        for _ in range(150):
            mask = vec.action_masks()[0]
            actions = np.array([action_mix(rng, mask, int(a)) for a in vec.expert_action()])
            records.append(copy.deepcopy(vec.step(actions)))  # see test_infos_are_not_aliased
        return records

    vec = make_vec(env_id, 4, obs_mode="full")
    first = run(vec)
    assert values_equal(first, run(vec))
    assert values_equal(first, run(make_vec(env_id, 4, obs_mode="full")))


@pytest.mark.parametrize(
    "actions",
    [
        np.zeros(4, dtype=np.int64),  # wrong length
        np.zeros((3, 1), dtype=np.int64),
        np.zeros(3, dtype=np.float64),
        np.zeros(3, dtype=bool),
        np.array([0, 1, -1]),
        np.array([0, 1, NUM_ACTIONS]),
        np.array(["a", "b", "c"]),
        5,
    ],
    ids=["len4", "shape3x1", "float", "bool", "negative", "139", "str", "scalar"],
)
def test_bad_actions_raise(env_id: str, actions) -> None:
    vec = make_vec(env_id, 3)
    vec.reset(seed=0)
    with pytest.raises(ValueError):
        vec.step(actions)


def test_good_action_containers(env_id: str) -> None:
    vec = make_vec(env_id, 3)
    vec.reset(seed=0)
    move = instruction_index("MOVE P0 RIGHT")
    assert vec.action_masks()[:, move].all()
    for actions in ([move] * 3, np.full(3, move, dtype=np.int32), np.full(3, move, dtype=np.uint8)):
        obs, *_ = vec.step(actions)
        assert (obs["last_action"] == move).all()


@pytest.mark.parametrize("num_envs", [0, -1, 1.5, True, "2"])
def test_bad_num_envs(env_id: str, num_envs) -> None:
    with pytest.raises((ValueError, TypeError)):
        make_vec(env_id, num_envs)


def expert_finishes(vec: Any, steps: int) -> list[int]:
    """The step at which each env's first episode ends under the expert (0: not within ``steps``),
    each checked solved."""
    finished = [0] * vec.num_envs
    for step in range(1, steps + 1):
        _, _, terminated, truncated, info = vec.step(vec.expert_action())
        for i in np.flatnonzero(terminated | truncated):
            if not finished[i]:
                finished[i] = step
                assert info["is_success"][i]
    return finished


@pytest.mark.parametrize("length", [1, 6, 20])
def test_reset_length_option(env_id: str, length: int) -> None:
    task = task_name(env_id)
    vec = make_vec(env_id, 5, obs_mode="full", max_length=20)
    base = vec.unwrapped.task.base
    obs, _ = vec.reset(seed=length, options={"length": length})
    problems = [problem_from_full_obs(task, _row(obs, i), base) for i in range(5)]
    assert all(problem_length(task, p, base) == length for p in problems)
    assert len({repr(p) for p in problems}) > 1 or length == 1
    # The expert finishes every env at its program length.
    expected = [program_length(task, p, base) for p in problems]
    assert expert_finishes(vec, max(expected)) == expected


def test_reset_length_list_and_problem_options(env_id: str) -> None:
    task = task_name(env_id)
    vec = make_vec(env_id, 3, obs_mode="full", max_length=10)
    base = vec.unwrapped.task.base
    obs, _ = vec.reset(seed=0, options={"length": [1, 4, 10]})
    lengths = [problem_length(task, problem_from_full_obs(task, _row(obs, i), base), base) for i in range(3)]
    assert lengths == [1, 4, 10]
    problem = oracle(task).largest(base, 4)
    obs, _ = vec.reset(options={"problem": problem})
    assert all(problem_from_full_obs(task, _row(obs, i), base) == problem for i in range(3))
    for options in (
        {"length": 0},
        {"length": 11},
        {"length": [1, 2]},
        {"length": [1, 2, 0]},
        {"bogus": 1},
        {"length": 1, "problem": problem},
    ):
        with pytest.raises(ValueError):
            vec.reset(seed=0, options=options)


def test_reset_problems_option(env_id: str) -> None:
    """``options={"problems": [...]}`` poses one problem per env, each as ``{"problem": p}`` poses it
    alone; the expert then solves each at its program length."""
    task = task_name(env_id)
    vec = make_vec(env_id, 3, obs_mode="full", max_length=10)
    base = vec.unwrapped.task.base
    problems = [oracle(task).largest(base, n) for n in (1, 4, 10)]
    obs, _ = vec.reset(seed=0, options={"problems": problems})
    assert [problem_from_full_obs(task, _row(obs, i), base) for i in range(3)] == problems
    expected = [program_length(task, p, base) for p in problems]
    assert expert_finishes(vec, max(expected)) == expected
    for options in (
        {"problems": problems[:2]},
        {"problems": [*problems, problems[0]]},
        {"problems": [problems[0], None, problems[1]]},
        {"problems": "abc"},
        {"problems": problems, "problem": problems[0]},
        {"problems": problems, "length": 3},
    ):
        with pytest.raises(ValueError, match="problems"):
            vec.reset(seed=0, options=options)


def test_render_matches_single_envs(env_id: str) -> None:
    vec = make_vec(env_id, 2, render_mode="ansi", max_length=10)
    singles = [gym.make(env_id, render_mode="ansi", max_length=10) for _ in range(2)]
    vec.reset(seed=0, options={"length": 10})  # no episode ends within the 5 steps
    for i, env in enumerate(singles):
        env.reset(seed=i, options={"length": 10})
    for _ in range(5):
        actions = vec.expert_action()
        vec.step(actions)
        for env, action in zip(singles, actions, strict=True):
            env.step(int(action))
        assert vec.render() == tuple(env.render() for env in singles)
    frames = make_vec(env_id, 2, render_mode="rgb_array")
    frames.reset(seed=0)
    images = frames.render()
    assert len(images) == 2 and all(image.dtype == np.uint8 and image.ndim == 3 for image in images)


def _step_until_an_episode_ends(vec: ActformerVectorEnv) -> tuple:
    for _ in range(500):
        result = vec.step(vec.expert_action())
        if (result[2] | result[3]).any():
            return result
    raise AssertionError("no episode ended")


def test_infos_are_not_aliased_to_env_state(env_id: str) -> None:
    """Infos handed to the user are the user's: the env must neither change them later nor read them."""
    vec = make_vec(env_id, 4)
    vec.reset(seed=0)
    *_, info = _step_until_an_episode_ends(vec)
    snapshot = copy.deepcopy(info)
    vec.reset(seed=1)  # a later reset must not rewrite the infos already returned
    assert values_equal(info, snapshot)


def test_user_edits_to_infos_do_not_change_autoreset(env_id: str) -> None:
    vec = make_vec(env_id, 4)
    vec.reset(seed=0)
    _, _, terminated, truncated, info = _step_until_an_episode_ends(vec)
    ended = terminated | truncated
    for key in ("_is_success", "_output", "_target", "_invalid_action", "_action_mask"):
        if key in info and info[key].flags.writeable:
            info[key][:] = False  # a user (or wrapper) scribbling on its own infos ...
    _, rewards, terminated, truncated, info = vec.step(vec.expert_action())
    # ... must not stop the envs whose episode ended from being reset on this step.
    assert np.array_equal(info["_invalid_action"], ~ended)
    assert (rewards[ended] == 0).all() and not terminated[ended].any() and not truncated[ended].any()


def test_pickled_vector_env_continues_identically(env_id: str) -> None:
    vec = make_vec(env_id, 4, obs_mode="full")
    vec.reset(seed=1)
    for _ in range(5):
        vec.step(vec.expert_action())
    twin = pickle.loads(pickle.dumps(vec))
    for step in range(120):
        actions = vec.expert_action()
        assert np.array_equal(actions, twin.expert_action()), step
        assert values_equal(vec.step(actions), twin.step(actions)), step


def test_sync_vector_env_batches_long_and_malformed_answers() -> None:
    """Gymnasium's SyncVectorEnv types an info array after its first value: answers must reach it as
    objects, so that a later ``None`` (malformed output) or a number beyond int64 still fits."""
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("Actformer/Addition-v0", min_length=25, max_length=25) for _ in range(2)]
    )
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    outputs, targets = [], []
    for _ in range(400):
        expert = np.array([env.unwrapped.expert_action() for env in envs.envs])
        random = rng.integers(0, envs.single_action_space.n, size=2)
        _, _, _, _, infos = envs.step(np.where(rng.random(2) < 0.5, expert, random))
        if "_output" in infos:
            outputs += list(infos["output"][infos["_output"]])
            targets += list(infos["target"][infos["_target"]])
    assert None in outputs
    assert all(isinstance(t, int) and t >= 10**24 for t in targets)
    assert any(t > np.iinfo(np.int64).max for t in targets)
