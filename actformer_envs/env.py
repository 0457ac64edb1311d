"""``ActformerEnv``: one environment, the batched episode logic at batch size 1."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from actformer_envs.config import RENDER_MODES, EnvConfig
from actformer_envs.episodes import Episodes
from actformer_envs.instructions import NUM_ACTIONS
from actformer_envs.observation import observation_space
from actformer_envs.rendering import render_rgb, render_text
from actformer_envs.tasks import TASKS, Mixture, MultiTask, Task
from actformer_envs.tasks.base import Number

_ENV = np.zeros(1, dtype=np.intp)


def task_class(task: str | type[Task] | type[MultiTask]) -> type[Task] | type[MultiTask]:
    """The task class named by ``task`` (a name from ``TASKS``, a ``Task`` subclass or MultiTask)."""
    if isinstance(task, type) and issubclass(task, (Task, MultiTask)):
        return task
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name (one of {sorted(TASKS)}) or a Task subclass, got {task!r}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return TASKS[task]


def as_info_value(answer: Any) -> Any:
    """A decoded answer for a single env's info: ints become ``Number`` (see its docstring)."""
    return Number(answer) if type(answer) is int else answer


def check_seed_type(seed: Any) -> Any:
    """``seed`` with a NumPy integer made an ``int`` (Gymnasium's seeding takes Python ints only, and
    checks the rest); ``TypeError`` for a bool, which it would take as the seed 0 or 1."""
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be None or an int >= 0, got {seed!r}")
    return int(seed) if isinstance(seed, np.integer) else seed


def reset_needed(call: str) -> ResetNeeded:
    """The error of calling ``call`` (e.g. ``"step()"``) on an env that has not been reset yet."""
    return ResetNeeded(f"Cannot call env.{call} before calling env.reset(): reset the env first")


def check_action(action: Any) -> int:
    """An action as an int; ``ValueError`` if it is not an index of the action space."""
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action.item()
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise ValueError(f"action must be an int in [0, {NUM_ACTIONS}), got {action!r}")
    if not 0 <= action < NUM_ACTIONS:
        raise ValueError(f"action must be an int in [0, {NUM_ACTIONS}), got {action!r}")
    return int(action)


class ActformerEnv(gym.Env):
    """An Actformer task as a Gymnasium env: act on working memory with the machine's opcodes.

    ## Description
    The agent solves a problem posed on a scratchpad by emitting instructions of a small machine
    (READ, WRITE, ADD, CARRY, MOVE, ADVANCE, HALT, ...). The task's docstring
    (``env.unwrapped.task.__doc__``) says what the rows hold and what the expert does.

    ## Action Space
    ``Discrete(139)``: an index into ``actformer_envs.INSTRUCTIONS``, the same table for every task.
    Each task allows a subset: ``action_masks()`` (True = allowed), also ``info["action_mask"]``;
    with ``mask_mode="valid"`` the mask also leaves out, state by state, every WRITE that would fault.
    A masked-out instruction, or a WRITE of a value that is not a digit of the base, is a no-op
    that costs a step and a penalty and sets ``info["invalid_action"]``. An index outside
    ``[0, 139)`` raises ``ValueError``.

    ## Observation Space
    A ``Dict`` that does not grow with the problem:
    ``symbols`` (12,) the cells left of, under and right of each pointer P0..P3 (digits 0..35,
    36 = BLANK, 37 = EDGE); ``boundaries`` (8,) per pointer: at the row's start, at its end;
    ``registers`` R0..R3, ``memory`` M0..M3, ``flags`` (carry, compare); ``last_action``
    (139 = none yet); ``history`` the last ``history_length`` actions, oldest first.
    ``obs_mode="full"`` adds ``scratchpad`` (rows, width) and the pointers' columns ``pointers``.

    ## Rewards
    ``"sparse"``: +1 when HALT leaves an exactly correct output, else 0. ``"shaped"`` (default):
    the same +1, plus the change in the fraction of target digits written correctly (a potential
    that returns to its starting value at HALT, so the shaping of a halted episode sums to 0 and
    cannot be farmed), minus 0.1 spread over the expert's program length per step, minus 0.05 per
    invalid instruction. ``"dense"``: as ``"shaped"``, but the potential is kept at the end, so an
    episode earns the net fraction of target digits it got right (rewriting a cell back and forth
    still earns nothing), in the spirit of the classic Gym algorithmic envs. ``"signed"``: as
    ``"dense"``, and each output cell holding a symbol other than its target (a wrong digit, or a
    digit beyond the answer) costs what a right digit earns, as the classic envs punish a wrong write.

    ## Starting State
    A random problem of a length uniform in ``[min_length, max_length]``;
    ``reset(options={"length": n})`` poses one of exactly length n, ``options={"problem": p}`` the
    user's own. Registers, memory and flags are 0; every pointer at column 0 of its row.

    ## Episode End
    Terminated on HALT; truncated after twice the expert's program length for this problem.
    At the end, ``info`` holds ``is_success``, ``output`` (the decoded answer, None if malformed)
    and ``target``. ``step()`` before the first ``reset()``, or after the episode ended, raises
    ``gymnasium.error.ResetNeeded`` (as ``gym.make``'s ``OrderEnforcing`` does before the first
    reset): nothing pays reward outside an episode. ``render()`` and ``expert_action()`` raise it
    before the first reset (as does a MultiTask's ``action_masks()``; a plain task's mask never
    changes), and show the last state after the end.

    ## Arguments
    ``task``, ``min_length``, ``max_length``, ``base`` (digit tasks, 2..36), ``reward_mode``
    (``"shaped"``, ``"sparse"``, ``"dense"``), ``obs_mode`` (``"local"``, ``"full"``),
    ``history_length`` (0..128, default 8), ``render_mode`` (``"ansi"``, ``"rgb_array"``),
    ``mask_mode`` (``"allowed"``: the task's instructions; ``"valid"``: of those, the ones that
    would not fault in the current state), and the task's own
    (``Task.option_defaults``: Expression's ``stage``, RepeatCopy's ``max_repeats``, MultiTask's
    ``tasks``). An unknown keyword is a ``TypeError``.

    ## Registered Configurations
    ``Actformer/<Task>-v0`` for every task of ``actformer_envs.TASKS`` (``actformer_envs.ENV_IDS``;
    the README's table lists them).

    ## Version History
    v0: initial release.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, task: str | type[Task] | type[MultiTask] = "Addition", **kwargs: Any) -> None:
        task_type = task_class(task)
        self.config = EnvConfig.for_task(task_type, **kwargs)
        self.render_mode = self.config.render_mode
        self._episodes = Episodes(task_type, self.config, batch=1)
        self.task = self._episodes.task
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self.observation_space: spaces.Dict = observation_space(self.mixture, self.config)
        self._last_reward: float | None = None
        self._stream_seeded = False
        self._posed = False  # a reset has posed a problem: the state is an episode's
        self._ended = True  # no episode runs (none posed yet, or it ended): step() must wait for a reset
        self._action = np.zeros(1, dtype=np.intp)  # the batch of one action that step() runs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=check_seed_type(seed))
        episodes = self._episodes
        if seed is not None or not self._stream_seeded:
            episodes.problems.seed(_ENV, self.np_random.integers(2**63, size=1, dtype=np.uint64))
            self._stream_seeded = True
        lengths, problem, problems = episodes.parse_options(options)
        episodes.reset(_ENV, lengths=lengths, problem=problem, problems=problems)
        self._last_reward = None
        self._posed, self._ended = True, False
        return self._observation(), {"action_mask": self.action_masks()}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._ended:
            if not self._posed:
                raise reset_needed("step()")
            raise ResetNeeded(
                "Cannot call env.step() after the episode ended (terminated or truncated): call env.reset()"
            )
        self._action[0] = check_action(action)
        reward, terminated, truncated, invalid, success = self._episodes.step_one(self._action)
        info: dict[str, Any] = {"action_mask": self.action_masks(), "invalid_action": invalid}
        if terminated or truncated:
            self._ended = True
            (output,), (target,) = self._episodes.outcomes(_ENV)
            info["is_success"] = success
            info["output"] = as_info_value(output)
            info["target"] = as_info_value(target)
        self._last_reward = reward
        return self._observation(), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The allowed instructions of this task (True = allowed), as MaskablePPO expects; with
        ``mask_mode="valid"``, only those that would not fault in the current state. A plain task's
        allowed set never changes, so it is defined before the first reset; the others are not."""
        episodes = self._episodes
        if not self._posed and episodes.masks_vary:
            raise reset_needed("action_masks()")
        masks = episodes.action_masks(0)
        return masks if episodes.valid_masks else masks.copy()  # (valid masks are fresh already)

    @property
    def current_task(self) -> Task:
        """The task of the current episode: ``task`` itself, or the member a MultiTask drew."""
        return self._episodes.current_task(0)

    @property
    def mixture(self) -> Mixture:
        """What this env poses problems of (read-only): ``mixture.members``, the single tasks (a
        plain task alone, a MultiTask's members); ``mixture.draws_member``, whether each episode
        draws one (a MultiTask's: ``obs["task"]`` shows its id, ``task_id(member.name)``)."""
        return self._episodes.mixture

    def expert_action(self) -> int:
        """The expert's next instruction for the current state."""
        if not self._posed:
            raise reset_needed("expert_action()")
        return int(self._episodes.expert_action()[0])

    def render(self) -> str | np.ndarray | None:
        if not self._posed:
            raise reset_needed("render()")
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; make the env with render_mode=")
            return None
        render = render_text if self.render_mode == "ansi" else render_rgb
        return render(self._episodes, 0, self._last_reward)

    def _observation(self) -> dict[str, Any]:
        return self._episodes.observation(0)
