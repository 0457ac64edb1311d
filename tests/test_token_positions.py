"""The token Transformer's position schemes (rotary, randomized, NoPE, Abacus): decoding with the KV
cache gives each token the position a full forward gives it, Abacus counts digits within numbers
and shifts them alike in training, randomized positions are sorted draws, and sequences too long
for the tables are refused."""

from __future__ import annotations

import pytest
import torch

from actformer_gym.agents.text_tasks import EOS, PAD, PLUS, SUPPORTED_TASKS, TextTask
from actformer_gym.agents.token_transformer import (
    POSITION_SCHEMES,
    TokenTransformer,
    TokenTransformerConfig,
    answer_room,
    digit_indices,
    sample_problems,
    train_token_transformer,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def tiny(positions: str, **overrides: int) -> TokenTransformerConfig:
    return TokenTransformerConfig(
        d_model=32, layers=2, heads=2, device="cpu", positions=positions, **overrides
    )  # type: ignore[arg-type]


def test_digit_indices_count_within_runs_of_symbols() -> None:
    tokens = torch.tensor([[PAD, 1, 2, PLUS, 3, 4, 5, EOS], [7, PLUS, 8, 9, 0, 1, PLUS, 2]])
    expected = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 0], [1, 0, 1, 2, 3, 4, 0, 1]])
    assert torch.equal(digit_indices(tokens), expected)


@pytest.mark.parametrize("positions", POSITION_SCHEMES)
def test_cached_generation_gives_tokens_the_positions_of_a_full_forward(positions: str) -> None:
    """``generate`` (KV cache, positions continued token by token) decodes exactly what a greedy
    loop of full forwards decodes when every step recomputes all positions with ``positions_of``."""
    torch.manual_seed(3)
    model = TokenTransformer("Addition", tiny(positions)).eval()
    pairs = sample_problems("Addition", 2, 3, seed=0) + sample_problems("Addition", 6, 3, seed=0)
    prompts = [model.text.prompt(problem) for problem, _ in pairs]  # of unequal lengths: padded
    max_new = 7
    generated = model.generate(prompts, max_new=max_new)
    width = max(map(len, prompts))
    tokens = torch.full((len(prompts), width), PAD)
    for i, prompt in enumerate(prompts):
        tokens[i, width - len(prompt) :] = torch.tensor(prompt)
    room = torch.tensor([len(p) for p in prompts]) + max_new
    with torch.no_grad():
        for _ in range(max_new):
            key_mask = tokens != PAD
            at, _ = model.positions_of(tokens, key_mask, room, torch.Generator().manual_seed(0))
            next_token = model(tokens, at, key_mask)[:, -1].argmax(-1)
            tokens = torch.cat([tokens, next_token[:, None]], dim=1)
    for row, continuation in zip(tokens[:, width:].tolist(), generated, strict=True):
        expected = row[: row.index(EOS) + 1] if EOS in row else row
        assert continuation == expected


def test_abacus_shifts_every_digit_of_a_training_sequence_alike() -> None:
    model = TokenTransformer("Copy", tiny("abacus", abacus_offset=50))
    pairs = sample_problems("Copy", 4, 32, seed=1)  # rows of equal length: input | answer <eos>
    tokens = torch.tensor([model.text.prompt(p) + model.text.answer_tokens(t) for p, t in pairs])
    generator = torch.Generator().manual_seed(0)
    room = torch.full((len(pairs),), 2 * tokens.shape[1])
    model.train()
    trained, _ = model.positions_of(tokens, tokens != PAD, room, generator)
    digits = digit_indices(tokens)
    shifts = torch.where(digits > 0, trained - digits, -1)
    for row_shifts, row_digits in zip(shifts, digits, strict=True):
        offsets = set(row_shifts[row_digits > 0].tolist())
        assert len(offsets) == 1 and 0 <= offsets.pop() <= 50  # one offset per sequence
    assert torch.equal(trained[digits == 0], torch.zeros_like(trained[digits == 0]))
    assert len(set(shifts.max(dim=1).values.tolist())) > 1  # drawn per sequence
    model.eval()
    evaluated, _ = model.positions_of(tokens, tokens != PAD, room, generator)
    assert torch.equal(evaluated, digits)  # no offset in evaluation


def test_randomized_positions_are_sorted_draws_below_max_position() -> None:
    model = TokenTransformer("Copy", tiny("randomized", max_position=64))
    tokens = torch.tensor([[PAD, PAD, 1, 2, 3, 4], [5, 6, 7, 8, 9, 0]])
    key_mask = tokens != PAD
    room = key_mask.sum(dim=1) + 10
    first, _ = model.positions_of(tokens, key_mask, room, torch.Generator().manual_seed(0))
    for row, mask in zip(first, key_mask, strict=True):
        real = row[mask]
        assert bool((real[1:] > real[:-1]).all()) and int(real.min()) >= 0 and int(real.max()) < 64
    again, _ = model.positions_of(tokens, key_mask, room, torch.Generator().manual_seed(0))
    other, _ = model.positions_of(tokens, key_mask, room, torch.Generator().manual_seed(1))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_sequences_longer_than_the_tables_are_a_value_error() -> None:
    prompt = TextTask("Copy").prompt([1] * 9)  # 10 tokens, and room for 21 more
    with pytest.raises(ValueError, match="max_position"):
        TokenTransformer("Copy", tiny("randomized", max_position=16)).generate([prompt])
    with pytest.raises(ValueError, match="max_position"):
        TokenTransformer("Copy", tiny("abacus", max_position=8, abacus_offset=2)).generate([prompt])
    with pytest.raises(ValueError, match="abacus_offset"):
        tiny("abacus", max_position=8, abacus_offset=7)


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_answer_room_holds_every_answer(task: str) -> None:
    """Decoding's default budget (``answer_room``) fits every supported task's answer and ``<eos>``."""
    text = TextTask(task)
    for length in range(1, 9):
        for problem, target in sample_problems(task, length, 16, seed=length):
            assert len(text.answer_tokens(target)) <= answer_room(len(text.prompt(problem)))


@pytest.mark.parametrize("positions", POSITION_SCHEMES)
def test_training_under_every_scheme_is_deterministic_and_recorded(positions: str) -> None:
    config = tiny(positions, max_steps=3, eval_every=3, eval_problems=8)
    first, stats = train_token_transformer("Copy", max_length=3, seed=2, config=config)
    second, _ = train_token_transformer("Copy", max_length=3, seed=2, config=config)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert stats["steps"] == 3 and [point["step"] for point in stats["curve"]] == [3]
    assert stats["parameters"] == sum(p.numel() for p in first.parameters())
    assert stats["flops"] == 6.0 * stats["parameters"] * stats["tokens"] and stats["tokens"] > 3 * 64 * 2
