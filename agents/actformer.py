"""The Actformer actor-critic: state attention over the working memory, history attention over its
own past actions, and an MLP to masked action logits and a value.

Small by design. The local view is Markov and a handful of tokens long, so one attention layer over
eight state tokens and one query over the last K actions suffice; a forward pass over 4096
observations takes under 10 ms on a 2-core CPU (``benchmarks/policy_speed.py``).

Interface in the CleanRL manner: ``get_value(obs)`` and
``get_action_and_value(obs, action=None, action_mask=None)``, batched, on ``device="auto"`` (CUDA
when present). Observations are the env's dicts, as NumPy arrays or tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from actformer_envs.instructions import NUM_ACTIONS, NUM_POINTERS
from actformer_envs.observation import (
    ACTION_VALUES,
    AT_END,
    AT_START,
    BOUNDARY_STATES,
    NUM_VALUES,
    UNDER,
    VALUE_FIELDS,
    WINDOW_SIZE,
    ObservationView,
)
from actformer_envs.reads import ReadMasks, project
from actformer_envs.symbols import EDGE, NUM_SYMBOLS

#: Register values are embedded exactly in [-VALUE_CLIP, VALUE_CLIP], by magnitude beyond.
VALUE_CLIP = 64
#: Columns each side of a pointer that ``obs_mode="full"`` adds as memory tokens.
FULL_RADIUS = 2
#: Per cell of ``symbols``: 1 under a pointer, 0 beside one (a policy with ``neighbours=False``).
_UNDER_CELLS = (np.arange(NUM_POINTERS * WINDOW_SIZE) % WINDOW_SIZE == UNDER).astype(np.int64)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU. ``ValueError`` (one line, naming ``device``) for a
    name torch does not know, or a device this machine does not have."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto' or a torch device such as cpu, cuda, cuda:1; got {device!r}"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} is not available: torch finds no CUDA GPU here (use cpu or auto)"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} is not available: this machine has {torch.cuda.device_count()} GPU(s)"
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} is not available on this machine (use cpu or auto)")
    return resolved


def foreach_kernels(device: torch.device) -> bool | None:
    """The ``foreach`` argument for optimizers and gradient clipping on ``device``: True on the CPU
    (one kernel per step instead of one per parameter: the same numbers, fewer calls) and on CUDA
    (where it is PyTorch's default already); None elsewhere (MPS has no foreach norm)."""
    return True if device.type in ("cpu", "cuda") else None


def orthogonal_(layer: nn.Linear, gain: float = math.sqrt(2)) -> nn.Linear:
    """Orthogonal weights, zero bias (CleanRL's ``layer_init``)."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def lookup(table: nn.Embedding, indices: torch.Tensor) -> torch.Tensor:
    """``table(indices)``, bit for bit, forward and backward, but several times cheaper to train on
    the CPU: ``index_select``'s backward (``index_add_``) sums the same rows in the same order as the
    embedding's own backward, without its per-index overhead."""
    return table.weight.index_select(0, indices.reshape(-1)).reshape(*indices.shape, -1)


class ValueEmbedding(nn.Module):
    """Small integers (the value file: registers, memory, flags) as a vector.

    Each value gets an exact embedding of its clipped value plus its signed log-magnitude, so small
    values are told apart exactly and large ones still by size.
    """

    def __init__(self, count: int, d_model: int, width: int = 8) -> None:
        super().__init__()
        self.exact = nn.Embedding(2 * VALUE_CLIP + 1, width)
        self.project = orthogonal_(nn.Linear(count * (width + 1), d_model))

    def forward(self, values: torch.Tensor) -> torch.Tensor:  # (B, count) -> (B, d)
        values = values.long()
        exact = lookup(self.exact, values.clamp(-VALUE_CLIP, VALUE_CLIP) + VALUE_CLIP)
        magnitude = (values.sign() * torch.log1p(values.abs().float())).unsqueeze(-1)
        return self.project(torch.cat([exact, magnitude], dim=-1).flatten(1))


class StateEncoder(nn.Module):
    """Tokens of the working-memory view, read by attention from one summary query.

    Tokens: one per pointer (its window of cells and its boundary flags), one each for registers,
    memory and flags, and the last action. With ``obs_mode="full"`` the cells within
    ``FULL_RADIUS`` columns of each pointer on every row join as memory tokens, positioned relative
    to the pointer, so the encoder never sees an absolute column (nor the problem's length).

    The summary query (a learned vector plus the last-action token) attends over all tokens, then
    an MLP; only the query's output is computed, which is all the policy reads (attention pooling).
    """

    def __init__(self, d_model: int, heads: int, rows: int | None, tasks: int | None = None) -> None:
        """``rows``: scratchpad rows with ``obs_mode="full"``; ``tasks``: the number of task ids when
        the observation names its task (``"task"``, as a multi-task env does)."""
        super().__init__()
        self.heads = heads
        self.task = nn.Embedding(tasks, d_model) if tasks is not None else None
        self.symbol = nn.Embedding(NUM_SYMBOLS, d_model)
        # A pointer's token sums one embedding per (window cell, symbol), per (pointer, boundary
        # flags) — a linear map of the one-hot window, without a matrix product.
        self.window_cell = nn.Embedding(NUM_POINTERS * WINDOW_SIZE * NUM_SYMBOLS, d_model)
        self.boundary = nn.Embedding(NUM_POINTERS * BOUNDARY_STATES, d_model)
        self.register_buffer("_cell_offsets", torch.arange(NUM_POINTERS * WINDOW_SIZE) * NUM_SYMBOLS)
        self.register_buffer("_boundary_offsets", torch.arange(NUM_POINTERS) * BOUNDARY_STATES)
        self.pointer_id = nn.Parameter(torch.zeros(NUM_POINTERS, d_model))
        # The value file (registers, memory, flags: NUM_VALUES values), embedded together, as one
        # token per field.
        self.values = ValueEmbedding(NUM_VALUES, len(VALUE_FIELDS) * d_model)
        self.last_action = nn.Embedding(ACTION_VALUES, d_model)
        self.query = nn.Parameter(torch.zeros(d_model))
        self.rows = rows
        if rows is not None:
            self.row_id = nn.Parameter(torch.zeros(rows, d_model))
            self.offset_id = nn.Parameter(torch.zeros(2 * FULL_RADIUS + 1, d_model))
        self.norm_tokens, self.norm_query, self.norm_mlp = (nn.LayerNorm(d_model) for _ in range(3))
        self.to_query = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.to_keys = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.to_values = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.out = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.mlp = nn.Sequential(
            orthogonal_(nn.Linear(d_model, 2 * d_model)),
            nn.GELU(),
            orthogonal_(nn.Linear(2 * d_model, d_model)),
        )
        for parameter in (self.pointer_id, self.query):
            nn.init.normal_(parameter, std=0.02)

    def tokens(self, obs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(tokens (B, T, d), last-action token (B, d))."""
        view = ObservationView(obs)
        batch = view.symbols.shape[0]
        cells = lookup(self.window_cell, view.symbols.long() + self._cell_offsets)  # (B, P * WINDOW_SIZE, d)
        edges = view.edges.long()  # (B, P, 2): at start, at end
        boundary = lookup(
            self.boundary, edges[..., AT_START] * 2 + edges[..., AT_END] + self._boundary_offsets
        )
        pointers = cells.reshape(batch, NUM_POINTERS, WINDOW_SIZE, -1).sum(2) + boundary
        last_action = lookup(self.last_action, view.last_action.long())
        value_file = torch.cat(view.value_fields(), dim=1)
        values = self.values(value_file).reshape(batch, len(VALUE_FIELDS), -1)
        parts = [pointers, values, last_action.unsqueeze(1)]
        if self.rows is not None:
            parts.append(self._memory_tokens(view.scratchpad.long(), view.pointers.long()))
        return torch.cat(parts, dim=1), last_action

    def _memory_tokens(self, scratchpad: torch.Tensor, pointers: torch.Tensor) -> torch.Tensor:
        """Cells within FULL_RADIUS columns of each pointer, on every row: (B, P * rows * (2R+1), d)."""
        batch, rows, width = scratchpad.shape
        offsets = torch.arange(-FULL_RADIUS, FULL_RADIUS + 1, device=scratchpad.device)
        columns = pointers.unsqueeze(-1) + offsets  # (B, P, 2R+1)
        inside = (columns >= 0) & (columns < width)
        gathered = torch.gather(
            scratchpad.unsqueeze(1).expand(batch, NUM_POINTERS, rows, width),
            3,
            columns.clamp(0, width - 1).unsqueeze(2).expand(batch, NUM_POINTERS, rows, offsets.numel()),
        )  # (B, P, rows, 2R+1)
        cells = torch.where(inside.unsqueeze(2), gathered, torch.full_like(gathered, EDGE))
        tokens = (
            lookup(self.symbol, cells)
            + self.row_id[:, None, :]
            + self.offset_id[None, :, :]
            + self.pointer_id[:, None, None, :]
        )
        return tokens.reshape(batch, -1, tokens.shape[-1])

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:  # -> (B, d)
        tokens, last_action = self.tokens(obs)
        batch, count, width = tokens.shape
        split = (batch, count, self.heads, width // self.heads)
        normed = self.norm_tokens(tokens)
        keys, values = self.to_keys(normed).reshape(split), self.to_values(normed).reshape(split)
        summary = self.query + last_action
        if self.task is not None:
            summary = summary + lookup(self.task, ObservationView(obs).task.long().reshape(batch))
        query = self.to_query(self.norm_query(summary)).reshape(batch, 1, self.heads, -1)
        # One query over few tokens: broadcasting beats batched matrix products here.
        weights = torch.softmax((keys * query).sum(-1) / math.sqrt(split[-1]), dim=1)  # (B, T, h)
        read = (weights.unsqueeze(-1) * values).sum(1).reshape(batch, width)
        summary = summary + self.out(read)
        return summary + self.mlp(self.norm_mlp(summary))


def rotary_angles(length: int, width: int) -> torch.Tensor:
    """(length, width / 2) rotation angles of positions 0..length-1 (RoFormer's frequencies)."""
    half = width // 2
    frequencies = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float32) / half))
    return torch.arange(length, dtype=torch.float32)[:, None] * frequencies


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of ``x`` (..., L, d) by angles given as their ``cos`` and ``sin``
    (L, d/2): relative positions become phase differences in the query-key products."""
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


class HistoryAttention(nn.Module):
    """The state vector, as a query at "now", attends over the embeddings of the last K actions.

    Rotary positions make the scores depend only on how many steps ago an action was, never on
    absolute time; the query sits after every key, so the attention is causal by construction.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        # Key and value of an action are embeddings of it (an embedding then a linear map is one).
        self.key = nn.Embedding(ACTION_VALUES, d_model)
        self.value = nn.Embedding(ACTION_VALUES, d_model)
        self.query = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.out = orthogonal_(nn.Linear(d_model, d_model), 1.0)
        self.scale = 1.0 / math.sqrt(d_model)
        self._rotations: dict[tuple[int, int, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    def rotations(self, length: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, sin) of ``rotary_angles(length, width)`` on ``device``, computed once per shape.

        Made outside inference mode even when the first call runs in it: a tensor made there
        cannot be saved for backward, and these are reused by every later training pass."""
        key = (length, width, device)
        if key not in self._rotations:
            with torch.inference_mode(False):
                angles = rotary_angles(length, width).to(device)
                self._rotations[key] = angles.cos(), angles.sin()
        return self._rotations[key]

    def forward(self, state: torch.Tensor, history: torch.Tensor) -> torch.Tensor:  # -> (B, d)
        cos, sin = self.rotations(history.shape[1] + 1, state.shape[-1], state.device)
        history = history.long()  # (B, K), oldest first
        keys = rotary(lookup(self.key, history), cos[:-1], sin[:-1])  # (B, K, d)
        query = rotary(self.query(state).unsqueeze(1), cos[-1:], sin[-1:])  # (B, 1, d)
        weights = torch.softmax((keys * query).sum(-1) * self.scale, dim=-1)  # (B, K)
        return self.out((weights.unsqueeze(-1) * lookup(self.value, history)).sum(1))


class ActformerNetwork(nn.Module):
    """Observation dict (tensors) -> a feature vector: the state, plus what history attention read."""

    def __init__(self, observation_space: gym.spaces.Dict, d_model: int = 16, heads: int = 2) -> None:
        super().__init__()
        spaces = observation_space.spaces
        rows = spaces["scratchpad"].shape[0] if "scratchpad" in spaces else None
        tasks = int(spaces["task"].n) if "task" in spaces else None
        self.state = StateEncoder(d_model, heads, rows, tasks)
        self.history = HistoryAttention(d_model) if "history" in spaces else None
        self.features_dim = 2 * d_model if self.history is not None else d_model

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        state = self.state(obs)
        if self.history is None:
            return state
        return torch.cat([state, self.history(state, ObservationView(obs).history)], dim=-1)


class InputProjection(nn.Module):
    """The task's declared view applied to the policy's input (``actformer_envs.reads.project``):
    every entry the task's expert does not read becomes 0 before the network sees it, so the policy
    is a function of what the expert reads, by construction. The masks are buffers: a saved policy
    carries the view it was trained with."""

    def __init__(self, masks: ReadMasks) -> None:
        super().__init__()
        self.names = []
        for name, array in masks.arrays():
            self.register_buffer(name, torch.as_tensor(np.asarray(array)))
            self.names.append(name)
        self.relates = bool(masks.relates)

    def forward(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        masks = ReadMasks.from_arrays({name: getattr(self, name) for name in self.names}, self.relates)
        return project(obs, masks)

    def numpy_masks(self) -> ReadMasks:
        """The masks as NumPy arrays (views of the buffers on the CPU), for projecting NumPy
        observations without torch's per-op cost."""
        arrays = {name: getattr(self, name).cpu().numpy() for name in self.names}
        return ReadMasks.from_arrays(arrays, self.relates)


class ActformerPolicy(nn.Module):
    """The Actformer actor-critic: ``ActformerNetwork`` features, then an MLP to logits and a value.

    Args:
        observation_space: the env's single observation space (a ``Dict``).
        d_model: token width. heads: attention heads of the state encoder. hidden: MLP width.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
        reads: the task's declared view (``env.unwrapped.mixture.read_masks()``): the policy then
            sees only what the expert reads (``InputProjection``); None: the whole observation.
        neighbours: False: the cells beside each pointer (its window's left and right) read as 0,
            so the policy sees only the cells under its pointers and cannot take in a short
            problem in one look (a task-independent narrowing, not the expert's view).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        d_model: int = 16,
        heads: int = 2,
        hidden: int = 64,
        device: str | torch.device = "auto",
        reads: ReadMasks | None = None,
        neighbours: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(observation_space, gym.spaces.Dict) or "symbols" not in observation_space.spaces:
            raise ValueError("observation_space must be an Actformer env's Dict observation space")
        for name, value in (("d_model", d_model), ("heads", heads), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if d_model % heads or d_model % 2:
            raise ValueError(f"d_model must be even and divisible by heads={heads}, got {d_model}")
        if reads is not None and not isinstance(reads, ReadMasks):
            raise TypeError(
                "reads must be None or a task's ReadMasks (env.unwrapped.mixture.read_masks()), "
                f"got {type(reads).__name__}"
            )
        self.network = ActformerNetwork(observation_space, d_model, heads)
        width = self.network.features_dim
        self.trunk = nn.Sequential(orthogonal_(nn.Linear(width, hidden)), nn.Tanh())
        self.actor = orthogonal_(nn.Linear(hidden, NUM_ACTIONS), 0.01)
        self.critic = orthogonal_(nn.Linear(hidden, 1), 1.0)
        self.projection = InputProjection(reads) if reads is not None else None
        if not isinstance(neighbours, bool):
            raise TypeError(f"neighbours must be a bool, got {neighbours!r}")
        # 1 for each pointer's UNDER cell, 0 beside it: a buffer, so a saved policy carries its view.
        self.register_buffer("under_cells", None if neighbours else torch.as_tensor(_UNDER_CELLS))
        self.device = resolve_device(device)
        self.to(self.device)

    def forward(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, A), value (B,)) for a batch of observations."""
        tensors = self.as_tensors(obs)
        if self.projection is not None:
            tensors = self.projection(tensors)
        if self.under_cells is not None:
            symbols = tensors["symbols"]
            tensors = {**tensors, "symbols": symbols * self.under_cells.to(symbols.dtype)}
        hidden = self.trunk(self.network(tensors))
        return self.actor(hidden), self.critic(hidden).squeeze(-1)

    @torch.no_grad()
    def view(self, observation: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """What the network sees of a batch of observations, as NumPy arrays: the observation, or its
        projection where the policy is projected, without the cells beside the pointers where it
        sees no ``neighbours``. The policy's output is a function of this alone."""
        arrays = {key: np.asarray(value) for key, value in observation.items()}
        if self.projection is not None:
            arrays = project(arrays, self.projection.numpy_masks())
        if self.under_cells is not None:
            symbols = arrays["symbols"]
            arrays["symbols"] = symbols * _UNDER_CELLS.astype(symbols.dtype)
        return arrays

    @property
    def neighbours(self) -> bool:
        """Whether the policy sees the cells beside each pointer (``neighbours``)."""
        return self.under_cells is None

    @property
    def projected(self) -> bool:
        """Whether the policy sees only what its task's expert reads (``reads``)."""
        return self.projection is not None

    def get_value(self, obs: Mapping[str, Any]) -> torch.Tensor:
        """The critic's value (B,) of a batch of observations."""
        return self.forward(obs)[1]

    def get_action_and_value(
        self,
        obs: Mapping[str, Any],
        action: torch.Tensor | None = None,
        action_mask: Any = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(action, log_prob, entropy, value); actions are sampled unless given. With a mask
        (True = allowed), masked actions get probability 0. The distribution is computed from its
        log-softmax, as the trainer's update computes it (``Categorical`` would normalize the masked
        logits with ``exp`` of the masked ones too, several times slower on the CPU)."""
        logits, value = self.forward(obs)
        mask = None if action_mask is None else mask_tensor(action_mask, self.device)
        log_probs = torch.log_softmax(masked_logits(logits, mask, self.device), -1)
        if action is None:
            action = sample_actions(log_probs)
        log_prob = log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        return action, log_prob, entropies(log_probs, mask), value

    @torch.no_grad()
    def act(self, observation: Mapping[str, Any], action_mask: Any = None, greedy: bool = True) -> Any:
        """Agent interface (as ``ExpertAgent``): NumPy in, actions out; single or batched."""
        single = np.ndim(observation["last_action"]) == 0
        if single:
            observation = {key: np.asarray(value)[None] for key, value in observation.items()}
            action_mask = None if action_mask is None else np.asarray(action_mask)[None]
        logits = masked_logits(self.forward(observation)[0], action_mask, self.device)
        actions = logits.argmax(-1) if greedy else sample_actions(logits)
        actions = actions.cpu().numpy()
        return int(actions[0]) if single else actions

    def as_tensors(self, obs: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The observation's arrays as tensors on the policy's device (no copy for tensors there)."""
        return {
            key: torch.as_tensor(
                np.asarray(value) if not torch.is_tensor(value) else value, device=self.device
            )
            for key, value in obs.items()
        }


def sample_actions(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One action per row of ``logits`` drawn from their softmax, as ``Categorical.sample`` draws, from
    ``generator`` (on the logits' device; torch's global generator if None)."""
    probs = torch.softmax(logits, -1)
    rows = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(rows, 1, generator=generator).reshape(probs.shape[:-1])


def allowed_expectation(log_probs: torch.Tensor, mask: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Sum over the allowed actions of ``p(a) * values(a)`` per row, ``p`` the distribution whose
    log-probabilities (B, A) are given (finite, as ``masked_logits`` makes them): the masked
    entropy's and KL's form. A disallowed action's log-probability is near the dtype's minimum,
    and ``exp`` of such a value takes ATen's scalar path on the CPU, about ten times slower than the
    rest; so the disallowed log-probabilities are multiplied by 0 before ``exp``, and their terms by
    0 after (products with a float mask, vectorized on the CPU where ``masked_fill`` and ``where``
    with a bool mask are not). Values and gradients are those of the ``masked_fill``/``where``
    formula, up to the sign of zeros."""
    weights = as_weights(mask, log_probs.dtype)
    return ((log_probs * weights).exp() * values * weights).sum(-1)


def entropies(log_probs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The entropy of each distribution whose log-probabilities (B, A) are given, over the actions
    ``mask`` allows (a disallowed action has probability 0 and adds nothing; None: all)."""
    if mask is None:
        return -(log_probs.exp() * log_probs).sum(-1)
    return -allowed_expectation(log_probs, mask, log_probs)


def mask_tensor(action_mask: Any, device: torch.device) -> torch.Tensor:
    """An action mask (True = allowed; NumPy or torch) as a contiguous bool tensor on ``device``
    (the vector env's masks are a transposed view; elementwise ops with it are several times
    slower on the CPU than with a contiguous copy)."""
    if not torch.is_tensor(action_mask):
        # The vector env's masks are a read-only view, which torch will not wrap without a copy.
        action_mask = torch.from_numpy(np.array(action_mask, dtype=bool, order="C"))
    return action_mask.to(device=device, dtype=torch.bool).contiguous()


def as_weights(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bool mask as 1.0 (True) and 0.0 (False) of ``dtype``, converted from its bytes: the same
    values as ``mask.to(dtype)``, several times faster on the CPU. ``TypeError`` for a mask that is
    not bool."""
    if mask.dtype != torch.bool:
        raise TypeError(f"an action mask must be a bool tensor (True = allowed), got {mask.dtype}")
    return mask.view(torch.uint8).to(dtype)


def masked_logits(logits: torch.Tensor, action_mask: Any, device: torch.device) -> torch.Tensor:
    """``logits`` with disallowed actions (mask False) at the dtype's minimum: probability 0.

    For float32 and float64 logits, computed as ``logits + minimum * disallowed``, clamped to the
    minimum (so that masking twice changes nothing): the minimum absorbs any finite logit below 1e31
    (float32) in magnitude, so the values are ``masked_fill``'s bit for bit, at a fraction of its
    cost on the CPU (vectorized ops). The gradient reaches a disallowed action's logit unmasked;
    every loss here gives it 0 there (its probability is exactly 0, and a disallowed action is
    never a target). Other dtypes (float16's minimum absorbs little) use ``masked_fill``."""
    if action_mask is None:
        return logits
    minimum = torch.finfo(logits.dtype).min
    allowed = mask_tensor(action_mask, device)
    if logits.dtype not in (torch.float32, torch.float64):
        return logits.masked_fill(~allowed, minimum)
    return logits.add(as_weights(~allowed, logits.dtype), alpha=minimum).clamp_(min=minimum)
