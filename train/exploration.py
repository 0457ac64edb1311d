"""Count-based exploration: a bonus ``beta / sqrt(N(s, a))`` on every decision's reward, ``N(s, a)``
the number of times this run has taken action ``a`` on the view ``s`` (Strehl & Littman 2008,
"An analysis of model-based interval estimation"; Bellemare et al. 2016 for its use in deep RL).

``s`` is what the policy sees (``ActformerPolicy.view``: the local window of working memory, the
registers, flags and the last action), so the bonus is task-independent: it knows nothing of a task's
answer, only how often the policy has been where it is. The machine's views are small and discrete,
so the counts are exact (a dict), not a density model's pseudo-counts. A pair's bonus falls with every
visit; over a whole run it earns ``beta * sum(1 / sqrt(n) for n in 1..N)``, less than ``2 * beta *
sqrt(N)``, so revisiting a pair never pays more than discovering one.

Discovering, though, can pay without end where values can: a register that ADD keeps growing is at a
new value, so a new view, at every step, and with ``values="exact"`` a policy can earn ``beta`` a step
by counting instead of answering (Parity's PPO did at ``beta`` 0.04: after its curriculum reached
length 10 it stopped halting). ``values="magnitude"`` counts each value of the value file by its sign
and bit length (0, ±1, ±2..3, ±4..7, ...), so the views a run can find are few and soon all found.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from actformer_envs.checks import check_choice
from actformer_envs.observation import VALUE_FIELDS

#: How the counts read the value file (registers, memory, flags): each value exactly, or by ``magnitude``.
COUNT_VALUES = ("exact", "magnitude")


def magnitude(values: np.ndarray) -> np.ndarray:
    """Each integer's sign times its bit length: 0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, -5 -> -3."""
    values = np.asarray(values, dtype=np.int64)
    return np.sign(values) * np.frexp(np.abs(values).astype(np.float64))[1]


class CountBonus:
    """Counts (view, action) pairs over a run and pays ``beta / sqrt(count)`` per decision (the count
    including this visit; non-decisions, an ended episode's last observation, earn and count nothing).

    ``state_dict``/``load_state_dict`` carry the counts as arrays (a checkpoint stores them as data),
    so a resumed run pays what an uninterrupted one would."""

    def __init__(self, beta: float, values: str = "exact") -> None:
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f"beta must be a number > 0, got {beta!r}")
        check_choice("values", values, COUNT_VALUES)
        self.beta = float(beta)
        self.values = values
        self.counts: dict[bytes, int] = {}

    def __len__(self) -> int:
        """The number of distinct (view, action) pairs counted so far."""
        return len(self.counts)

    def keys(self, view: Mapping[str, np.ndarray], actions: np.ndarray) -> np.ndarray:
        """One row of int32 per env identifying its (view, action): every field of ``view`` (in key
        order; the value file's by ``magnitude`` where ``values`` says so) then the action."""
        n = len(actions)
        columns = [np.asarray(view[key]).reshape(n, -1) for key in sorted(view)]
        if self.values == "magnitude":
            columns = [
                magnitude(column) if key in VALUE_FIELDS else column
                for key, column in zip(sorted(view), columns, strict=True)
            ]
        return np.concatenate([*columns, np.asarray(actions).reshape(n, 1)], axis=1).astype(np.int32)

    def __call__(
        self, view: Mapping[str, np.ndarray], actions: np.ndarray, decision: np.ndarray
    ) -> np.ndarray:
        """Count the decisions' pairs, in env order, and return each env's bonus (0 where not a decision)."""
        bonus = np.zeros(len(actions))
        counts = self.counts
        for env, row in zip(np.flatnonzero(decision), self.keys(view, actions)[decision], strict=True):
            key = row.tobytes()
            count = counts.get(key, 0) + 1
            counts[key] = count
            bonus[env] = self.beta / np.sqrt(count)
        return bonus

    def state_dict(self) -> dict[str, np.ndarray]:
        """The counts as ``keys`` (pairs, key bytes) uint8 and ``counts`` (pairs,) int64."""
        width = len(next(iter(self.counts))) if self.counts else 0
        keys = np.frombuffer(b"".join(self.counts), dtype=np.uint8).reshape(len(self.counts), width)
        return {"keys": keys.copy(), "counts": np.fromiter(self.counts.values(), np.int64, len(self.counts))}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Replace the counts with a ``state_dict``'s."""
        keys, counts = np.asarray(state["keys"], dtype=np.uint8), np.asarray(state["counts"])
        if keys.ndim != 2 or counts.shape != (len(keys),):
            raise ValueError(f"count state must be keys (pairs, bytes) and counts (pairs,), got {keys.shape}")
        self.counts = {row.tobytes(): int(count) for row, count in zip(keys, counts, strict=True)}
