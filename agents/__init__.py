"""Agents for the Actformer suite: the Actformer actor-critic and baselines (expert, random)."""

from __future__ import annotations

from actformer_gym.agents.actformer import ActformerNetwork, ActformerPolicy
from actformer_gym.agents.baselines import Agent, ExpertAgent, RandomAgent

__all__ = ["ActformerNetwork", "ActformerPolicy", "Agent", "ExpertAgent", "RandomAgent"]
