"""Self-imitation: the replay keeps exactly the decisions of solved episodes (across rollouts), with
returns discounted as an independent sum says; the trainer replays them only when asked, and resumes
exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from actformer_gym.train.config import TrainConfig
from actformer_gym.train.self_imitation import SuccessReplay
from actformer_gym.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

GAMMA = 0.9


def rollout(first: int, decision: list[list[int]], ended: list[list[int]], solved: list[list[int]]):
    """A rollout of 4 steps x 2 envs whose field ``x`` names each row (1000 * env + global step)."""
    steps, envs = 4, 2
    t = np.arange(first, first + steps)[:, None]
    x = 1000 * np.arange(envs)[None, :] + t
    rows = {
        "x": x,
        "masks": np.ones((steps, envs, 3), dtype=bool),
        "actions": x % 3,
        "rewards": (x % 7).astype(np.float32),
    }
    as_bool = lambda cells: np.array(cells, dtype=bool)  # noqa: E731
    return rows, as_bool(decision), as_bool(ended), as_bool(solved)


def discounted(rewards: list[float]) -> list[float]:
    """Each decision's return to the episode's end, as an explicit sum."""
    return [sum(GAMMA**k * r for k, r in enumerate(rewards[t:])) for t in range(len(rewards))]


def test_the_replay_keeps_each_solved_episode_whole_across_rollouts() -> None:
    replay = SuccessReplay(capacity=100, num_envs=2, gamma=GAMMA)
    # env 0: an episode solved at step 1, a reset (step 2, no decision), a new episode from step 3;
    # env 1: one episode running through the whole rollout.
    replay.add(
        *rollout(
            0,
            [[1, 1], [1, 1], [0, 1], [1, 1]],
            [[0, 0], [1, 0], [0, 0], [0, 0]],
            [[0, 0], [1, 0], [0, 0], [0, 0]],
        )
    )
    assert len(replay) == 2 and list(replay.rows["x"][:2]) == [0, 1]
    # env 0's second episode ends unsolved at step 5; env 1's ends solved at step 5.
    replay.add(
        *rollout(
            4,
            [[1, 1], [1, 1], [0, 0], [1, 1]],
            [[0, 0], [1, 1], [0, 0], [0, 0]],
            [[0, 0], [0, 1], [0, 0], [0, 0]],
        )
    )
    kept = list(replay.rows["x"][: len(replay)])
    assert kept == [0, 1, 1000, 1001, 1002, 1003, 1004, 1005]
    assert [len(replay.pending[env]["x"]) for env in (0, 1)] == [1, 1]  # step 7 of each waits
    solved_rewards = {0: [0.0, 1.0], 1: [float((1000 + t) % 7) for t in range(6)]}
    expected = discounted(solved_rewards[0]) + discounted(solved_rewards[1])
    np.testing.assert_allclose(replay.rows["returns"][: len(replay)], expected, rtol=1e-6)
    assert list(replay.rows["actions"][: len(replay)]) == [x % 3 for x in kept]


def test_a_full_replay_keeps_the_newest_decisions() -> None:
    replay = SuccessReplay(capacity=3, num_envs=2, gamma=GAMMA)
    every = [[1, 1]] * 4
    replay.add(*rollout(0, every, [[0, 0], [1, 0], [0, 0], [0, 1]], [[0, 0], [1, 0], [0, 0], [0, 1]]))
    # env 0's episode (steps 0-1), then env 1's (1000-1003): the last 3 rows written are 1001-1003.
    assert len(replay) == 3 and sorted(replay.rows["x"]) == [1001, 1002, 1003]


def test_the_replay_state_round_trips_and_draws_the_same_rows() -> None:
    replay = SuccessReplay(capacity=5, num_envs=2, gamma=GAMMA)
    every = [[1, 1]] * 4
    replay.add(*rollout(0, every, [[0, 0], [1, 0], [0, 0], [0, 0]], [[0, 0], [1, 0], [0, 0], [0, 0]]))
    copy = SuccessReplay(capacity=5, num_envs=2, gamma=GAMMA)
    copy.load_state_dict(replay.state_dict())
    later = rollout(4, every, [[1, 1], [0, 0], [0, 0], [0, 0]], [[1, 1], [0, 0], [0, 0], [0, 0]])
    for each in (replay, copy):
        each.add(*later)  # the pending rows (env 0: steps 2-3; env 1: 0-3) finish the same way
    draws = [each.sample(16, torch.Generator().manual_seed(3)) for each in (replay, copy)]
    for key in draws[0]:
        np.testing.assert_array_equal(draws[0][key], draws[1][key])


@pytest.mark.parametrize(("setting", "value"), [("self_imitation", -1.0), ("self_imitation_capacity", 0)])
def test_self_imitation_settings_are_checked(setting: str, value: float) -> None:
    with pytest.raises(ValueError, match=setting):
        TrainConfig.from_flat(**{setting: value})


def config(weight: float) -> TrainConfig:
    """Copy up to 3 symbols, warm-started briefly so that episodes are solved from the start."""
    return TrainConfig.from_flat(
        task="Copy",
        device="cpu",
        num_envs=16,
        num_steps=16,
        num_minibatches=2,
        max_length=3,
        imitation_pairs=2000,
        imitation_epochs=4,
        dagger_rounds=0,
        self_imitation=weight,
        self_imitation_capacity=512,
    )


def test_the_trainer_self_imitates_only_when_asked() -> None:
    assert TrainConfig().algo.self_imitation == 0.0
    plain = Trainer(config(0.0))
    assert plain.experience.replay is None and plain.iterate()["losses/self_imitation"] == 0.0
    trainer = Trainer(config(1.0))
    losses = [trainer.iterate()["losses/self_imitation"] for _ in range(4)]
    assert len(trainer.experience.replay) > 0  # type: ignore[arg-type]
    assert all(math.isfinite(loss) for loss in losses) and max(losses) > 0.0


def test_a_self_imitating_trainer_resumes_exactly() -> None:
    original = Trainer(config(1.0))
    for _ in range(2):
        original.iterate()
    state = original.state_dict()
    expected = original.iterate()
    resumed = Trainer(config(1.0))
    resumed.load_state_dict(state)
    metrics = resumed.iterate()
    assert metrics["losses/self_imitation"] == expected["losses/self_imitation"] > 0.0
    assert metrics["losses/value"] == expected["losses/value"]
    for key, value in original.policy.state_dict().items():
        assert torch.equal(resumed.policy.state_dict()[key], value), key
