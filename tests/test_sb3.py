"""SB3 integration: every algorithm trains on every observation space of the registered envs, the
Actformer policies among them; on every env, PPO with our policy (full observations) and MaskablePPO
with SB3's and ours run, and masked actions are never emitted."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ENV_IDS
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.utils import obs_as_tensor

from actformer_gym.agents import actformer, sb3
from actformer_gym.agents.sb3 import ActformerExtractor, ActformerPolicy

ON_POLICY = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}
#: id -> (algorithm, policy, algorithm kwargs); names resolved lazily, sb3-contrib being a dev extra.
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "PPO-MultiInputPolicy": ("PPO", "MultiInputPolicy", ON_POLICY),
    "A2C-MultiInputPolicy": ("A2C", "MultiInputPolicy", {"n_steps": 16}),
    "DQN-MultiInputPolicy": (
        "DQN",
        "MultiInputPolicy",
        {"learning_starts": 0, "buffer_size": 1000, "train_freq": 4, "batch_size": 32},
    ),
    "MaskablePPO-MultiInputPolicy": ("MaskablePPO", "MultiInputPolicy", ON_POLICY),
    "PPO-ActformerPolicy": ("PPO", "ActformerPolicy", ON_POLICY),
    "A2C-ActformerPolicy": ("A2C", "ActformerPolicy", {"n_steps": 16}),
    "DQN-ActformerExtractor": (
        "DQN",
        "MultiInputPolicy",
        {
            "learning_starts": 0,
            "buffer_size": 1000,
            "train_freq": 4,
            "batch_size": 32,
            "policy_kwargs": {"features_extractor_class": ActformerExtractor},
        },
    ),
    "MaskablePPO-MaskableActformerPolicy": ("MaskablePPO", "MaskableActformerPolicy", ON_POLICY),
}


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Batch-1 forward passes are dominated by thread hand-offs: one thread runs them ~5x faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(case: str, env: Any, **overrides: Any) -> BaseAlgorithm:
    algorithm_name, policy_name, kwargs = CASES[case]
    if algorithm_name == "MaskablePPO":
        algorithm = pytest.importorskip("sb3_contrib").MaskablePPO
    else:
        algorithm = {"PPO": PPO, "A2C": A2C, "DQN": DQN}[algorithm_name]
    policy = getattr(sb3, policy_name) if policy_name != "MultiInputPolicy" else policy_name
    return algorithm(policy, env, seed=0, device="cpu", **{**kwargs, **overrides})


def one_env_per_observation_space() -> list[str]:
    """The first registered env of each distinct observation space. The local observation does not
    depend on a task's length or base, so SB3's algorithms and policies meet few spaces (and one
    action space); every env runs under SB3 in the per-env tests below."""
    first: dict[str, str] = {}
    for env_id in ENV_IDS:
        first.setdefault(repr(gym.make(env_id).observation_space), env_id)
    return list(first.values())


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("space_env_id", one_env_per_observation_space())
def test_learns(space_env_id: str, case: str) -> None:
    make_model(case, gym.make(space_env_id)).learn(256)


def test_actformer_policy_learns_on_full_observations(env_id: str) -> None:
    make_model("PPO-ActformerPolicy", gym.make(env_id, obs_mode="full")).learn(128)


# -- the extractor undoes SB3's preprocessing ----------------------------------------------------


@pytest.mark.parametrize("obs_mode", ["local", "full"])
def test_extractor_equals_network_on_raw_obs(env_id: str, obs_mode: str) -> None:
    envs = gym.make_vec(env_id, num_envs=32, vectorization_mode="vector_entry_point", obs_mode=obs_mode)
    space = envs.single_observation_space
    observations = [envs.reset(seed=0)[0]]
    for _ in range(12):  # expert steps, so registers, memory and history fill up
        observations.append(envs.step(envs.unwrapped.expert_action())[0])
    obs = {key: np.concatenate([o[key] for o in observations]) for key in space.spaces}
    torch.manual_seed(0)
    extractor = ActformerExtractor(space)
    raw = {key: torch.as_tensor(value) for key, value in obs.items()}
    expected = extractor.network(raw)
    # As SB3 gets it from the env, and from a rollout buffer (Discrete keys stored as (B, 1)).
    buffered = {key: value[:, None] if value.ndim == 1 else value for key, value in obs.items()}
    for layout in (obs, buffered):
        preprocessed = preprocess_obs(obs_as_tensor(layout, torch.device("cpu")), space)
        assert preprocessed["symbols"].shape[1] == int(space["symbols"].nvec.sum())  # one-hot
        integers = extractor.integers(preprocessed)
        for key, value in raw.items():
            assert torch.equal(integers[key], value.long()), key
        assert torch.equal(extractor(preprocessed), expected)


def test_policy_keeps_extractor_init_and_inits_heads_as_sb3() -> None:
    env = gym.make("Actformer/Addition-v0")
    policy = ActformerPolicy(env.observation_space, env.action_space, lambda _: 3e-4)
    attention = policy.features_extractor.network.state.to_query.weight
    singular = torch.linalg.svdvals
    assert torch.allclose(singular(attention), torch.ones(attention.shape[0]), atol=1e-5)  # gain 1
    assert torch.allclose(singular(policy.action_net.weight), torch.full((1,), 0.01), atol=1e-6)
    assert policy.mlp_extractor.policy_net[0].out_features == 64


# -- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["MaskablePPO-MultiInputPolicy", "MaskablePPO-MaskableActformerPolicy"])
def test_maskable_ppo_never_emits_a_masked_action(env_id: str, case: str) -> None:
    get_action_masks = pytest.importorskip("sb3_contrib.common.maskable.utils").get_action_masks
    num_envs, steps = 64, 40
    vec_env = make_vec_env(env_id, n_envs=num_envs, seed=0)
    model = make_model(case, vec_env, n_steps=4, batch_size=64).learn(256)  # one rollout, 4 batches
    obs, sampled, episodes = vec_env.reset(), 0, 0
    for _ in range(steps):
        masks = get_action_masks(vec_env)
        assert (~masks).any(), "no action masked: the test would prove nothing"
        actions, _ = model.predict(obs, action_masks=masks, deterministic=False)
        assert masks[np.arange(num_envs), actions].all(), "a masked action was emitted"
        sampled += num_envs
        obs, _, dones, _ = vec_env.step(actions)
        episodes += int(dones.sum())
    assert sampled >= 2500 and episodes > 0


def test_actformer_policy_never_samples_a_masked_action(env_id: str) -> None:
    envs = gym.make_vec(env_id, num_envs=256, vectorization_mode="vector_entry_point")
    torch.manual_seed(0)
    policy = actformer.ActformerPolicy(envs.single_observation_space, device="cpu")
    obs, infos = envs.reset(seed=0)
    sampled = 0
    for _ in range(20):
        masks = np.asarray(infos["action_mask"])
        assert (~masks).any(), "no action masked: the test would prove nothing"
        with torch.no_grad():
            actions, log_prob, _, _ = policy.get_action_and_value(obs, action_mask=masks)
        actions = actions.numpy()
        assert masks[np.arange(len(actions)), actions].all(), "a masked action was sampled"
        assert torch.isfinite(log_prob).all()
        sampled += len(actions)
        obs, _, _, _, infos = envs.step(actions)
    assert sampled >= 5000


# -- save/load and the optional dependency -------------------------------------------------------


@pytest.mark.parametrize("case", ["PPO-ActformerPolicy", "MaskablePPO-MaskableActformerPolicy"])
def test_save_load_round_trip(case: str, tmp_path: Path) -> None:
    env = gym.make("Actformer/Copy-v0")
    model = make_model(case, env)
    model.save(tmp_path / "model.zip")
    loaded = type(model).load(tmp_path / "model.zip", device="cpu")
    assert type(loaded.policy) is type(model.policy)
    obs, _ = env.reset(seed=0)
    assert model.predict(obs, deterministic=True)[0] == loaded.predict(obs, deterministic=True)[0]


def test_maskable_policy_without_sb3_contrib_raises_a_clear_import_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("sb3_contrib", "sb3_contrib.common.maskable.policies"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    spec = importlib.util.spec_from_file_location("fresh_agents_sb3", sb3.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.ActformerPolicy.__name__ == "ActformerPolicy"  # the rest imports fine
    with pytest.raises(ImportError, match="pip install sb3-contrib"):
        _ = module.MaskableActformerPolicy
