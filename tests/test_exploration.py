"""Count-based exploration (``train/exploration.py``): the bonus falls with every visit of a (view,
action) pair, is bounded per pair, counts only decisions, depends on what the policy sees alone, and
resumes exactly; in the trainer it changes the rewards RL learns from and nothing the env reports."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actformer_envs import ActformerVectorEnv
from actformer_envs.instructions import VALUE_LIMIT
from actformer_gym.agents import ActformerPolicy
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.exploration import COUNT_VALUES, CountBonus, magnitude
from actformer_gym.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

BETA = 0.01


def views(rows: list[int]) -> dict[str, np.ndarray]:
    """A batch of toy views, one per row, told apart by ``rows``' values."""
    column = np.asarray(rows, dtype=np.int32)
    return {"registers": np.stack([column, column * 0], axis=1), "last_action": column % 3}


def test_the_bonus_falls_as_one_over_the_root_of_the_visits() -> None:
    bonus = CountBonus(BETA)
    decide = np.ones(2, dtype=bool)
    # The same pair twice in one batch counts in env order: 1st and 2nd visit.
    assert np.allclose(bonus(views([5, 5]), np.array([1, 1]), decide), [BETA, BETA / math.sqrt(2)])
    assert np.allclose(bonus(views([5, 5]), np.array([1, 1]), decide), [BETA / math.sqrt(3), BETA / 2])
    # Another action on the same view, or the same action on another view, is a new pair.
    assert np.allclose(bonus(views([5, 6]), np.array([2, 1]), decide), [BETA, BETA])
    assert len(bonus) == 3


def test_non_decisions_earn_and_count_nothing() -> None:
    bonus = CountBonus(BETA)
    paid = bonus(views([1, 2, 3]), np.array([0, 0, 0]), np.array([True, False, True]))
    assert paid[1] == 0.0 and paid[0] == paid[2] == BETA
    assert len(bonus) == 2 and sum(bonus.counts.values()) == 2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=200))
def test_a_pair_pays_beta_times_the_sum_of_inverse_roots_of_its_visits(visits: list[tuple[int, int]]) -> None:
    """Revisiting cannot be farmed: a pair visited N times pays beta * sum(1/sqrt(n), n <= N) in all,
    under 2 * beta * sqrt(N), and no visit pays more than beta."""
    bonus = CountBonus(BETA)
    paid: dict[tuple[int, int], float] = {}
    for row, action in visits:
        value = float(bonus(views([row]), np.array([action]), np.array([True]))[0])
        assert 0.0 < value <= BETA
        paid[row, action] = paid.get((row, action), 0.0) + value
    for pair, total in paid.items():
        count = visits.count(pair)
        assert total == pytest.approx(BETA * sum(1 / math.sqrt(n) for n in range(1, count + 1)))
        assert total < 2 * BETA * math.sqrt(count)


def test_the_state_dict_round_trips_the_counts() -> None:
    bonus = CountBonus(BETA)
    bonus(views([1, 2, 2]), np.array([0, 1, 1]), np.ones(3, dtype=bool))
    restored = CountBonus(BETA)
    restored.load_state_dict(bonus.state_dict())
    assert restored.counts == bonus.counts
    again = (views([2]), np.array([1]), np.array([True]))
    assert restored(*again) == bonus(*again) == BETA / math.sqrt(3)
    empty = CountBonus(BETA)
    empty.load_state_dict(CountBonus(BETA).state_dict())
    assert empty.counts == {}


@pytest.mark.parametrize("beta", [0.0, -0.1, math.nan, True, "0.1"])
def test_beta_must_be_a_positive_number(beta: object) -> None:
    with pytest.raises(ValueError, match="beta must be a number > 0"):
        CountBonus(beta)  # type: ignore[arg-type]


def test_the_key_is_what_the_policy_sees() -> None:
    """A policy that sees only the cells under its pointers counts two observations that differ only
    beside them as one view; a policy that sees the neighbours counts them apart."""
    env = ActformerVectorEnv(2, "Copy", min_length=5, max_length=5)
    observation, _ = env.reset(seed=0)
    first = {key: value[:1] for key, value in observation.items()}
    beside = {key: value.copy() for key, value in first.items()}
    beside["symbols"][0, 0] = (beside["symbols"][0, 0] + 1) % 3  # the first pointer's left cell
    for neighbours, pairs in ((False, 1), (True, 2)):
        policy = ActformerPolicy(env.single_observation_space, d_model=16, hidden=16, neighbours=neighbours)
        bonus = CountBonus(BETA)
        for obs in (first, beside):
            bonus(policy.view(obs), np.array([0]), np.array([True]))
        assert len(bonus) == pairs, neighbours


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-VALUE_LIMIT, VALUE_LIMIT), min_size=1, max_size=50))
def test_magnitude_is_the_sign_times_the_bit_length(values: list[int]) -> None:
    expected = [int(math.copysign(abs(value).bit_length(), value)) for value in values]
    assert magnitude(np.asarray(values, dtype=np.int32)).tolist() == expected


def test_by_magnitude_a_value_is_counted_by_its_sign_and_bit_length() -> None:
    """Values of one bit length are one view, of two lengths or signs two; the other fields (here the
    last action) stay exact; exact counting tells every value apart."""
    rows = [4, 5, 7, 8, -4, 0, 1]  # bit lengths 3, 3, 3, 4, -3, 0, 1
    decide, actions = np.ones(len(rows), dtype=bool), np.zeros(len(rows), dtype=int)
    by_magnitude, exact = CountBonus(BETA, values="magnitude"), CountBonus(BETA)
    view = views(rows)
    view["last_action"] = np.zeros(len(rows), dtype=np.int32)
    by_magnitude(view, actions, decide)
    exact(view, actions, decide)
    assert len(by_magnitude) == 5 and len(exact) == len(rows)
    other_action = {**view, "last_action": np.ones(len(rows), dtype=np.int32)}
    by_magnitude(other_action, actions, decide)
    assert len(by_magnitude) == 10


def test_by_magnitude_a_growing_register_runs_out_of_new_views() -> None:
    """A register doubling at every step (what repeated ADDs do) is at a new value at each step:
    counted exactly, a run of it from a new start finds a new view, and earns the full bonus, at
    every step; by magnitude there is one view per bit length, soon all found and each paying less."""
    decide, action = np.ones(1, dtype=bool), np.zeros(1, dtype=int)
    last_run, found = {}, {}
    for values in COUNT_VALUES:
        bonus = CountBonus(BETA, values=values)
        for start in range(101, 200, 2):  # odd starts: no run passes through another's values
            paid = []
            value = start
            while value <= VALUE_LIMIT:
                view = {"registers": np.array([[value, 0]]), "last_action": np.zeros(1, dtype=np.int32)}
                paid.append(float(bonus(view, action, decide)[0]))
                value *= 2
        last_run[values], found[values] = paid, len(bonus)
    assert last_run["exact"] == [BETA] * len(last_run["exact"])
    assert max(last_run["magnitude"]) < BETA / 5
    assert found["magnitude"] <= VALUE_LIMIT.bit_length() < found["exact"]


@pytest.mark.parametrize("values", ["log", "", None])
def test_count_values_must_be_exact_or_magnitude(values: object) -> None:
    with pytest.raises(ValueError, match="values must be one of"):
        CountBonus(BETA, values=values)  # type: ignore[arg-type]


def config(count_bonus: float, **settings: object) -> TrainConfig:
    return TrainConfig.from_flat(
        task="Copy",
        device="cpu",
        num_envs=16,
        num_steps=16,
        num_minibatches=2,
        max_length=3,
        imitation=False,
        count_bonus=count_bonus,
        **settings,
    )


def test_the_trainer_adds_the_bonus_to_the_rewards_it_learns_from_only() -> None:
    """Off by default. On, one rollout counts each of its decisions once and adds the bonus to their
    returns, while the episodes' outcomes (the env's reward and success) are those of the same
    rollout without it (the first rollout's actions do not depend on the rewards)."""
    assert TrainConfig().algo.count_bonus == 0.0 and Trainer(config(0.0)).experience.bonus is None
    assert TrainConfig().algo.count_values == "exact"
    assert Trainer(config(0.05, count_values="magnitude")).experience.bonus.values == "magnitude"  # type: ignore[union-attr]
    batches = {}
    for beta in (0.0, 0.05):
        trainer = Trainer(config(beta))
        batches[beta] = trainer._rollout("test")
    (plain, plain_episodes), (boosted, boosted_episodes) = batches[0.0], batches[0.05]
    assert boosted_episodes == plain_episodes and plain_episodes[0]
    np.testing.assert_array_equal(boosted["actions"], plain["actions"])
    assert sum(trainer.experience.bonus.counts.values()) == len(boosted["actions"])  # type: ignore[union-attr]
    assert 0.0 < trainer.experience.mean_bonus <= 0.05
    assert np.all(boosted["returns"] > plain["returns"])  # every decision earns a bonus > 0


def test_a_trainer_with_the_bonus_resumes_exactly() -> None:
    original = Trainer(config(0.05))
    original.iterate()
    state = original.state_dict()
    expected = original.iterate()
    resumed = Trainer(config(0.05))
    resumed.load_state_dict(state)
    metrics = resumed.iterate()
    assert metrics["charts/count_bonus"] == expected["charts/count_bonus"] > 0.0
    assert metrics["losses/value"] == expected["losses/value"]
    assert resumed.experience.bonus.counts == original.experience.bonus.counts  # type: ignore[union-attr]
