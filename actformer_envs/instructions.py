"""The instruction table: every opcode of the machine, enumerated once for every task.

An action is an index into :data:`INSTRUCTIONS`. The table is the same for every task, so one policy
can act in all of them; each task allows a subset (its action mask). Operands are fixed per entry
(``ADD R0,R1`` and ``ADD R1,R0`` are two entries), which keeps the action space a plain ``Discrete``.

Operands address the machine's *value file*, one small integer array per environment:

====================  =========================================================
slots                 meaning
====================  =========================================================
``R0``..``R3``        general registers
``M0``..``M3``        memory slots (LOAD/STORE)
``C``                 the carry: set by CARRY, consumed by ADD/SUB/MUL
``CMP``               the compare result, -1, 0 or +1
``U0``..``U3``        read-only: the value of the cell under pointer ``Pi``
``Z``                 read-only: the constant 0 (the source of CLR)
====================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

NUM_POINTERS = 4
#: The cells each pointer shows the agent, as column offsets: its left neighbour, under it, its right.
WINDOW = np.array([-1, 0, 1])
NUM_REGISTERS = 4
NUM_MEMORY = 4

REGISTER_SLOTS = tuple(range(NUM_REGISTERS))  # R0..R3
MEMORY_SLOTS = tuple(range(NUM_REGISTERS, NUM_REGISTERS + NUM_MEMORY))  # M0..M3
CARRY_SLOT = NUM_REGISTERS + NUM_MEMORY
COMPARE_SLOT = CARRY_SLOT + 1
UNDER_SLOTS = tuple(range(COMPARE_SLOT + 1, COMPARE_SLOT + 1 + NUM_POINTERS))  # U0..U3
ZERO_SLOT = UNDER_SLOTS[-1] + 1
NUM_SLOTS = ZERO_SLOT + 1

#: Arithmetic saturates at +-VALUE_LIMIT, so values stay in the observation space's bounds.
VALUE_LIMIT = 4095


class Op(IntEnum):
    """Opcodes. ``NOOP`` is internal: it is what a masked-out or faulting action executes."""

    NOOP = 0
    HALT = 1
    READ = 2  # READ Pp->Rr     Rr <- value of the cell under Pp (BLANK reads as 0)
    WRITE = 3  # WRITE Rr->Pp   cell under Pp <- Rr; faults unless 0 <= Rr < base
    ADD = 4  # ADD Ra,Rb        Ra <- Ra + Rb + C, C <- 0
    SUB = 5  # SUB Ra,Rb        Ra <- Ra - Rb + C, C <- 0
    MUL = 6  # MUL Ra,Rb        Ra <- Ra * Rb + C, C <- 0
    CMP = 7  # CMP Ra,Rb        CMP <- sign(Ra - Rb)
    CARRY = 8  # CARRY Rr       C <- Rr // base, Rr <- Rr mod base (floor: a borrow is C = -1)
    MOVE = 9  # MOVE Pp LEFT|RIGHT, blocked at the edge of the row
    ADVANCE = 10  # every bound pointer one cell right
    SWAP = 11  # SWAP Pa,Pb     exchange the cells under two pointers
    LOAD = 12  # LOAD Mm->Rr
    STORE = 13  # STORE Rr->Mm
    CLR = 14  # CLR Rr | CLR C
    INC = 15  # INC Rr
    DEC = 16  # DEC Rr


@dataclass(frozen=True)
class Instruction:
    """One entry of the table: an opcode with its fixed operands and a readable name."""

    name: str
    op: Op
    a: int = 0  # destination slot, or the pointer of WRITE/MOVE/SWAP
    b: int = 0  # source slot, the second pointer of SWAP, or the MOVE direction (-1 or +1)
    k: int = 0  # the constant INC/DEC add


def _slot_name(slot: int) -> str:
    if slot in REGISTER_SLOTS:
        return f"R{slot}"
    if slot in MEMORY_SLOTS:
        return f"M{slot - MEMORY_SLOTS[0]}"
    if slot == CARRY_SLOT:
        return "C"
    raise ValueError(f"slot {slot} has no name")


def _build_table() -> tuple[Instruction, ...]:
    regs, ptrs = REGISTER_SLOTS, range(NUM_POINTERS)
    pairs = [(a, b) for a in regs for b in regs if a != b]
    table = [Instruction("HALT", Op.HALT)]
    table += [Instruction(f"READ P{p}->R{r}", Op.READ, r, UNDER_SLOTS[p]) for p in ptrs for r in regs]
    table += [Instruction(f"WRITE R{r}->P{p}", Op.WRITE, p, r) for r in regs for p in ptrs]
    for op in (Op.ADD, Op.SUB, Op.MUL):
        table += [Instruction(f"{op.name} R{a},R{b}", op, a, b) for a, b in pairs]
    table += [Instruction(f"CMP R{a},R{b}", Op.CMP, a, b) for a, b in pairs if a < b]
    table += [Instruction(f"CARRY R{r}", Op.CARRY, r) for r in regs]
    for p in ptrs:
        table += [
            Instruction(f"MOVE P{p} LEFT", Op.MOVE, p, -1),
            Instruction(f"MOVE P{p} RIGHT", Op.MOVE, p, +1),
        ]
    table.append(Instruction("ADVANCE", Op.ADVANCE))
    table += [Instruction(f"SWAP P{a},P{b}", Op.SWAP, a, b) for a in ptrs for b in ptrs if a < b]
    table += [Instruction(f"LOAD {_slot_name(m)}->R{r}", Op.LOAD, r, m) for m in MEMORY_SLOTS for r in regs]
    table += [Instruction(f"STORE R{r}->{_slot_name(m)}", Op.STORE, m, r) for r in regs for m in MEMORY_SLOTS]
    table += [Instruction(f"CLR {_slot_name(s)}", Op.CLR, s, ZERO_SLOT) for s in (*regs, CARRY_SLOT)]
    table += [Instruction(f"INC R{r}", Op.INC, r, r, +1) for r in regs]
    table += [Instruction(f"DEC R{r}", Op.DEC, r, r, -1) for r in regs]
    return tuple(table)


INSTRUCTIONS: tuple[Instruction, ...] = _build_table()
NUM_ACTIONS = len(INSTRUCTIONS)
#: The value of ``last_action``/``history`` entries before any action: "none yet".
NO_ACTION = NUM_ACTIONS

_INDEX = {ins.name: i for i, ins in enumerate(INSTRUCTIONS)}

# Decode arrays, indexed by action; entry NUM_ACTIONS is the internal NOOP.
OPCODES = np.array([ins.op for ins in INSTRUCTIONS] + [Op.NOOP], dtype=np.uint8)  # uint8: radix argsort
OPERANDS = np.array([(ins.a, ins.b) for ins in INSTRUCTIONS] + [(0, 0)], dtype=np.intp)  # (a, b) each
CONSTANT = np.array([ins.k for ins in INSTRUCTIONS] + [0], dtype=np.int32)


def instruction_index(name: str) -> int:
    """The action index of an instruction, by its name (``"ADD R0,R1"``)."""
    try:
        return _INDEX[name]
    except KeyError:
        raise ValueError(f"unknown instruction {name!r}; see actformer_envs.INSTRUCTIONS") from None


def instruction_name(action: int) -> str:
    """The readable name of an action index; ``NO_ACTION`` reads as ``"-"``."""
    if action == NO_ACTION:
        return "-"
    return INSTRUCTIONS[action].name


def mask_from_names(names: list[str] | tuple[str, ...]) -> np.ndarray:
    """A boolean action mask (True = allowed) from instruction names."""
    mask = np.zeros(NUM_ACTIONS, dtype=bool)
    mask[[instruction_index(n) for n in names]] = True
    return mask
