"""Registers every task of the registry (``tasks.registry``) as ``Actformer/<Name>-v0``."""

from __future__ import annotations

import gymnasium as gym

from actformer_envs.tasks.registry import ENV_IDS, NAMESPACE, TASKS, VERSION

__all__ = ["ENV_IDS", "NAMESPACE", "VERSION", "register_envs"]


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
