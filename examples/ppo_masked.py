"""Single-file PPO with action masking on the native vector env, in the style of CleanRL.

    python examples/ppo_masked.py --env-id Actformer/Copy-v0 --total-timesteps 200000

Everything is in this file: an MLP actor-critic over the flat observation (``FlatVectorObservation``),
masked logits (a masked-out instruction gets probability 0, so no step is spent on one), GAE and
the clipped PPO update. A from-scratch baseline to read and modify, not the project's trainer
(``actformer train``), which adds the Actformer network, imitation and a curriculum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import tyro
from torch.distributions import Categorical

from actformer_envs import FlatVectorObservation


@dataclass
class Args:
    env_id: str = "Actformer/Copy-v0"
    """the registered id of the task"""
    max_length: int = 3
    """the longest problem the env poses"""
    seed: int = 1
    total_timesteps: int = 200_000
    num_envs: int = 16
    num_steps: int = 128
    """steps per env per rollout"""
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    clip_coef: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_size: int, num_actions: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_size, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0),
        )  # fmt: skip
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_size, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, num_actions), std=0.01),
        )  # fmt: skip

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(
        self, obs: torch.Tensor, mask: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(action, its log-probability, entropy, value); masked-out actions get probability 0."""
        logits = self.actor(obs).masked_fill(~mask, torch.finfo(torch.float32).min)
        dist = Categorical(logits=logits)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(obs)


def check(args: Args) -> None:
    """Stop with one line on settings this file cannot run (tyro has checked the types)."""
    if args.env_id not in gym.registry:
        raise SystemExit(
            f"error: --env-id must be a registered env id such as Actformer/Copy-v0, got {args.env_id!r}"
        )
    for name in ("max_length", "num_envs", "num_steps", "num_minibatches", "update_epochs"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    rollout = args.num_envs * args.num_steps
    if args.total_timesteps < rollout:
        raise SystemExit(
            f"error: --total-timesteps must be >= one rollout ({rollout}), got {args.total_timesteps}"
        )
    if args.num_minibatches > rollout:
        raise SystemExit(
            f"error: --num-minibatches must be <= the rollout ({rollout}), got {args.num_minibatches}"
        )


def main(args: Args) -> None:
    check(args)
    torch.manual_seed(args.seed)
    envs = FlatVectorObservation(
        gym.make_vec(args.env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point",
                     max_length=args.max_length)
    )  # fmt: skip
    agent = Agent(envs.single_observation_space.shape[0], int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    shape = (args.num_steps, args.num_envs)
    obs_buf = torch.zeros((*shape, envs.single_observation_space.shape[0]))
    mask_buf = torch.zeros((*shape, int(envs.single_action_space.n)), dtype=torch.bool)
    actions, logprobs, rewards, dones, values = (torch.zeros(shape) for _ in range(5))
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches

    obs_np, info = envs.reset(seed=args.seed)
    obs, mask = torch.from_numpy(obs_np), torch.from_numpy(np.array(info["action_mask"]))
    done = torch.zeros(args.num_envs)
    solved = episodes = global_step = 0
    start = time.time()
    for iteration in range(1, args.total_timesteps // batch_size + 1):
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_buf[step], mask_buf[step], dones[step] = obs, mask, done
            with torch.no_grad():
                action, logprob, _, value = agent.act(obs, mask)
            actions[step], logprobs[step], values[step] = action, logprob, value
            obs_np, reward, terminated, truncated, info = envs.step(action.numpy())
            # NEXT_STEP autoreset: the step after an episode ends only resets (reward 0); its action
            # is ignored, so the transition is harmless to learn from.
            rewards[step] = torch.from_numpy(reward).float()
            obs, mask = torch.from_numpy(obs_np), torch.from_numpy(np.array(info["action_mask"]))
            done = torch.from_numpy(terminated | truncated).float()
            if "is_success" in info:
                ended = info["_is_success"]
                solved, episodes = solved + int(info["is_success"][ended].sum()), episodes + int(ended.sum())

        with torch.no_grad():  # generalized advantage estimation
            next_value = agent.value(obs)
            advantages = torch.zeros(shape)
            last = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                next_nonterminal = 1.0 - (done if t == args.num_steps - 1 else dones[t + 1])
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * next_nonterminal - values[t]
                last = delta + args.gamma * args.gae_lambda * next_nonterminal * last
                advantages[t] = last
            returns = advantages + values

        b_obs, b_mask = obs_buf.reshape(batch_size, -1), mask_buf.reshape(batch_size, -1)
        b_actions, b_logprobs = actions.reshape(-1).long(), logprobs.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            for batch in torch.randperm(batch_size).split(minibatch_size):
                _, logprob, entropy, value = agent.act(b_obs[batch], b_mask[batch], b_actions[batch])
                ratio = (logprob - b_logprobs[batch]).exp()
                adv = b_advantages[batch]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef))
                v_loss = 0.5 * (value - b_returns[batch]).pow(2).mean()
                loss = pg_loss.mean() - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
        rate = solved / max(episodes, 1)
        print(
            f"iteration {iteration}: {global_step} env-steps, {episodes} episodes ended, "
            f"solved {rate:.3f} (sampled actions), {int(global_step / (time.time() - start))} steps/s",
            flush=True,
        )
        solved = episodes = 0


if __name__ == "__main__":
    main(tyro.cli(Args))
