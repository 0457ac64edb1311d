"""Every seed of a training run: ``config.seed`` plus the offset of the stream's name.

``SEED_OFFSETS`` is the one table; the offsets are far apart so that streams never share a seed
(a vector env of ``n`` envs reset with seed ``s`` seeds its envs ``s .. s + n - 1``). The streams:

==============  ======  ======================================================================
name            offset  seeds
==============  ======  ======================================================================
``run``              0  the policy's initialization (under ``torch.random.fork_rng``: torch's
                        global generator is left as it was); the trainer's ``torch.Generator``
                        (the RL rollouts' action draws and the minibatches' order); the training
                        env's reset; behaviour cloning on the expert data (its shuffling);
                        DAgger's ``np.random.Generator`` (its ``dagger_beta`` draws)
``expert_data``  10000  the env that collects the expert's (observation, action) pairs
``dagger``       20000  DAgger: round ``r`` (from 0) resets its env, and seeds the generator of
                        its action draws, with this seed ``+ (r + 1) * num_envs``, and retrains
                        with behaviour cloning seeded ``+ r + 1``
``evaluation``   30000  the evaluation env's problems (``Trainer.evaluate``, ``actformer eval``)
``set_fit``      40000  the minibatches of the fit on the verification set (``train.set_fit``; a
                        set no larger than a batch is fit whole, and this draws nothing)
==============  ======  ======================================================================

Every draw comes from a generator of its own, seeded here: nothing in training reads or moves
torch's or NumPy's global generators, so a run is the same whatever ran before it in the process,
and ``Trainer.state_dict`` saves the trainer's generators to resume exactly.
"""

from __future__ import annotations

#: Offset added to ``config.seed`` for each named stream (see the module docstring).
SEED_OFFSETS: dict[str, int] = {
    "run": 0,
    "expert_data": 10_000,
    "dagger": 20_000,
    "evaluation": 30_000,
    "set_fit": 40_000,
}


def seed_for(seed: int, stream: str) -> int:
    """The seed of ``stream`` (a key of ``SEED_OFFSETS``) in a run of seed ``seed``."""
    return seed + SEED_OFFSETS[stream]
