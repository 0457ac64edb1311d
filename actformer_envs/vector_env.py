"""``ActformerVectorEnv``: N environments as one batch, the same episode logic at batch size N."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from actformer_envs.config import RENDER_MODES, EnvConfig
from actformer_envs.env import reset_needed, task_class
from actformer_envs.episodes import Episodes
from actformer_envs.instructions import NUM_ACTIONS
from actformer_envs.observation import observation_space
from actformer_envs.rendering import render_rgb, render_text
from actformer_envs.state import generator_from_state, generator_state
from actformer_envs.tasks import Mixture, MultiTask, Task

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # by itemsize


class ActformerVectorEnv(VectorEnv):
    """``num_envs`` environments of one task, stepped together by one batched machine.

    Environment ``i`` after ``reset(seed=s)`` behaves exactly like ``ActformerEnv`` after
    ``reset(seed=s + i)``. Autoreset follows Gymnasium's NEXT_STEP convention: the step after an
    episode ends resets that environment (its action is ignored, reward 0, not done). Infos are
    dicts of arrays with ``_key`` masks; ``is_success``, ``output`` and ``target`` are set for the
    environments whose episode ended on this step. Takes the same arguments as ``ActformerEnv``.
    Before the first ``reset()``, ``step()``, ``render()`` and ``expert_action()`` (and a MultiTask's
    ``action_masks()``) raise ``gymnasium.error.ResetNeeded``; after it, autoreset keeps every
    environment in an episode.
    """

    metadata = {"render_modes": list(RENDER_MODES), "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        task: str | type[Task] | type[MultiTask] = "Addition",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        self.autoreset_mode = _check_autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        task_type = task_class(task)
        self.config = EnvConfig.for_task(task_type, owner="ActformerVectorEnv", **kwargs)
        self.num_envs = int(num_envs)
        self.render_mode = self.config.render_mode
        self._episodes = Episodes(task_type, self.config, batch=self.num_envs)
        self.task = self._episodes.task
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = observation_space(self.mixture, self.config)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._envs = np.arange(self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)  # the envs that reset on the next step
        self._autoreset_envs = self._envs[:0]  # (their indices)
        self._everywhere = np.ones(self.num_envs, dtype=bool)
        self._everywhere.flags.writeable = False
        self._streams_seeded = False
        self._last_rewards: np.ndarray | None = None
        self._needs_reset = True  # until the first reset poses problems (autoreset keeps them posed)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        episodes = self._episodes
        if seed is not None:
            seeds = self._seeds(seed)
            self._np_random, self._np_random_seed = seeding.np_random(seeds[0])
            generators = [seeding.np_random(s)[0] if s is not None else self.np_random for s in seeds]
            episodes.problems.seed(
                self._envs, np.array([g.integers(2**63, dtype=np.uint64) for g in generators])
            )
            self._streams_seeded = True
        elif not self._streams_seeded:
            episodes.problems.seed(
                self._envs, self.np_random.integers(2**63, size=self.num_envs, dtype=np.uint64)
            )
            self._streams_seeded = True
        lengths, problem, problems = episodes.parse_options(options)
        episodes.reset(self._envs, lengths=lengths, problem=problem, problems=problems)
        self._autoreset, self._autoreset_envs = np.zeros(self.num_envs, dtype=bool), self._envs[:0]
        self._last_rewards = None
        self._needs_reset = False
        infos = {"action_mask": episodes.action_masks(), "_action_mask": self._everywhere}
        return episodes.observation(), infos

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._needs_reset:
            raise reset_needed("step()")
        actions = self._check_actions(actions)
        episodes = self._episodes
        reward, terminated, truncated, invalid, success = episodes.step(actions)
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            infos = self._reset_ended_now(terminated | truncated, invalid, success & terminated)
        else:
            infos = self._reset_ended_before(reward, terminated, truncated, invalid, success)
        self._last_rewards = reward
        return episodes.observation(), reward, terminated, truncated, infos

    def _reset_ended_before(
        self,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        invalid: np.ndarray,
        success: np.ndarray,
    ) -> dict[str, Any]:
        """NEXT_STEP: reset the envs whose episode ended on the previous step (this step's action
        did not count for them: reward 0, not done), and mark the ones that end now for the next."""
        episodes = self._episodes
        restarting, envs = self._autoreset, self._autoreset_envs
        if len(envs):
            episodes.reset(envs)
            reward[envs] = 0.0
            terminated[envs] = truncated[envs] = invalid[envs] = False
        ended = terminated | truncated
        ended_envs = ended.nonzero()[0]
        infos: dict[str, Any] = {
            "action_mask": episodes.action_masks(),
            "_action_mask": self._everywhere,
            "invalid_action": invalid,
            "_invalid_action": ~restarting,
        }
        if len(ended_envs):
            infos.update(self._outcomes(ended, ended_envs, success & terminated))
        self._autoreset, self._autoreset_envs = ended, ended_envs
        return infos

    def _reset_ended_now(
        self, ended: np.ndarray, invalid: np.ndarray, is_success: np.ndarray
    ) -> dict[str, Any]:
        """SAME_STEP: the envs whose episode ended on this step keep their last observation and info
        in ``final_obs`` and ``final_info`` and start their next episode now (the top-level info of
        such an env is its reset's, as in Gymnasium's ``SyncVectorEnv``)."""
        episodes = self._episodes
        ended_envs = ended.nonzero()[0]
        infos: dict[str, Any] = {}
        if len(ended_envs):
            last = episodes.observation()
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in ended_envs.tolist():
                final_obs[i] = {key: value[i] for key, value in last.items()}
            final_info = {
                "action_mask": np.array(episodes.action_masks()),
                "_action_mask": ended.copy(),
                "invalid_action": invalid.copy(),
                "_invalid_action": ended.copy(),
                **self._outcomes(ended, ended_envs, is_success),
            }
            episodes.reset(ended_envs)
            infos = {"final_obs": final_obs, "_final_obs": ended, "final_info": final_info}
            infos["_final_info"] = ended.copy()
        infos["action_mask"], infos["_action_mask"] = episodes.action_masks(), self._everywhere
        if len(ended_envs) < self.num_envs:  # (an env that just reset has no ``invalid_action``)
            infos["invalid_action"], infos["_invalid_action"] = invalid, ~ended
        return infos

    def state_dict(self) -> dict[str, Any]:
        """Everything that decides what these envs do next, as plain arrays, numbers and strings:
        a checkpoint stores this, never a pickle. ``load_state_dict`` on an env made with the same
        arguments continues exactly as this one would."""
        return {
            "config": _config_record(self.config, self.task, self.num_envs),
            "episodes": self._episodes.state_dict(),
            "autoreset": self._autoreset.copy(),
            "streams_seeded": self._streams_seeded,
            "np_random": generator_state(self._np_random),
            "np_random_seed": self._np_random_seed,
            "last_rewards": None if self._last_rewards is None else self._last_rewards.copy(),
            "needs_reset": self._needs_reset,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict``; ``ValueError`` if it is malformed or of an env made otherwise."""
        if not isinstance(state, Mapping) or not isinstance(state.get("episodes"), Mapping):
            raise ValueError("not an ActformerVectorEnv state_dict (it lacks 'episodes')")
        expected = _config_record(self.config, self.task, self.num_envs)
        saved = state.get("config")
        if saved != expected:
            saved = saved if isinstance(saved, Mapping) else {}
            differing = sorted(key for key in expected if saved.get(key) != expected[key])
            raise ValueError(f"the state is of an env made with other arguments (differing: {differing})")
        autoreset, rewards = state.get("autoreset"), state.get("last_rewards")
        shape = (self.num_envs,)
        if not isinstance(autoreset, np.ndarray) or autoreset.shape != shape or autoreset.dtype != bool:
            raise ValueError(f"vector env state 'autoreset' must be a bool array of shape {shape}")
        if rewards is not None and (not isinstance(rewards, np.ndarray) or rewards.shape != shape):
            raise ValueError(f"vector env state 'last_rewards' must be None or an array of shape {shape}")
        if self.autoreset_mode is AutoresetMode.SAME_STEP and autoreset.any():
            raise ValueError(
                "the state is of a NEXT_STEP env with resets pending; load it into an env made with "
                "autoreset_mode=AutoresetMode.NEXT_STEP"
            )
        np_random = generator_from_state(state.get("np_random"), "vector env state 'np_random'")
        self._episodes.load_state_dict(state["episodes"])
        self._autoreset = autoreset.copy()
        self._autoreset_envs = self._autoreset.nonzero()[0]
        self._streams_seeded = bool(state.get("streams_seeded"))
        self._np_random, self._np_random_seed = np_random, state.get("np_random_seed")
        self._last_rewards = None if rewards is None else rewards.astype(np.float64)
        self._needs_reset = bool(state.get("needs_reset"))

    def set_length_range(self, low: int, high: int) -> None:
        """Pose the random problems of every later reset and autoreset with lengths uniform in
        ``[low, high]``, within ``[min_length, max_length]`` of the env (a curriculum's hook: the
        observation space, sized by ``max_length``, does not change). Problems already posed stay."""
        config = self.config
        for name, value, bottom in (("low", low, config.min_length), ("high", high, low)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if not bottom <= value <= config.max_length:
                raise ValueError(f"{name} must lie in [{bottom}, {config.max_length}], got {value}")
        self._episodes.problems.set_lengths((int(low), int(high)))

    @property
    def mixture(self) -> Mixture:
        """What these envs pose problems of (read-only): ``mixture.members``, the single tasks (a
        plain task alone, a MultiTask's members); ``mixture.draws_member``, whether each episode
        draws one (a MultiTask's: ``obs["task"][i]`` shows env i's, ``task_id(member.name)``)."""
        return self._episodes.mixture

    def action_masks(self) -> np.ndarray:
        """Allowed instructions per environment, (num_envs, 139) bool, True = allowed (with
        ``mask_mode="valid"``, only those that would not fault in the current state); defined before
        the first reset for a plain task's allowed set, which never changes, not for the others."""
        if self._needs_reset and self._episodes.masks_vary:
            raise reset_needed("action_masks()")
        return np.array(self._episodes.action_masks())

    def expert_action(self) -> np.ndarray:
        """The expert's next instruction for every environment, (num_envs,) int64."""
        if self._needs_reset:
            raise reset_needed("expert_action()")
        return self._episodes.expert_action()

    def render(self) -> tuple[str | np.ndarray, ...] | None:
        if self._needs_reset:
            raise reset_needed("render()")
        if self.render_mode is None:
            return None
        rewards = self._last_rewards
        render = render_text if self.render_mode == "ansi" else render_rgb
        return tuple(
            render(self._episodes, i, None if rewards is None else float(rewards[i]))
            for i in range(self.num_envs)
        )

    def _outcomes(self, ended: np.ndarray, envs: np.ndarray, is_success: np.ndarray) -> dict[str, np.ndarray]:
        """``is_success`` (given), ``output`` and ``target`` for the envs whose episode ended
        (``ended``, at ``envs``), with masks."""
        output, target = np.empty(self.num_envs, dtype=object), np.empty(self.num_envs, dtype=object)
        output[envs], target[envs] = self._episodes.outcomes(envs)
        infos = {"is_success": is_success, "output": output, "target": target}
        for key in tuple(infos):
            infos[f"_{key}"] = ended.copy()  # the user's to keep; ``ended`` drives the autoreset
        return infos

    def _seeds(self, seed: Any) -> list[int | None]:
        """One seed per environment from ``reset(seed=...)``: an int s gives s, s + 1, ...; a list, tuple
        or 1-D array gives its own (None: unseeded). ``TypeError``/``ValueError`` naming ``seed``."""
        if isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, (str, bytes)):
            if (isinstance(seed, np.ndarray) and seed.ndim != 1) or len(seed) != self.num_envs:
                got = f"an array of shape {seed.shape}" if isinstance(seed, np.ndarray) else len(seed)
                raise ValueError(
                    f"seed must be an int or a list of num_envs={self.num_envs} seeds, got {got}"
                )
            return [None if s is None else _check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(
                f"seed must be None, an int >= 0 or a list of num_envs={self.num_envs} of them, got {seed!r}"
            )
        first = _check_seed(seed, "seed")
        return [first + i for i in range(self.num_envs)]

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an int array of shape ({self.num_envs},), got "
                f"{actions.dtype} array of shape {actions.shape}"
            )
        # One reduction checks both ends: viewed as unsigned, a negative action is huge.
        if np.maximum.reduce(actions.view(_UNSIGNED[actions.dtype.itemsize])) >= NUM_ACTIONS:
            raise ValueError(
                f"actions must lie in [0, {NUM_ACTIONS}), got values in [{actions.min()}, {actions.max()}]"
            )
        return actions.astype(np.intp, copy=False)


def _check_autoreset_mode(mode: Any) -> AutoresetMode:
    """``autoreset_mode`` as an ``AutoresetMode`` (its value, e.g. ``"SameStep"``, is accepted too);
    ``ValueError`` for anything but NEXT_STEP and SAME_STEP."""
    supported = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
    if isinstance(mode, (AutoresetMode, str)) and mode in [*supported, *(m.value for m in supported)]:
        return AutoresetMode(mode)
    raise ValueError(
        "autoreset_mode must be AutoresetMode.NEXT_STEP or AutoresetMode.SAME_STEP "
        f"('NextStep' or 'SameStep'), got {mode!r}"
    )


def _check_seed(seed: Any, name: str) -> int:
    """A seed as Gymnasium's seeding takes it, a Python int >= 0, from an int or a NumPy integer
    (which Gymnasium refuses); ``TypeError``/``ValueError`` naming ``name`` for anything else."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be None or an int >= 0, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed!r}")
    return int(seed)


def _config_record(config: EnvConfig, task: Task | MultiTask, num_envs: int) -> dict[str, Any]:
    """What an env was made with, as plain values: a state fits only an env made alike."""
    record = dataclasses.asdict(config)
    for derived in ("render_mode", "mask_mode"):  # (pictures and masks are read off the state)
        record.pop(derived)
    return {"task": task.name, "num_envs": num_envs, **record}
