"""Counter-based randomness: every problem drawn from a key that depends on nothing else.

Each environment has a 64-bit seed (taken from its own ``np_random``); the problem of its episode j
is drawn from ``problem_key(seed, j)`` by hashing (key, counter) with SplitMix64. So a batch of N
environments and N single environments seeded alike draw identical problems, at any batch size, in
any order, and without a Python loop.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31, _S32 = (np.uint64(s) for s in (27, 30, 31, 32))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser of ``x + golden``: a bijective, well-mixed hash of uint64 arrays."""
    # Array arithmetic on uint64 wraps silently, which is what the hash wants.
    z = x + _GOLDEN  # the one new array: the rest runs in place
    z ^= z >> _S30
    z *= _MIX1
    z ^= z >> _S27
    z *= _MIX2
    z ^= z >> _S31
    return z


def problem_keys(seeds: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """The key of episode ``episodes[i]`` of the environment seeded ``seeds[i]``."""
    return splitmix64(seeds ^ splitmix64(episodes.astype(np.uint64)))


class BatchRandom:
    """Uniform draws for a batch of problems, one independent key per row."""

    def __init__(self, keys: np.ndarray) -> None:
        self._keys = np.asarray(keys, dtype=np.uint64)[:, None]
        self._counter = 0

    def __len__(self) -> int:
        return len(self._keys)

    def take(self, rows: np.ndarray) -> BatchRandom:
        """The draws of some rows only: each row continues exactly as it would have here."""
        taken = BatchRandom(self._keys[rows, 0])
        taken._counter = self._counter
        return taken

    def _bits(self, columns: int) -> np.ndarray:
        offsets = np.arange(self._counter, self._counter + columns, dtype=np.uint64)
        self._counter += columns
        return splitmix64(self._keys ^ splitmix64(offsets))

    def integers(self, high: int | np.ndarray, columns: int = 1) -> np.ndarray:
        """An int64 array (rows, columns) uniform in ``[0, high)``.

        ``high`` is a scalar, one bound per row (rows,), or one per draw (rows, columns).
        """
        high = np.asarray(high, dtype=np.uint64)
        if high.ndim == 1:
            high = high[:, None]
        # Each 64-bit hash gives two 32-bit draws; Lemire's multiply-shift maps one to [0, high)
        # without a modulo (bias below 2**-32 * high).
        # (One multiply straight into uint64, then in place: a cast of the strided uint32 view
        # would cost several times the hashing.)
        draws = self._bits((columns + 1) // 2).view(np.uint32)[:, :columns]
        scaled = np.multiply(draws, high, dtype=np.uint64)
        scaled >>= _S32
        return scaled.view(np.int64)  # below 2**32: the same values
