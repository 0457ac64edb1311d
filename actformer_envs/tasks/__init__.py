"""The tasks of the suite, one file each; :data:`TASKS` maps a task's name to its class.

The tables (:data:`TASKS`, :data:`SINGLE_TASKS`, the ids) live in ``tasks.registry``; this package
re-exports them with the task classes.
"""

from __future__ import annotations

from actformer_envs.symbols import NUM_TASK_IDS
from actformer_envs.tasks.addition import Addition
from actformer_envs.tasks.base import Problems, Task
from actformer_envs.tasks.compare import Compare
from actformer_envs.tasks.compute_sqrt import ComputeSqrt
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.cycle_navigation import CycleNavigation
from actformer_envs.tasks.duplicate_string import DuplicateString
from actformer_envs.tasks.duplicated_input import DuplicatedInput
from actformer_envs.tasks.even_pairs import EvenPairs
from actformer_envs.tasks.expression import Expression
from actformer_envs.tasks.logic import Logic
from actformer_envs.tasks.missing_duplicate import MissingDuplicate
from actformer_envs.tasks.mixture import Mixture
from actformer_envs.tasks.modular_arithmetic import ModularArithmetic
from actformer_envs.tasks.modular_brackets import ModularArithmeticBrackets
from actformer_envs.tasks.multiplication import Multiplication
from actformer_envs.tasks.multitask import MultiTask
from actformer_envs.tasks.odds_first import OddsFirst
from actformer_envs.tasks.parity import Parity
from actformer_envs.tasks.recipe import Recipe
from actformer_envs.tasks.registry import (
    SINGLE_TASKS,
    TASK_IDS,
    TASKS,
    parse_problem,
    register_task,
    task_id,
    unregister_task,
)
from actformer_envs.tasks.repeat_copy import RepeatCopy
from actformer_envs.tasks.reverse import Reverse
from actformer_envs.tasks.solve_equation import SolveEquation
from actformer_envs.tasks.sort import Sort
from actformer_envs.tasks.stack_manipulation import StackManipulation
from actformer_envs.tasks.subtraction import Subtraction
from actformer_envs.tasks.text import NumberPair, PythonLiteral, SymbolString, TextFormat

__all__ = [
    "NUM_TASK_IDS",
    "SINGLE_TASKS",
    "TASKS",
    "TASK_IDS",
    "Addition",
    "Compare",
    "ComputeSqrt",
    "Copy",
    "CycleNavigation",
    "DuplicateString",
    "DuplicatedInput",
    "EvenPairs",
    "Expression",
    "Logic",
    "MissingDuplicate",
    "Mixture",
    "ModularArithmetic",
    "ModularArithmeticBrackets",
    "MultiTask",
    "Multiplication",
    "NumberPair",
    "OddsFirst",
    "Parity",
    "Problems",
    "PythonLiteral",
    "Recipe",
    "RepeatCopy",
    "Reverse",
    "SolveEquation",
    "Sort",
    "StackManipulation",
    "Subtraction",
    "SymbolString",
    "Task",
    "TextFormat",
    "parse_problem",
    "register_task",
    "task_id",
    "unregister_task",
]
