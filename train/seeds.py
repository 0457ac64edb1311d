"""Every seed of a training run: ``config.seed`` plus the offset of the stream's name.

``SEED_OFFSETS`` is the one table; the offsets are far apart so that streams never share a seed
(a vector env of ``n`` envs reset with seed ``s`` seeds its envs ``s .. s + n - 1``). The streams:

==============  ======  ======================================================================
name            offset  seeds
==============  ======  ======================================================================
``run``              0  torch's and NumPy's global generators (``torch.manual_seed``,
                        ``np.random.seed``); the training env's reset; behaviour cloning on
                        the expert data (its shuffling, and it re-seeds torch's global
                        generator); DAgger's ``np.random.Generator`` (its ``dagger_beta`` draws)
``expert_data``  10000  the env that collects the expert's (observation, action) pairs
``dagger``       20000  DAgger: round ``r`` (from 0) resets its env with this seed
                        ``+ (r + 1) * num_envs`` and retrains with behaviour cloning seeded
                        ``+ r + 1``
``evaluation``   30000  the evaluation env's problems (``Trainer.evaluate``, ``actformer eval``)
==============  ======  ======================================================================

What still draws from torch's global generator, and why: the policy's weight initialization
(``agents/actformer.py`` builds its layers with ``torch.nn.init``, which takes no generator), the
action sampling of DAgger's and RL's rollouts (``Categorical.sample``) and the shuffling of the
RL minibatches (``torch.randperm``). ``behaviour_cloning`` re-seeds that generator (its documented
``seed`` contract), so RL after a warm start continues the stream from the last behaviour
cloning's seed. Drawing these from a ``torch.Generator`` of their own would change which numbers
each draw gets, hence every trained parameter; ``Trainer.state_dict`` saves the global states
(torch, CUDA, NumPy) so that a resumed run continues them exactly. NumPy's global generator is
seeded only for third-party code: nothing in this project draws from it.
"""

from __future__ import annotations

#: Offset added to ``config.seed`` for each named stream (see the module docstring).
SEED_OFFSETS: dict[str, int] = {
    "run": 0,
    "expert_data": 10_000,
    "dagger": 20_000,
    "evaluation": 30_000,
}


def seed_for(seed: int, stream: str) -> int:
    """The seed of ``stream`` (a key of ``SEED_OFFSETS``) in a run of seed ``seed``."""
    return seed + SEED_OFFSETS[stream]
