"""Shared fixtures: every env registered by ``actformer_envs``, collected from Gymnasium's registry."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import pytest
import torch
from helpers import actformer_specs

from actformer_envs.set_cache import CACHE_ENV

#: Every registered spec whose entry point lives in ``actformer_envs``.
SPECS = actformer_specs()
ENV_IDS = [spec.id for spec in SPECS]

assert ENV_IDS, "no actformer_envs env found in gymnasium.registry"


@pytest.fixture(params=ENV_IDS, ids=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    """Each registered Actformer env id in turn."""
    return request.param


@pytest.fixture(params=SPECS, ids=ENV_IDS)
def spec(request: pytest.FixtureRequest) -> gym.envs.registration.EnvSpec:
    """Each registered Actformer spec in turn."""
    return request.param


@pytest.fixture(autouse=True, scope="session")
def private_set_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Verification sets are cached on disk (``actformer_envs.set_cache``): the tests use a folder
    of their own, never the user's cache, and subprocesses inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("set_cache")))
        yield


def pytest_configure(config: pytest.Config) -> None:
    # NumPy's overflow / divide-by-zero / invalid-value warnings inside the envs are bugs: fail on them.
    config.addinivalue_line("filterwarnings", "error::RuntimeWarning")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Small models run fastest on one torch thread; two oversubscribe a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
