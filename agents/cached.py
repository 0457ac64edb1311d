"""Greedy actions looked up once per distinct view: fast evaluation of a frozen policy on long problems.

An Actformer policy's greedy action is a function of what it sees (its observation, or its
projected view) and the action mask, nothing else. The observation is a finite, length-invariant
local view, so a long episode sees the same few views again and again: a 300-symbol Expression
episode takes ~635,000 steps through ~200 distinct projected views. ``CachedGreedy`` runs the
network once per distinct (view, mask) and looks every repeat up, so evaluating long problems costs
the env's steps, not the network's.

The actions are the policy's greedy actions: each is computed by the network on that very view.
Only the batch a view is first computed in differs from an uncached run, which can move a logit in
its last bits; it changes an action only at an exact tie, where the argmax is arbitrary anyway.
The policy must not change while it is cached (evaluation, not training).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from actformer_envs.checks import check_int
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.baselines import Observation, is_single

#: Distinct (view, mask) entries kept by default: ample for the local view (a few thousand per task,
#: with history); a full-scratchpad view (``obs_mode="full"``) can exceed it, and is then computed
#: by the network where it is not cached.
DEFAULT_MAX_ENTRIES = 1 << 20


class CachedGreedy:
    """The greedy actions of a frozen ``ActformerPolicy``, computed once per distinct (view, mask).

    Args:
        policy: the policy (put in eval mode; not trained while cached).
        max_entries: at most this many distinct (view, mask) entries are kept; views beyond them are
            computed by the network each time they occur.
    """

    def __init__(self, policy: ActformerPolicy, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if not isinstance(policy, ActformerPolicy):
            raise TypeError(f"policy must be an ActformerPolicy, got {type(policy).__name__}")
        check_int("max_entries", max_entries, low=0)
        self.policy = policy.eval()
        self.max_entries = max_entries
        self.actions: dict[bytes, int] = {}
        self.lookups = 0
        """Decisions answered so far (hits and misses)."""
        self.computed = 0
        """Of them, the ones the network computed."""

    @torch.no_grad()
    def act(self, observation: Observation, action_mask: np.ndarray | None = None) -> np.ndarray | int:
        """Greedy action(s), as ``ActformerPolicy.act``: (n,) int64 for a batch, an ``int`` for one env."""
        if is_single(observation):
            batch = {key: np.asarray(value)[None] for key, value in observation.items()}
            mask = None if action_mask is None else np.asarray(action_mask)[None]
            return int(self.act(batch, mask)[0])
        rows = self._rows(observation, action_mask)
        first, inverse = distinct_rows(rows)
        # (The fields' shapes end every key: views of other widths, obs_mode="full" at another
        # length, never share one.)
        shapes = repr([(key, np.shape(value)[1:]) for key, value in sorted(observation.items())]).encode()
        distinct_keys = [row.tobytes() + shapes for row in rows[first]]
        chosen = np.empty(len(first), dtype=np.int64)
        missing = []
        for index, key in enumerate(distinct_keys):
            action = self.actions.get(key)
            if action is None:
                missing.append(index)
            else:
                chosen[index] = action
        if missing:
            envs = first[missing]
            mask = None if action_mask is None else np.asarray(action_mask)[envs]
            batch = {key: np.asarray(value)[envs] for key, value in observation.items()}
            computed = self.policy.act(batch, mask)
            chosen[missing] = computed
            kept = max(self.max_entries - len(self.actions), 0)
            for index, action in zip(missing[:kept], computed[:kept].tolist(), strict=True):
                self.actions[distinct_keys[index]] = action
            self.computed += len(missing)
        self.lookups += len(rows)
        return chosen[inverse]

    def _rows(self, observation: Mapping[str, Any], action_mask: np.ndarray | None) -> np.ndarray:
        """One row of bytes per env, (n, W) uint8: the view the network sees (``ActformerPolicy.view``)
        and the mask, padded with zeros to a multiple of 8 bytes."""
        view = self.policy.view(observation)
        count = len(view["last_action"])
        parts = [np.ascontiguousarray(view[key]).reshape(count, -1).view(np.uint8) for key in sorted(view)]
        if action_mask is not None:
            parts.append(np.asarray(action_mask, dtype=np.uint8).reshape(count, -1))
        width = sum(part.shape[1] for part in parts)
        parts.append(np.zeros((count, -width % 8), dtype=np.uint8))
        return np.concatenate(parts, axis=1)


def distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``rows`` ((n, W) uint8, W a multiple of 8): the index of each one's first
    occurrence, and for every row the number of its distinct row, as ``np.unique(axis=0)`` gives.

    Rows are told apart by a 64-bit multiplicative hash, then checked byte for byte against their
    representative; only if two different rows share a hash does it fall back to ``np.unique``."""
    words = rows.view(np.uint64)
    with np.errstate(over="ignore"):
        hashes = (words * _hash_weights(words.shape[1])).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(words[first][inverse], words):  # a collision: exact, slower
        _, first, inverse = np.unique(words, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    return first, inverse


@functools.cache
def _hash_weights(width: int) -> np.ndarray:
    """``width`` odd 64-bit weights of ``distinct_rows``'s hash (fixed: hashes are only compared
    within one batch)."""
    return np.random.default_rng(width).integers(1, 2**63, size=width, dtype=np.uint64) | np.uint64(1)
