"""The divergence guard of training: a NaN or infinite loss, logit, value, gradient or parameter stops
the run with one uniform error, raised before the number can reach an update or a checkpoint.

Every stage calls ``check_finite`` (or ``check_parameters``) at its sites: behaviour cloning per
batch and epoch, DAgger's and the RL rollouts per step, the RL update per minibatch and after it.
``TrainingDiverged`` is a ``FloatingPointError`` saying where and what, e.g. ``training diverged at
update of iteration 5: non-finite loss``; ``actformer train`` prints it in one line, exit status 1,
and keeps the last good checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

#: Non-finite parameters named in a message, at most (then "and N more").
NAMED_PARAMETERS = 5


class TrainingDiverged(FloatingPointError):
    """Training produced a NaN or an infinity: ``where`` (a stage, e.g. ``rollout of iteration 5``)
    and ``what`` (e.g. ``non-finite logits``)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"training diverged at {where}: {what}")
        self.where, self.what = where, what

    def __reduce__(self) -> tuple[type[TrainingDiverged], tuple[str, str]]:
        # Picklable (for worker processes) although __init__ takes two arguments.
        return type(self), (self.where, self.what)


def check_finite(where: str, **values: torch.Tensor | float) -> None:
    """``TrainingDiverged`` at ``where`` naming each of ``values`` (tensors or floats) that holds a
    NaN or an infinity (``gradient_norm`` reads "gradient norm"); integer tensors are skipped.

    Cheap enough for every rollout step: one sum per tensor and one device sync. A sum is finite
    unless an element is not (or huge finite ones overflow it: then each tensor is checked exactly).
    """
    tensors = {name: v for name, v in values.items() if torch.is_tensor(v) and v.is_floating_point()}
    bad = [name for name, v in values.items() if not torch.is_tensor(v) and not math.isfinite(v)]
    if tensors and not _finite_sum(tensors.values()):
        with torch.no_grad():
            bad += [name for name, v in tensors.items() if not bool(torch.isfinite(v).all())]
    if bad:
        order = list(values)
        names = sorted(bad, key=order.index)
        raise TrainingDiverged(where, "non-finite " + ", ".join(name.replace("_", " ") for name in names))


def check_parameters(where: str, module: nn.Module) -> None:
    """``TrainingDiverged`` at ``where`` naming ``module``'s parameters that hold a NaN or an infinity.
    One concatenation and one sum (about 0.1 ms for the default policy on a CPU core)."""
    named = [(name, p) for name, p in module.named_parameters() if p.is_floating_point()]
    if not named:
        return
    with torch.no_grad():
        if math.isfinite(float(torch.cat([p.reshape(-1) for _, p in named]).sum())):
            return
        bad = [name for name, p in named if not bool(torch.isfinite(p).all())]
    if bad:
        more = len(bad) - NAMED_PARAMETERS
        listed = ", ".join(bad[:NAMED_PARAMETERS]) + (f" and {more} more" if more > 0 else "")
        raise TrainingDiverged(where, f"non-finite parameters {listed}")


def optimizer_step(where: str, optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``; ``TrainingDiverged`` at ``where`` if the step's size overflows the
    parameters' float type (a learning rate so large that torch refuses the step)."""
    try:
        optimizer.step()
    except RuntimeError as error:
        if "overflow" not in str(error):
            raise
        what = "the optimizer's step overflows float32 (learning rate too large)"
        raise TrainingDiverged(where, what) from None


def _finite_sum(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether the sum of every element of ``tensors`` is finite (one sync)."""
    with torch.no_grad():
        total = None
        for tensor in tensors:
            total = tensor.sum() if total is None else total + tensor.sum()
        return total is None or math.isfinite(float(total))


@contextmanager
def stage(name: str) -> Iterator[None]:
    """A ``TrainingDiverged`` raised inside says it happened in ``name`` too: ``imitation epoch 3``
    inside ``stage("DAgger round 2")`` becomes ``imitation epoch 3 of DAgger round 2``."""
    try:
        yield
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error.where} of {name}", error.what) from None
