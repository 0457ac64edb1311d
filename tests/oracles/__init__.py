"""Independent oracles, one module per task: what each task must do, written without the package's code.

Every module defines one :class:`Oracle` subclass; they are collected here by task name, so a new
task's tests need only a new module (the registry-driven battery does the rest).
"""

from __future__ import annotations

import importlib
import pkgutil

from oracles.base import Oracle

ORACLES: dict[str, Oracle] = {}
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        for _value in vars(importlib.import_module(f"oracles.{_module.name}")).values():
            if isinstance(_value, type) and issubclass(_value, Oracle) and "task" in vars(_value):
                ORACLES[_value.task] = _value()


def oracle(task: str) -> Oracle:
    """The oracle of ``task``; a KeyError that says where to add one."""
    try:
        return ORACLES[task]
    except KeyError:
        raise KeyError(f"no oracle for task {task!r}: add a module to tests/oracles/") from None


__all__ = ["ORACLES", "Oracle", "oracle"]
