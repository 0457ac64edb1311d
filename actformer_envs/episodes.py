"""Episodes over a batch: problems, rewards, limits and observations, shared by both env faces.

``ActformerEnv`` is this at batch size 1 and ``ActformerVectorEnv`` at batch size N; neither holds
any task or machine logic of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actformer_envs.arrays import constant, row_items
from actformer_envs.config import EnvConfig, check_size
from actformer_envs.instructions import (
    CARRY_SLOT,
    COMPARE_SLOT,
    MEMORY_SLOTS,
    NO_ACTION,
    NUM_ACTIONS,
    REGISTER_SLOTS,
)
from actformer_envs.machine import Layout, Machine
from actformer_envs.posing import INVALID_PENALTY, Posed, pose
from actformer_envs.problem_queue import ProblemQueue
from actformer_envs.state import array_state, load_array_state
from actformer_envs.tasks import Mixture, MultiTask, Task

SUCCESS_REWARD = 1.0

_REGISTERS = slice(REGISTER_SLOTS[0], REGISTER_SLOTS[-1] + 1)
_MEMORY = slice(MEMORY_SLOTS[0], MEMORY_SLOTS[-1] + 1)
_FLAGS = slice(CARRY_SLOT, COMPARE_SLOT + 1)


class Episodes:
    """The state of ``batch`` episodes of one task, and the step/reset logic over all of them.

    They run on the task's :class:`Mixture` (``mixture``): its members, each in its own layout (a
    plain task is its only member), and the ids the observation shows of them (a MultiTask's).
    """

    def __init__(self, task_class: type[Task] | type[MultiTask], config: EnvConfig, batch: int) -> None:
        self.task = task_class(config.base, **config.task_options)
        check_size(self.task, config.max_length)  # before anything of that size is made
        self.mixture = self.task.mixture if isinstance(self.task, MultiTask) else Mixture.of(self.task)
        self.config = config
        self.batch = batch
        self.width = self.mixture.width(config.max_length)
        members = self.mixture.members
        layouts = tuple(Layout(m.pointer_rows, m.output_row, m.base, m.action_mask) for m in members)
        # "signed" pays for the fraction of target digits right less the fraction of output cells wrong.
        self.signed = config.reward_mode == "signed"
        self.machine = Machine(batch, self.mixture.rows, self.width, layouts, count_misses=self.signed)
        # The action mask of each member: (members, actions), read-only; with one member, every env's.
        self.masks = self.mixture.masks
        self._shared_masks = np.broadcast_to(self.masks[0], (batch, NUM_ACTIONS))
        # What obs["task"] shows of each member (None: no task id is shown).
        self._task_ids = None if self.mixture.ids is None else np.array(self.mixture.ids)
        self.problems = ProblemQueue(self.mixture, batch, self.width, (config.min_length, config.max_length))
        # Each env's episode constants (its problem's ``EPISODE`` record), one contiguous array each:
        # the step's arithmetic runs over all of them every step, and strided fields cost twice as much.
        self.step_limit = np.ones(batch, dtype=np.int64)  # truncated at this many steps
        self.step_cost = np.zeros(batch)  # shaped mode: the time penalty of one step
        self.inverse_target_digits = np.zeros(batch)  # shaped mode: the potential of one correct digit
        self.start_potential = np.zeros(batch)  # shaped mode: the potential of the posed scratchpad
        self.potential = np.zeros(batch)  # fraction of target digits written correctly
        # One clock for the batch instead of a step counter per env: an episode is truncated when
        # the clock reaches its deadline, so a step advances one number, not ``batch``.
        self._clock = np.zeros((), dtype=np.int64)  # steps run by this batch (0-d: a ufunc operand)
        self._deadline = np.ones(batch, dtype=np.int64)  # the clock at which each episode is truncated
        # The executed actions, oldest first, (batch, max(history_length, 1)): the last column is
        # ``last_action``. Appending shifts rows by one entry in one contiguous copy of them all
        # (each row's oldest entry drops off the front; the row before's newest is overwritten).
        self._history = np.full((batch, max(config.history_length, 1)), NO_ACTION, dtype=np.int16)
        self._spare_history = self._history.copy()
        self._fresh_history = row_items(np.full((1, self._history.shape[1]), NO_ACTION, np.int16))
        self._make_views()
        # Progress terms (the change in the fraction of target digits written correctly; "signed":
        # less the fraction of output cells written wrong) are paid in every mode but "sparse";
        # "shaped" takes the potential back in an episode's last state, the others not.
        self.progress = config.reward_mode in ("shaped", "dense", "signed")
        self.returns_potential = config.reward_mode == "shaped"
        self.valid_masks = config.mask_mode == "valid"

    def _make_views(self) -> None:
        """Flat and row views of the history buffers (rebuilt on unpickling, not pickled)."""
        self._flat_history, self._flat_spare = self._history.reshape(-1), self._spare_history.reshape(-1)
        self._history_rows, self._spare_rows = row_items(self._history), row_items(self._spare_history)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for view in ("_flat_history", "_flat_spare", "_history_rows", "_spare_rows"):
            del state[view]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    #: The arrays of the episodes' own state (the machine and the problem queue have theirs).
    _STATE: tuple[str, ...] = (
        "step_limit",
        "step_cost",
        "inverse_target_digits",
        "start_potential",
        "potential",
    )
    _STATE += ("_clock", "_deadline", "_history")

    def state_dict(self) -> dict[str, Any]:
        """The state of every episode as plain arrays (copies): exactly what continuing them needs."""
        return {
            **array_state(self, self._STATE),
            "machine": self.machine.state_dict(),
            "problems": self.problems.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict`` of episodes of the same task, settings and batch size."""
        for part in ("machine", "problems"):
            if not isinstance(state.get(part), Mapping):
                raise ValueError(f"episodes state lacks its {part!r} part")
        lengths = state["problems"].get("lengths")
        low, high = lengths if isinstance(lengths, np.ndarray) and lengths.shape == (2,) else (0, -1)
        if not self.config.min_length <= low <= high <= self.config.max_length:
            raise ValueError(
                f"episodes state's problem lengths [{low}, {high}] do not lie in the env's "
                f"[{self.config.min_length}, {self.config.max_length}]"
            )
        load_array_state(self, state, self._STATE, "episodes")
        self.machine.load_state_dict(state["machine"])
        self.problems.load_state_dict(state["problems"])

    @property
    def steps(self) -> np.ndarray:
        """Steps taken in each env's episode, (batch,) int64."""
        return self._clock - (self._deadline - self.step_limit)

    @property
    def last_action(self) -> np.ndarray:
        """The last executed action of each env (``NO_ACTION`` before any), (batch,) int64."""
        return self._history[:, -1].astype(np.int64)

    def _last_action(self, env: int | None) -> np.ndarray | np.int64:
        """``last_action`` of every env (a fresh array), or of env ``env`` (Discrete's type: a NumPy
        int64 scalar, taken from a table, as converting one costs microseconds)."""
        if env is None:
            return self.last_action
        return _ACTION_SCALARS[self._history[env, -1]]

    # -- reset ---------------------------------------------------------------------------------

    def parse_options(
        self, options: dict[str, Any] | None
    ) -> tuple[np.ndarray | None, Any, list[Any] | None]:
        """(lengths, problem, problems) from ``reset(options=...)``; ``ValueError`` for anything
        malformed.

        ``"length"``: an int (every env) or one int per env; ``"problem"``: the user's problem, for
        every env; ``"problems"``: a sequence of them, one per env (a vector env's batch at once).
        ``TypeError`` for options that are not a dict (or None).
        """
        if options is not None and not isinstance(options, Mapping):
            shown = f"{type(options).__name__}: {options!r:.60}"
            raise TypeError(f"options must be a dict (or None), got {shown}")
        if not options:
            return None, None, None
        allowed = ("length", "problem", "problems")
        unknown = set(options) - set(allowed)
        if unknown:
            raise ValueError(
                f"unknown reset options {sorted(unknown)}; allowed: {', '.join(map(repr, allowed))}"
            )
        given = [key for key in allowed if key in options]
        if len(given) > 1:
            raise ValueError(f"reset options {' and '.join(map(repr, given))} exclude each other")
        if "problem" in options:
            if options["problem"] is None:  # (None is how ``reset`` says "no problem": refuse it here)
                raise ValueError(
                    f"options['problem'] must be a {self.task.name} problem (see the task's docstring), "
                    "got None; leave the option out for a random problem"
                )
            return None, options["problem"], None
        if "problems" in options:
            problems = options["problems"]
            if isinstance(problems, (str, bytes)) or not isinstance(problems, Sequence):
                raise ValueError(
                    f"options['problems'] must be a list of {self.batch} {self.task.name} problems (one per "
                    f"env), got {type(problems).__name__}"
                )
            if len(problems) != self.batch or any(problem is None for problem in problems):
                raise ValueError(
                    f"options['problems'] must hold {self.batch} {self.task.name} problems (one per env, "
                    f"none None), got {len(problems)}"
                )
            return None, None, list(problems)
        length = options["length"]
        if np.ndim(length) == 0:
            return np.full(self.batch, self._check_length(length)), None, None
        lengths = [self._check_length(n) for n in length]
        if len(lengths) != self.batch:
            raise ValueError(f"options['length'] must be an int or {self.batch} ints, got {len(lengths)}")
        return np.array(lengths), None, None

    def _check_length(self, length: Any) -> int:
        if (
            isinstance(length, bool)
            or not isinstance(length, (int, np.integer))
            or not (1 <= length <= self.config.max_length)
        ):
            raise ValueError(
                f"options['length'] must be an int in [1, max_length={self.config.max_length}], "
                f"got {length!r}"
            )
        return int(length)

    def check_problem(self, problem: Any) -> None:
        """``ValueError`` unless ``problem`` is well formed and fits ``max_length``."""
        length = self.mixture.problem_length(problem)
        if length > self.config.max_length:
            raise ValueError(
                f"{self.task.name} problem of length {length} does not fit max_length="
                f"{self.config.max_length}; make the env with a larger max_length"
            )

    def reset(
        self,
        envs: np.ndarray,
        lengths: np.ndarray | None = None,
        problem: Any = None,
        problems: Sequence[Any] | None = None,
    ) -> None:
        """Pose new problems in ``envs``: ``problem`` for all of them, ``problems`` one per env (in
        order), else random ones (of ``lengths``, or from each env's queue)."""
        if problems is not None:
            if len(problems) != len(envs):
                raise ValueError(f"problems must hold one problem per env ({len(envs)}), got {len(problems)}")
            for each in problems:
                self.check_problem(each)
            members = self.mixture.members
            each_posed = [pose(members, *self.mixture.encode(p, self.width)) for p in problems]
            posed = Posed(np.concatenate([one.records for one in each_posed]))
        elif problem is not None:
            self.check_problem(problem)
            one = pose(self.mixture.members, *self.mixture.encode(problem, self.width))
            posed = one[np.zeros(len(envs), dtype=np.intp)]
        elif lengths is not None:
            posed = self.problems.draw(envs, np.asarray(lengths, dtype=np.int64))
        else:
            posed = self.problems.pop(envs)
        self.machine.load(envs, posed.scratchpad, posed.target, posed.wrong, posed.correct, posed.layout)
        episode = posed.episode
        limit = episode["step_limit"]
        self.step_limit[envs] = limit
        self._deadline[envs] = limit + self._clock
        self.step_cost[envs] = episode["step_cost"]
        self.inverse_target_digits[envs] = episode["inverse_target_digits"]
        self.start_potential[envs] = self.potential[envs] = episode["start_potential"]
        if self.signed:  # (the posed output row's misses, of in-place tasks, count from the start)
            self.potential[envs] -= self.machine.misses[envs] * self.inverse_target_digits[envs]
        self._history_rows[envs] = self._fresh_history

    # -- step ----------------------------------------------------------------------------------

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Run one action per env (an int array, already checked to lie in the action space).

        Returns (reward, terminated, truncated, invalid, success), ``success``: halted on an exact
        answer. A masked-out action, or one that faults, changes nothing but the step count: the
        observation stays as it was.
        """
        executed, halted = self.machine.execute(actions)
        self._record(actions, executed)
        invalid = ~executed
        clock = self._clock
        np.add(clock, _ONE, out=clock)
        truncated = self._deadline <= clock
        any_halted = np.count_nonzero(halted) > 0  # rarely true for one env: skip what only a HALT needs
        if any_halted:
            success = halted & (self.machine.wrong == _ZERO)
            np.greater(truncated, halted, out=truncated)  # truncated and not halted
        else:
            success = halted  # (no env halted: all False)
        if self.progress:
            machine = self.machine
            potential = (machine.correct - machine.misses if self.signed else machine.correct) * (
                self.inverse_target_digits
            )
            if self.returns_potential:
                # An episode's last state, halted or truncated, gets back the starting potential: the
                # shaping of every episode sums to 0, so it moves credit earlier but never pays for
                # writing an answer without halting (in-place tasks start with target digits correct).
                ended = halted | truncated if any_halted else truncated
                np.copyto(potential, self.start_potential, where=ended)  # (``np.where``: a slow loop)
            reward = potential - self.potential
            reward -= self.step_cost
            reward -= _INVALID_PENALTY * invalid  # (arithmetic: a ``where=`` loop is several times slower)
            self.potential = potential
        else:
            reward = np.zeros(self.batch)
        if any_halted:
            reward += _SUCCESS_REWARD * success
        return reward, halted, truncated, invalid, success

    def step_one(self, action: np.ndarray) -> tuple[float, bool, bool, bool, bool]:
        """``step`` of a batch of one (``action``: a (1,) int array), in Python scalars.

        The same arithmetic in the same order on IEEE doubles, so the same bits; NumPy's cost per
        call on a 1-element array (a dozen ufuncs) would be most of a single env's step.
        """
        executed, halted = self.machine.execute(action)
        self._record(action, executed)
        invalid, halt = not executed[0], bool(halted[0])
        clock = self._clock.item() + 1
        self._clock.fill(clock)
        truncated = not halt and clock >= self._deadline.item()
        success = halt and self.machine.wrong.item() == 0
        reward = 0.0
        if self.progress:
            machine = self.machine
            hits = machine.correct.item() - machine.misses.item() if self.signed else machine.correct.item()
            potential = hits * self.inverse_target_digits.item()
            if self.returns_potential and (halt or truncated):
                potential = self.start_potential.item()
            reward = potential - self.potential.item()
            reward -= self.step_cost.item()
            reward -= INVALID_PENALTY * invalid
            self.potential.fill(potential)
        if halt:
            reward += SUCCESS_REWARD * success
        return reward, halt, truncated, invalid, success

    def _record(self, actions: np.ndarray, executed: np.ndarray) -> None:
        """Append the executed actions to the history (whose last column is ``last_action``)."""
        envs = executed.nonzero()[0]
        count = len(envs)
        if not count:
            return
        if count == self.batch:  # every env: shift the whole buffer into the spare one, and swap
            history, shifted = self._history, self._spare_history
            np.positive(self._flat_history[1:], out=self._flat_spare[:-1])
            shifted[:, -1] = actions
            self._history, self._spare_history = shifted, history
            self._flat_history, self._flat_spare = self._flat_spare, self._flat_history
            self._history_rows, self._spare_rows = self._spare_rows, self._history_rows
        else:  # some envs: shift their rows alone, the same way
            rows = self._history_rows.take(envs).view(np.int16)
            shifted = np.empty_like(rows)
            np.positive(rows[1:], out=shifted[:-1])
            shifted.reshape(count, -1)[:, -1] = actions.take(envs)
            self._history_rows[envs] = shifted.view(self._history_rows.dtype)

    # -- what the agent sees -------------------------------------------------------------------

    def observation(self, env: int | None = None) -> dict[str, Any]:
        """The batched observation, or environment ``env``'s alone (fresh arrays)."""
        machine = self.machine
        machine.sync()
        rows = slice(None) if env is None else env
        values = _fresh(machine.values[rows])  # one copy; registers, memory, flags are views of it
        obs = {
            "symbols": machine.symbols[rows].astype(np.int16),  # int8 in the machine
            "boundaries": _fresh(machine.boundaries[rows]),
            "registers": values[..., _REGISTERS],
            "memory": values[..., _MEMORY],
            "flags": values[..., _FLAGS],
            "last_action": self._last_action(env),
        }
        if self.config.history_length:
            obs["history"] = _fresh(self._history[rows])
        if self._task_ids is not None:
            obs["task"] = self._task_ids[machine.layout[rows]]
        if self.config.obs_mode == "full":
            obs["scratchpad"] = machine.scratchpad[rows, : machine.rows, 1:-1].copy()
            obs["pointers"] = machine.columns()[rows]
        return obs

    def action_masks(self, env: int | None = None) -> np.ndarray:
        """Allowed instructions of every env (batch, actions), or of env ``env`` (actions,): a
        read-only view for a mixture of one member (a plain task), whose envs all share one mask.
        With ``mask_mode="valid"``, of those only the ones that would not fault now (fresh arrays)."""
        if env is not None:
            masks = self.masks[self.machine.layout[env]]
        elif len(self.masks) == 1:
            masks = self._shared_masks
        else:  # (``take`` copies whole rows: several times faster than fancy indexing)
            masks = self.masks.take(self.machine.layout, axis=0)
        return self.machine.without_faults(masks, env) if self.valid_masks else masks

    @property
    def masks_vary(self) -> bool:
        """Whether the masks depend on the state (a MultiTask's member, ``mask_mode="valid"``): then
        they are undefined before the first reset."""
        return self.mixture.draws_member or self.valid_masks

    def expert_action(self) -> np.ndarray:
        """The expert's next action for every env, computed from the observation."""
        return self.mixture.expert(self.observation()).astype(np.int64)

    def current_task(self, env: int) -> Task:
        """The member task of env ``env``'s current episode (the task itself, for a plain task)."""
        return self.mixture.members[int(self.machine.layout[env])]

    def outcomes(self, envs: np.ndarray) -> np.ndarray:
        """The decoded output and target of ``envs`` (end-of-episode info): (2, n) object array."""
        machine = self.machine
        answers = self.mixture.decode(machine.answer_rows(envs), machine.layout.take(envs))
        return answers.reshape(2, len(envs))


_ONE, _ZERO = constant(1, np.int64), constant(0, np.int32)
_INVALID_PENALTY, _SUCCESS_REWARD = (
    constant(INVALID_PENALTY, np.float64),
    constant(SUCCESS_REWARD, np.float64),
)
_ACTION_SCALARS = tuple(np.int64(action) for action in range(NO_ACTION + 1))


def _fresh(array: np.ndarray) -> np.ndarray:
    """A copy of an int array, made by a ufunc loop rather than ``memcpy``.

    On some machines (seen on AMD EPYC with glibc 2.36) ``memcpy`` of tens to hundreds of KiB runs
    10x slower than NumPy's own loop, and the observation copies are on every step's path.
    """
    return np.positive(array)
