"""Certificates (train/certify.py, ``actformer certify``): greedy agreement on a verification set
at two batch compositions, the verdict and its reasons, counterexamples that replay the episode
where the policy leaves the expert's trajectory, and the command line.

Small on purpose: Copy with ``history_length=0``, lengths 1..3. In base 2 its verification set is
56 observations and every problem of length <= 3 is 14 problems; policies whose logits the tests
set directly stand in for trained ones where the test needs a known disagreement."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from actformer_envs import NUM_ACTIONS
from actformer_envs.verification import ObservationSet, expert_observations
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.train import cli
from actformer_gym.train.certify import (
    SECOND_BATCH,
    Counterexample,
    certify,
    episode_source,
    greedy_agreement,
    logit_margins,
)
from actformer_gym.train.cli import main

COPY = "Actformer/Copy-v0"
#: Copy in base 2 without history: the set closes at length 3 with 56 observations.
SMALL = {"base": 2, "history_length": 0}
TRAIN_LENGTHS = (1, 2, 3)
#: Every Copy problem of length 1..3 in base 2: the exhaustive verification set.
EVERY_PROBLEM = [list(p) for n in TRAIN_LENGTHS for p in itertools.product(range(2), repeat=n)]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Any:
    """Tiny models on a shared CPU: more than one torch thread only adds contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_set() -> ObservationSet:
    """The expert's observations on every Copy problem of length <= 3, base 2, no history."""
    obs_set = expert_observations("Copy", problems=EVERY_PROBLEM, **SMALL)
    assert len(obs_set) == 56 and obs_set.expert_failures == 0 and obs_set.conflicts == 0
    return obs_set


def observation_space(env_id: str = COPY, **env_kwargs: Any) -> gym.spaces.Dict:
    env = gym.make(env_id, max_length=3, **env_kwargs)
    try:
        return env.observation_space
    finally:
        env.close()


def as_rows(obs: Mapping[str, Any], keys: Sequence[str]) -> np.ndarray:
    """A batched observation as int64 rows, keys in ``keys``' order (as ``ObservationSet.rows``)."""
    count = len(np.asarray(obs["last_action"]).reshape(-1))
    return np.concatenate([np.asarray(obs[key]).reshape(count, -1).astype(np.int64) for key in keys], axis=1)


class LookupPolicy(ActformerPolicy):
    """An ``ActformerPolicy`` whose logits the test sets: ``margin`` on the expert's action of each
    observation of ``obs_set`` and 0 elsewhere (off the set, all 0: the argmax is the first allowed
    action), then whatever ``logits`` sets for an observation (by its row's bytes)."""

    def __init__(
        self, obs_set: ObservationSet, margin: float = 1.0, env_id: str = COPY, **env_kwargs: Any
    ) -> None:
        settings = obs_set.settings
        space = observation_space(
            env_id, base=settings["base"], history_length=settings["history_length"], **env_kwargs
        )
        super().__init__(space, device="cpu")
        self.keys = obs_set.keys
        self.expert = {
            row.tobytes(): int(a) for row, a in zip(obs_set.rows, obs_set.expert_actions, strict=True)
        }
        self.margin = margin
        self.logits: dict[bytes, dict[int, float]] = {}  # observation row -> {action: logit}

    def forward(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = as_rows(obs, self.keys)
        logits = torch.zeros(len(rows), NUM_ACTIONS)
        for i, row in enumerate(rows):
            key = row.tobytes()
            if key in self.expert:
                logits[i, self.expert[key]] = self.margin
            for action, value in self.logits.get(key, {}).items():
                logits[i, action] = value
        return logits, torch.zeros(len(rows))

    def prefer(self, obs_set: ObservationSet, index: int, action: int, logit: float = 2.0) -> None:
        """Give ``action`` the logit ``logit`` on observation ``index`` of ``obs_set``."""
        self.logits[obs_set.rows[index].tobytes()] = {action: logit}


def index_of(obs_set: ObservationSet, row: np.ndarray) -> int:
    """The index of an observation (a row) in ``obs_set``."""
    (index,) = np.flatnonzero((obs_set.rows == row).all(axis=1))
    return int(index)


def other_allowed(obs_set: ObservationSet, index: int, above: bool = False) -> int:
    """An allowed action of observation ``index`` that is not the expert's (after it, if ``above``)."""
    expert = int(obs_set.expert_actions[index])
    allowed = np.flatnonzero(obs_set.action_masks[index])
    return int(next(a for a in allowed if a != expert and (a > expert or not above)))


def perturbed(obs_set: ObservationSet, index: int | None = None) -> tuple[LookupPolicy, np.ndarray]:
    """A lookup policy that takes another action than the expert's on ONE observation of the set
    (``index``, default the first one seen two steps or more into its episode), and that observation."""
    if index is None:
        index = int(np.flatnonzero(obs_set.step >= 2)[0])
    policy = LookupPolicy(obs_set)
    policy.prefer(obs_set, index, other_allowed(obs_set, index))  # the expert's stays at 1.0
    return policy, obs_set.rows[index]


# -------------------------------------------------------------------------------- agreement


def test_agreement_of_a_policy_that_takes_the_experts_action(small_set: ObservationSet) -> None:
    agreement = greedy_agreement(LookupPolicy(small_set), small_set)
    assert agreement.agreement == 1.0 and len(agreement.disagreements) == 0
    assert agreement.min_margin == 1.0  # the expert's logit 1, every other 0
    assert agreement.deterministic and agreement.size == len(small_set)


def test_agreement_is_greedy_and_masked(small_set: ObservationSet) -> None:
    """A margin of 0.01 over 138 other actions: sampling would pick the expert's action about 1 time
    in 139, the argmax always; a disallowed action's huge logit is masked away (margin too)."""
    policy = LookupPolicy(small_set, margin=0.01)
    masked_off = int(np.flatnonzero(~small_set.action_masks[0])[0])
    for index in range(len(small_set)):
        assert not small_set.action_masks[index, masked_off]  # Copy's mask: the same everywhere
        policy.prefer(small_set, index, masked_off, 100.0)
    agreement = greedy_agreement(policy, small_set)
    assert agreement.agreement == 1.0
    assert agreement.min_margin == pytest.approx(0.01)


def test_one_perturbed_observation_is_the_one_disagreement(small_set: ObservationSet) -> None:
    policy, row = perturbed(small_set)
    index = index_of(small_set, row)
    agreement = greedy_agreement(policy, small_set)
    assert agreement.disagreements.tolist() == [index]
    assert agreement.agreement == pytest.approx(1 - 1 / len(small_set))
    assert agreement.min_margin == pytest.approx(-1.0) and agreement.min_margin_index == index
    assert agreement.margins[index] < 0 and (np.delete(agreement.margins, index) == 1.0).all()
    assert agreement.to_dict()["disagreement_indices"] == [index]


def test_margins_count_only_allowed_other_actions() -> None:
    logits = torch.tensor([[3.0, 1.0, 5.0], [0.0, 2.0, 9.0], [4.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [0, 1, 1]], dtype=torch.bool)
    expert = torch.tensor([0, 1, 0, 0])
    margins = logit_margins(logits, mask, expert).tolist()
    assert margins == [2.0, -7.0, float("inf"), float("-inf")]  # alone: +inf; not allowed: -inf


def test_both_batch_compositions_agree_for_the_actformer_policy(small_set: ObservationSet) -> None:
    torch.manual_seed(0)
    policy = ActformerPolicy(observation_space(**SMALL), device="cpu").train()
    agreement = greedy_agreement(policy, small_set, batch_size=7)
    assert agreement.deterministic and len(agreement.composition_mismatches) == 0
    np.testing.assert_array_equal(agreement.greedy, agreement.second_greedy)
    assert agreement.max_margin_difference < 1e-4
    assert policy.training  # its mode is given back
    # The greedy actions are the module's own: its act() on the whole set at once.
    masks = small_set.action_masks
    np.testing.assert_array_equal(policy.act(small_set.observations(), masks), agreement.greedy)


def test_a_policy_that_depends_on_its_batch_is_caught(small_set: ObservationSet) -> None:
    """The action of a batch's first row is another than the expert's: which observation that is
    depends on how the set is batched."""

    class FirstRowDiffers(LookupPolicy):
        def forward(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
            logits, value = super().forward(obs)
            index = index_of(small_set, as_rows(obs, self.keys)[0])
            logits[0, other_allowed(small_set, index)] = 2.0
            return logits, value

    agreement = greedy_agreement(FirstRowDiffers(small_set), small_set)
    assert not agreement.deterministic
    first_rows = {0, *np.random.default_rng(0).permutation(len(small_set))[::SECOND_BATCH].tolist()}
    assert set(agreement.composition_mismatches.tolist()) <= first_rows
    assert len(agreement.composition_mismatches) >= 1


def test_agreement_rejects_bad_arguments(small_set: ObservationSet) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        greedy_agreement(LookupPolicy(small_set), small_set, batch_size=0)


# -------------------------------------------------------------------------------- certify


def certify_small(policy: ActformerPolicy, **kwargs: Any) -> Any:
    """``certify`` on Copy base 2, lengths 1..3 (every problem, unless ``cap`` says otherwise),
    probes of 50 random problems at 10x and 100x."""
    options = {"samples": 200, "probe_samples": 50, **kwargs}
    return certify(policy, "Copy", TRAIN_LENGTHS, SMALL, **options)


def test_certify_a_policy_that_takes_the_experts_action(small_set: ObservationSet) -> None:
    certificate = certify_small(LookupPolicy(small_set))
    assert certificate.verdict == "certified" and certificate.certified and certificate.reasons == []
    assert certificate.counterexample is None
    verification = certificate.verification
    assert verification["observations"] == 56 and verification["exhaustive"]
    assert verification["provenance"] == "every problem of length 1..3" and verification["episodes"] == 14
    assert sum(verification["growth"].values()) == 56 and list(verification["growth"]) == ["1", "2", "3"]
    assert {row.tobytes() for row in certificate.observation_set.rows} == set(LookupPolicy(small_set).expert)
    plan = [(p.label, p.length, p.exhaustive, p.problems) for p in certificate.closure]
    assert plan == [
        ("train+1", 4, True, 16),
        ("train+2", 5, True, 32),
        ("10x", 30, False, 50),
        ("100x", 300, False, 50),
    ]
    assert all(p.strays == 0 and p.error is None for p in certificate.closure)
    report = certificate.to_dict()
    assert json.loads(json.dumps(report)) == report  # plain JSON
    assert report["agreement"]["agreement"] == 1.0 and report["agreement"]["min_margin"] == 1.0
    assert report["parameters"]["cap"] > 0 and report["parameters"]["samples"] == 200
    assumptions = " ".join(report["assumptions"])
    for words in ("closure as checked", "deterministic function of the observation", "expert is correct"):
        assert words in assumptions


def replay_in_env(policy: ActformerPolicy, found: Counterexample, obs_set: ObservationSet) -> None:
    """Show the counterexample with the env itself: on its problem, the greedy policy takes the
    expert's actions up to the reported step and another one there, on the perturbed observation;
    its episode then ends after the reported steps, solved or not as reported."""
    env = gym.make(COPY, max_length=3, **SMALL)
    obs, info = env.reset(options={"problem": found.source["problem"]})
    for step in range(found.diverged_at + 1):
        expert, greedy = env.unwrapped.expert_action(), policy.act(obs, info["action_mask"])
        if step < found.diverged_at:
            assert greedy == expert, step
            obs, _, terminated, truncated, info = env.step(expert)
            assert not (terminated or truncated)
    assert greedy != expert  # at the reported step
    np.testing.assert_array_equal(as_rows(obs, obs_set.keys)[0], obs_set.rows[found.index])
    steps, done = found.diverged_at, False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs, info["action_mask"]))
        steps, done = steps + 1, terminated or truncated
    assert (steps, bool(info["is_success"])) == (found.steps, found.solved)
    env.close()


def test_certify_refuses_a_policy_perturbed_on_one_observation(small_set: ObservationSet) -> None:
    """The counterexample is one of every problem of a training length, shown in the env."""
    policy, row = perturbed(small_set)
    certificate = certify_small(policy)
    assert certificate.verdict == "not certified"
    assert any("not the expert's on 1 of 56" in reason for reason in certificate.reasons)
    obs_set, found = certificate.observation_set, certificate.counterexample
    assert found is not None and found.index == index_of(obs_set, row) and found.reproduced
    assert found.source["problem"] in EVERY_PROBLEM and len(found.source["problem"]) == found.source["length"]
    assert found.diverged_at == found.step == obs_set.step[found.index] >= 2
    assert found.policy_action != found.expert_action
    assert "<- leaves the expert's trajectory" in found.trace[found.diverged_at]
    replay_in_env(policy, found, obs_set)


def test_counterexample_of_a_given_problem(small_set: ObservationSet) -> None:
    """Given problems join a sampled set; an observation only they show is replayed from its problem."""
    sampled = expert_observations("Copy", lengths=TRAIN_LENGTHS, samples=1, **SMALL)
    index = next(
        i for i in np.flatnonzero(small_set.step >= 1) if not sampled.contains(small_set.rows[i : i + 1])[0]
    )
    policy, row = perturbed(small_set, int(index))
    certificate = certify_small(policy, cap=0, samples=1, problems=EVERY_PROBLEM)
    obs_set, found = certificate.observation_set, certificate.counterexample
    assert len(obs_set) == 56 and certificate.verification["growth"]["given"] == 56 - len(sampled)
    assert (
        certificate.verification["provenance"]
        == "1 random problems of length 1..3 (seed 0); 14 given problems"
    )
    assert found is not None and found.index == index_of(obs_set, row) and found.reproduced
    assert set(found.source) == {"problem"} and found.source["problem"] in EVERY_PROBLEM
    assert found.diverged_at == found.step == obs_set.step[found.index]
    replay_in_env(policy, found, obs_set)


def test_counterexample_of_a_random_problem_is_regenerated(small_set: ObservationSet) -> None:
    """A set of random problems (cap 0: nothing enumerated): the episode is drawn again from its seed
    (the replay meets the set's observation at its step), and the policy leaves the expert's
    trajectory there."""
    policy, row = perturbed(small_set)
    certificate = certify_small(policy, cap=0, seed=5)
    obs_set, found = certificate.observation_set, certificate.counterexample
    assert not certificate.verification["exhaustive"] and obs_set.sources[0]["samples"] == 200
    assert found is not None and found.index == index_of(obs_set, row) and found.reproduced
    assert set(found.source) == {"length", "problem_seed"}
    assert found.diverged_at == found.step == obs_set.step[found.index]
    assert episode_source(obs_set, (), int(obs_set.episode[found.index])) == found.source
    # The sources regenerate every episode: its length is the one of the batch it was run in.
    assert [episode_source(obs_set, (), e)["length"] for e in (0, 199, 200, 599)] == [1, 1, 2, 3]
    with pytest.raises(ValueError, match="episode 600"):
        episode_source(obs_set, (), 600)


def test_a_set_that_is_not_closed_is_not_certified() -> None:
    """Two random problems per length miss most of Copy's base-10 observations: the probes find
    strays, and a policy that agrees on the whole set is still refused."""
    obs_set = expert_observations("Copy", lengths=TRAIN_LENGTHS, samples=2, history_length=0)
    certificate = certify(
        LookupPolicy(obs_set), "Copy", TRAIN_LENGTHS, {"history_length": 0}, samples=2, cap=0, probe_samples=5
    )
    assert certificate.agreement.agreement == 1.0 and certificate.verdict == "not certified"
    assert all(p.strays > 0 and not p.exhaustive for p in certificate.closure)
    assert any(r.startswith("the set is not closed") for r in certificate.reasons)
    example = certificate.closure[0].examples[0]
    assert set(example["observation"]) == set(obs_set.keys) and example["expert_action"]
    assert example["differs_in"] and example["nearest"] is not None  # what makes it new


def test_a_tie_is_not_certified(small_set: ObservationSet) -> None:
    """A tie the argmax breaks in the expert's favour agrees, with margin 0: not certified."""
    policy = LookupPolicy(small_set)
    index = next(i for i in range(len(small_set)) if other_allowed_above(small_set, i))
    policy.prefer(small_set, index, other_allowed(small_set, index, above=True), 1.0)
    certificate = certify_small(policy)
    assert certificate.agreement.agreement == 1.0 and certificate.agreement.min_margin == 0.0
    assert certificate.verdict == "not certified" and "a tie" in certificate.reasons[-1]


def other_allowed_above(obs_set: ObservationSet, index: int) -> bool:
    expert = int(obs_set.expert_actions[index])
    return bool(obs_set.action_masks[index, expert + 1 :].any())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"train_lengths": ()}, "train_lengths"),
        ({"train_lengths": (0, 1)}, "train_lengths"),
        ({"samples": 0}, "samples"),
        ({"cap": -1}, "cap"),
        ({"seed": -1}, "seed"),
        ({"probe_samples": 0}, "probe_samples"),
        ({"probe_multipliers": (1,)}, "probe_multipliers"),
        ({"task": "Nope"}, "task"),
    ],
)
def test_certify_rejects_bad_arguments(small_set: ObservationSet, kwargs: dict[str, Any], name: str) -> None:
    arguments = {"task": "Copy", "train_lengths": TRAIN_LENGTHS, "env_kwargs": SMALL, **kwargs}
    with pytest.raises(ValueError, match=name):
        certify(LookupPolicy(small_set), **arguments)


# -------------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of Copy (lengths 1..3, no history) trained by behaviour cloning for a few seconds."""
    runs = tmp_path_factory.mktemp("runs")
    argv = ["train", "ppo", "--task", "Copy", "--max-length", "3", "--history-length", "0"]
    argv += ["--num-envs", "8", "--num-steps", "8", "--num-minibatches", "2", "--update-epochs", "1"]
    argv += ["--total-steps", "64", "--imitation-pairs", "5000", "--imitation-epochs", "10"]
    argv += ["--dagger-rounds", "0", "--eval-lengths", "3", "--eval-episodes", "8", "--no-progress"]
    argv += ["--no-projected", "--no-fit-set"]  # (behaviour cloning alone, on the full observation)
    assert main([*argv, "--no-certify", "--runs-dir", str(runs)]) == 0
    (run,) = runs.iterdir()
    return run


def test_certify_prints_a_verdict_and_writes_json(copy_run: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["certify", "--checkpoint", str(copy_run), "--cap", "20000", "--probe-samples", "20"])
    out, err = capsys.readouterr()
    report = json.loads((copy_run / "certificate.json").read_text())  # the default place
    assert status == (0 if report["verdict"] == "certified" else 1)
    assert re.search(r"^verdict: (certified|not certified)$", out, flags=re.MULTILINE), out
    assert f"verdict: {report['verdict']}\n" in out
    for words in ("verification set: ", "closure:", "length      4 (train+1)", "agreement: ", "assumptions:"):
        assert words in out
    assert "Traceback" not in err and "saved to" in err
    assert report["checkpoint"] == str(copy_run) and report["task"] == "Copy"
    assert report["train_lengths"] == [1, 2, 3] and report["settings"]["history_length"] == 0
    assert report["verification"]["provenance"] == "every problem of length 1..3"
    assert report["verification"]["observations"] == 3640  # Copy's whole set at history_length=0
    closure = [(p["length"], p["exhaustive"], p["problems"]) for p in report["closure"]]
    assert closure == [(4, True, 10**4), (5, False, 10**4), (30, False, 20), (300, False, 20)]
    assert report["agreement"]["compositions"][1] == "permuted (seed 0), batches of 61"


def test_certify_writes_a_counterexample(
    copy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command on a policy that the replay shows leaving the expert's trajectory."""

    def load_perturbed(payload: Any, config: Any, device: str = "auto") -> ActformerPolicy:
        every = [list(p) for n in TRAIN_LENGTHS for p in itertools.product(range(10), repeat=n)]
        return perturbed(expert_observations("Copy", problems=every, history_length=0))[0]

    monkeypatch.setattr(cli, "load_policy", load_perturbed)
    path = tmp_path / "certificate.json"
    argv = ["certify", "--checkpoint", str(copy_run / "checkpoint.pt"), "--cap", "2000", "--samples", "50"]
    assert main([*argv, "--probe-samples", "5", "--json", str(path)]) == 1
    out = capsys.readouterr().out
    found = json.loads(path.read_text())["counterexample"]
    assert found["reproduced"] and found["diverged_at"] == found["step"]
    assert f"at step {found['diverged_at']} the greedy policy takes {found['policy_action']}" in out
    assert "verdict: not certified" in out and "counterexample: observation" in out


def test_help_lists_certify(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    assert re.search(r"^  certify +Check that a saved policy", capsys.readouterr().out, flags=re.MULTILINE)
    assert main(["certify", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--checkpoint", "--samples", "--cap", "--probe-samples", "--seed", "--json", "--device"):
        assert flag in out


BAD_CERTIFY = [
    (["--samples", "0"], "--samples"),
    (["--samples", "x"], "--samples"),
    (["--probe-samples", "0"], "--probe-samples"),
    (["--cap", "-1"], "--cap"),
    (["--seed", "-1"], "--seed"),
    (["--threads", "0"], "--threads"),
    (["--json", "{dir}"], "--json"),
    (["--json", "{dir}/no/such/certificate.json"], "--json"),
    (["--device", "gpu"], "gpu"),
    (["--bogus"], "--bogus"),
]


@pytest.mark.parametrize(("extra", "named"), BAD_CERTIFY, ids=[" ".join(argv) for argv, _ in BAD_CERTIFY])
def test_bad_certify_invocations_are_one_line_errors(
    extra: list[str], named: str, copy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["certify", "--checkpoint", str(copy_run), *(arg.format(dir=tmp_path) for arg in extra)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert not out and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("actformer certify: error: "), err
    assert named in err, err


@pytest.mark.parametrize("checkpoint", ["{dir}/missing.pt", "{dir}", "{junk}", None])
def test_bad_checkpoints_are_one_line_errors(
    checkpoint: str | None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    junk = tmp_path / "notes.pt"
    junk.write_text("not a checkpoint\n")
    argv = ["certify"] if checkpoint is None else ["certify", "--checkpoint", checkpoint]
    assert main([arg.format(dir=tmp_path, junk=junk) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("actformer certify: error: "), err


def test_ctrl_c_is_exit_status_130(
    copy_run: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "certify", interrupted)
    assert main(["certify", "--checkpoint", str(copy_run)]) == 130
    assert capsys.readouterr().err.strip() == "actformer certify: interrupted"
