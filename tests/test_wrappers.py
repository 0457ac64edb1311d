"""``FlatObservation``/``FlatVectorObservation``: exactly Gymnasium's ``spaces.flatten`` as float32, for
every registered env, single and vector, in both autoreset modes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from helpers import action_mix

from actformer_envs import FlatObservation, FlatVectorObservation, TensorInfos
from actformer_envs.wrappers import Flattener


@pytest.mark.parametrize("obs_mode", ["local", "full"])
def test_flat_observation_is_gymnasiums_flatten(env_id: str, obs_mode: str) -> None:
    inner = gym.make(env_id, obs_mode=obs_mode)
    env = FlatObservation(gym.make(env_id, obs_mode=obs_mode))
    space = env.observation_space
    assert space.dtype == np.float32 and space.shape == (gym.spaces.flatdim(inner.observation_space),)
    reference = gym.spaces.flatten_space(inner.observation_space)
    assert np.array_equal(space.low, reference.low) and np.array_equal(space.high, reference.high)
    obs, info = env.reset(seed=5)
    inner_obs, _ = inner.reset(seed=5)
    rng = np.random.default_rng(0)
    for step in range(120):
        expected = gym.spaces.flatten(inner.observation_space, inner_obs).astype(np.float32)
        assert obs.dtype == np.float32 and np.array_equal(obs, expected), step
        assert space.contains(obs)
        action = action_mix(rng, info["action_mask"], inner.unwrapped.expert_action(), 0.7, 0.1)
        obs, _, terminated, truncated, info = env.step(action)
        inner_obs, _, _, _, _ = inner.step(action)
        if terminated or truncated:
            obs, info = env.reset()
            inner_obs, _ = inner.reset()


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_flat_observation_passes_gymnasiums_checker_and_is_recorded_in_the_spec() -> None:
    env = FlatObservation(gym.make("Actformer/Addition-v0", max_length=4))
    check_env(env, skip_render_check=True)
    remade = gym.make(env.spec)
    assert isinstance(remade, FlatObservation) and remade.observation_space == env.observation_space


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_flat_vector_observation_matches_flat_single_envs(env_id: str, mode: AutoresetMode) -> None:
    vec = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", autoreset_mode=mode)
    flat = FlatVectorObservation(vec)
    flatten = Flattener(vec.single_observation_space)
    assert flat.single_observation_space == flatten.space
    assert flat.observation_space.shape == (3, flatten.size)
    obs, _ = flat.reset(seed=2)
    inner_obs = vec.unwrapped._episodes.observation()
    for i in range(3):
        assert np.array_equal(obs[i], flatten({k: v[i] for k, v in inner_obs.items()}))
    finals = 0
    for _ in range(200):
        obs, _, _, _, info = flat.step(vec.unwrapped.expert_action())
        assert obs.dtype == np.float32 and flat.observation_space.contains(obs)
        if "final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                final = info["final_obs"][i]
                assert final.shape == (flatten.size,) and flatten.space.contains(final)
                finals += 1
    assert (finals > 0) == (mode is AutoresetMode.SAME_STEP)


def test_flattener_refuses_other_spaces() -> None:
    with pytest.raises(TypeError, match="Dict observation space"):
        Flattener(gym.spaces.Box(0, 1, (3,)))


def test_tensor_infos_keeps_only_tensor_convertible_infos() -> None:
    """TorchRL turns every info into a tensor: the decoded answers (object arrays) go, top level and
    in ``final_info``; masks go with their keys; the wrapper says its autoreset mode."""
    vec = gym.make_vec(
        "Actformer/Copy-v0", num_envs=3, vectorization_mode="vector_entry_point", autoreset_mode="SameStep"
    )
    wrapped = FlatVectorObservation(TensorInfos(vec))
    assert wrapped.autoreset_mode is TensorInfos(vec).autoreset_mode is AutoresetMode.SAME_STEP
    wrapped.reset(seed=0)
    finals = 0
    for _ in range(100):
        _, _, _, _, info = wrapped.step(vec.unwrapped.expert_action())
        assert {"action_mask", "_action_mask"} <= info.keys()
        if "final_info" in info:
            finals += 1
            final = info["final_info"]
            assert {"is_success", "_is_success", "invalid_action"} <= final.keys()
            assert not {"output", "_output", "target", "_target"} & final.keys()
            assert all(value.dtype != object for value in final.values())
            assert info["final_obs"][np.flatnonzero(info["_final_obs"])[0]].dtype == np.float32
    assert finals > 0
