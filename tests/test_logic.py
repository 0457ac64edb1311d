"""Logic: each gate is computed by its fixed program on the machine, right for every input pair, and
the expert's actions depend on the gates only, never on the bits."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from helpers import run_expert
from oracles.logic import GATES as TRUTH
from oracles.logic import PROGRAM_STEPS, final_bit

from actformer_envs import instruction_index, instruction_name
from actformer_envs.tasks.logic import GATES, Logic

PAIRS = list(itertools.product((0, 1), repeat=2))
SETUP = ["MOVE P1 RIGHT", "MOVE P2 RIGHT"]


def _env(max_length: int = 12) -> gym.Env:
    return gym.make("Actformer/Logic-v0", max_length=max_length, obs_mode="full")


def test_the_ten_gates_are_the_non_trivial_two_input_functions() -> None:
    tables = {tuple(int(bool(f(x, y))) for x, y in PAIRS) for f in TRUTH}
    # The constants 0 and 1, and x, not x, y, not y (tables over (x, y) = 00, 01, 10, 11).
    trivial = {(0, 0, 0, 0), (1, 1, 1, 1), (0, 0, 1, 1), (1, 1, 0, 0), (0, 1, 0, 1), (1, 0, 1, 0)}
    assert len(tables) == 10 and not tables & trivial
    for gate, (name, truth, program, _) in enumerate(GATES):
        assert [truth[x][y] for x, y in PAIRS] == [int(bool(TRUTH[gate](x, y))) for x, y in PAIRS], name
        assert len(program) == PROGRAM_STEPS[gate], name


def test_programs_use_distinct_allowed_instructions() -> None:
    """The expert finds its place in a program from the gate in view and the last action alone."""
    for name, _, program, _ in GATES:
        assert len(set(program)) == len(program), name
        assert set(program) <= set(Logic.allowed_instructions), name
        assert not {"READ P0->R0", "READ P1->R1", "ADVANCE"} & set(program), name


@pytest.mark.parametrize("gate", range(10))
def test_gate_program_computes_the_gate(gate: int) -> None:
    """Run the gate's program by hand after READ y->R0, READ x->R1: the result register holds the gate's
    value for all 4 input pairs, the carry is cleared, and every instruction executes."""
    name, _, program, result = GATES[gate]
    env = _env()
    for x, y in PAIRS:
        env.reset(options={"problem": (y, x, [gate])})
        for instruction in [*SETUP, "READ P0->R0", "READ P1->R1", "ADVANCE", *program]:
            obs, _, _, _, info = env.step(instruction_index(instruction))
            assert not info["invalid_action"], (name, instruction)
        assert obs["registers"][result] == int(bool(TRUTH[gate](x, y))), (name, x, y, obs["registers"])
        assert obs["flags"][0] == 0, (name, x, y)


def test_every_pair_of_gates_on_every_input_pair() -> None:
    """Each program is right whatever gate ran before it (the state it leaves behind)."""
    env = _env()
    for first, second in itertools.product(range(10), repeat=2):
        for b0, b1 in PAIRS:
            _, _, info, _ = run_expert(env, options={"problem": (b0, b1, [first, second])})
            assert info["is_success"] and info["output"] == final_bit(b0, b1, [first, second])


def _expert_actions(env: gym.Env, problem: tuple) -> tuple[list[str], np.ndarray]:
    env.reset(options={"problem": problem})
    actions = []
    while True:
        action = int(env.unwrapped.expert_action())
        actions.append(instruction_name(action))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return actions, obs["scratchpad"][0]


def test_expert_program_depends_on_the_gates_only() -> None:
    """Same gates, any bits: the same instructions, the documented ones; the chain is left on BITS."""
    env = _env(30)
    rng = np.random.default_rng(0)
    for gates in [[g] for g in range(10)] + [rng.integers(0, 10, 25).tolist() for _ in range(4)]:
        expected = list(SETUP)
        for g in gates:
            _, _, program, result = GATES[g]
            expected += ["READ P0->R0", "READ P1->R1", "ADVANCE", *program, f"WRITE R{result}->P1"]
        expected += [f"WRITE R{GATES[gates[-1]][3]}->P3", "HALT"]
        for b0, b1 in PAIRS:
            actions, bits = _expert_actions(env, (b0, b1, gates))
            assert actions == expected, (gates, b0, b1)
            chain = [final_bit(b0, b1, gates[:i]) for i in range(len(gates) + 1)]
            assert bits[: len(gates) + 2].tolist() == [b0, *chain], (gates, b0, b1)


def test_output_is_a_bit_or_none() -> None:
    env = gym.make("Actformer/Logic-v0")
    env.reset(options={"problem": (1, 1, [2])})
    _, _, terminated, _, info = env.step(instruction_index("HALT"))
    assert terminated and info["output"] is None and info["target"] == 0 and not info["is_success"]
    env.reset(options={"problem": (1, 1, [2])})
    env.step(instruction_index("READ P0->R0"))
    env.step(instruction_index("WRITE R0->P3"))  # 1, the wrong bit
    _, _, _, _, info = env.step(instruction_index("HALT"))
    assert info["output"] == 1 and not info["is_success"]


def test_malformed_problems_name_what_is_wrong() -> None:
    env = _env(5)
    for problem, message in [
        ((2, 0, [0]), "bits"),
        ((0, 1, [10]), "gate ids"),
        ((0, 1, []), "at least one gate"),
        ((0, 1), r"\(b0, b1"),
        ((0, 1, [0] * 6), "max_length"),
    ]:
        with pytest.raises(ValueError, match=message):
            env.reset(options={"problem": problem})
