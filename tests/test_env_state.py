"""The vector env's state as plain arrays (what a checkpoint stores instead of a pickle): a restored
env continues step for step as the original, for every registered id, mid-episode and across
autoresets, curriculum ranges and MultiTask layouts; a state that does not fit is refused whole."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import action_mix, make_vec, values_equal

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import ActformerVectorEnv


def mixed_actions(vec: ActformerVectorEnv, rng: np.random.Generator) -> np.ndarray:
    """Per env: the expert's action, a random allowed one or a masked-out one (episodes end both
    ways, some mid-problem)."""
    masks, expert = vec.action_masks(), vec.expert_action()
    return np.array([action_mix(rng, mask, action) for mask, action in zip(masks, expert, strict=True)])


def state_digest(state: object) -> object:
    """``state`` with arrays as (dtype, shape, bytes), for equality checks."""
    if isinstance(state, dict):
        return {key: state_digest(value) for key, value in state.items()}
    if isinstance(state, np.ndarray):
        return (str(state.dtype), state.shape, state.tobytes())
    return state


@pytest.mark.parametrize(
    "modes",
    [{"obs_mode": "local"}, {"obs_mode": "full"}, {"reward_mode": "signed"}],
    ids=["local", "full", "signed"],  # ("signed": the count of wrong cells is rebuilt from the cells)
)
def test_restored_env_continues_step_for_step(env_id: str, modes: dict) -> None:
    vec = make_vec(env_id, 6, **modes)
    vec.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(40):
        vec.step(mixed_actions(vec, rng))
    vec.set_length_range(1, 2)  # a curriculum's range is part of the state
    for _ in range(3):
        vec.step(mixed_actions(vec, rng))
    state = vec.state_dict()
    twin = make_vec(env_id, 6, **modes)  # fresh, never reset: its own problems differ
    twin.load_state_dict(state)
    assert state_digest(twin.state_dict()) == state_digest(state)
    for step in range(150):
        actions = mixed_actions(vec, rng)
        assert np.array_equal(vec.expert_action(), twin.expert_action()), step
        assert values_equal(vec.step(actions), twin.step(actions)), step
    # The state is a snapshot: stepping the original did not change it.
    second = make_vec(env_id, 6, **modes)
    second.load_state_dict(state)
    assert state_digest(second.state_dict()) == state_digest(state)


def test_state_is_plain_data(env_id: str) -> None:
    vec = make_vec(env_id, 3)
    vec.reset(seed=0)

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value)
            return [leaf for item in value.values() for leaf in leaves(item)]
        return [value]

    for leaf in leaves(vec.state_dict()):
        assert leaf is None or isinstance(leaf, (bool, int, float, str, np.ndarray)), type(leaf)
        if isinstance(leaf, np.ndarray):
            assert leaf.dtype.kind in "biuf"


def test_a_state_from_another_env_is_refused_whole() -> None:
    vec = make_vec("Actformer/Addition-v0", 4)
    vec.reset(seed=0)
    state = vec.state_dict()
    for other, differing in (
        (make_vec("Actformer/Addition-v0", 4, reward_mode="sparse"), "reward_mode"),
        (make_vec("Actformer/Addition-v0", 4, max_length=12), "max_length"),
        (make_vec("Actformer/Addition-v0", 5), "num_envs"),
        (make_vec("Actformer/Subtraction-v0", 4), "task"),
    ):
        other.reset(seed=1)
        before = state_digest(other.state_dict())
        with pytest.raises(ValueError, match=differing):
            other.load_state_dict(state)
        assert state_digest(other.state_dict()) == before


def machine(state: dict) -> dict:
    return state["episodes"]["machine"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop("episodes"), "lacks 'episodes'"),
        (lambda s: s["episodes"].pop("_history"), r"episodes state lacks \['_history'\]"),
        (lambda s: s["episodes"].update(potential=s["episodes"]["potential"][:2]), "'potential' must be"),
        (lambda s: machine(s).update(cursors=machine(s)["cursors"].astype(np.int8)), "'cursors'"),
        (lambda s: machine(s).update(stale=np.array([99])), "env indices"),
        (lambda s: s["episodes"]["problems"].update(lengths=np.array([0, 3])), "problem lengths"),
        (lambda s: s.update(autoreset=np.zeros(3, dtype=bool)), "'autoreset'"),
        (lambda s: s.update(np_random={"bit_generator": "os.system"}), "np_random"),
    ],
)  # fmt: skip
def test_malformed_states_are_value_errors(edit: object, message: str) -> None:
    vec = make_vec("Actformer/Addition-v0", 4)
    vec.reset(seed=0)
    state = vec.state_dict()
    edit(state)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        make_vec("Actformer/Addition-v0", 4).load_state_dict(state)
