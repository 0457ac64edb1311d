"""The token-predicting baseline: a small decoder-only Transformer that answers a task by writing the
answer as text (``123+456=`` → ``579<eos>``), never by acting on the machine.

It is what the Actformer is measured against: the same problems (drawn by the tasks' own
generators, :mod:`agents.text_tasks`), trained on the same length range, asked at longer lengths.
Causal self-attention, pre-LayerNorm, teacher-forced cross-entropy on the answer tokens, greedy
decoding with a KV cache. How a token's position reaches the model is a choice
(:data:`POSITION_SCHEMES`), among those the length-generalization literature found to work best:
rotary embeddings of the token's index (the default), the same over randomized positions (Ruoss et
al., 2023), none at all (NoPE, Kazemnejad et al., 2023), or Abacus digit-index embeddings (McLeish et
al., 2024). Budgets are optimizer steps, never seconds, so a seed's run is the same on any machine.

```python
model, stats = train_token_transformer("Addition", max_length=3, seed=0)
model.answer([(123, 456), (99, 1)])  # [579, 100] once trained
token_exact_match(model, "Addition", length=30, episodes=100, seed=1)
```
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from actformer_envs.checks import check_bool, check_int, check_number
from actformer_envs.streams import BatchRandom
from actformer_gym.agents.actformer import resolve_device
from actformer_gym.agents.text_tasks import (
    EOS,
    NUM_DIGITS,
    PAD,
    SUPPORTED_TASKS,
    VOCAB_SIZE,
    TextTask,
    check_task,
)

__all__ = [
    "POSITION_SCHEMES",
    "SUPPORTED_TASKS",
    "TokenTransformer",
    "TokenTransformerConfig",
    "sample_problems",
    "token_exact_match",
    "train_token_transformer",
]

#: Independent problem streams of one seed: posed problems, training batches, the held-out set.
_SAMPLE_STREAM, _TRAIN_STREAM, _HELD_OUT_STREAM = range(3)
#: Inference decodes at most this many problems at once, and fewer where their attention masks
#: (problems x tokens² booleans, prompt and answer) would pass ``_MASK_BUDGET``.
_MAX_BATCH, _MASK_BUDGET = 64, 2**28

PositionScheme = Literal["rotary", "randomized", "none", "abacus"]
#: How a token's position reaches the model (``TokenTransformerConfig.positions``).
POSITION_SCHEMES: tuple[str, ...] = get_args(PositionScheme)


@dataclass
class TokenTransformerConfig:
    """Model size and training budget of the token-predicting baseline."""

    d_model: int = 128
    """Width of the residual stream."""
    layers: int = 3
    """Transformer blocks."""
    heads: int = 4
    """Attention heads per block (must divide ``d_model``, with an even head width for rotary)."""
    reverse_digits: bool = True
    """Write numbers least significant digit first (arithmetic tasks only; sequences as given)."""
    positions: PositionScheme = "rotary"
    """How the model knows where a token is. ``"rotary"``: rotary embeddings (RoFormer) of the token's
    index. ``"randomized"``: rotary embeddings of a sorted random sample of ``max_position`` indices,
    drawn afresh for every sequence in training and in evaluation (Ruoss et al., 2023), so that
    indices beyond the training length are seen in training. ``"none"``: no position signal but the
    causal mask (NoPE, Kazemnejad et al., 2023). ``"abacus"``: a learned embedding of each digit's
    index within its number (a sequence task's symbols: within the input, and within the answer),
    shifted in training by a random offset in ``[0, abacus_offset]`` per sequence, and no other
    position signal (McLeish et al., 2024, with NoPE)."""
    max_position: int = 2048
    """``"randomized"``: positions are drawn from ``[0, max_position)``; ``"abacus"``: the size of the
    index table. A longer sequence (or number) is a ``ValueError``, never clamped."""
    abacus_offset: int = 100
    """``"abacus"``: the largest random offset of a training sequence's digit indices (0 in evaluation)."""
    batch_size: int = 64
    """Problems per training step."""
    learning_rate: float = 1e-3
    """AdamW's peak learning rate (linear warm-up over the first ``warmup_steps`` steps)."""
    weight_decay: float = 0.01
    """AdamW's decoupled weight decay (matrices only; not embeddings, norms or biases)."""
    warmup_steps: int = 100
    """Steps of linear learning-rate warm-up."""
    max_steps: int = 20_000
    """Training stops after this many optimizer steps at most."""
    target_accuracy: float = 0.99
    """Training stops once the held-out in-range exact match reaches this."""
    eval_every: int = 250
    """Steps between held-out evaluations."""
    eval_problems: int = 256
    """Size of the held-out set (the same number of problems at every length 1..max_length)."""
    device: str = "auto"
    """``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ..."""

    def __post_init__(self) -> None:
        for name in ("d_model", "layers", "heads", "batch_size", "max_steps", "eval_every", "eval_problems"):
            check_int(name, getattr(self, name), low=1)
        check_int("warmup_steps", self.warmup_steps, low=0)
        check_int("max_position", self.max_position, low=2)
        check_int("abacus_offset", self.abacus_offset, low=0)
        if self.positions not in POSITION_SCHEMES:
            raise ValueError(f"positions must be one of {list(POSITION_SCHEMES)}, got {self.positions!r}")
        if self.positions == "abacus" and self.abacus_offset >= self.max_position - 1:
            raise ValueError(
                f"abacus_offset must leave room in the index table, below max_position - 1 = "
                f"{self.max_position - 1}, got {self.abacus_offset}"
            )
        if self.d_model % self.heads or (self.d_model // self.heads) % 2:
            raise ValueError(
                f"d_model must be a multiple of heads with an even head width (rotary), "
                f"got d_model={self.d_model}, heads={self.heads}"
            )
        check_bool("reverse_digits", self.reverse_digits)
        check_number("learning_rate", self.learning_rate, low=0, strict=True)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number("target_accuracy", self.target_accuracy, low=0)
        if self.target_accuracy > 1:
            raise ValueError(f"target_accuracy must be in [0, 1], got {self.target_accuracy!r}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as error:
                raise ValueError(f"device must be 'auto' or a torch device, got {self.device!r}") from error


# -- the network ---------------------------------------------------------------------------------


def rotary_angles(positions: torch.Tensor, head_width: int) -> torch.Tensor:
    """Rotation angles (..., T, head_width / 2) of token positions (..., T) (RoFormer's frequencies)."""
    half = head_width // 2
    frequencies = 10000.0 ** (-torch.arange(half, dtype=torch.float32, device=positions.device) / half)
    return positions.float().unsqueeze(-1) * frequencies


def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of features of ``x`` (..., T, d) by ``angles`` (..., T, d / 2): the score of a
    rotated query and key then depends on their positions only through the difference."""
    cos, sin = angles.cos(), angles.sin()
    first, second = x.chunk(2, dim=-1)
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


class KVCache:
    """The keys and values of every block for the tokens decoded so far, in buffers allocated once
    (extending by concatenation would copy the whole cache at every token)."""

    def __init__(
        self, blocks: int, batch: int, heads: int, capacity: int, head_width: int, device: torch.device
    ) -> None:
        shape = (blocks, batch, heads, capacity, head_width)
        self.keys = torch.zeros(shape, device=device)
        self.values = torch.zeros(shape, device=device)
        self.length = 0  # tokens stored

    def extend(
        self, block: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store a block's keys and values (B, h, T, head_width) of new tokens; all of them so far."""
        end = self.length + keys.shape[2]
        self.keys[block, :, :, self.length : end] = keys
        self.values[block, :, :, self.length : end] = values
        return self.keys[block, :, :, :end], self.values[block, :, :, :end]


# -- positions -----------------------------------------------------------------------------------


def answer_room(prompt_length: int) -> int:
    """Room for an answer and its ``<eos>`` after a prompt of ``prompt_length`` tokens: twice the
    prompt and one (no task's answer is longer than twice its problem: DuplicateString's is)."""
    return 2 * prompt_length + 1


def digit_indices(tokens: torch.Tensor) -> torch.Tensor:
    """Each token's 1-based index within its run of consecutive symbol tokens, 0 for other tokens
    (operators, separators, ``<eos>``, padding): Abacus's digit positions, (B, T) of (B, T)."""
    is_digit = tokens < NUM_DIGITS
    at = torch.arange(tokens.shape[1], device=tokens.device).expand_as(tokens)
    last_other = torch.where(is_digit, -1, at).cummax(dim=1).values
    return torch.where(is_digit, at - last_other, 0)


@dataclass
class PositionState:
    """What decoding needs to give the next token its position: per sequence, its real tokens so
    far, the last one's position, and the sorted positions drawn for it (``"randomized"``)."""

    count: torch.Tensor  # (B,) long
    last: torch.Tensor  # (B,) long
    drawn: torch.Tensor | None  # (B, max_position) long, or None


def sorted_random_positions(
    sizes: torch.Tensor, max_position: int, generator: torch.Generator
) -> torch.Tensor:
    """Per row, ``sizes[i]`` distinct positions drawn uniformly from ``[0, max_position)``, sorted,
    then ``max_position`` (unused) in the rest of the row: (B, max_position) long."""
    if int(sizes.max()) > max_position:
        raise ValueError(
            f"a sequence of {int(sizes.max())} tokens needs max_position >= {int(sizes.max())}, "
            f"got max_position={max_position}"
        )
    draws = torch.rand(len(sizes), max_position, generator=generator).to(sizes.device)
    permutation = draws.argsort(dim=1)
    kept = torch.arange(max_position, device=sizes.device) < sizes[:, None]
    return torch.where(kept, permutation, max_position).sort(dim=1).values


class Block(nn.Module):
    """Pre-LayerNorm block: causal self-attention (rotary positions when given angles), then a GELU MLP."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm_attention, self.norm_mlp = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(
        self,
        x: torch.Tensor,  # (B, T, d)
        angles: torch.Tensor | None,  # (B, 1, T, head_width / 2), or None: no rotation
        allowed: torch.Tensor,  # (B, 1, T, past + T) bool: which keys each query may read
        cache: tuple[KVCache, int] | None = None,  # the cache and this block's index in it
    ) -> torch.Tensor:
        batch, length, width = x.shape
        split = self.qkv(self.norm_attention(x)).view(batch, length, 3, self.heads, width // self.heads)
        query, key, value = split.permute(2, 0, 3, 1, 4)  # each (B, h, T, head_width)
        if angles is not None:
            query, key = rotate(query, angles), rotate(key, angles)
        if cache is not None:
            key, value = cache[0].extend(cache[1], key, value)
        read = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed)
        x = x + self.out(read.transpose(1, 2).reshape(batch, length, width))
        return x + self.mlp(self.norm_mlp(x))


class TokenTransformer(nn.Module):
    """A decoder-only Transformer over one task's text (:class:`agents.text_tasks.TextTask`)."""

    def __init__(self, task: str, config: TokenTransformerConfig | None = None) -> None:
        super().__init__()
        self.config = config or TokenTransformerConfig()
        self.text = TextTask(task, self.config.reverse_digits)
        self.task = task
        d_model = self.config.d_model
        self.embedding = nn.Embedding(VOCAB_SIZE, d_model)
        self.digit_embedding = (
            nn.Embedding(self.config.max_position, d_model) if self.config.positions == "abacus" else None
        )
        self.blocks = nn.ModuleList(Block(d_model, self.config.heads) for _ in range(self.config.layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, VOCAB_SIZE)
        self.apply(_init_weights)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(
        self,
        tokens: torch.Tensor,  # (B, T) long
        positions: torch.Tensor,  # (B, T) long: each token's position (:meth:`positions_of`)
        key_mask: torch.Tensor,  # (B, past + T) bool: True for real tokens (False: padding)
        cache: KVCache | None = None,  # the keys and values of the past tokens; extended
    ) -> torch.Tensor:
        """Next-token logits (B, T, vocabulary). Query i reads the real keys at or before it, and
        always itself (so a padding query has something to read and never yields NaN)."""
        length, total = tokens.shape[1], key_mask.shape[1]
        past = total - length
        query_at = torch.arange(past, total, device=tokens.device)[:, None]
        key_at = torch.arange(total, device=tokens.device)[None, :]
        allowed = ((key_at <= query_at) & key_mask[:, None, :]) | (key_at == query_at)
        x = self.embedding(tokens)
        angles = None
        if self.config.positions in ("rotary", "randomized"):
            angles = rotary_angles(positions, self.config.d_model // self.config.heads).unsqueeze(1)
        elif self.digit_embedding is not None:
            x = x + self.digit_embedding(positions)
        for i, block in enumerate(self.blocks):
            x = block(x, angles, allowed.unsqueeze(1), None if cache is None else (cache, i))
        if cache is not None:
            cache.length = total
        return self.head(self.norm(x))

    def positions_of(
        self,
        tokens: torch.Tensor,  # (B, T) long
        key_mask: torch.Tensor,  # (B, T) bool: True for real tokens (padding on either side)
        room: torch.Tensor,  # (B,) long: tokens each sequence may grow to (``"randomized"`` draws that many)
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, PositionState]:
        """Each token's position (B, T) under the config's scheme, and the state that continues it
        token by token (:meth:`next_positions`). Random draws (randomized positions; Abacus offsets,
        in training only) come from ``generator``."""
        scheme, config = self.config.positions, self.config
        index = (key_mask.long().cumsum(dim=1) - 1).clamp(min=0)  # among the sequence's real tokens
        drawn = None
        if scheme == "rotary":
            positions = index
        elif scheme == "randomized":
            drawn = sorted_random_positions(room, config.max_position, generator)
            positions = drawn.gather(1, index)
        elif scheme == "abacus":
            positions = digit_indices(tokens)
            if self.training and config.abacus_offset:
                offsets = torch.randint(config.abacus_offset + 1, (len(tokens), 1), generator=generator)
                positions = torch.where(positions > 0, positions + offsets.to(tokens.device), 0)
            self._check_digit_positions(positions)
        else:
            positions = torch.zeros_like(tokens)
        return positions, PositionState(key_mask.sum(dim=1), positions[:, -1], drawn)

    def next_positions(self, tokens: torch.Tensor, state: PositionState) -> torch.Tensor:
        """The positions (B, 1) of the next tokens (B,) of sequences in ``state``; ``state`` advances."""
        scheme = self.config.positions
        if scheme == "rotary":
            positions = state.count
        elif scheme == "randomized":
            assert state.drawn is not None
            if int(state.count.max()) >= self.config.max_position:
                raise ValueError(f"a sequence outgrew max_position={self.config.max_position}")
            positions = state.drawn.gather(1, state.count[:, None])[:, 0]
        elif scheme == "abacus":
            positions = torch.where(tokens < NUM_DIGITS, state.last + 1, 0)
            self._check_digit_positions(positions)
        else:
            positions = torch.zeros_like(tokens)
        state.count, state.last = state.count + 1, positions
        return positions[:, None]

    def _check_digit_positions(self, positions: torch.Tensor) -> None:
        if int(positions.max()) >= self.config.max_position:
            raise ValueError(
                f"a number of {int(positions.max())} digits (with its offset) needs max_position > "
                f"{int(positions.max())}, got max_position={self.config.max_position}"
            )

    def loss(
        self, problems: Sequence[Any], targets: Sequence[Any], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Teacher-forced cross-entropy of the answer tokens (and ``<eos>``) given the problem.
        ``generator``: the random draws of the position scheme (a fresh, unseeded one if None)."""
        return self.batch_loss(*self.teacher_forced(problems, targets), generator=generator)

    def teacher_forced(
        self, problems: Sequence[Any], targets: Sequence[Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A batch as text: tokens (B, T; problem then answer, padded), labels (the next token of
        each answer position, -100 elsewhere: not scored) and each row's room (:func:`answer_room`)."""
        prompts = [self.text.prompt(p) for p in problems]
        answers = [self.text.answer_tokens(t) for t in targets]
        rows = [p + a for p, a in zip(prompts, answers, strict=True)]
        width = max(map(len, rows))
        tokens = torch.full((len(rows), width), PAD, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)  # -100: not scored
        for i, (prompt, row) in enumerate(zip(prompts, rows, strict=True)):
            tokens[i, : len(row)] = torch.tensor(row)
            labels[i, len(prompt) - 1 : len(row) - 1] = torch.tensor(row[len(prompt) :])
        room = torch.tensor([len(p) + answer_room(len(p)) for p in prompts])
        return tokens.to(self.device), labels.to(self.device), room.to(self.device)

    def batch_loss(
        self,
        tokens: torch.Tensor,
        labels: torch.Tensor,
        room: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The cross-entropy of a :meth:`teacher_forced` batch."""
        key_mask = tokens != PAD
        positions, _ = self.positions_of(tokens, key_mask, room, generator or torch.Generator())
        logits = self(tokens, positions, key_mask)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten())

    @torch.no_grad()
    def answer(self, problems: Sequence[Any]) -> list[Any]:
        """Greedy answers to user-posed problems (the form ``reset(options={"problem": p})`` takes),
        decoded like the env's ``info["output"]`` (``None`` where the text is not an answer).

        Batched with a KV cache, problems of similar length together (less padding), in batches
        small enough for memory. ``ValueError`` (the task's) if a problem is malformed.
        """
        for problem in problems:
            self.text.problem_length(problem)
        prompts = [self.text.prompt(p) for p in problems]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        answers: list[Any] = [None] * len(prompts)
        start = 0
        while start < len(order):
            prompt = len(prompts[order[start]])  # the longest prompt of this batch
            tokens = prompt + answer_room(prompt)  # ... and its answer
            chunk = order[start : start + max(1, min(_MAX_BATCH, _MASK_BUDGET // tokens**2))]
            for i, continuation in zip(chunk, self.generate([prompts[i] for i in chunk]), strict=True):
                answers[i] = self.text.decode(continuation)
            start += len(chunk)
        return answers

    @torch.no_grad()
    def generate(self, prompts: Sequence[Sequence[int]], max_new: int | None = None) -> list[list[int]]:
        """Greedy continuations of token prompts, each up to its first ``<eos>`` (included) or
        ``max_new`` tokens (default: :func:`answer_room` of the longest prompt, which bounds every
        task's answer and ``<eos>``). Randomized positions are drawn from a generator seeded 0 at
        each call, so that the same prompts always get the same answers."""
        was_training = self.training
        self.eval()
        batch, width = len(prompts), max(map(len, prompts))
        max_new = answer_room(width) if max_new is None else max_new
        lengths = torch.tensor([len(p) for p in prompts], device=self.device)
        # Left-padded, so every prompt ends at the same column and the batch decodes in lockstep.
        tokens = torch.full((batch, width), PAD, dtype=torch.long)
        for i, prompt in enumerate(prompts):
            tokens[i, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        tokens = tokens.to(self.device)
        key_mask = tokens != PAD
        generator = torch.Generator().manual_seed(0)
        positions, state = self.positions_of(tokens, key_mask, lengths + max_new, generator)
        config = self.config
        head_width = config.d_model // config.heads
        cache = KVCache(config.layers, batch, config.heads, width + max_new, head_width, self.device)
        logits = self(tokens, positions, key_mask, cache)[:, -1]
        generated, finished = [], torch.zeros(batch, dtype=torch.bool, device=self.device)
        for step in range(max_new):
            next_token = logits.argmax(-1)
            generated.append(next_token)
            finished |= next_token == EOS
            if bool(finished.all()) or step == max_new - 1:
                break
            key_mask = torch.cat([key_mask, torch.ones(batch, 1, dtype=torch.bool, device=self.device)], 1)
            position = self.next_positions(next_token, state)
            logits = self(next_token[:, None], position, key_mask, cache)[:, -1]
        self.train(was_training)
        rows = torch.stack(generated, dim=1).tolist()
        return [row[: row.index(EOS) + 1] if EOS in row else row for row in rows]


def _init_weights(module: nn.Module) -> None:
    """GPT-style initialisation: small normal weights, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.bias)


# -- problems and evaluation ---------------------------------------------------------------------


def _random(seed: int, stream: int, count: int, *extra: int) -> BatchRandom:
    """``count`` independent problem draws of one stream of ``seed`` (non-negative ints)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    generator = np.random.default_rng([stream, int(seed), *extra])
    return BatchRandom(generator.integers(2**63, size=count, dtype=np.uint64))


def sample_problems(task: str, length: int, count: int, seed: int) -> list[tuple[Any, Any]]:
    """``count`` problems of exactly ``length`` with their targets, seeded: ``(problem, target)``.

    A problem is in the form the env accepts in ``reset(options={"problem": p})`` (Addition and
    Multiplication: a pair of non-negative ints; Copy, Reverse, DuplicatedInput, Sort, Parity: a
    list of symbols, DuplicatedInput's each twice as on its input row);
    the target is what the env reports as ``info["target"]`` for it. Problems are drawn by the
    task's own ``generate``, so they follow its distribution exactly (Addition: one operand of
    exactly ``length`` digits, the other of 1..length; Multiplication: both of ``length``; sequences:
    uniform symbols), only from a stream of this function's own (``seed``, ``length``), not the
    env's. The length of each is checked with the task's ``problem_length``.
    """
    text = TextTask(task)
    check_int("length", length, low=1)
    check_int("count", count, low=1)
    return _draw_checked(text, np.full(count, length), _random(seed, _SAMPLE_STREAM, count, length))


def _draw_checked(text: TextTask, lengths: np.ndarray, random: BatchRandom) -> list[tuple[Any, Any]]:
    """``(problem, target)`` pairs drawn by the task, each checked to be of its asked length."""
    problems, targets = text.draw(random, lengths)
    for problem, length in zip(problems, lengths.tolist(), strict=True):
        if text.problem_length(problem) != length:
            raise AssertionError(f"{text.name}: drew {problem!r}, not of length {length}")
    return list(zip(problems, targets, strict=True))


def exact_match(model: TokenTransformer, pairs: Sequence[tuple[Any, Any]]) -> float:
    """The fraction of ``(problem, target)`` pairs the model answers exactly."""
    answers = model.answer([problem for problem, _ in pairs])
    return float(np.mean([answer == target for answer, (_, target) in zip(answers, pairs, strict=True)]))


def token_exact_match(model: TokenTransformer, task: str, length: int, episodes: int, seed: int) -> float:
    """Greedy exact match of ``model`` on ``episodes`` problems of exactly ``length`` (seeded)."""
    if check_task(task) != model.task:
        raise ValueError(f"the model was trained on {model.task}, not {task}")
    return exact_match(model, sample_problems(task, length, episodes, seed))


# -- training ------------------------------------------------------------------------------------


def _held_out(text: TextTask, max_length: int, count: int, seed: int) -> list[tuple[Any, Any]]:
    """The same number of problems at every length 1..max_length, from a stream of their own."""
    per_length = math.ceil(count / max_length)
    pairs: list[tuple[Any, Any]] = []
    for length in range(1, max_length + 1):
        random = _random(seed, _HELD_OUT_STREAM, per_length, length)
        pairs += _draw_checked(text, np.full(per_length, length), random)
    return pairs


def _optimizer(model: TokenTransformer, config: TokenTransformerConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices of the linear layers only."""
    decayed = [p for n, p in model.named_parameters() if p.ndim == 2 and "embedding" not in n]
    kept = [p for n, p in model.named_parameters() if not (p.ndim == 2 and "embedding" not in n)]
    groups = [{"params": decayed, "weight_decay": config.weight_decay}, {"params": kept, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate)


def parameter_count(model: nn.Module) -> int:
    """The model's trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_token_transformer(
    task: str,
    max_length: int,
    seed: int = 0,
    config: TokenTransformerConfig | None = None,
    progress: bool = False,
) -> tuple[TokenTransformer, dict[str, Any]]:
    """Train the baseline on problems of lengths uniform in ``[1, max_length]`` (the env's curriculum
    range) until its held-out in-range exact match reaches ``config.target_accuracy`` or
    ``config.max_steps`` optimizer steps have run. Deterministic for a seed on CPU.

    Returns the model (in eval mode) and stats: ``steps``, ``seconds`` (for information, never a
    budget), ``problems`` and ``tokens`` (seen in training), ``parameters``, ``flops`` (training
    compute by the usual estimate, 6 x parameters x tokens), ``accuracy`` (the last held-out
    in-range exact match), ``reached_target`` (1 or 0) and ``curve``: at every evaluation, the step,
    the training loss and the held-out exact match.
    """
    config = config or TokenTransformerConfig()
    check_task(task)
    check_int("max_length", max_length, low=1)
    device = resolve_device(config.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TokenTransformer(task, config).to(device)
    held_out = _held_out(model.text, max_length, config.eval_problems, seed)
    optimizer = _optimizer(model, config)
    ramp = config.warmup_steps + 1
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / ramp))
    lengths = np.random.default_rng([_TRAIN_STREAM, seed])
    positions = torch.Generator().manual_seed(seed)  # the position scheme's draws
    accuracy, step, start = 0.0, 0, time.perf_counter()
    seen = torch.zeros((), dtype=torch.long, device=device)  # tokens trained on, summed where they are
    curve: list[dict[str, float]] = []
    bar = tqdm(total=config.max_steps, desc=f"{task} ≤ {max_length}", disable=not progress)
    while step < config.max_steps:
        model.train()
        batch_lengths = lengths.integers(1, max_length + 1, size=config.batch_size)
        random = _random(seed, _TRAIN_STREAM, config.batch_size, step)
        problems, targets = model.text.draw(random, batch_lengths)
        batch = model.teacher_forced(problems, targets)
        seen += (batch[0] != PAD).sum()  # (no .item() per step: on a GPU it would wait for the step)
        loss = model.batch_loss(*batch, generator=positions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        warmup.step()
        step += 1
        bar.update()
        if step % config.eval_every == 0 or step == config.max_steps:
            accuracy = exact_match(model, held_out)
            curve.append({"step": step, "loss": loss.item(), "accuracy": accuracy})
            bar.set_postfix(loss=f"{loss.item():.4f}", accuracy=f"{accuracy:.3f}")
            if accuracy >= config.target_accuracy:
                break
    bar.close()
    model.eval()
    parameters, tokens = parameter_count(model), int(seen)
    stats = {
        "steps": step,
        "seconds": time.perf_counter() - start,
        "problems": step * config.batch_size,
        "tokens": tokens,
        "parameters": parameters,
        "flops": 6.0 * parameters * tokens,
        "accuracy": accuracy,
        "reached_target": float(accuracy >= config.target_accuracy),
        "curve": curve,
    }
    return model, stats
