"""A length curriculum: pose short problems first, lengthen once they are solved reliably."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any


class Curriculum:
    """The current maximum problem length, from ``start`` up to ``last`` in steps of ``step``.

    Training draws problem lengths uniform in ``[min_length, length]``. ``record`` takes the
    outcomes of episodes posed at the current length; once ``window`` of them are recorded and their
    success rate is at least ``threshold``, the length grows by ``step`` (capped at ``last``) and the
    window starts afresh, so every decision rests on ``window`` episodes of one length.
    """

    def __init__(
        self, start: int, last: int, threshold: float = 0.9, window: int = 256, step: int = 1
    ) -> None:
        if not 1 <= start <= last:
            raise ValueError(f"start must lie in [1, last={last}], got {start}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        if window < 1 or step < 1:
            raise ValueError(f"window and step must be >= 1, got window={window}, step={step}")
        self.length, self.last, self.threshold, self.step = start, last, threshold, step
        self.outcomes: deque[bool] = deque(maxlen=window)

    @property
    def window(self) -> int:
        """Episodes whose success rate decides lengthening."""
        return self.outcomes.maxlen or 0

    @property
    def success_rate(self) -> float:
        """Success rate of the recorded episodes at the current length (NaN before any)."""
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else float("nan")

    def record(self, successes: Iterable[bool]) -> bool:
        """Record episodes (True = solved) posed at the current length; whether it lengthened."""
        lengthened = False
        for success in successes:
            self.outcomes.append(bool(success))
            full = len(self.outcomes) == self.window
            if full and self.length < self.last and self.success_rate >= self.threshold:
                self.length = min(self.length + self.step, self.last)
                self.outcomes.clear()
                lengthened = True
        return lengthened

    def state_dict(self) -> dict[str, Any]:
        """Everything ``load_state_dict`` needs to continue exactly."""
        return {
            "length": self.length,
            "last": self.last,
            "threshold": self.threshold,
            "step": self.step,
            "window": self.window,
            "outcomes": list(self.outcomes),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.length, self.last = int(state["length"]), int(state["last"])
        self.threshold, self.step = float(state["threshold"]), int(state["step"])
        self.outcomes = deque((bool(o) for o in state["outcomes"]), maxlen=int(state["window"]))
