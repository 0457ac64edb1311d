"""Training and evaluation of agents on the Actformer suite."""

from __future__ import annotations

from train.evaluate import AgentFactory, exact_match, format_table, generalization_table

__all__ = ["AgentFactory", "exact_match", "format_table", "generalization_table"]
