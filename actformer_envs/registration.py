"""Registers every task of the registry (``tasks.registry``) as ``Actformer/<Name>-v0``."""

from __future__ import annotations

from actformer_envs.tasks.registry import ENV_IDS, NAMESPACE, TASKS, VERSION, register_env

__all__ = ["ENV_IDS", "NAMESPACE", "VERSION", "register_envs"]


def register_envs() -> None:
    """Register every task once (idempotent), with a single and a native vector entry point
    (``tasks.registry.register_env``, which ``register_task`` uses too)."""
    for name in TASKS:
        register_env(name)
