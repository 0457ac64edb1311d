"""Agents for the Actformer suite: the Actformer actor-critic and baselines (expert, random)."""

from __future__ import annotations

from agents.actformer import ActformerNetwork, ActformerPolicy
from agents.baselines import Agent, ExpertAgent, RandomAgent

__all__ = ["ActformerNetwork", "ActformerPolicy", "Agent", "ExpertAgent", "RandomAgent"]
