"""The named observation layout (``actformer_envs.observation``): the view reads what the machine
holds, the space is the env's, and no code outside the module indexes an observation by position."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ENV_IDS

from actformer_envs import NUM_ACTIONS, ActformerEnv, ActformerVectorEnv, ObservationView
from actformer_envs.instructions import CARRY_SLOT, COMPARE_SLOT, MEMORY_SLOTS, NUM_POINTERS, REGISTER_SLOTS
from actformer_envs.observation import (
    AT_END,
    AT_START,
    EDGES,
    LEFT,
    NUM_VALUES,
    POINTERS,
    RIGHT,
    UNDER,
    VALUE_FIELDS,
    WINDOW_SIZE,
    observation_space,
)
from actformer_envs.symbols import EDGE
from actformer_envs.tasks import SINGLE_TASKS

ROOT = Path(__file__).resolve().parents[1]
TASKS = [*SINGLE_TASKS, "MultiTask"]


def _rollout(task: str, envs: int = 16, steps: int = 60) -> Iterator[tuple[ActformerVectorEnv, dict]]:
    """(env, observation) along fixed-seed episodes driven by expert and random actions."""
    env = ActformerVectorEnv(envs, task, max_length=5, obs_mode="full")
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=0)
    for _ in range(steps):
        yield env, observation
        actions = np.where(rng.random(envs) < 0.7, env.expert_action(), rng.integers(0, NUM_ACTIONS, envs))
        observation, *_ = env.step(actions)


def _expected_windows(env: ActformerVectorEnv, observation: dict) -> np.ndarray:
    """(batch, pointers, 3) left/under/right of each pointer, read off the full scratchpad and the
    pointers' columns; an unused pointer rests off the scratchpad, on EDGE."""
    layouts = env.state_dict()["episodes"]["machine"]["layout"]
    expected = np.full((env.num_envs, NUM_POINTERS, 3), EDGE)
    for i in range(env.num_envs):
        member = env.mixture.members[layouts[i]]
        for p, row in enumerate(member.pointer_rows):
            if row is not None:
                padded = np.pad(observation["scratchpad"][i, row], 1, constant_values=EDGE)
                column = observation["pointers"][i, p]
                expected[i, p] = padded[column : column + 3]
    return expected


@pytest.mark.parametrize("task", TASKS)
def test_view_reads_the_machine(task: str) -> None:
    for env, observation in _rollout(task):
        view = ObservationView(observation)
        expected = _expected_windows(env, observation)
        values = env.state_dict()["episodes"]["machine"]["values"]
        for p in POINTERS:
            np.testing.assert_array_equal(view.left(p), expected[:, p, 0])
            np.testing.assert_array_equal(view.under(p), expected[:, p, 1])
            np.testing.assert_array_equal(view.right(p), expected[:, p, 2])
            np.testing.assert_array_equal(view.at_start(p), expected[:, p, 0] == EDGE)
            np.testing.assert_array_equal(view.at_end(p), expected[:, p, 2] == EDGE)
        for r, slot in enumerate(REGISTER_SLOTS):
            np.testing.assert_array_equal(view.register(r), values[:, slot])
        for m, slot in enumerate(MEMORY_SLOTS):
            np.testing.assert_array_equal(view.memory_slot(m), values[:, slot])
        np.testing.assert_array_equal(view.carry, values[:, CARRY_SLOT])
        np.testing.assert_array_equal(view.compare, values[:, COMPARE_SLOT])
        np.testing.assert_array_equal(view.history[:, -1], view.last_action)


def test_accessors_partition_the_fields() -> None:
    """Every position of symbols and boundaries is named exactly once, in the fields' order."""
    env = ActformerVectorEnv(4, "Expression", max_length=4)
    observation, _ = env.reset(seed=1)
    view = ObservationView(observation)
    cells = [view.cell(p, k) for p in POINTERS for k in range(WINDOW_SIZE)]
    np.testing.assert_array_equal(np.stack(cells, axis=-1), observation["symbols"])
    assert sorted((LEFT, UNDER, RIGHT)) == list(range(WINDOW_SIZE))
    np.testing.assert_array_equal(np.concatenate([view.window(p) for p in POINTERS], -1), view.symbols)
    np.testing.assert_array_equal(view.windows[:, :, UNDER], view.unders)
    np.testing.assert_array_equal(view.windows[:, :, LEFT], view.lefts)
    np.testing.assert_array_equal(view.windows[:, :, RIGHT], view.rights)
    np.testing.assert_array_equal(view.edges.reshape(len(view.edges), -1), observation["boundaries"])
    flags = np.stack([[view.at_start(p), view.at_end(p)] for p in POINTERS], axis=-1)  # (2, B, P)
    np.testing.assert_array_equal(flags[AT_START], view.edges[:, :, AT_START] == 1)
    np.testing.assert_array_equal(flags[AT_END], view.edges[:, :, AT_END] == 1)
    np.testing.assert_array_equal(np.stack([view.carry, view.compare], -1), observation["flags"])
    assert sum(v.shape[-1] for v in view.value_fields()) == NUM_VALUES
    assert tuple(k for k in observation if k in VALUE_FIELDS) == VALUE_FIELDS


def test_view_is_zero_copy_single_and_torch() -> None:
    env = ActformerVectorEnv(3, "Sort", max_length=4)
    observation, _ = env.reset(seed=2)
    for _ in range(5):
        observation, *_ = env.step(env.expert_action())
    view = ObservationView(observation)
    for part in (view.under(2), view.window(1), view.windows, view.right(3)):
        assert np.shares_memory(part, observation["symbols"]) and part.dtype == observation["symbols"].dtype
    assert np.shares_memory(view.edges, observation["boundaries"])
    assert np.shares_memory(view.carry, observation["flags"])
    # The same reads on one env's unbatched observation, and on tensors.
    single = ObservationView({key: value[1] for key, value in observation.items()})
    tensors = ObservationView({key: torch.as_tensor(value) for key, value in observation.items()})
    for name in ("under", "left", "right", "window", "at_start", "at_end"):
        for p in POINTERS:
            batched = getattr(view, name)(p)
            np.testing.assert_array_equal(getattr(single, name)(p), batched[1])
            np.testing.assert_array_equal(getattr(tensors, name)(p).numpy(), batched)
    for name in ("windows", "edges", "lefts", "unders", "rights", "carry", "compare", "last_action"):
        np.testing.assert_array_equal(getattr(single, name), getattr(view, name)[1])
        np.testing.assert_array_equal(getattr(tensors, name).numpy(), getattr(view, name))


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("options", [{}, {"obs_mode": "full", "history_length": 0}])
def test_observation_space_is_the_envs(env_id: str, options: dict) -> None:
    env = gym.make(env_id, **options).unwrapped
    assert isinstance(env, ActformerEnv)
    space = observation_space(env.mixture, env.config)
    assert list(space.spaces) == list(env.observation_space.spaces)
    for key, field in space.spaces.items():
        theirs = env.observation_space.spaces[key]
        assert type(field) is type(theirs) and field == theirs and field.dtype == theirs.dtype, key
    observation, _ = env.reset(seed=0)
    assert space.contains(observation)
    assert space["symbols"].shape == (NUM_POINTERS * WINDOW_SIZE,)
    assert space["boundaries"].shape == (NUM_POINTERS * EDGES,)


# -- no raw observation indexing outside the observation module ------------------------------------

#: Fields whose positions carry meaning that ``actformer_envs.observation`` names.
LAYOUT_FIELDS = {"symbols", "boundaries", "registers", "memory", "flags", "pointers"}
#: Methods through which an array stays "the field" (a reshape of it still has its layout).
PASS_THROUGH = {"long", "int", "astype", "reshape", "view", "copy", "numpy", "to", "cpu", "detach"}
SCANNED = ("actformer_envs", "agents", "train")


def _is_literal_int(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _literal_positions(index: ast.AST) -> bool:
    """Whether an index holds an int literal: an element, or a slice bound or step."""
    elements = index.elts if isinstance(index, ast.Tuple) else [index]
    for element in elements:
        parts = [element.lower, element.upper, element.step] if isinstance(element, ast.Slice) else [element]
        if any(part is not None and _is_literal_int(part) for part in parts):
            return True
    return False


class _RawIndexing(ast.NodeVisitor):
    """Finds literal positions into a layout field: ``obs["symbols"][:, 1]``, ``symbols[:, 7]``
    after ``symbols = obs["symbols"]``, ``x.flags[..., 0]``, ``obs["symbols"].reshape(-1, 4, 3)``."""

    def __init__(self) -> None:
        self.aliases: set[str] = set()
        self.found: list[tuple[int, str]] = []

    def is_field(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Subscript):  # obs["symbols"]
            key = node.slice
            return isinstance(key, ast.Constant) and key.value in LAYOUT_FIELDS
        if isinstance(node, ast.Attribute):  # view.symbols, machine.flags (not array.flags.writeable)
            return node.attr in LAYOUT_FIELDS
        if isinstance(node, ast.Name):
            return node.id in self.aliases
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in PASS_THROUGH and self.is_field(node.func.value)
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.aliases
        self.aliases = set(outer)
        # Names bound to a field (``symbols = observation["symbols"]``, ``a, b = obs["x"], obs["y"]``),
        # to a fixpoint so aliases of aliases count.
        while True:
            before = len(self.aliases)
            for assign in (n for n in ast.walk(node) if isinstance(n, ast.Assign)):
                for target in assign.targets:
                    pairs = [(target, assign.value)]
                    if isinstance(target, ast.Tuple) and isinstance(assign.value, ast.Tuple):
                        pairs = list(zip(target.elts, assign.value.elts, strict=False))
                    for name, value in pairs:
                        if isinstance(name, ast.Name) and self.is_field(value):
                            self.aliases.add(name.id)
            if len(self.aliases) == before:
                break
        self.generic_visit(node)
        self.aliases = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.is_field(node.value) and _literal_positions(node.slice):
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("reshape", "view") and self.is_field(func.value):
            arguments = [e for a in node.args for e in (a.elts if isinstance(a, ast.Tuple) else [a])]
            if any(_is_literal_int(a) and ast.literal_eval(a) != -1 for a in arguments):
                self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def raw_indexing(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every literal position into a layout field in ``source``."""
    finder = _RawIndexing()
    finder.visit(ast.parse(source))
    return finder.found


def test_raw_indexing_finder() -> None:
    """The finder catches the forms the layout used to be restated in, and not unrelated code."""
    header = 'def f(observation, obs, view, batch, rows, a, where):\n    symbols = observation["symbols"]\n'
    flagged = [
        "return symbols[:, 1] == BLANK",
        'return observation["boundaries"][:, 5] == 1',
        'return obs["symbols"].reshape(-1, 4, 3)',
        'return obs["boundaries"].long().reshape(batch, NUM_POINTERS, 2)',
        'window, flags = symbols, observation["flags"]\n    return flags[:, 0] + window[..., :3]',
        "cells = symbols.reshape(-1, 12)\n    return cells[..., 3]",
        "return view.symbols[..., 7]",
        'return observation["registers"][:, 0]',
    ]
    for body in flagged:
        assert raw_indexing(header + "    " + body), body
    clean = [
        "return symbols[:, P0 * 3], symbols[where]",
        "return rows.reshape(-1, 4, 3)[:, 0]",
        "a.flags.writeable = False\n    return a[:, 1]",
        'return view.under(1), obs["history"][:, -1], obs["symbols"].shape[0]',
        'return obs["symbols"].reshape(-1, NUM_POINTERS, WINDOW_SIZE)',
    ]
    for body in clean:
        assert not raw_indexing(header + "    " + body), body
    # A parameter or local named like a field is not an observation's unless bound to one.
    unbound = "def g(symbols, tokens):\n    flags = tokens[:3]\n    return symbols[0], flags[1]"
    assert not raw_indexing(unbound)


def test_no_raw_observation_indexing_outside_the_observation_module() -> None:
    owner = ROOT / "actformer_envs" / "observation.py"
    offences = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path != owner:
                for line, expression in raw_indexing(path.read_text()):
                    offences.append(f"{path.relative_to(ROOT)}:{line}: {expression}")
    assert not offences, "index observations through actformer_envs.observation:\n" + "\n".join(offences)
