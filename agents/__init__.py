"""Agents for the Actformer suite: baselines (expert, random); the Actformer policy joins them."""

from __future__ import annotations

from agents.baselines import Agent, ExpertAgent, RandomAgent

__all__ = ["Agent", "ExpertAgent", "RandomAgent"]
