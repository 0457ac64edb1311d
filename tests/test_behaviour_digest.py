"""Every registered env behaves bit for bit as recorded in ``tests/data/behaviour_digests.json``.

The digests were recorded before the env's speed work and guard it: observations, rewards, ends and
infos of a seeded run (see ``behaviour_digest``), single and vector, under every reward and mask
mode. A deliberate change of behaviour bumps the affected ids and rewrites the file.
"""

from __future__ import annotations

import json

import pytest
from behaviour_digest import DIGESTS, SETTINGS, behaviour_digest
from helpers import actformer_specs

RECORDED: dict[str, str] = json.loads(DIGESTS.read_text())


def test_every_registered_id_and_setting_has_a_digest() -> None:
    expected = {"|".join((spec.id, *setting)) for spec in actformer_specs() for setting in SETTINGS}
    assert set(RECORDED) == expected


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_behaviour_is_as_recorded(key: str) -> None:
    env_id, face, reward_mode, mask_mode = key.split("|")
    assert behaviour_digest(env_id, face, reward_mode, mask_mode) == RECORDED[key]
