"""The registry-driven battery: every Actformer id gets all of it (checkers, determinism, pickling,
rendering, random-action robustness, masks, truncation, argument validation)."""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.wrappers import RenderCollection
from helpers import (
    BAD_ACTIONS,
    action_mix,
    assert_obs_equal,
    make_vec,
    problem_from_full_obs,
    problem_length,
    program_length,
    run_expert,
    task_name,
    values_equal,
    would_fault,
)
from oracles import oracle
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv

from actformer_envs import INSTRUCTIONS, NUM_ACTIONS, Op, instruction_index, instruction_name
from actformer_envs.config import MAX_HISTORY

VARIANTS = [
    {},
    {"obs_mode": "full"},
    {"history_length": 0},
    {"reward_mode": "sparse"},
    {"obs_mode": "full", "history_length": 0, "reward_mode": "sparse"},
    {"render_mode": "ansi"},
    {"render_mode": "rgb_array"},
    {"reward_mode": "dense"},
    {"mask_mode": "valid"},
    {"reward_mode": "signed", "mask_mode": "valid"},
]
VARIANT_IDS = [
    "default",
    "full",
    "history0",
    "sparse",
    "full-history0-sparse",
    "ansi",
    "rgb_array",
    "dense",
    "valid-mask",
    "signed-valid",
]


# -- the checkers ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", VARIANTS, ids=VARIANT_IDS)
def test_gymnasium_check_env_without_warnings(env_id: str, kwargs: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(gym.make(env_id, **kwargs).unwrapped)


@pytest.mark.parametrize("kwargs", VARIANTS, ids=VARIANT_IDS)
def test_passive_checker_without_warnings(env_id: str, kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, **kwargs)
        env.reset(seed=1)
        for _ in range(50):
            _, _, terminated, truncated, _ = env.step(int(rng.integers(NUM_ACTIONS)))
            if kwargs.get("render_mode"):
                env.render()
            if terminated or truncated:
                env.reset()
        env.close()


@pytest.mark.parametrize("kwargs", VARIANTS[:5], ids=VARIANT_IDS[:5])
def test_sb3_check_env_without_warnings(env_id: str, kwargs: dict) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id, **kwargs), warn=True)
    messages = [str(w.message) for w in caught]
    if kwargs.get("obs_mode") == "full":
        # The 2-D ``scratchpad`` (for attention policies) is the one thing SB3 remarks on.
        messages = [m for m in messages if "observation scratchpad has an unconventional shape" not in m]
    assert messages == []


@pytest.mark.parametrize("history_length", [0, 8, MAX_HISTORY])
def test_multidiscrete_sizes_do_not_overflow(env_id: str, history_length: int) -> None:
    """SB3 sizes a MultiDiscrete input as ``sum(space.nvec)`` (numpy scalars of the space's dtype): that
    sum must not wrap around, or SB3's MultiInputPolicy gets a negative layer width."""
    space = gym.make(env_id, obs_mode="full", history_length=history_length).observation_space
    for key, sub in space.spaces.items():
        if isinstance(sub, gym.spaces.MultiDiscrete):
            assert sum(sub.nvec) == sum(sub.nvec.tolist()), f"{key}: nvec {sub.nvec.dtype} overflows"


def test_sb3_multi_input_policy_runs(env_id: str) -> None:
    """MaskablePPO's MultiInputPolicy can be built on the env and act with masks (a tiny smoke test)."""
    from sb3_contrib import MaskablePPO

    env = gym.make(env_id)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(32)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
    assert env.unwrapped.action_masks()[int(action)]


@pytest.mark.parametrize("obs_mode", ["local", "full"])
def test_flatten_observation_wrapper(env_id: str, obs_mode: str) -> None:
    env = gym.wrappers.FlattenObservation(gym.make(env_id, obs_mode=obs_mode))
    obs, _ = env.reset(seed=0)
    assert obs.ndim == 1 and obs in env.observation_space
    for _ in range(30):
        obs, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        assert obs in env.observation_space
        if terminated or truncated:
            obs, _ = env.reset()


# -- determinism -------------------------------------------------------------------------------


def _rollout(env: gym.Env, action_seed: int, steps: int, **reset_kwargs) -> list:
    """Reset (with ``reset_kwargs``), then act for ``steps`` steps with a fixed random mix of expert,
    allowed and masked actions; reset without a seed whenever an episode ends."""
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(**reset_kwargs)
    records = [("reset", obs, info)]
    for _ in range(steps):
        action = action_mix(rng, env.unwrapped.action_masks(), env.unwrapped.expert_action())
        obs, reward, terminated, truncated, info = env.step(action)
        records.append((action, obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            records.append(("reset", obs, info))
    return records


def _episode_ends(records: list) -> int:
    return sum(1 for r in records if r[0] == "reset") - 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"obs_mode": "local"},
        {"obs_mode": "full"},
        {"reward_mode": "dense", "mask_mode": "valid"},
        {"reward_mode": "signed", "mask_mode": "valid"},
    ],
    ids=["local", "full", "dense-valid", "signed-valid"],
)
def test_same_seed_same_episodes(env_id: str, kwargs: dict) -> None:
    first = _rollout(gym.make(env_id, **kwargs), 7, 400, seed=123)
    second = _rollout(gym.make(env_id, **kwargs), 7, 400, seed=123)
    assert _episode_ends(first) >= 3
    assert values_equal(first, second)


def test_different_seeds_differ(env_id: str) -> None:
    first = _rollout(gym.make(env_id, obs_mode="full"), 7, 300, seed=1)
    second = _rollout(gym.make(env_id, obs_mode="full"), 7, 300, seed=2)
    assert not values_equal(first, second)
    problems = [[r[1]["scratchpad"] for r in run if r[0] == "reset"][:3] for run in (first, second)]
    assert not values_equal(*problems), "seeds 1 and 2 posed the same first problems"


def test_reseeding_restarts_the_stream(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full")
    fresh = _rollout(gym.make(env_id, obs_mode="full"), 3, 200, seed=42)
    _rollout(env, 5, 150, seed=9)
    again = _rollout(env, 3, 200, seed=42)
    assert values_equal(fresh, again)


def test_unseeded_envs_differ(env_id: str) -> None:
    def problems(env: gym.Env) -> list:
        return [env.reset()[0]["scratchpad"] for _ in range(4)]

    one, two = gym.make(env_id, obs_mode="full"), gym.make(env_id, obs_mode="full")
    assert not values_equal(problems(one), problems(two))


# -- pickling and copying ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "clone", [lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy], ids=["pickle", "deepcopy"]
)
def test_clone_mid_episode_continues_identically(env_id: str, clone) -> None:
    env = gym.make(env_id, obs_mode="full")
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(7):  # (a task's episodes may be shorter: start another)
        result = env.step(action_mix(rng, env.unwrapped.action_masks(), env.unwrapped.expert_action()))
        if result[2] or result[3]:
            env.reset()
    twin = clone(env)
    # Interleave the two: if they shared any state, they would drift apart.
    rngs = [np.random.default_rng(11), np.random.default_rng(11)]
    ends = 0
    for _ in range(300):
        results = []
        for e, r in zip((env, twin), rngs, strict=False):
            action = action_mix(r, e.unwrapped.action_masks(), e.unwrapped.expert_action())
            result = e.step(action)
            if result[2] or result[3]:
                result = (*result, e.reset())
            results.append(result)
        assert values_equal(results[0], results[1])
        ends += bool(results[0][2] or results[0][3])
    assert ends >= 2


@pytest.mark.parametrize(
    "clone", [lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy], ids=["pickle", "deepcopy"]
)
def test_clone_solves_like_the_original(env_id: str, clone) -> None:
    """A copy taken mid-episode finishes the episode (and the next one) exactly like the original."""
    env = gym.make(env_id, obs_mode="full", max_length=10)
    env.reset(seed=8, options={"length": 5})
    for _ in range(4):
        env.step(env.unwrapped.expert_action())
    twin = clone(env)
    last = []
    for e in (env, twin):
        while True:
            obs, _, terminated, truncated, info = e.step(e.unwrapped.expert_action())
            if terminated or truncated:
                break
        assert info["is_success"] and info["output"] == info["target"], info
        last.append(obs)
    assert_obs_equal(*last)
    first, second = run_expert(env), run_expert(twin)
    assert values_equal(first, second)
    assert second[2]["is_success"] and second[2]["output"] == second[2]["target"]


# -- rendering ---------------------------------------------------------------------------------


def test_render_ansi_names_task_and_last_instruction(env_id: str) -> None:
    env = gym.make(env_id, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str)
    assert env.unwrapped.current_task.name in text
    for name in ("MOVE P0 RIGHT", "ADVANCE", "READ P0->R0", "MOVE P0 LEFT"):
        action = instruction_index(name)
        if not env.unwrapped.action_masks()[action]:
            continue
        env.step(action)
        text = env.render()
        assert isinstance(text, str) and env.unwrapped.current_task.name in text
        assert instruction_name(action) in text


def test_render_rgb_array(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(5):
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 0 and frame.shape[1] > 0
        env.step(env.unwrapped.expert_action())


def test_render_without_mode_returns_none(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert env.render() is None


@pytest.mark.parametrize("length", [3, 10])
def test_rgb_frames_keep_one_shape_within_an_episode(env_id: str, length: int) -> None:
    """A video needs every frame of an episode to have the same size."""
    env = RenderCollection(gym.make(env_id, render_mode="rgb_array", max_length=10))
    env.reset(seed=3, options={"length": length})
    rng = np.random.default_rng(0)
    done = False
    while not done:
        action = action_mix(rng, env.unwrapped.action_masks(), env.unwrapped.expert_action(), 0.8, 0.0)
        _, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    frames = env.render()
    assert len(frames) >= 4
    shapes = {frame.shape for frame in frames}
    assert len(shapes) == 1, f"frame shapes vary within one episode: {sorted(shapes)}"


# -- random actions never break the env --------------------------------------------------------


def test_random_actions(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full")
    core = env.unwrapped
    rng = np.random.default_rng(2024)
    obs, _ = env.reset(seed=0)
    task, mask = core.current_task, core.action_masks()
    assert obs in env.observation_space
    ends = invalid_count = 0
    for _ in range(5000):
        action = int(rng.integers(NUM_ACTIONS))
        before = obs
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs in env.observation_space
        assert math.isfinite(reward)
        faults = bool(mask[action]) and would_fault(action, before, task.base, task.pointer_rows)
        expected_invalid = not mask[action] or faults
        assert info["invalid_action"] is expected_invalid, (instruction_name(action), before)
        assert not (terminated and truncated)
        if expected_invalid:
            invalid_count += 1
            assert_obs_equal(obs, before, f"after invalid {instruction_name(action)}")
            if not truncated:  # truncation also hands back the potential
                assert -0.05 - 0.1 - 1e-12 <= reward <= -0.05 + 1e-12
            assert not terminated
        else:
            assert obs["last_action"] == action
            assert obs["history"][-1] == action
            assert np.array_equal(obs["history"][:-1], before["history"][1:])
            assert terminated == (instruction_name(action) == "HALT")
        if terminated or truncated:
            ends += 1
            assert set(info) >= {"is_success", "output", "target"}
            obs, _ = env.reset()
            assert obs in env.observation_space
            task, mask = core.current_task, core.action_masks()
    assert ends >= 10 and invalid_count > 1000


@pytest.mark.parametrize("length", [1, 4, 10])
def test_truncated_at_twice_the_program_length(env_id: str, length: int) -> None:
    task = task_name(env_id)
    env = gym.make(env_id, obs_mode="full", max_length=10)
    steps, _, info, first = run_expert(env, seed=length, options={"length": length})
    assert info["is_success"]
    base = env.unwrapped.task.base
    limit = 2 * program_length(task, problem_from_full_obs(task, first, base), base)
    assert steps * 2 == limit
    obs, _ = env.reset(seed=length, options={"length": length})
    assert_obs_equal(obs, first)
    move = instruction_index("MOVE P0 RIGHT")
    for step in range(1, limit + 1):
        _, _, terminated, truncated, info = env.step(move)
        assert not terminated and not info["invalid_action"]
        assert truncated == (step == limit), f"step {step} of limit {limit}"
    assert info["is_success"] is False


@pytest.mark.parametrize("seed", [0, 1])
def test_shaping_of_a_truncated_episode_sums_to_zero(env_id: str, seed: int) -> None:
    """Writing the whole answer and never halting earns no shaping: the potential comes back at
    truncation as at HALT, so the return is the time penalty (0.1 per program length, over twice
    the program) and the invalid-action penalties alone. Otherwise stalling would pay like solving."""
    env = gym.make(env_id, max_length=6)
    core = env.unwrapped
    halt = instruction_index("HALT")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    total, invalid, peak, steps = 0.0, 0, 0.0, 0
    while True:
        action = core.expert_action()
        if action == halt:  # the answer is written: stall with any other allowed instruction
            action = int(rng.choice(np.setdiff1d(np.flatnonzero(core.action_masks()), [halt])))
        _, reward, terminated, truncated, info = env.step(action)
        total, steps, invalid = total + reward, steps + 1, invalid + info["invalid_action"]
        peak = max(peak, total)
        assert not terminated
        if truncated:
            break
    assert peak > 0.5  # the answer was written: the potential rose to nearly 1 on the way
    assert total == pytest.approx(-0.2 - 0.05 * invalid, abs=1e-9), (steps, invalid)


# -- actions and masks -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_ACTIONS, ids=repr)
def test_bad_action_raises(env_id: str, bad) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(bad)
    with pytest.raises(ValueError):
        env.unwrapped.step(bad)


def test_integer_like_actions_accepted(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    move = instruction_index("MOVE P0 RIGHT")
    for action in (move, np.int64(move), np.int32(move), np.array(move)):
        _obs, _ = env.reset(seed=0)
        assert env.step(action)[0]["last_action"] == move


def test_action_masks(env_id: str) -> None:
    """The mask is the current task's (a MultiTask's member changes it between episodes only)."""
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    for _ in range(3):
        mask = env.unwrapped.action_masks()
        assert mask.shape == (NUM_ACTIONS,) and mask.dtype == bool
        assert 0 < mask.sum() < NUM_ACTIONS
        assert np.array_equal(info["action_mask"], mask)
        names = {instruction_name(i) for i in np.flatnonzero(mask)}
        assert names == set(env.unwrapped.current_task.allowed_instructions)
        while True:
            _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
            assert np.array_equal(info["action_mask"], mask)
            if terminated or truncated:
                break
        _, info = env.reset()
    assert is_masking_supported(env)
    assert np.array_equal(get_action_masks(env), env.unwrapped.action_masks())
    vec = DummyVecEnv([lambda: gym.make(env_id)])
    vec.seed(0)
    vec.reset()
    single = gym.make(env_id).unwrapped
    single.reset(seed=0)
    assert np.array_equal(get_action_masks(vec), single.action_masks()[None])


def test_returned_objects_are_fresh(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    obs, info = env.reset(seed=0)
    mask = env.action_masks()
    info["action_mask"][:] = ~info["action_mask"]
    env.action_masks()[:] = False
    assert np.array_equal(env.action_masks(), mask)
    saved = copy.deepcopy(obs)
    for value in obs.values():
        if isinstance(value, np.ndarray):
            value[...] = 1
    masked = int(np.flatnonzero(~mask)[0])
    new_obs, _, _, _, step_info = env.step(masked)  # a no-op: the env must still see ``saved``
    assert_obs_equal(new_obs, saved)
    assert np.array_equal(step_info["action_mask"], mask)
    step_info["action_mask"][:] = False
    _, _, _, _, step_info2 = env.step(masked)
    assert step_info2 is not step_info
    assert np.array_equal(step_info2["action_mask"], mask)
    assert np.array_equal(env.action_masks(), mask)


def test_masked_action_is_a_noop(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full").unwrapped
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    for _ in range(3):
        obs, *_ = env.step(env.expert_action())
    for action in np.flatnonzero(~mask):
        new, _reward, terminated, truncated, info = env.step(int(action))
        assert info["invalid_action"] is True and not terminated
        assert_obs_equal(new, obs, instruction_name(int(action)))
        if truncated:
            break


# -- argument validation -----------------------------------------------------------------------

BAD_KWARGS = [
    ({"min_length": 0}, "min_length"),
    ({"min_length": 2.5}, "min_length"),
    ({"min_length": True}, "min_length"),
    ({"min_length": 5, "max_length": 4}, "max_length"),
    ({"max_length": 0}, "max_length"),
    ({"base": 1}, "base"),
    ({"base": 37}, "base"),
    ({"base": 10.0}, "base"),
    ({"reward_mode": "potential"}, "reward_mode"),
    ({"obs_mode": "x"}, "obs_mode"),
    ({"history_length": -1}, "history_length"),
    ({"history_length": 1.5}, "history_length"),
    ({"render_mode": "rgb"}, "render_mode"),
    ({"mask_mode": "task"}, "mask_mode"),
]


@pytest.mark.filterwarnings("ignore:.*render_mode")
@pytest.mark.parametrize(("kwargs", "name"), BAD_KWARGS, ids=[repr(k) for k, _ in BAD_KWARGS])
def test_bad_kwargs_name_the_parameter(env_id: str, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gym.make(env_id, **kwargs)
    with pytest.raises(ValueError, match=name):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)


def test_render_mode_human_rejected_by_the_env(spec: gym.envs.registration.EnvSpec) -> None:
    # ``gym.make`` itself turns "human" into rgb_array + HumanRendering, so ask the env class.
    env_class = gym.envs.registration.load_env_creator(spec.entry_point)
    with pytest.raises(ValueError, match="render_mode"):
        env_class(**spec.kwargs, render_mode="human")
    vector_class = gym.envs.registration.load_env_creator(spec.vector_entry_point)
    with pytest.raises(ValueError, match="render_mode"):
        vector_class(num_envs=2, **spec.kwargs, render_mode="human")


def test_base_range(env_id: str) -> None:
    low, high = gym.make(env_id).unwrapped.task.base_range
    for base in (low - 1, high + 1):
        with pytest.raises(ValueError, match="base"):
            gym.make(env_id, base=base)
    for base in sorted({low, 3, high} & set(range(low, high + 1))):
        env = gym.make(env_id, base=base)
        _steps, _, info, _ = run_expert(env, seed=0)
        assert info["is_success"]


def test_unknown_kwargs_rejected_in_pythons_words(env_id: str) -> None:
    """Python's own wording: libraries match it (TorchRL's ``GymEnv`` retries without ``frameskip``
    when the error says "unexpected keyword argument 'frameskip'")."""
    single = r"^ActformerEnv\.__init__\(\) got an unexpected keyword argument 'no_such_option'; "
    with pytest.raises(TypeError, match=single + r".* takes min_length, max_length,"):
        gym.make(env_id, no_such_option=1)
    vector = r"^ActformerVectorEnv\.__init__\(\) got an unexpected keyword argument 'frameskip' "
    with pytest.raises(TypeError, match=vector + r"\(and 'x'\);"):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", frameskip=4, x=1)


@pytest.mark.parametrize("task", [["Copy"], 3, None], ids=repr)
def test_a_task_that_is_no_name_nor_class_is_a_type_error(task: object) -> None:
    from actformer_envs.env import ActformerEnv

    message = r"^task must be a task name \(one of \[.*\]\) or a Task subclass, got "
    with pytest.raises(TypeError, match=message):
        ActformerEnv(task=task)  # type: ignore[arg-type]


def test_numpy_integers_are_taken_and_kept_as_ints() -> None:
    """Sizes from a NumPy array (a sweep's) are taken; the config holds Python ints (it is recorded
    as JSON); a NumPy float or bool is still refused."""
    sizes = {
        "min_length": np.int16(2),
        "max_length": np.int64(5),
        "base": np.int32(8),
        "history_length": np.uint8(4),
    }
    for env in (gym.make("Actformer/Addition-v0", **sizes), make_vec("Actformer/Addition-v0", 2, **sizes)):
        config = env.unwrapped.config
        assert [(type(getattr(config, name)), getattr(config, name)) for name in sizes] == [
            (int, 2), (int, 5), (int, 8), (int, 4)
        ]  # fmt: skip
        assert env.reset(seed=0)[0]["history"].shape[-1] == 4
    for bad in ({"max_length": np.float64(5)}, {"max_length": np.bool_(True)}):
        with pytest.raises(ValueError, match="max_length must be an int"):
            gym.make("Actformer/Addition-v0", **bad)


def test_good_kwargs_accepted(env_id: str) -> None:
    env = gym.make(env_id, min_length=3, max_length=3, history_length=0, reward_mode="sparse")
    obs, _ = env.reset(seed=0)
    assert "history" not in obs
    _, _, info, _first = run_expert(gym.make(env_id, min_length=3, max_length=3, obs_mode="full"), seed=0)
    assert info["is_success"]
    env = gym.make(env_id, min_length=4)  # max_length defaults to at least min_length
    env.reset(seed=0)


@pytest.mark.parametrize(
    "options",
    [
        {"foo": 1},
        {"length": 0},
        {"length": 11},
        {"length": 2.5},
        {"length": True},
        {"length": "3"},
        {"length": 2, "problem": [1]},
    ],
    ids=repr,
)
def test_bad_reset_options(env_id: str, options: dict) -> None:
    env = gym.make(env_id, max_length=10)
    with pytest.raises(ValueError):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize("options", [5, 0, [], ("length",), "length"], ids=repr)
def test_reset_options_that_are_no_dict_are_a_type_error(options: object) -> None:
    """Not read as a dict (a string's letters as option names, a falsy 0 as no options)."""
    for env in (gym.make("Actformer/Copy-v0"), make_vec("Actformer/Copy-v0", 2)):
        with pytest.raises(TypeError, match=r"^options must be a dict \(or None\), got "):
            env.reset(seed=0, options=options)


def test_reset_length_option(env_id: str) -> None:
    task = task_name(env_id)
    env = gym.make(env_id, max_length=12, obs_mode="full")
    base = env.unwrapped.task.base
    for length in (1, 5, 12):
        for seed in range(3):
            obs, _ = env.reset(seed=seed, options={"length": length})
            assert problem_length(task, problem_from_full_obs(task, obs, base), base) == length


def test_malformed_problems_raise(env_id: str) -> None:
    task = task_name(env_id)
    env = gym.make(env_id, max_length=10)
    base = env.unwrapped.task.base
    for problem in oracle(task).malformed(base, 10):
        with pytest.raises(ValueError):
            env.reset(seed=0, options={"problem": problem})
    # The longest problem that fits is accepted.
    env.reset(seed=0, options={"problem": oracle(task).largest(base, 10)})


@pytest.mark.slow
def test_maskable_ppo_learns_a_little(env_id: str) -> None:
    from sb3_contrib import MaskablePPO

    model = MaskablePPO(
        "MultiInputPolicy", gym.make(env_id), n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu"
    )
    model.learn(256)
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
        assert env.unwrapped.action_masks()[int(action)]
        obs, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            obs, _ = env.reset()


# -- the opt-in modes: per-state masks and the dense reward -------------------------------------


def test_valid_mask_is_exactly_the_fault_rule(env_id: str) -> None:
    """``mask_mode="valid"`` leaves out exactly the allowed instructions that would fault in the
    state (the documented rule, ``would_fault``), changes nothing else (an ``"allowed"`` env run in
    lockstep sees the same observations), and a masked-out WRITE does fault."""
    valid, allowed = gym.make(env_id, mask_mode="valid"), gym.make(env_id)
    rng = np.random.default_rng(11)
    obs, info = valid.reset(seed=5)
    same_obs, same_info = allowed.reset(seed=5)
    counts = {"allowed": [], "valid": []}
    faulted = states_with_faults = 0
    for step in range(1500):
        task = valid.unwrapped.current_task
        assert_obs_equal(obs, same_obs, f"step {step}")
        expected = same_info["action_mask"] & ~np.array(
            [would_fault(a, obs, task.base, task.pointer_rows) for a in range(NUM_ACTIONS)]
        )
        assert np.array_equal(info["action_mask"], expected), step
        assert np.array_equal(valid.unwrapped.action_masks(), expected), step
        counts["allowed"].append(same_info["action_mask"].sum())
        counts["valid"].append(expected.sum())
        # Mostly valid actions (so episodes go somewhere), sometimes one the valid mask leaves out.
        left_out = (same_info["action_mask"] & ~expected).nonzero()[0]
        states_with_faults += len(left_out) > 0
        if len(left_out) and rng.random() < 0.5:
            action = int(rng.choice(left_out))
        else:
            action = int(rng.choice(expected.nonzero()[0]))
        obs, _, terminated, truncated, info = valid.step(action)
        same_obs, _, same_terminated, same_truncated, same_info = allowed.step(action)
        assert (terminated, truncated) == (same_terminated, same_truncated)
        if action in left_out:
            assert info["invalid_action"] and same_info["invalid_action"]
            faulted += 1
        else:
            assert not info["invalid_action"]
        if terminated or truncated:
            obs, info = valid.reset()
            same_obs, same_info = allowed.reset()
    # (Where the task's instructions can put a non-digit in a register, the masks differ somewhere.)
    assert faulted >= states_with_faults // 4


def test_valid_masks_need_a_reset() -> None:
    for env in (
        gym.make("Actformer/Copy-v0", mask_mode="valid").unwrapped,
        make_vec("Actformer/Copy-v0", 2, mask_mode="valid"),
    ):
        with pytest.raises(gym.error.ResetNeeded):
            env.action_masks()
    assert gym.make("Actformer/Copy-v0").unwrapped.action_masks().any()  # (the allowed set: defined)


#: What the scratchpad shows of an empty cell (the alphabet's BLANK: the 36 digits of base 36 come
#: before it; EDGE, 37, pads a row beyond the problem's width).
BLANK_CELL = 36


def _misses(row: np.ndarray, target_row: np.ndarray) -> int:
    """Output cells holding a symbol that is not their target's, blanks aside (the oracle of
    ``"signed"``'s penalty)."""
    return int(np.count_nonzero((row != target_row) & (row != BLANK_CELL)))


@pytest.mark.parametrize("seed", range(2))
def test_signed_reward_charges_each_wrong_cell_what_a_right_digit_earns(env_id: str, seed: int) -> None:
    """In lockstep with ``"dense"``, ``"signed"`` pays the same reward less the change in the
    number of output cells holding a wrong symbol, each worth one target digit: a wrong write
    costs what a right one earns, and writing it back or blanking it refunds exactly that. The
    target row is the expert's output in a twin env posed the same problem (an oracle that reads
    nothing of the reward's own bookkeeping)."""
    modes = {"obs_mode": "full", "mask_mode": "valid"}
    signed = gym.make(env_id, reward_mode="signed", **modes)
    dense = gym.make(env_id, reward_mode="dense", **modes)
    twin = gym.make(env_id, **modes)
    rng = np.random.default_rng(seed)
    changes = 0
    for episode in range(12):
        problem_seed = 1000 * seed + episode
        obs, info = signed.reset(seed=problem_seed)
        dense.reset(seed=problem_seed)
        twin_obs, _ = twin.reset(seed=problem_seed)
        assert_obs_equal(obs, twin_obs, "the twin poses the same problem")
        output_row = signed.unwrapped.current_task.output_row
        ended, twin_info = False, {}
        while not ended:  # the expert's answer is the target row (where it answers right)
            twin_obs, _, terminated, truncated, twin_info = twin.step(twin.unwrapped.expert_action())
            ended = terminated or truncated
        assert twin_info["is_success"], "the expert answers every problem"
        target_row = twin_obs["scratchpad"][output_row]
        digits = max(np.count_nonzero(target_row < BLANK_CELL), 1)  # (an empty answer: as one digit)
        before = first = _misses(obs["scratchpad"][output_row], target_row)
        gap = 0.0
        for _ in range(400):
            action = _miswrite(rng, info["action_mask"], signed.unwrapped.expert_action())
            obs, signed_reward, terminated, truncated, info = signed.step(action)
            _, dense_reward, *_ = dense.step(action)
            after = _misses(obs["scratchpad"][output_row], target_row)
            assert dense_reward - signed_reward == pytest.approx((after - before) / digits, abs=1e-9)
            changes += after != before
            gap += dense_reward - signed_reward
            before = after
            if terminated or truncated:
                break
        assert gap == pytest.approx((before - first) / digits, abs=1e-9)  # a potential: no farming
    assert changes >= 3, "the swapped writes (or the expert's swaps) changed which cells are wrong"


def _miswrite(rng: np.random.Generator, mask: np.ndarray, expert: int) -> int:
    """The expert's action, but half its WRITEs swapped for a WRITE of another register through the
    same pointer (a digit that may be wrong), and some random actions (``action_mix``)."""
    expert_ins = INSTRUCTIONS[expert]
    if expert_ins.op == Op.WRITE and rng.random() < 0.5:
        same_pointer = (Op.WRITE, expert_ins.a)
        others = [
            action
            for action in np.flatnonzero(mask).tolist()
            if (INSTRUCTIONS[action].op, INSTRUCTIONS[action].a) == same_pointer and action != expert
        ]
        if others:
            return int(rng.choice(others))
    return action_mix(rng, mask, expert, 0.7, 0.1)


@pytest.mark.parametrize("seed", range(2))
def test_dense_reward_pays_net_progress_and_cannot_be_farmed(env_id: str, seed: int) -> None:
    """Run in lockstep with ``"shaped"``, ``"dense"`` pays the same reward on every step but an
    episode's last, where it keeps the potential instead of giving it back: an episode's dense
    return is its shaped return plus the net change of the fraction of target digits written
    correctly, at most 1 however the agent writes, rewrites and unwrites cells."""
    dense, shaped = gym.make(env_id, reward_mode="dense"), gym.make(env_id)
    rng = np.random.default_rng(seed)
    dense.reset(seed=seed)
    shaped.reset(seed=seed)
    mask = dense.unwrapped.action_masks()
    episodes, returns = 0, [0.0, 0.0]
    for _ in range(3000):
        expert = dense.unwrapped.expert_action()
        action = action_mix(rng, mask, expert, 0.7, 0.1)
        _, dense_reward, terminated, truncated, _ = dense.step(action)
        _, shaped_reward, *_ = shaped.step(action)
        returns[0] += dense_reward
        returns[1] += shaped_reward
        if not (terminated or truncated):
            assert dense_reward == shaped_reward
            continue
        net_progress = returns[0] - returns[1]
        assert -1.0 - 1e-9 <= net_progress <= 1.0 + 1e-9
        assert returns[0] <= 2.0 + 1e-9  # success plus every target digit, less the costs
        episodes += 1
        returns = [0.0, 0.0]
        dense.reset()
        shaped.reset()
        mask = dense.unwrapped.action_masks()
    assert episodes >= 3
