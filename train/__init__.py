"""Training and evaluation of agents on the Actformer suite."""

from __future__ import annotations

from actformer_gym.train.evaluate import AgentFactory, exact_match, format_table, generalization_table
from actformer_gym.train.imitation import behaviour_cloning, collect_expert_data

__all__ = [
    "AgentFactory",
    "behaviour_cloning",
    "collect_expert_data",
    "exact_match",
    "format_table",
    "generalization_table",
]
