"""Registers every task as ``Actformer/<Name>-v0``, from one table."""

from __future__ import annotations

import gymnasium as gym

from actformer_envs.tasks import TASKS

NAMESPACE = "Actformer"
VERSION = 0
ENV_IDS = tuple(f"{NAMESPACE}/{name}-v{VERSION}" for name in TASKS)


def register_envs() -> None:
    """Register every task once (idempotent), with a single and a native vector entry point."""
    for env_id, name in zip(ENV_IDS, TASKS, strict=True):
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="actformer_envs.env:ActformerEnv",
            vector_entry_point="actformer_envs.vector_env:ActformerVectorEnv",
            kwargs={"task": name},
        )
