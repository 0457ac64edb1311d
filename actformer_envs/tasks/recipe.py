"""How a task is trained and how far it is asked to generalize: each task declares its ``Recipe``.

``actformer train --task T`` starts from T's certified recipe (``TrainConfig.for_task``: the
``certified_length`` and the evaluation lengths), the certification table runs it on every seed,
and the train suite and the generalization grid (``benchmarks.common.PLANS``) are built from the
rest. This module imports nothing (the standard library only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from actformer_envs.checks import check_int


@dataclass(frozen=True)
class Recipe:
    """What one task is trained on and evaluated at.

    Training lengths are each task's short problems; evaluation goes to 100x where the expert's own
    episodes stay affordable (long multiplication and Expression grow with the square of the
    length: a 100 x 100 multiplication is 100,701 steps, a 40-digit expression about 35,000).

    The tasks with long episodes (112 steps for a 3 x 3 multiplication: Multiplication, Sort,
    Expression) get more expert data and no history: with the defaults (20,000 pairs, history 8)
    the first full run's clones solved 10% of 3 x 3 multiplications, 72% of 5-symbol sorts, and no
    20-digit expression.
    """

    train_length: int
    """The longest problem trained on (the env's ``max_length`` in training)."""
    eval_lengths: tuple[int, ...]
    """The problem lengths evaluated at, increasing; the first is usually ``train_length`` (in
    distribution), the others its multiples (generalization)."""
    eval_episodes: int
    """Problems evaluated per length."""
    expert_pairs: int | None = None
    """(observation, expert action) pairs of imitation data for the warm start (the training
    config's ``imitation_pairs``); None: the default."""
    history_length: int | None = None
    """The env's ``history_length`` (past actions in the observation); None: the default."""
    certify_length: int | None = None
    """The longest training length of the certified recipe (a projected policy fit on the
    verification set of lengths 1..certify_length); None: ``train_length``. Longer where the set of
    what the expert reads closes only from a longer length (``benchmarks/closure.py``)."""

    @property
    def certified_length(self) -> int:
        """The longest training length of the certified recipe (``certify_length``, else
        ``train_length``)."""
        return self.certify_length if self.certify_length is not None else self.train_length

    def __post_init__(self) -> None:
        for name in ("train_length", "eval_episodes"):
            check_int(name, getattr(self, name), low=1)
        lengths = self.eval_lengths
        if not isinstance(lengths, tuple) or not lengths:
            raise ValueError(f"eval_lengths must be a non-empty tuple of ints, got {lengths!r}")
        for length in lengths:
            check_int("eval_lengths", length, low=1)
        if any(a >= b for a, b in itertools.pairwise(lengths)):
            raise ValueError(f"eval_lengths must increase, got {lengths!r}")
        if self.certify_length is not None:
            check_int("certify_length", self.certify_length, low=1)
        if self.expert_pairs is not None:
            check_int("expert_pairs", self.expert_pairs, low=1)
        if self.history_length is not None and (
            isinstance(self.history_length, bool)
            or not isinstance(self.history_length, int)
            or self.history_length < 0
        ):
            raise ValueError(f"history_length must be None or an int >= 0, got {self.history_length!r}")
