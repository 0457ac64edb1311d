"""The env's keyword arguments, checked once, with errors that name the parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actformer_envs.checks import check_choice, check_int
from actformer_envs.posing import MAX_POSED_BYTES, posed_bytes
from actformer_envs.tasks import MultiTask, Task

REWARD_MODES = ("shaped", "sparse", "dense", "signed")
OBS_MODES = ("local", "full")
#: ``allowed``: the task's instructions (fixed per task); ``valid``: of those, the ones that would not
#: fault in the current state (the machine's own fault rule: a WRITE of a value that is not a digit).
MASK_MODES = ("allowed", "valid")
RENDER_MODES = ("ansi", "rgb_array")
#: The keyword arguments every task takes (its own, ``Task.option_defaults``, come on top).
COMMON_ARGUMENTS = (
    "min_length",
    "max_length",
    "base",
    "reward_mode",
    "obs_mode",
    "history_length",
    "render_mode",
    "mask_mode",
)
#: The history's MultiDiscrete space is int16; its summed sizes must fit that dtype.
MAX_HISTORY = 128


@dataclass(frozen=True)
class EnvConfig:
    """Validated settings of an env (see the env docstring's Arguments)."""

    min_length: int
    max_length: int
    base: int
    reward_mode: str = "shaped"
    obs_mode: str = "local"
    history_length: int = 8
    render_mode: str | None = None
    task_options: dict[str, Any] = field(default_factory=dict)  # the task's own kwargs
    mask_mode: str = "allowed"

    @classmethod
    def for_task(
        cls,
        task: type[Task] | type[MultiTask],
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        base: int | None = None,
        reward_mode: str = "shaped",
        obs_mode: str = "local",
        history_length: int = 8,
        render_mode: str | None = None,
        mask_mode: str = "allowed",
        owner: str = "ActformerEnv",
        **task_options: Any,
    ) -> EnvConfig:
        """Fill in the task's defaults and check every value; ``ValueError`` names what is wrong.

        Keyword arguments beyond the common ones are the task's own (``Task.option_defaults``);
        any other name is a ``TypeError`` in Python's own words for ``owner``'s constructor
        (libraries such as TorchRL match them to drop arguments an env does not take).
        """
        unknown = [name for name in task_options if name not in task.option_defaults]
        if unknown:
            others = f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else ""
            allowed = [*COMMON_ARGUMENTS, *task.option_defaults]
            raise TypeError(
                f"{owner}.__init__() got an unexpected keyword argument {unknown[0]!r}{others}; "
                f"{task.name} takes {', '.join(allowed)}"
            )
        task.check_options(task_options)
        default_min, default_max = task.default_lengths
        min_length = default_min if min_length is None else min_length
        max_length = max(default_max, min_length) if max_length is None else max_length
        base = task.default_base if base is None else base
        # (NumPy integers are taken, as a sweep's values often are, and kept as Python ints: a
        # config is recorded as JSON.)
        check_int("min_length", min_length, low=1, numpy_ints=True)
        check_int(
            "max_length", max_length, low=min_length, detail=f"min_length={min_length}", numpy_ints=True
        )
        low, high = task.base_range
        detail = f"{task.name} works in base {low}" if low == high else ""
        check_int("base", base, low=low, high=high, detail=detail, numpy_ints=True)
        check_choice("reward_mode", reward_mode, REWARD_MODES)
        check_choice("obs_mode", obs_mode, OBS_MODES)
        check_int("history_length", history_length, low=0, high=MAX_HISTORY, numpy_ints=True)
        min_length, max_length, base, history_length = map(
            int, (min_length, max_length, base, history_length)
        )
        if render_mode is not None:
            check_choice("render_mode", render_mode, RENDER_MODES)
        check_choice("mask_mode", mask_mode, MASK_MODES)
        return cls(
            min_length,
            max_length,
            base,
            reward_mode,
            obs_mode,
            history_length,
            render_mode,
            task_options,
            mask_mode,
        )


def check_size(task: Task | MultiTask, max_length: int) -> None:
    """``ValueError`` naming ``max_length`` if the task's problems of that size cannot be held.

    Memory grows in proportion to ``max_length`` (the scratchpad's width), with no other limit but
    one: a posed problem (its scratchpad and target, see ``posing``) is one NumPy item, which NumPy
    caps at ``MAX_POSED_BYTES``. Checked before anything of that size is made.
    """
    rows = len(task.rows)
    size = posed_bytes(rows, task.width(max_length))
    if size <= MAX_POSED_BYTES:
        return
    low, high = 1, max_length  # the largest size that fits: low fits, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if posed_bytes(rows, task.width(middle)) <= MAX_POSED_BYTES:
            low = middle
        else:
            high = middle
    raise ValueError(
        f"max_length must be at most {low} for {task.name}, got {max_length}: a posed problem of that "
        f"size (scratchpad and target, {size} bytes) would exceed 2**31 - 1 bytes, the largest item "
        f"NumPy holds"
    )
