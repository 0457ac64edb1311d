"""The Actformer policy's own interface: shapes, masks, log-probs, devices, arguments, task ids."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from actformer_envs import NUM_ACTIONS
from actformer_gym.agents.actformer import ActformerPolicy, entropies, masked_logits, resolve_device
from actformer_gym.train.losses import masked_entropy, masked_kl


def _batch(env_id: str = "Actformer/Addition-v0", num_envs: int = 32, **kwargs: object):
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    obs, infos = envs.reset(seed=0)
    return envs, obs, infos["action_mask"]


@pytest.mark.parametrize("kwargs", [{}, {"history_length": 0}, {"obs_mode": "full"}])
def test_cleanrl_interface(kwargs: dict) -> None:
    envs, obs, mask = _batch(**kwargs)
    torch.manual_seed(0)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    logits, value = policy(obs)
    assert logits.shape == (32, NUM_ACTIONS) and value.shape == (32,)
    assert torch.equal(policy.get_value(obs), value)
    action, log_prob, entropy, value2 = policy.get_action_and_value(obs, action_mask=mask)
    assert action.shape == log_prob.shape == entropy.shape == value2.shape == (32,)
    assert mask[np.arange(32), action.numpy()].all()
    # Given actions are scored, not resampled; masked log-probs are a distribution over allowed ones.
    again, log_prob2, _, _ = policy.get_action_and_value(obs, action=action, action_mask=mask)
    assert torch.equal(again, action) and torch.allclose(log_prob, log_prob2)
    all_allowed = torch.arange(NUM_ACTIONS)[torch.from_numpy(np.array(mask[0]))]
    probs = torch.stack(
        [policy.get_action_and_value(obs, torch.full((32,), a), mask)[1].exp() for a in all_allowed.tolist()]
    ).sum(0)
    assert torch.allclose(probs, torch.ones(32), atol=1e-5)


def test_act_single_and_batched_agree() -> None:
    envs, obs, mask = _batch(num_envs=4)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    batched = policy.act(obs, mask)
    single = [policy.act({k: v[i] for k, v in obs.items()}, mask[i]) for i in range(4)]
    assert batched.tolist() == single and all(isinstance(a, int) for a in single)


def test_initialisation_is_cleanrl_like() -> None:
    envs, _, _ = _batch(num_envs=1)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    # Orthogonal heads: the policy head tiny (0.01), the value head unit gain.
    actor = policy.actor.weight.detach()
    assert torch.allclose(actor.T @ actor, 0.01**2 * torch.eye(actor.shape[1]), atol=1e-6)
    assert float(policy.critic.weight.detach().norm()) == pytest.approx(1.0, abs=1e-5)


def test_history_is_read() -> None:
    envs, obs, _ = _batch()
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    changed = {**obs, "history": np.zeros_like(obs["history"])}
    assert not torch.allclose(policy(obs)[0], policy(changed)[0])


@pytest.mark.parametrize("projected", [False, True])
def test_without_neighbours_the_policy_is_blind_beside_its_pointers(projected: bool) -> None:
    """``neighbours=False``: the cells left and right of every pointer change nothing, the cells
    under them do; ``view`` shows the former as 0; the policy's view travels in its state dict."""
    envs, obs, _ = _batch()
    reads = envs.unwrapped.mixture.read_masks() if projected else None
    torch.manual_seed(0)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu", reads=reads, neighbours=False)
    assert not policy.neighbours and ActformerPolicy(envs.single_observation_space, device="cpu").neighbours
    rng = np.random.default_rng(0)
    symbols = obs["symbols"]
    beside = np.arange(symbols.shape[1]) % 3 != 1  # (LEFT, UNDER, RIGHT) per pointer
    scrambled = symbols.copy()
    scrambled[:, beside] = rng.integers(0, 38, size=(len(symbols), int(beside.sum())))
    assert (scrambled != symbols).any()
    logits = policy(obs)[0]
    assert torch.equal(logits, policy({**obs, "symbols": scrambled})[0])
    under = symbols.copy()
    under[:, ~beside] = rng.integers(0, 38, size=(len(symbols), int((~beside).sum())))
    assert not torch.equal(logits, policy({**obs, "symbols": under})[0])
    seen = policy.view(obs)["symbols"]
    assert (seen[:, beside] == 0).all() and seen.dtype == symbols.dtype
    assert "under_cells" in policy.state_dict()
    with pytest.raises(TypeError, match="neighbours must be a bool"):
        ActformerPolicy(envs.single_observation_space, device="cpu", neighbours=0)  # type: ignore[arg-type]


def test_trains_after_a_first_forward_in_inference_mode() -> None:
    """Evaluating a fresh policy under ``torch.inference_mode()`` leaves nothing behind that a later
    training pass cannot save for backward (the history's rotations are made once and kept)."""
    envs, obs, _ = _batch(num_envs=4)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    with torch.inference_mode():
        evaluated = policy(obs)[0]
    logits, value = policy(obs)
    (logits.sum() + value.sum()).backward()
    assert torch.equal(logits.detach(), evaluated)
    assert all(p.grad is not None for p in policy.network.history.parameters())


def test_task_id_is_embedded_when_observed() -> None:
    envs, obs, _ = _batch(num_envs=8)
    space = gym.spaces.Dict({**envs.single_observation_space.spaces, "task": gym.spaces.Discrete(3)})
    policy = ActformerPolicy(space, device="cpu")
    logits = [policy({**obs, "task": np.full(8, task)})[0] for task in range(3)]
    assert not torch.allclose(logits[0], logits[1]) and not torch.allclose(logits[1], logits[2])


def test_device_auto_and_bad_arguments() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    envs, _, _ = _batch(num_envs=2)
    space = envs.single_observation_space
    assert ActformerPolicy(space).device.type == expected
    for kwargs, name in [
        ({"d_model": 0}, "d_model"),
        ({"heads": 0}, "heads"),
        ({"hidden": 1.5}, "hidden"),
        ({"d_model": 15}, "d_model"),
    ]:
        with pytest.raises(ValueError, match=name):
            ActformerPolicy(space, **kwargs)
    with pytest.raises(ValueError, match="observation_space"):
        ActformerPolicy(gym.spaces.Box(0, 1, (3,)))


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("Actformer/Addition-v0", {}),
        ("Actformer/Addition-v0", {"obs_mode": "full"}),
        ("Actformer/MultiTask-v0", {}),
    ],
)
def test_fast_lookups_are_the_embeddings_bit_for_bit(
    env_id: str, kwargs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lookup`` (index_select) and the cached rotations change no bit of the outputs or gradients:
    training with them is training without them."""
    from actformer_gym.agents import actformer

    envs, obs, mask = _batch(env_id, 64, **kwargs)
    torch.manual_seed(0)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    actions = torch.as_tensor(np.argmax(np.asarray(mask), axis=1))

    def outputs_and_gradients() -> list[torch.Tensor]:
        policy.zero_grad()
        _, log_prob, entropy, value = policy.get_action_and_value(obs, actions, mask)
        (log_prob.sum() + entropy.sum() + value.square().sum()).backward()
        gradients = [p.grad.clone() for p in policy.parameters() if p.grad is not None]
        return [log_prob.detach(), value.detach(), *gradients]

    fast = outputs_and_gradients()
    monkeypatch.setattr(actformer, "lookup", lambda table, indices: table(indices))
    monkeypatch.setattr(
        actformer.HistoryAttention,
        "rotations",
        lambda self, length, width, device: (
            actformer.rotary_angles(length, width).to(device).cos(),
            actformer.rotary_angles(length, width).to(device).sin(),
        ),
    )
    slow = outputs_and_gradients()
    assert len(fast) == len(slow) > 10
    assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))


def test_the_distribution_is_categoricals_over_the_allowed_actions() -> None:
    """``get_action_and_value`` scores actions as ``torch.distributions.Categorical`` does over the
    masked logits (log-probability and entropy, to float tolerance), with and without a mask."""
    envs, obs, mask = _batch(num_envs=64)
    torch.manual_seed(0)
    policy = ActformerPolicy(envs.single_observation_space, device="cpu")
    with torch.no_grad():
        for action_mask in (mask, None):
            logits = masked_logits(policy(obs)[0], action_mask, policy.device)
            reference = Categorical(logits=logits)
            action, log_prob, entropy, _ = policy.get_action_and_value(obs, action_mask=action_mask)
            torch.testing.assert_close(log_prob, reference.log_prob(action))
            torch.testing.assert_close(entropy, reference.entropy())
            if action_mask is not None:
                assert np.asarray(action_mask)[np.arange(64), action.numpy()].all()


def test_masked_entropy_and_kl_are_the_textbook_formulas() -> None:
    """The trainer's masked entropy and KL skip ``exp`` of the masked log-probabilities (a slow
    path of ATen's) and give the textbook formulas' values and gradients (to float tolerance: the
    same ``exp`` of the same allowed entries, so bit for bit where ATen's kernels are those of this
    project's machines)."""
    generator = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(256, NUM_ACTIONS, generator=generator)).requires_grad_()
    reference = 3 * torch.randn(256, NUM_ACTIONS, generator=generator)
    mask = torch.rand(256, NUM_ACTIONS, generator=generator) < 0.2
    mask[:, 0] = True

    def textbook() -> torch.Tensor:
        log_p = torch.log_softmax(masked_logits(logits, mask, logits.device), -1)
        entropy = -(log_p.exp() * log_p).where(mask, 0.0).sum(-1).mean()
        log_p = torch.log_softmax(masked_logits(logits, mask, logits.device), -1)  # (as masked_kl)
        log_q = torch.log_softmax(masked_logits(reference, mask, logits.device), -1)
        return entropy + (log_p.exp() * (log_p - log_q)).where(mask, 0.0).sum(-1).mean()

    def ours() -> torch.Tensor:
        log_p = torch.log_softmax(masked_logits(logits, mask, logits.device), -1)
        return masked_entropy(log_p, mask) + masked_kl(logits, reference, mask).mean()

    results = []
    for loss in (textbook, ours):
        logits.grad = None
        value = loss()
        value.backward()
        results.append((value.detach(), logits.grad.clone()))
    torch.testing.assert_close(results[1], results[0])


def _masked_batch(rows: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits of several scales (tiny to large), a reference, and a sparse mask, as a policy meets
    them."""
    generator = torch.Generator().manual_seed(seed)
    scale = torch.tensor([0.01, 1.0, 30.0, 300.0]).repeat_interleave(rows // 4)[:, None]
    logits = scale * torch.randn(rows, NUM_ACTIONS, generator=generator)
    reference = scale * torch.randn(rows, NUM_ACTIONS, generator=generator)
    mask = torch.rand(rows, NUM_ACTIONS, generator=generator) < 0.15
    mask[::3, 0] = True  # (some rows allow one action alone)
    mask[~mask.any(1), 1] = True
    return logits, reference, mask


def test_masked_logits_are_masked_fills_bit_for_bit() -> None:
    """``masked_logits`` (a vectorized add) gives ``masked_fill``'s values exactly, for tensors and
    NumPy masks alike, contiguous or not (the vector env's are a transposed view); masking twice
    changes nothing (no overflow to -inf)."""
    logits, _, mask = _masked_batch()
    minimum = torch.finfo(logits.dtype).min
    expected = logits.masked_fill(~mask, minimum)
    transposed = mask.T.contiguous().T
    assert not transposed.is_contiguous()
    for given in (mask, mask.numpy(), transposed, transposed.numpy()):
        masked = masked_logits(logits, given, logits.device)
        assert torch.equal(masked, expected) and masked.is_contiguous()
    assert torch.equal(masked_logits(masked, mask, logits.device), expected)
    assert masked_logits(logits, None, logits.device) is logits
    for dtype in (torch.float64, torch.float16):  # (float16's minimum absorbs little: masked_fill)
        low = logits.to(dtype)
        assert torch.equal(
            masked_logits(low, mask, low.device), low.masked_fill(~mask, torch.finfo(dtype).min)
        )
    with pytest.raises(TypeError, match="bool"):
        entropies(torch.log_softmax(logits, -1), mask.to(torch.uint8))


def test_masked_losses_are_the_where_formulas_bit_for_bit() -> None:
    """The policy's entropy and the trainer's masked entropy and KL, built from float masks, give
    the values and the gradients of the same formulas built from ``masked_fill`` and ``where`` (the
    bool-mask ops, several times slower on the CPU), exactly; and the rollout's normalized logits
    are ``Categorical``'s."""
    logits, reference, mask = _masked_batch()
    minimum = torch.finfo(logits.dtype).min

    taken = torch.multinomial(mask.float(), 1, generator=torch.Generator().manual_seed(1))

    def with_where(leaf: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(leaf.masked_fill(~mask, minimum), -1)
        chosen = log_p.gather(-1, taken).squeeze(-1)  # (the policy loss's log-probabilities)
        entropy = -(log_p.masked_fill(~mask, 0.0).exp() * log_p).where(mask, 0.0).sum(-1)
        log_p = torch.log_softmax(leaf.masked_fill(~mask, minimum), -1)  # (as masked_kl, its own)
        log_q = torch.log_softmax(reference.masked_fill(~mask, minimum), -1)
        kl = (log_p.masked_fill(~mask, 0.0).exp() * (log_p - log_q)).where(mask, 0.0).sum(-1)
        return torch.stack([chosen, entropy, kl])

    def ours(leaf: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(masked_logits(leaf, mask, leaf.device), -1)
        chosen = log_p.gather(-1, taken).squeeze(-1)
        return torch.stack([chosen, entropies(log_p, mask), masked_kl(leaf, reference, mask)])

    results = []
    for formula in (with_where, ours):
        leaf = logits.clone().requires_grad_()
        values = formula(leaf)
        (values * torch.tensor([[1.3], [0.3], [-0.7]])).sum().backward()
        results.append((values.detach(), leaf.grad))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    masked = masked_logits(logits, mask, logits.device)
    assert torch.equal(masked - masked.logsumexp(-1, keepdim=True), Categorical(logits=masked).logits)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"heads": True}, ValueError, "heads must be an int >= 1, got True"),
        ({"hidden": True}, ValueError, "hidden must be an int >= 1, got True"),
        ({"d_model": 0}, ValueError, "d_model must be an int >= 1, got 0"),
        ({"reads": 5}, TypeError, "reads must be None or a task's ReadMasks"),
        ({"reads": []}, TypeError, "reads must be None or a task's ReadMasks"),
    ],
    ids=["heads-bool", "hidden-bool", "d_model-0", "reads-int", "reads-list"],
)
def test_bad_constructor_arguments_name_the_parameter(kwargs: dict, error: type, words: str) -> None:
    space = gym.make("Actformer/Copy-v0").observation_space
    with pytest.raises(error, match=re.escape(words)):
        ActformerPolicy(space, device="cpu", **kwargs)
