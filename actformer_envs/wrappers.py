"""A flat float32 observation for libraries whose networks take one vector (CleanRL, RLlib, skrl, SB3's
RecurrentPPO): ``FlatObservation`` for an env, ``FlatVectorObservation`` for the native vector env.

The vector is exactly Gymnasium's ``spaces.flatten`` of the ``Dict`` observation, as float32: keys in
the space's order, every ``Discrete``/``MultiDiscrete`` entry one-hot, ``MultiBinary`` and ``Box``
entries as their values. Computed here with a few NumPy operations for any batch, instead of a
Python loop per entry, because it runs on every step.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

__all__ = ["FlatObservation", "FlatVectorObservation", "Flattener", "TensorInfos"]


class Flattener:
    """``gymnasium.spaces.flatten`` of one Actformer ``Dict`` space, as float32, for observations with
    any leading batch shape. ``space`` is the flat ``Box``."""

    def __init__(self, space: spaces.Space[Any]) -> None:
        if not isinstance(space, spaces.Dict):
            raise TypeError(f"Flattener needs an Actformer env's Dict observation space, got {space}")
        self._one_hot: list[tuple[str, np.ndarray, np.ndarray]] = []  # key, start, slot of value 0
        self._copied: list[tuple[str, slice]] = []  # key, its columns
        lows, highs, offset = [], [], 0
        for key, sub in space.spaces.items():
            if isinstance(sub, (spaces.Discrete, spaces.MultiDiscrete)):
                sizes = np.atleast_1d(sub.n if isinstance(sub, spaces.Discrete) else sub.nvec).ravel()
                slots = offset + np.concatenate(([0], np.cumsum(sizes)[:-1]))
                self._one_hot.append((key, np.atleast_1d(sub.start).ravel(), slots))
                width = int(sizes.sum())
                lows.append(np.zeros(width))
                highs.append(np.ones(width))
            elif isinstance(sub, (spaces.MultiBinary, spaces.Box)):
                width = int(np.prod(sub.shape))
                self._copied.append((key, slice(offset, offset + width)))
                bounds = (0, 1) if isinstance(sub, spaces.MultiBinary) else (sub.low, sub.high)
                lows.append(np.broadcast_to(bounds[0], sub.shape).ravel())
                highs.append(np.broadcast_to(bounds[1], sub.shape).ravel())
            else:
                raise TypeError(f"Flattener cannot flatten {key!r}: {sub}")
            offset += width
        self.size = offset
        self.space = spaces.Box(
            np.concatenate(lows).astype(np.float32),
            np.concatenate(highs).astype(np.float32),
            dtype=np.float32,
        )

    def __call__(self, obs: dict[str, Any], batch_shape: tuple[int, ...] = ()) -> np.ndarray:
        """The flat vectors of ``obs``, shape ``(*batch_shape, size)``."""
        rows = int(np.prod(batch_shape))
        flat = np.zeros((rows, self.size), dtype=np.float32)
        for key, columns in self._copied:
            flat[:, columns] = np.asarray(obs[key]).reshape(rows, -1)
        every_row = np.arange(rows)[:, None]
        for key, start, slots in self._one_hot:
            values = np.asarray(obs[key]).reshape(rows, -1)
            flat[every_row, slots + (values - start)] = 1.0
        return flat.reshape(*batch_shape, self.size)


class FlatObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """An Actformer env whose observation is one flat float32 vector (``Flattener``).

    ``env = FlatObservation(gym.make("Actformer/Copy-v0"))``; the action mask stays in
    ``info["action_mask"]`` and ``env.unwrapped.action_masks()``.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)  # (``env.spec`` then records this wrapper)
        gym.ObservationWrapper.__init__(self, env)
        self._flatten = Flattener(env.observation_space)
        self.observation_space = self._flatten.space

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return self._flatten(observation)


class _VectorWrapper(VectorWrapper, gym.utils.RecordConstructorArgs):
    """A vector wrapper that, like the envs it wraps, says its ``autoreset_mode`` (Gymnasium's
    ``VectorWrapper`` forwards only ``metadata``; TorchRL reads the attribute)."""

    def __init__(self, env: VectorEnv) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        VectorWrapper.__init__(self, env)

    @property
    def autoreset_mode(self) -> AutoresetMode:
        return self.metadata["autoreset_mode"]


class FlatVectorObservation(_VectorWrapper):
    """``FlatObservation`` for a vector env, in either autoreset mode: with SAME_STEP the last
    observations in ``info["final_obs"]`` are flattened too (Gymnasium's ``VectorObservationWrapper``
    refuses SAME_STEP, so this wraps the whole step)."""

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        self._flatten = Flattener(env.single_observation_space)
        self.single_observation_space = self._flatten.space
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, infos = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]  # (a list: ours)
        return self._flatten(obs, (self.num_envs,)), infos

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        if "final_obs" in infos:
            final_obs = infos["final_obs"].copy()
            for i in np.flatnonzero(infos["_final_obs"]):
                final_obs[i] = self._flatten(final_obs[i])
            infos = {**infos, "final_obs": final_obs}
        return self._flatten(obs, (self.num_envs,)), rewards, terminated, truncated, infos


class TensorInfos(_VectorWrapper):
    """A vector env whose infos hold only arrays that convert to tensors: drops the decoded answers
    ``output`` and ``target`` (object arrays of Python values of varying shape), at the top level
    and in ``final_info``, for libraries that turn every info into a tensor (TorchRL). ``is_success``,
    ``invalid_action``, ``action_mask`` and ``final_obs`` stay."""

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        return obs, rewards, terminated, truncated, _tensor_infos(infos)


def _tensor_infos(infos: dict[str, Any]) -> dict[str, Any]:
    """``infos`` without its object arrays (and their masks), but ``final_obs``; recursively."""
    kept: dict[str, Any] = {}
    for key, value in infos.items():
        if isinstance(value, dict):
            kept[key] = _tensor_infos(value)
        elif key == "final_obs" or not (isinstance(value, np.ndarray) and value.dtype == object):
            kept[key] = value
    return {key: value for key, value in kept.items() if not key.startswith("_") or key[1:] in kept}
