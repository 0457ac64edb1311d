"""Draw the animated GIF of the README: the shipped Addition policy (``pretrained:Addition``, trained
on at most 3 digits) adding two 20-digit numbers, one frame per instruction (``render_mode="rgb_array"``).

    python -m scripts.addition_gif            # writes docs/assets/addition.gif
    python -m scripts.addition_gif --digits 30 --out /tmp/addition.gif
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image

from actformer_gym.train.checkpoint import load_checkpoint
from actformer_gym.train.runs import load_policy, saved_config

OUT = Path(__file__).resolve().parents[1] / "docs" / "assets" / "addition.gif"
#: Milliseconds each frame shows; the last one holds longer.
FRAME_MS, LAST_MS = 90, 2500


def frames(digits: int, seed: int) -> list[np.ndarray]:
    """The frames of the policy solving one random ``digits``-digit addition (greedy actions)."""
    payload = load_checkpoint("pretrained:Addition")
    config = saved_config(payload)
    policy = load_policy(payload, config, device="cpu")
    env = gym.make(
        config.env.env_id, max_length=digits, render_mode="rgb_array", **config.env.observation_kwargs()
    )
    observation, info = env.reset(seed=seed, options={"length": digits})
    shown = [env.render()]
    while True:
        action = policy.act(observation, info["action_mask"])
        observation, _, terminated, truncated, info = env.step(action)
        shown.append(env.render())
        if terminated or truncated:
            break
    if not info["is_success"]:
        raise SystemExit(f"the policy did not solve the problem (seed {seed}): nothing written")
    env.close()
    return shown


def write_gif(images: Sequence[np.ndarray], path: Path) -> None:
    """``images`` as a looping GIF at ``path``, one shared palette (small files, no dithering noise)."""
    pictures = [Image.fromarray(image) for image in images]
    palette = pictures[len(pictures) // 2].quantize(colors=32, dither=Image.Dither.NONE)
    quantized = [picture.quantize(palette=palette, dither=Image.Dither.NONE) for picture in pictures]
    durations = [FRAME_MS] * (len(quantized) - 1) + [LAST_MS]
    path.parent.mkdir(parents=True, exist_ok=True)
    quantized[0].save(
        path, save_all=True, append_images=quantized[1:], duration=durations, loop=0, optimize=True
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--digits", type=int, default=20, help="digits of each operand (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem (default 0)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write it (default {OUT})")
    args = parser.parse_args(argv)
    if args.digits < 1:
        parser.error(f"--digits must be >= 1, got {args.digits}")
    images = frames(args.digits, args.seed)
    write_gif(images, args.out)
    print(f"wrote {args.out} ({len(images)} frames, {args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
