"""The token-predicting baseline: its text codec, its problems (the env's), its attention (rotary,
causal, cached), a tiny training run that learns, and its API's errors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import instruction_index
from actformer_gym.agents.text_tasks import EOS, SUPPORTED_TASKS, TextTask, as_text
from actformer_gym.agents.token_transformer import (
    TokenTransformer,
    TokenTransformerConfig,
    rotary_angles,
    rotate,
    sample_problems,
    token_exact_match,
    train_token_transformer,
)

HALT = instruction_index("HALT")
TINY = TokenTransformerConfig(d_model=32, layers=2, heads=2, device="cpu")


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def env_answers(task: str, problem: Any, max_length: int) -> tuple[Any, Any]:
    """The env's ``info["output"]`` and ``info["target"]`` for ``problem`` after an immediate HALT."""
    env = gym.make(f"Actformer/{task}-v0", max_length=max_length)
    env.reset(seed=0, options={"problem": problem})
    *_, info = env.step(HALT)
    env.close()
    return info["output"], info["target"]


def env_solution(task: str, problem: Any, max_length: int) -> Any:
    """The env's ``info["output"]`` after its expert solves ``problem``: a well-formed answer."""
    env = gym.make(f"Actformer/{task}-v0", max_length=max_length)
    env.reset(seed=0, options={"problem": problem})
    while True:
        *_, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        if terminated or truncated:
            env.close()
            assert info["is_success"]
            return info["output"]


# -- the text codec --------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse_digits", [True, False])
@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_codec_round_trip(task: str, reverse_digits: bool) -> None:
    text = TextTask(task, reverse_digits)
    for problem, target in sample_problems(task, 4, 20, seed=0):
        answer = text.answer_tokens(target)
        assert answer[-1] == EOS and EOS not in text.prompt(problem)
        assert text.decode(answer) == target
        assert text.decode(answer[:-1]) is None  # no <eos>: not an answer


def test_codec_writes_the_documented_text() -> None:
    assert as_text(TextTask("Addition").prompt((123, 45))) == "321+54="
    assert as_text(TextTask("Addition", reverse_digits=False).prompt((123, 45))) == "123+45="
    assert as_text(TextTask("Multiplication").answer_tokens(1230)) == "0321$"
    assert as_text(TextTask("Reverse").prompt([3, 0, 7])) == "307|"
    assert as_text(TextTask("Parity").answer_tokens(1)) == "1$"
    assert TextTask("Addition").decode(TextTask("Addition").answer_tokens(579)[::-1]) is None  # <eos> first


def test_codec_rejects_malformed_text() -> None:
    addition, parity = TextTask("Addition", reverse_digits=False), TextTask("Parity")
    assert addition.decode([0, 7, EOS]) is None  # leading zero
    assert addition.decode([0, EOS]) == 0
    assert addition.decode([EOS]) is None
    assert parity.decode([2, EOS]) is None  # not a bit
    assert parity.decode([1, 1, EOS]) is None  # one bit only
    assert TextTask("Copy").decode([4, 2, EOS, 9]) == [4, 2]  # reading stops at <eos>


# -- problems --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_samples_have_the_length_and_the_envs_target(task: str) -> None:
    env = gym.make(f"Actformer/{task}-v0", max_length=6)
    for length in (1, 6):
        pairs = sample_problems(task, length, 12, seed=3)
        assert len(pairs) == 12
        for problem, target in pairs:
            assert env.unwrapped.task.problem_length(problem) == length
            assert env_answers(task, problem, 6)[1] == target
    env.close()


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_samples_are_seeded(task: str) -> None:
    assert sample_problems(task, 5, 10, seed=1) == sample_problems(task, 5, 10, seed=1)
    assert sample_problems(task, 5, 10, seed=1) != sample_problems(task, 5, 10, seed=2)


def test_samples_follow_the_tasks_distribution() -> None:
    additions = [problem for problem, _ in sample_problems("Addition", 3, 400, seed=0)]
    digits = np.array([[len(str(a)), len(str(b))] for a, b in additions])
    assert (digits.max(axis=1) == 3).all()
    assert 0.35 < (digits[:, 0] == 3).mean() < 0.85  # either operand is the long one
    assert set(digits.min(axis=1)) == {1, 2, 3}
    bits = np.concatenate([problem for problem, _ in sample_problems("Parity", 8, 100, seed=0)])
    assert set(bits) == {0, 1} and 0.4 < bits.mean() < 0.6


# -- attention -------------------------------------------------------------------------------------


def test_rotary_is_a_rotation_that_sees_relative_positions() -> None:
    generator = torch.Generator().manual_seed(0)
    query, key = torch.randn(2, 16, generator=generator)
    at = lambda x, p: rotate(x, rotary_angles(torch.tensor([p]), 16))[0]  # noqa: E731
    assert torch.allclose(at(query, 37).norm(), query.norm())
    score = at(query, 5) @ at(key, 2)
    assert torch.allclose(at(query, 105) @ at(key, 102), score, atol=1e-4)
    assert torch.allclose(at(query, 3) @ at(key, 0), score, atol=1e-4)
    assert not torch.allclose(at(query, 2) @ at(key, 2), score, atol=1e-2)


def test_attention_is_causal() -> None:
    torch.manual_seed(0)
    model = TokenTransformer("Addition", TINY).eval()
    tokens = torch.randint(0, 10, (3, 9))
    positions = torch.arange(9).expand(3, 9)
    logits = model(tokens, positions, torch.ones(3, 9, dtype=torch.bool))
    changed = tokens.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 10
    changed_logits = model(changed, positions, torch.ones(3, 9, dtype=torch.bool))
    assert torch.allclose(changed_logits[:, :6], logits[:, :6], atol=1e-6)
    assert not torch.allclose(changed_logits[:, 6:], logits[:, 6:], atol=1e-3)


def test_cached_batched_generation_matches_recomputing_one_at_a_time() -> None:
    torch.manual_seed(1)
    model = TokenTransformer("Addition", TINY).eval()
    pairs = sample_problems("Addition", 2, 3, seed=0) + sample_problems("Addition", 7, 3, seed=0)
    prompts = [model.text.prompt(problem) for problem, _ in pairs]  # of unequal lengths: padded
    batched = model.generate(prompts, max_new=8)
    for prompt, continuation in zip(prompts, batched, strict=True):
        tokens = list(prompt)
        for _ in range(8):  # no cache, no padding: the full sequence each step
            row = torch.tensor([tokens])
            logits = model(row, torch.arange(len(tokens))[None], torch.ones_like(row, dtype=torch.bool))
            tokens.append(int(logits[0, -1].argmax()))
            if tokens[-1] == EOS:
                break
        assert continuation == tokens[len(prompt) :]


# -- training and answers --------------------------------------------------------------------------


class Oracle(TokenTransformer):
    """Writes the env's own target as its text: tests ``answer``'s plumbing without training."""

    def __init__(self, task: str, answers: dict[str, Any]) -> None:
        super().__init__(task, TINY)
        self.answers = answers

    def generate(self, prompts: Sequence[Sequence[int]], max_new: int | None = None) -> list[list[int]]:
        return [self.text.answer_tokens(self.answers[as_text(p)]) for p in prompts]


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_answers_have_the_envs_output_type(task: str) -> None:
    pairs = sample_problems(task, 3, 4, seed=5)
    model = Oracle(task, {as_text(TextTask(task).prompt(p)): t for p, t in pairs})
    answers = model.answer([problem for problem, _ in pairs])
    for answer, (problem, _) in zip(answers, pairs, strict=True):
        output = env_solution(task, problem, 3)
        assert answer == output
        if isinstance(output, int):
            assert type(answer) is int
        else:
            assert type(output) is list and type(answer) is list
            assert all(type(s) is int for s in answer)
    assert token_exact_match(model, task, 3, 4, seed=5) == 1.0


#: Every Parity problem of 1-3 bits, and its answer.
PARITY_PROBLEMS = [list(bits) for n in (1, 2, 3) for bits in itertools.product((0, 1), repeat=n)]
PARITY_ANSWERS = [sum(bits) % 2 for bits in PARITY_PROBLEMS]


def test_tiny_training_run_learns_parity() -> None:
    """Trained until the held-out set is all right (about 100-200 steps, 3-8 s), the model answers
    the 14 problems of 1-3 bits far above chance (0.5: a constant bit is right on half of them)."""
    config = TokenTransformerConfig(
        d_model=64, layers=2, heads=2, batch_size=32, learning_rate=1e-3, warmup_steps=20,
        max_steps=400, eval_every=25, eval_problems=120, target_accuracy=1.0, device="cpu",
    )  # fmt: skip
    model, stats = train_token_transformer("Parity", max_length=3, seed=0, config=config)
    answers = model.answer(PARITY_PROBLEMS)
    assert all(type(a) is int for a in answers)
    assert stats["reached_target"] == float(stats["accuracy"] >= 1.0) and stats["steps"] <= 400
    # Exact match on the 14 problems over seeds 0-9, on AMD EPYC (AVX2), ATEN_CPU_CAPABILITY=default
    # and avx2 alike: 1.0 for every seed (stopped after 100-200 steps). The threshold keeps half of
    # the worst margin over chance: 0.5 + (1.0 - 0.5) / 2.
    accuracy = np.mean([a == b for a, b in zip(answers, PARITY_ANSWERS, strict=True)])
    assert accuracy >= 0.75, (accuracy, stats)


def test_training_is_deterministic_and_stops_at_its_target() -> None:
    short = TokenTransformerConfig(d_model=32, layers=2, heads=2, max_steps=3, eval_every=3, device="cpu")
    first, _ = train_token_transformer("Copy", max_length=2, seed=4, config=short)
    second, _ = train_token_transformer("Copy", max_length=2, seed=4, config=short)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    reachable = TokenTransformerConfig(
        d_model=32, layers=2, heads=2, max_steps=30, eval_every=3, eval_problems=8, target_accuracy=0.0,
        device="cpu",
    )  # fmt: skip
    _, stats = train_token_transformer("Copy", max_length=2, seed=4, config=reachable)
    assert stats["steps"] == 3 and stats["reached_target"] == 1.0  # stopped at the first evaluation


def test_answer_rejects_malformed_problems() -> None:
    model = TokenTransformer("Addition", TINY)
    with pytest.raises(ValueError, match="non-negative"):
        model.answer([(1, -2)])
    with pytest.raises(ValueError, match="model was trained on Addition"):
        token_exact_match(model, "Copy", 3, 4, seed=0)


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("d_model", 0),
        ("layers", 1.5),
        ("heads", 3),
        ("batch_size", True),
        ("learning_rate", 0.0),
        ("max_steps", -1),
        ("positions", "sinusoidal"),
        ("max_position", 1),
        ("abacus_offset", -1),
        ("target_accuracy", 1.5),
        ("eval_every", 0),
        ("device", "toaster"),
        ("reverse_digits", 1),
    ],
)
def test_bad_config_is_a_value_error_naming_the_field(field: str, value: Any) -> None:
    name = "d_model" if field == "heads" else field
    with pytest.raises(ValueError, match=name):
        TokenTransformerConfig(**{field: value})


def test_unsupported_task_is_a_value_error_listing_the_supported() -> None:
    with pytest.raises(ValueError, match=r"'Logic'.*Addition.*Parity"):
        train_token_transformer("Logic", 3)
    with pytest.raises(ValueError, match="'Expression'"):
        sample_problems("Expression", 2, 4, seed=0)
    with pytest.raises(ValueError, match="'Compare'"):
        TokenTransformer("Compare")
