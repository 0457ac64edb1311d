"""Actformer Gym: algorithmic tasks solved by acting on working memory with a machine's opcodes.

``import actformer_envs`` registers every env; ``gym.make("Actformer/Addition-v0")``, or without the
import ``gym.make("actformer_envs:Actformer/Addition-v0")`` (Gymnasium imports the module first).
"""

from __future__ import annotations

from actformer_envs.env import ActformerEnv
from actformer_envs.instructions import (
    INSTRUCTIONS,
    NO_ACTION,
    NUM_ACTIONS,
    Instruction,
    Op,
    instruction_index,
    instruction_name,
)
from actformer_envs.observation import ObservationView
from actformer_envs.registration import ENV_IDS, register_envs
from actformer_envs.tasks import TASKS, Recipe, Task, register_task, unregister_task
from actformer_envs.vector_env import ActformerVectorEnv
from actformer_envs.wrappers import FlatObservation, FlatVectorObservation, TensorInfos

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENV_IDS",
    "INSTRUCTIONS",
    "NO_ACTION",
    "NUM_ACTIONS",
    "TASKS",
    "ActformerEnv",
    "ActformerVectorEnv",
    "FlatObservation",
    "FlatVectorObservation",
    "Instruction",
    "ObservationView",
    "Op",
    "Recipe",
    "Task",
    "TensorInfos",
    "instruction_index",
    "instruction_name",
    "register_envs",
    "register_task",
    "unregister_task",
]
