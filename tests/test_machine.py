"""Instruction semantics, held to a reference interpreter written from the documented table.

Most opcodes are masked out in every registered task, so these tests run a test-only task that allows
the whole table (``ActformerEnv(task=<Task subclass>)`` is public API), observe it through
``obs_mode="full"`` and compare every step, single and batched, with a plain-Python interpreter of the
semantics documented in ``actformer_envs/instructions.py``. Going through the env rather than the
``Machine`` class keeps these tests valid while the machine's internals are reworked; the batched
interpreter is exercised by ``test_vector_env_matches_reference`` (every env its own opcode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import pytest
from helpers import assert_obs_equal, ids_of_task

from actformer_envs import (
    INSTRUCTIONS,
    NO_ACTION,
    NUM_ACTIONS,
    ActformerEnv,
    ActformerVectorEnv,
    instruction_index,
    instruction_name,
)
from actformer_envs.instructions import MEMORY_SLOTS, VALUE_LIMIT
from actformer_envs.symbols import BLANK, EDGE
from actformer_envs.tasks import Addition


class Everything(Addition):
    """Addition's layout (P3 unused) with every instruction of the table allowed."""

    name = "Everything"
    allowed_instructions = tuple(ins.name for ins in INSTRUCTIONS)


class EverythingFourPointers(Everything):
    """The same with P3 bound to row A too, so that two pointers can share a row (and a cell)."""

    name = "EverythingFourPointers"
    pointer_rows = (0, 1, 2, 0)


I = instruction_index  # noqa: E741


def _env(task: type = Everything, base: int = 10, max_length: int = 60) -> ActformerEnv:
    return ActformerEnv(task=task, base=base, max_length=max_length, obs_mode="full")


# -- the reference interpreter -----------------------------------------------------------------


@dataclass
class Reference:
    """What one environment's full observation says about its machine, and how each documented
    instruction changes it."""

    base: int
    pointer_rows: tuple
    pad: np.ndarray  # (rows, width) symbols, EDGE beyond the problem's extent
    columns: list[int]
    slots: list[int]  # R0..R3, M0..M3
    carry: int
    compare: int
    last_action: int
    history: list[int] = field(default_factory=list)

    @classmethod
    def from_obs(cls, obs: dict, base: int, pointer_rows: tuple) -> Reference:
        return cls(
            base,
            pointer_rows,
            obs["scratchpad"].astype(np.int64).copy(),
            [int(c) for c in obs["pointers"]],
            [int(v) for v in (*obs["registers"], *obs["memory"])],
            int(obs["flags"][0]),
            int(obs["flags"][1]),
            int(obs["last_action"]),
            [int(a) for a in obs.get("history", [])],
        )

    def cell(self, p: int) -> int:
        row = self.pointer_rows[p]
        return EDGE if row is None else int(self.pad[row, self.columns[p]])

    def at(self, row: int | None, column: int) -> int:
        if row is None or not 0 <= column < self.pad.shape[1]:
            return EDGE
        return int(self.pad[row, column])

    def _move(self, p: int, delta: int) -> None:
        row = self.pointer_rows[p]
        if self.at(row, self.columns[p] + delta) != EDGE:
            self.columns[p] += delta

    def step(self, action: int) -> bool:
        """Run ``action``; returns whether it faulted (then nothing changed)."""
        name = instruction_name(action)
        op, *args = re.findall(r"[A-Z]+|\d+|LEFT|RIGHT", name.replace("->", " "))
        nums = [int(a) for a in args if a.isdigit()]
        clip = lambda v: max(-VALUE_LIMIT, min(VALUE_LIMIT, v))  # noqa: E731
        s = self.slots
        if op == "READ":
            value = self.cell(nums[0])
            s[nums[1]] = value if value < BLANK else 0
        elif op == "WRITE":
            r, p = nums
            if not 0 <= s[r] < self.base or self.cell(p) == EDGE:
                return True
            self.pad[self.pointer_rows[p], self.columns[p]] = s[r]
        elif op in ("ADD", "SUB", "MUL"):
            a, b = nums
            combined = {"ADD": s[a] + s[b], "SUB": s[a] - s[b], "MUL": s[a] * s[b]}[op]
            s[a], self.carry = clip(combined + self.carry), 0
        elif op == "CMP":
            a, b = nums
            self.compare = (s[a] > s[b]) - (s[a] < s[b])
        elif op == "CARRY":
            self.carry, s[nums[0]] = divmod(s[nums[0]], self.base)
        elif op == "MOVE":
            self._move(nums[0], -1 if name.endswith("LEFT") else 1)
        elif op == "ADVANCE":
            for p, row in enumerate(self.pointer_rows):
                if row is not None:
                    self._move(p, 1)
        elif op == "SWAP":
            a, b = nums
            if self.cell(a) == EDGE or self.cell(b) == EDGE:
                return True
            first, second = self.cell(a), self.cell(b)
            self.pad[self.pointer_rows[a], self.columns[a]] = second
            self.pad[self.pointer_rows[b], self.columns[b]] = first
        elif op == "LOAD":
            m, r = nums
            s[r] = s[MEMORY_SLOTS[m]]
        elif op == "STORE":
            r, m = nums
            s[MEMORY_SLOTS[m]] = s[r]
        elif op == "CLR":
            if name == "CLR C":
                self.carry = 0
            else:
                s[nums[0]] = 0
        elif op in ("INC", "DEC"):
            s[nums[0]] = clip(s[nums[0]] + (1 if op == "INC" else -1))
        elif op != "HALT":
            raise AssertionError(f"the reference does not know {name!r}")
        self.last_action = action
        if self.history:
            self.history = [*self.history[1:], action]
        return False

    def expected_obs(self) -> dict[str, np.ndarray]:
        symbols, boundaries = [], []
        for p, row in enumerate(self.pointer_rows):
            column = self.columns[p]
            window = [self.at(row, column + d) for d in (-1, 0, 1)]
            symbols += window
            boundaries += [window[0] == EDGE, window[2] == EDGE]
        obs = {
            "symbols": np.array(symbols),
            "boundaries": np.array(boundaries, dtype=np.int64),
            "registers": np.array(self.slots[:4]),
            "memory": np.array(self.slots[4:]),
            "flags": np.array([self.carry, self.compare]),
            "last_action": np.array(self.last_action),
            "scratchpad": self.pad,
            "pointers": np.array(self.columns),
        }
        if self.history:
            obs["history"] = np.array(self.history)
        return obs


def _biased_actions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform over the table, but HALT rarer, so that episodes run long enough to build up values."""
    actions = rng.integers(0, NUM_ACTIONS, n)
    halts = actions == I("HALT")
    actions[halts] = np.where(rng.random(halts.sum()) < 0.3, I("HALT"), I("INC R0"))
    return actions


def test_reference_parses_every_instruction() -> None:
    ref = Reference(10, (0, 1, 2, None), np.full((3, 4), BLANK), [0, 0, 0, 0], [0] * 8, 0, 0, NO_ACTION)
    for action in range(NUM_ACTIONS):
        ref.step(action)


@pytest.mark.parametrize("task", [Everything, EverythingFourPointers], ids=lambda t: t.name)
@pytest.mark.parametrize("base", [2, 10, 36])
def test_single_env_matches_reference(task: type, base: int) -> None:
    env = _env(task, base)
    rng = np.random.default_rng(base)
    obs, _ = env.reset(seed=base)
    ref = Reference.from_obs(obs, base, task.pointer_rows)
    faults = ends = 0
    for step, action in enumerate(_biased_actions(rng, 3000)):
        fault = ref.step(int(action))
        obs, _, terminated, truncated, info = env.step(int(action))
        where = f"step {step}: {instruction_name(int(action))}"
        assert info["invalid_action"] is fault, where
        assert_obs_equal(obs, ref.expected_obs(), where)
        assert terminated == (instruction_name(int(action)) == "HALT")
        faults += fault
        if terminated or truncated:
            ends += 1
            obs, _ = env.reset()
            ref = Reference.from_obs(obs, base, task.pointer_rows)
    assert faults > 20 and ends > 5


@pytest.mark.parametrize("num_envs", [2, 7])
def test_vector_env_matches_reference(num_envs: int) -> None:
    """The batched interpreter: every env of a batch issues its own instruction on every step."""
    base, task = 10, EverythingFourPointers
    vec = ActformerVectorEnv(num_envs=num_envs, task=task, obs_mode="full")
    rng = np.random.default_rng(num_envs)
    obs, _ = vec.reset(seed=0)
    rows = [{k: v[i] for k, v in obs.items()} for i in range(num_envs)]
    refs = [Reference.from_obs(row, base, task.pointer_rows) for row in rows]
    restart = [False] * num_envs
    for step in range(600):
        actions = _biased_actions(rng, num_envs)
        obs, _rewards, terminated, truncated, info = vec.step(actions)
        for i in range(num_envs):
            row = {k: v[i] for k, v in obs.items()}
            if restart[i]:
                refs[i] = Reference.from_obs(row, base, task.pointer_rows)
                restart[i] = False
                continue
            fault = refs[i].step(int(actions[i]))
            where = f"step {step} env {i}: {instruction_name(int(actions[i]))}"
            assert bool(info["invalid_action"][i]) is fault, where
            assert_obs_equal(row, refs[i].expected_obs(), where)
            restart[i] = bool(terminated[i] or truncated[i])


# -- hand-picked programs ----------------------------------------------------------------------


def _run(env: ActformerEnv, names: list[str]) -> tuple[dict, dict]:
    obs, info = None, None
    for name in names:
        obs, _, terminated, truncated, info = env.step(I(name))
        assert not terminated and not truncated, name
    return obs, info


def test_read_of_blank_is_zero() -> None:
    env = _env()
    env.reset(options={"problem": (5, 123)})
    obs, _ = _run(env, ["READ P1->R0"])
    assert obs["registers"][0] == 3
    obs, _ = _run(env, ["MOVE P0 RIGHT", "READ P0->R0"])
    assert obs["symbols"][1] == BLANK and obs["registers"][0] == 0


def test_add_uses_and_clears_the_carry() -> None:
    env = _env()
    env.reset(options={"problem": (19, 18)})
    obs, _ = _run(env, ["READ P0->R0", "READ P1->R1", "ADD R0,R1"])
    assert obs["registers"][0] == 17 and obs["flags"][0] == 0
    obs, _ = _run(env, ["CARRY R0"])
    assert obs["registers"][0] == 7 and obs["flags"][0] == 1
    obs, _ = _run(env, ["ADVANCE", "READ P0->R0", "READ P1->R1", "ADD R0,R1"])
    assert obs["registers"][:2].tolist() == [3, 1] and obs["flags"][0] == 0


def test_sub_with_borrow() -> None:
    env = _env()
    env.reset(options={"problem": (13, 5)})
    obs, _ = _run(env, ["READ P0->R0", "READ P1->R1", "SUB R0,R1"])
    assert obs["registers"][0] == -2
    obs, _ = _run(env, ["CARRY R0"])
    assert obs["registers"][0] == 8 and obs["flags"][0] == -1  # floor: a borrow is C = -1
    obs, _ = _run(env, ["WRITE R0->P2", "ADVANCE", "READ P0->R0", "READ P1->R1", "SUB R0,R1"])
    assert obs["registers"][0] == 0 and obs["flags"][0] == 0  # 1 - 0 - 1
    assert obs["scratchpad"][2, 0] == 8


CARRY_CASES = [
    (10, -2, 8, -1), (7, -2, 5, -1), (10, -15, 5, -2), (10, 17, 7, 1), (2, 3, 1, 1), (36, 35, 35, 0)
]  # fmt: skip


@pytest.mark.parametrize(("base", "value", "digit", "carry"), CARRY_CASES)
def test_carry_is_floor_division(base: int, value: int, digit: int, carry: int) -> None:
    env = _env(base=base)
    env.reset(options={"problem": (0, base**50)})  # a long problem: time for many steps
    # Build ``value`` from INC/DEC.
    names = ["INC R0" if value > 0 else "DEC R0"] * abs(value)
    obs, _ = _run(env, [*names, "CARRY R0"])
    assert obs["registers"][0] == digit and obs["flags"][0] == carry


def test_mul_and_cmp() -> None:
    env = _env()
    env.reset(options={"problem": (10**40 + 7, 8)})
    obs, _ = _run(env, ["READ P0->R0", "READ P1->R1", "CMP R0,R1"])
    assert obs["flags"][1] == -1
    obs, _ = _run(env, ["MUL R0,R1"])
    assert obs["registers"][0] == 56
    obs, _ = _run(env, ["CMP R0,R1"])
    assert obs["flags"][1] == 1
    obs, _ = _run(env, ["READ P1->R0", "CMP R0,R1"])
    assert obs["flags"][1] == 0
    obs, _ = _run(env, ["INC R2", "INC R2", "CARRY R2", "MUL R0,R1"])  # C = 0, then 8 * 8 + 0
    assert obs["registers"][0] == 64
    obs, _ = _run(
        env,
        [
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "INC R2",
            "CARRY R2",
            "MUL R1,R3",
        ],
    )  # C = 1: 8 * 0 + 1
    assert obs["registers"][1] == 1 and obs["flags"][0] == 0


def test_saturation() -> None:
    env = _env(base=36)
    env.reset(options={"problem": (35, 35)})
    obs, _ = _run(env, ["READ P0->R0", "READ P1->R1", "MUL R0,R1"])
    assert obs["registers"][0] == 1225
    obs, _ = _run(env, ["MUL R0,R1"])
    assert obs["registers"][0] == VALUE_LIMIT
    obs, _ = _run(env, ["MUL R0,R1", "INC R0", "ADD R0,R1"])
    assert obs["registers"][0] == VALUE_LIMIT
    obs, _ = _run(env, ["SUB R2,R0"])
    assert obs["registers"][2] == -VALUE_LIMIT
    obs, _ = _run(env, ["SUB R2,R0", "DEC R2"])
    assert obs["registers"][2] == -VALUE_LIMIT
    assert obs in env.observation_space
    obs, _ = _run(env, ["CARRY R2"])  # floor(-4095 / 36) = -114, -4095 mod 36 = 9
    assert obs["registers"][2] == 9 and obs["flags"][0] == -114


def test_load_store_clear_inc_dec() -> None:
    env = _env()
    env.reset(options={"problem": (10**40 + 7, 3)})
    obs, _ = _run(env, ["READ P0->R0", "STORE R0->M2", "CLR R0", "LOAD M2->R3", "INC R3", "DEC R1"])
    assert obs["memory"].tolist() == [0, 0, 7, 0]
    assert obs["registers"].tolist() == [0, -1, 0, 8]
    obs, _ = _run(env, ["INC R2"] * 12 + ["CARRY R2"])
    assert obs["registers"][2] == 2 and obs["flags"][0] == 1
    obs, _ = _run(env, ["INC R1", "INC R1", "CARRY R1"])  # R1 = 1: its carry 0 replaces the old 1
    assert obs["registers"][1] == 1 and obs["flags"][0] == 0
    obs, _ = _run(env, ["INC R2"] * 9 + ["CARRY R2"])
    assert obs["flags"][0] == 1
    obs, _ = _run(env, ["CLR C"])
    assert obs["flags"][0] == 0
    obs, _ = _run(env, ["CLR R2", "CLR R3", "INC R1"])
    assert obs["registers"].tolist() == [0, 2, 0, 0] and obs["memory"].tolist() == [0, 0, 7, 0]


@pytest.mark.parametrize("env_id", ids_of_task("Addition"))
def test_write_of_a_non_digit_faults_in_registered_addition(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full").unwrapped
    env.reset(options={"problem": (9, 8)})
    before, _ = _run(env, ["READ P0->R0", "READ P1->R1", "ADD R0,R1"])
    assert before["registers"][0] == 17
    obs, _reward, terminated, truncated, info = env.step(I("WRITE R0->P2"))
    assert info["invalid_action"] is True and not terminated and not truncated
    assert_obs_equal(obs, before)
    obs, _ = _run(env, ["CARRY R0", "WRITE R0->P2"])
    assert obs["scratchpad"][2, 0] == 7


def test_write_faults() -> None:
    env = _env()
    env.reset(options={"problem": (3, 5)})
    before, _ = _run(env, ["READ P0->R0", "READ P1->R1", "SUB R0,R1"])  # R0 = -2
    for name in ("WRITE R0->P2", "WRITE R1->P3", "SWAP P0,P3", "SWAP P1,P3"):  # negative, unused pointer
        obs, _, _, _, info = env.step(I(name))
        assert info["invalid_action"] is True, name
        assert_obs_equal(obs, before, name)
    obs, _, _, _, info = env.step(I("WRITE R1->P2"))
    assert info["invalid_action"] is False and obs["scratchpad"][2, 0] == 5


def test_swap() -> None:
    env = _env(EverythingFourPointers)
    env.reset(options={"problem": (21, 3)})
    obs, _ = _run(env, ["SWAP P0,P1"])
    assert obs["scratchpad"][:2, :2].tolist() == [[3, 2], [1, BLANK]]
    obs, _ = _run(env, ["SWAP P0,P3"])  # the same cell: nothing changes
    assert obs["scratchpad"][0, :2].tolist() == [3, 2]
    obs, _ = _run(env, ["MOVE P3 RIGHT", "SWAP P0,P3"])
    assert obs["scratchpad"][0, :2].tolist() == [2, 3]
    assert obs["symbols"][1] == 2 and obs["symbols"][10] == 3


def test_move_blocked_at_edges_and_advance() -> None:
    env = _env()
    env.reset(options={"problem": (12, 3)})  # length 2: rows have 3 columns
    obs, info = _run(env, ["MOVE P0 LEFT"])
    assert obs["pointers"].tolist() == [0, 0, 0, 0] and info["invalid_action"] is False
    assert obs["boundaries"].tolist() == [1, 0, 1, 0, 1, 0, 1, 1]
    obs, _ = _run(env, ["ADVANCE"])
    assert obs["pointers"].tolist() == [1, 1, 1, 0]  # every bound pointer; P3 is unused
    obs, _ = _run(env, ["MOVE P1 RIGHT", "MOVE P1 RIGHT", "MOVE P1 RIGHT"])
    assert obs["pointers"].tolist() == [1, 2, 1, 0]
    assert obs["boundaries"][2:4].tolist() == [0, 1]
    obs, _ = _run(env, ["ADVANCE", "ADVANCE"])
    assert obs["pointers"].tolist() == [2, 2, 2, 0]  # each pointer stops at its row's end
    obs, _ = _run(env, ["MOVE P3 LEFT", "MOVE P3 RIGHT"])
    assert obs["pointers"][3] == 0 and obs["symbols"][9:].tolist() == [EDGE] * 3
    obs, _ = _run(env, ["MOVE P2 LEFT", "MOVE P2 LEFT", "MOVE P2 LEFT"])
    assert obs["pointers"].tolist() == [2, 2, 0, 0]


def test_halt_ends_the_episode_and_scores_the_output() -> None:
    env = ActformerEnv(task=Everything, reward_mode="sparse")
    env.reset(options={"problem": (4, 5)})
    _run(env, ["READ P0->R0", "READ P1->R1", "ADD R0,R1", "WRITE R0->P2"])
    _, reward, terminated, truncated, info = env.step(I("HALT"))
    assert terminated and not truncated and reward == 1.0 and info["is_success"] and info["output"] == 9
    env.reset(options={"problem": (4, 5)})
    _, reward, terminated, _, info = env.step(I("HALT"))
    assert terminated and reward == 0.0 and not info["is_success"] and info["output"] is None


# -- the instruction table ---------------------------------------------------------------------


def test_instruction_table() -> None:
    assert len(INSTRUCTIONS) == NUM_ACTIONS == 139
    names = [ins.name for ins in INSTRUCTIONS]
    assert len(set(names)) == len(names)
    for i, name in enumerate(names):
        assert instruction_index(name) == i
        assert instruction_name(i) == name
    assert instruction_name(NO_ACTION) == "-"
    for bad in ("NOPE", "read p0->r0", "", "ADD R0,R0"):
        with pytest.raises(ValueError):
            instruction_index(bad)
    ops = {name.split()[0] for name in names}
    assert ops == {
        "HALT",
        "READ",
        "WRITE",
        "ADD",
        "SUB",
        "MUL",
        "CMP",
        "CARRY",
        "MOVE",
        "ADVANCE",
        "SWAP",
        "LOAD",
        "STORE",
        "CLR",
        "INC",
        "DEC",
    }


def test_task_masks_allow_what_their_experts_use() -> None:
    from actformer_envs import TASKS

    for name, task_class in TASKS.items():
        task = task_class(task_class.default_base)
        assert task.action_mask.shape == (NUM_ACTIONS,) and task.action_mask.dtype == bool
        assert {instruction_name(i) for i in np.flatnonzero(task.action_mask)} == set(
            task.allowed_instructions
        ), name
