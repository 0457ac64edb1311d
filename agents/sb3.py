"""The Actformer network as a Stable-Baselines3 policy: ``PPO(ActformerPolicy, env)``, ``A2C(...)``,
and sb3-contrib's ``MaskablePPO(MaskableActformerPolicy, env)``.

SB3 preprocesses a ``Dict`` observation before any features extractor sees it: ``Discrete`` and
``MultiDiscrete`` keys arrive one-hot encoded (floats), ``Box`` and ``MultiBinary`` keys as floats.
``ActformerExtractor`` undoes that (argmax of each one-hot block, rounding of the rest), so
``ActformerNetwork`` gets back the env's integers and computes exactly what it does natively.

``MaskableActformerPolicy`` is built on first use: sb3-contrib is a dev extra, not a dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule

from actformer_gym.agents.actformer import ActformerNetwork

__all__ = ["ActformerExtractor", "ActformerPolicy", "MaskableActformerPolicy"]  # noqa: F822 (lazy, see __getattr__)


class ActformerExtractor(BaseFeaturesExtractor):
    """``ActformerNetwork`` as an SB3 features extractor, fed the integers SB3's preprocessing hid.

    Args:
        observation_space: an Actformer env's ``Dict`` observation space.
        d_model: token width. heads: attention heads of the state encoder.
    """

    def __init__(self, observation_space: gym.spaces.Dict, d_model: int = 16, heads: int = 2) -> None:
        network = ActformerNetwork(observation_space, d_model, heads)
        super().__init__(observation_space, network.features_dim)
        self.network = network
        self.spaces = dict(observation_space.spaces)

    def forward(self, observations: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.network(self.integers(observations))

    def integers(self, observations: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """SB3-preprocessed observations back to the env's integer values (as int64)."""
        out = {}
        for key, value in observations.items():
            space = self.spaces[key]
            if isinstance(space, gym.spaces.Discrete):
                # (B, n) or, from a rollout buffer, (B, 1, n)
                out[key] = value.reshape(value.shape[0], int(space.n)).argmax(-1)
            elif isinstance(space, gym.spaces.MultiDiscrete):
                blocks = value.split(space.nvec.tolist(), dim=1)  # SB3 concatenates the one-hots
                out[key] = torch.stack([block.argmax(-1) for block in blocks], dim=1)
            else:  # Box, MultiBinary: floats of integers
                out[key] = value.round().long()
        return out


class _ActformerDefaults:
    """What the Actformer policies add to SB3's actor-critics: ``ActformerExtractor`` features, one
    hidden layer per head, and the extractor's own initialisation.

    SB3's ``ortho_init`` gives the MLP gain √2, the action head 0.01, the value head 1 (as CleanRL),
    but would also redraw every linear layer of the extractor at gain √2; the extractor keeps
    ``ActformerNetwork``'s init instead (gain 1 on attention projections).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Space,
        action_space: gym.spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        features_extractor_class: type[BaseFeaturesExtractor] = ActformerExtractor,
        **kwargs: Any,
    ) -> None:
        if net_arch is None:
            net_arch = {"pi": [64], "vf": [64]}
        super().__init__(  # type: ignore[call-arg]
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            features_extractor_class=features_extractor_class,
            **kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        extractors = {id(m): m for m in (self.pi_features_extractor, self.vf_features_extractor)}
        initial = [(m, {k: v.clone() for k, v in m.state_dict().items()}) for m in extractors.values()]
        super()._build(lr_schedule)  # type: ignore[misc]
        for module, state in initial:
            module.load_state_dict(state)


class ActformerPolicy(_ActformerDefaults, ActorCriticPolicy):
    """SB3 ``ActorCriticPolicy`` on Actformer features, for ``PPO`` and ``A2C``.

    Takes ``ActorCriticPolicy``'s arguments; ``net_arch`` defaults to ``dict(pi=[64], vf=[64])``, and
    ``policy_kwargs=dict(features_extractor_kwargs=dict(d_model=32, heads=4))`` sizes the network.
    """


def __getattr__(name: str) -> Any:
    """``MaskableActformerPolicy``, built (once) on first access, when sb3-contrib is installed."""
    if name != "MaskableActformerPolicy":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    except ImportError as error:
        raise ImportError(
            "MaskableActformerPolicy needs sb3-contrib: pip install sb3-contrib "
            "(or this package's dev extra: pip install -e '.[dev]')"
        ) from error

    class MaskableActformerPolicy(_ActformerDefaults, MaskableActorCriticPolicy):
        """sb3-contrib ``MaskableActorCriticPolicy`` on Actformer features, for ``MaskablePPO``:
        masked actions (``action_masks()`` False) get probability 0. Arguments as ``ActformerPolicy``.
        """

    MaskableActformerPolicy.__qualname__ = name  # picklable by reference, as actformer_gym.agents.sb3.<name>
    globals()[name] = MaskableActformerPolicy
    return MaskableActformerPolicy
