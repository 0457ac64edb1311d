"""The ``actformer`` command: train an agent, evaluate a checkpoint, trace it on your own problem.

    actformer train [ppo|a2c] --task Addition [--config FILE.yaml] [--resume RUN_DIR] [--FIELD VALUE ...]
    actformer eval --checkpoint RUN_DIR --lengths 3 30 300 1000 [--episodes N]
    actformer trace --checkpoint RUN_DIR --problem "123+456"
    actformer certify --checkpoint RUN_DIR [--samples N] [--seed S] [--json FILE]

``actformer --help`` lists the commands (``USAGE``), ``actformer COMMAND --help`` every option of
one (config fields with their docstrings, by ``tyro``). A list flag takes its values separated by
spaces (``--lengths 3 30 300``, ``--eval-lengths 3 30``); a comma-separated one is an error saying
so. A bad value, config file, path or device is a one-line error and exit status 2; Ctrl-C is
exit status 130. This module only parses and dispatches: runs and evaluations live in
``train/runs.py``, traces in ``train/trace.py``, certificates in ``train/certify.py``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import tyro

from actformer_envs.tasks import TASKS
from actformer_gym.train.certify import (
    CERTIFICATE_NAME,
    DEFAULT_CAP,
    DEFAULT_SAMPLES,
    PROBE_SAMPLES,
    certify,
    format_certificate,
)
from actformer_gym.train.config import ALGOS, MAX_SEED, SECTIONS, EnvSettings, TrainConfig, flag_names
from actformer_gym.train.runs import (
    RunOptions,
    UsageError,
    check_eval_lengths,
    check_report_path,
    check_resumable,
    config_from,
    eval_run,
    evaluation_seed,
    load,
    load_policy,
    read_config_file,
    saved_config,
    set_threads,
    train_run,
)
from actformer_gym.train.trace import parse_problem, show_answer, trace

#: How tyro builds every command: the algorithm's subcommand is ``ppo``/``a2c``, and flags may
#: come before or after it.
TYRO_CONFIG = (tyro.conf.OmitSubcommandPrefixes, tyro.conf.CascadeSubcommandArgs)


def parse_args(command: Any, argv: Sequence[str], prog: str, **kwargs: Any) -> Any:
    """``tyro.cli(command)`` on ``argv``; its parse errors (a framed, multi-line message) become one
    ``UsageError`` line. ``--help`` prints as tyro prints it."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return tyro.cli(command, args=list(argv), prog=prog, config=TYRO_CONFIG, **kwargs)
    except SystemExit as exit:
        if exit.code in (0, None):
            raise
        raise UsageError(f"{_one_line(captured.getvalue())} (see {prog} --help)") from None


def _one_line(framed: str) -> str:
    """tyro's framed error as one line: its title and sections, without the help text it repeats
    (a flag's description under it, the argument help, "For full helptext"), and its value errors
    as "--flag must be an int, got 'x'"."""
    sections: list[list[str]] = [[]]
    flag_indent: int | None = None  # indent of the last flag line: deeper lines are its help text
    for line in framed.splitlines():
        inner = line.strip().strip("│")
        text = inner.strip()
        indent = len(inner) - len(inner.lstrip())
        if text.startswith(("╭", "╰")) or set(text) <= set("─ "):  # frame or separator: a new section
            title = text.strip("─╭╮╰╯ ")
            sections.append([f"{title}:"] if title else [])
            flag_indent = None
        elif flag_indent is not None and indent > flag_indent:
            continue
        else:
            flag_indent = indent if text.startswith("-") else None
            sections[-1].append(text)
    kept = []
    for words in sections:
        # A title its first line repeats ("Unrecognized options: Unrecognized options: --x") goes.
        if len(words) > 1 and words[1].split()[0] == words[0].split()[0]:
            words = words[1:]
        text = " ".join(" ".join(words).split()).rstrip(".")
        if text and not text.startswith(SKIPPED) and text not in kept:
            kept.append(text)
    message = "; ".join(kept).replace(":;", ":") or "bad arguments"
    # A config section's own check: "Value error: Error parsing config.env: <its message>".
    message = re.sub(r"^Value error: Error parsing [\w.]+: ", "bad config: ", message)
    return _value_error(message)


#: Sections of tyro's errors left out of the one line: help text, and the failed parse of each
#: type a value might have had.
SKIPPED = ("Argument helptext", "For full helptext", "Got errors")

#: tyro's value errors, "Value error: Error parsing --FLAG: <detail>", as (detail pattern, what the
#: flag must be); the value is the pattern's group.
_VALUE_ERRORS = (
    (r"invalid literal for int\(\) with base 10: ('.*?')", "an int"),
    (r"could not convert string to float: ('.*?')", "a number"),
    (r"no type matching (?:\{None\}\|)?(?P<type>.+?) could be instantiated from \[(.*?)\]", ""),
    (r"Could not find valid parse for arguments: \[(.*?)\]", ""),
)

#: The list flags (``sequence_flags``) of every command: tyro's error for a bad item gets this hint.
LIST_HINT = "takes ints separated by spaces, e.g. {flag} 3 30 300"


def _value_error(message: str) -> str:
    """``message`` with a tyro value error as "--FLAG must be ..., got VALUE"."""
    match = re.match(r"Value error: Error parsing (--[\w-]+): (.*)", message)
    if match is None:
        return message
    flag, detail = match.groups()
    for pattern, what in _VALUE_ERRORS:
        found = re.match(pattern, detail)
        if found is None:
            continue
        value = found.groups()[-1]
        if flag in LIST_FLAGS:
            return f"{flag} {LIST_HINT.format(flag=flag)}; got {value}"
        kind = what or {"INT": "an int", "FLOAT": "a number"}.get(found.groupdict().get("type") or "", "")
        return f"{flag} must be {kind}, got {value}" if kind else f"{flag}: cannot parse {value}"
    return f"{flag}: {detail}"


def sequence_flags(kinds: Iterable[type]) -> set[str]:
    """The flags (``--eval-lengths``) of the fields of these dataclasses that hold a tuple or a list."""
    found = set()
    for kind in kinds:
        hints = typing.get_type_hints(kind)
        for flat, name in flag_names(kind).items():
            hint = hints[name]
            options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            if any(typing.get_origin(option) in (tuple, list) for option in options):
                found.add("--" + flat.replace("_", "-"))
    return found


#: A list flag's value in either form, one or several numbers ("3", "3,30", "3, 30,").
_numbers = re.compile(r"[\d.,+\s-]+")


def check_list_syntax(argv: Sequence[str], flags: set[str]) -> None:
    """``UsageError`` for a list flag given comma-separated values (``--lengths 3,30``): every list
    flag takes tyro's space-separated form (``--lengths 3 30``), and the error says how to write it."""
    for index, token in enumerate(argv):
        name, equals, value = token.partition("=")
        flag = "--" + name[2:].replace("_", "-")
        if not token.startswith("--") or flag not in flags:
            continue
        # Its values: up to the next flag, and only those that look like numbers (not a subcommand).
        following = itertools.takewhile(lambda t: not t.startswith("--"), argv[index + 1 :])
        values = [value] if equals else list(itertools.takewhile(_numbers.fullmatch, following))
        if not values or not any("," in item for item in values):
            continue
        spaced = " ".join(part for item in values for part in re.split(r"[,\s]+", item) if part)
        raise UsageError(
            f"{flag} takes its values separated by spaces, not commas: "
            f"write {flag} {spaced}, not {flag} {' '.join(values)}"
        )


# -- train -------------------------------------------------------------------------------------


@dataclass
class TrainCommand:
    """Train an Actformer agent: a warm start by imitation of the task's expert (a task's recipe
    fits the expert's actions on its verification set; --imitation-pairs N clones N expert pairs,
    then DAgger), then --total-steps env-steps of PPO (``ppo``, the default) or A2C (``a2c``) with a
    length curriculum (none unless given). Logs to TensorBoard, checkpoints in the run directory,
    and prints the exact-match table at the end."""

    launch: Annotated[RunOptions, tyro.conf.OmitArgPrefixes]
    config: Annotated[TrainConfig, tyro.conf.OmitArgPrefixes]


def parse_train(argv: Sequence[str]) -> tuple[RunOptions, TrainConfig, tuple[Path, dict] | None]:
    """(options, validated config, (run dir, checkpoint payload) when resuming).

    The options are read first: ``--config`` and ``--resume`` give the config's defaults, which the
    command's flags then override (with ``--resume``, only ``RunSettings.resumable`` may change).
    """
    if any(arg == "--algo" or arg.startswith("--algo=") for arg in argv):
        raise UsageError("--algo: the algorithm is a subcommand, actformer train ppo|a2c [FLAGS]")
    check_list_syntax(argv, TRAIN_LIST_FLAGS)
    if {"-h", "--help"} & set(argv):
        options = RunOptions()
    else:
        options, _ = parse_args(RunOptions, argv, prog="actformer train", return_unknown_args=True)
    if options.resume is not None and any(arg.partition("=")[0] == "--runs-dir" for arg in argv):
        raise UsageError("--resume continues a run in its own directory; do not give --runs-dir too")
    payload = load(options.resume) if options.resume is not None else None
    if payload is not None:
        defaults = saved_config(payload)
    else:
        values = read_config_file(options.config) if options.config is not None else {}
        task = task_flag(argv) or values.get("env", {}).get("task") or EnvSettings.task
        defaults = config_from(values, f"config file {options.config}" if values else "config", task)
    parsed = parse_args(TrainCommand, argv, prog="actformer train", default=TrainCommand(options, defaults))
    if payload is None or options.resume is None:
        return parsed.launch, parsed.config, None
    check_resumable(parsed.config, defaults)
    run_dir = options.resume if options.resume.is_dir() else options.resume.parent
    return parsed.launch, parsed.config, (run_dir, payload)


def task_flag(argv: Sequence[str]) -> str | None:
    """The value of ``--task`` in ``argv`` (its recipe gives the defaults of every other flag), or
    None; an unknown task is left to the parse, which names the choices."""
    for index, token in enumerate(argv):
        name, equals, value = token.partition("=")
        if name == "--task":
            found = value if equals else (argv[index + 1] if index + 1 < len(argv) else "")
            return found if found in TASKS else None
    return None


def train_main(argv: Sequence[str]) -> int:
    """``actformer train``: warm start, RL iterations with TensorBoard logs and checkpoints, then the
    exact-match table."""
    options, config, resumed = parse_train(argv)
    set_threads(options.threads)
    return train_run(config, options, resumed)


# -- eval --------------------------------------------------------------------------------------


@dataclass
class EvalArgs:
    """Greedy exact match of a saved policy at each problem length, a row per length as it finishes
    (Ctrl-C stops it and keeps the rows done)."""

    checkpoint: Path
    """Checkpoint file, a run directory holding checkpoint.pt, or pretrained:TASK (a shipped policy)."""
    lengths: tuple[int, ...] | None = None
    """Problem lengths, ints >= 1 separated by spaces, e.g. --lengths 3 30 300 1000 (default: the
    run's eval_lengths)."""
    episodes: int | None = None
    """Episodes per length (default: the run's eval_episodes)."""
    seed: int | None = None
    """Seed of the evaluation problems (default: the one of the run's final evaluation)."""
    num_envs: int | None = None
    """Environments stepped together (default: the run's num_envs, as in its final evaluation)."""
    device: str = "auto"
    """Torch device of the policy: auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ..."""
    json: Path | None = None
    """Also write the table as JSON to this file (with "partial": true if stopped by Ctrl-C)."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice)."""


def eval_main(argv: Sequence[str]) -> int:
    """``actformer eval``: the exact-match table of a checkpoint's policy, a row per length as it
    finishes."""
    check_list_syntax(argv, EVAL_LIST_FLAGS)
    args = parse_args(EvalArgs, argv, prog="actformer eval")
    if args.lengths is not None and (not args.lengths or min(args.lengths) < 1):
        given = " ".join(map(str, args.lengths)) or "none"
        raise UsageError(f"--lengths {LIST_HINT.format(flag='--lengths')} (each >= 1); got {given}")
    given_values = (("episodes", args.episodes, 1), ("num-envs", args.num_envs, 1), ("seed", args.seed, 0))
    for name, value, low in given_values:
        if value is not None and value < low:
            raise UsageError(f"--{name} must be >= {low}, got {value}")
    check_report_path(args.json)
    set_threads(args.threads)
    payload = load(args.checkpoint)
    config = saved_config(payload)
    run, env = config.run, config.env
    lengths = list(run.eval_lengths if args.lengths is None else args.lengths)
    episodes = run.eval_episodes if args.episodes is None else args.episodes
    num_envs = env.num_envs if args.num_envs is None else args.num_envs
    seed = evaluation_seed(config) if args.seed is None else args.seed
    check_eval_lengths(env, lengths, "--lengths")
    policy = load_policy(payload, config, args.device)
    return eval_run(policy, config, lengths, episodes, seed, num_envs, str(args.checkpoint), args.json)


# -- trace -------------------------------------------------------------------------------------


@dataclass
class TraceArgs:
    """The saved policy solving your problem, one line per step."""

    checkpoint: Path
    """Checkpoint file, a run directory holding checkpoint.pt, or pretrained:TASK (a shipped policy)."""
    problem: str
    """The problem in its task's text format (``Task.text_format``), e.g. 123+456 (Addition),
    31415 (Copy, Sort), or a Python literal in the env's problem format, e.g. "([3, 1], 2)"
    (RepeatCopy); a malformed one is an error saying which format the task takes."""
    device: str = "auto"
    """Torch device of the policy: auto, cpu, cuda, ..."""
    sample: bool = False
    """Sample actions from the policy instead of taking the most likely one."""
    seed: int = 0
    """Seed of the sampling (with --sample)."""


def trace_main(argv: Sequence[str]) -> int:
    """``actformer trace``: step the policy on the user's problem, printing what each action did."""
    args = parse_args(TraceArgs, argv, prog="actformer trace")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be in [0, {MAX_SEED}], got {args.seed}")
    payload = load(args.checkpoint)
    config = saved_config(payload)
    problem = parse_problem(config.env.task, args.problem)
    policy = load_policy(payload, config, args.device)
    if args.sample:
        import torch

        torch.manual_seed(args.seed)
    result = trace(policy, config, problem, greedy=not args.sample)
    print(result.start, *result.steps, result.end, sep="\n")
    info = result.info
    verdict = "right" if info.get("is_success") else "wrong"
    output, target = show_answer(info.get("output")), show_answer(info.get("target"))
    print(f"output: {output}  expected: {target}  ({verdict})")
    return 0


# -- certify -----------------------------------------------------------------------------------


@dataclass
class CertifyArgs:
    """Certify that a saved policy takes its task's expert's actions step for step at any length:
    the expert's observations on training-length problems (the verification set), checked for
    closure on longer problems, and the policy's greedy action on each of them. Prints a summary,
    writes the certificate as JSON; exit status 0 if certified, 1 if not."""

    checkpoint: Path
    """Checkpoint file, a run directory holding checkpoint.pt, or pretrained:TASK (a shipped policy)."""
    samples: int = DEFAULT_SAMPLES
    """Random problems of each training length for the verification set, and at the longest training
    length + 1 and + 2 to check its closure, where not every problem of the length is run (--cap)."""
    cap: int = DEFAULT_CAP
    """Run every problem of those lengths where the task enumerates them and there are at most this
    many (0: random problems only)."""
    probe_samples: int = PROBE_SAMPLES
    """Random problems at 10x and 100x the longest training length, to check closure there."""
    seed: int = 0
    """Seed of the random problems (a probe of length n uses seed + n)."""
    json: Path | None = None
    """Where to write the certificate (default: certificate.json beside the checkpoint; for
    pretrained:TASK, in the current directory)."""
    device: str = "auto"
    """Torch device of the policy: auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ..."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice)."""


def certify_main(argv: Sequence[str]) -> int:
    """``actformer certify``: the certificate of a checkpoint's policy on its run's task, env
    settings and training lengths; exit status 0 if certified, 1 if not."""
    args = parse_args(CertifyArgs, argv, prog="actformer certify")
    given_values = (
        ("samples", args.samples, 1),
        ("probe-samples", args.probe_samples, 1),
        ("cap", args.cap, 0),
        ("seed", args.seed, 0),
    )
    for name, value, low in given_values:
        if value < low:
            raise UsageError(f"--{name} must be >= {low}, got {value}")
    check_report_path(args.json)
    set_threads(args.threads)
    payload = load(args.checkpoint)
    config = saved_config(payload)
    report = args.json
    if report is None:
        report = (args.checkpoint if args.checkpoint.is_dir() else args.checkpoint.parent) / CERTIFICATE_NAME
    policy = load_policy(payload, config, args.device)
    env = config.env
    lengths = range(env.min_length, env.length_cap + 1)
    try:
        certificate = certify(
            policy,
            env.task,
            lengths,
            env.observation_kwargs(),
            samples=args.samples,
            seed=args.seed,
            cap=args.cap,
            probe_samples=args.probe_samples,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ValueError as error:
        raise UsageError(" ".join(str(error).split())) from None
    print(format_certificate(certificate, str(args.checkpoint)), flush=True)
    try:
        certificate.write(report, checkpoint=str(args.checkpoint))
    except OSError as error:
        where = "--json: cannot write" if args.json is not None else "cannot write the certificate to"
        raise UsageError(f"{where} {report}: {error.strerror}") from None
    print(f"saved to {report}", file=sys.stderr)
    return 0 if certificate.certified else 1


# -- main --------------------------------------------------------------------------------------


class Command(NamedTuple):
    """A subcommand: what runs it, and its line in ``actformer --help``."""

    run: Callable[[Sequence[str]], int]
    summary: str


COMMANDS: dict[str, Command] = {
    "train": Command(
        train_main,
        "Train an agent: imitation of the expert, then --total-steps of PPO (train ppo) or A2C (train a2c)",
    ),
    "eval": Command(eval_main, "Greedy exact match of a saved policy at each problem length"),
    "trace": Command(trace_main, "Step a saved policy through your own problem, one line per action"),
    "certify": Command(
        certify_main, "Check that a saved policy follows its task's expert step for step at any length"
    ),
}

#: The list flags of each command (``check_list_syntax``).
TRAIN_LIST_FLAGS = sequence_flags([RunOptions, *SECTIONS.values(), *ALGOS.values()])
EVAL_LIST_FLAGS = sequence_flags([EvalArgs])
LIST_FLAGS = TRAIN_LIST_FLAGS | EVAL_LIST_FLAGS

#: ``actformer --help``: the commands, examples, and where each command's options are listed.
USAGE = "\n".join(
    [
        "usage: actformer COMMAND [OPTIONS]",
        "",
        "Train Actformer agents on the Actformer tasks and inspect the policies they learn.",
        "",
        "commands:",
        *(f"  {name:<{max(map(len, COMMANDS))}} {command.summary}" for name, command in COMMANDS.items()),
        "",
        "examples:",
        "  actformer train --task Addition --max-length 3 --total-steps 65536 --threads 1",
        "  actformer eval --checkpoint runs/RUN_DIR --lengths 3 30 300 1000",
        '  actformer trace --checkpoint runs/RUN_DIR --problem "123+456"',
        "  actformer certify --checkpoint runs/RUN_DIR --json certificate.json",
        "",
        "'actformer COMMAND --help' lists a command's options ('actformer train ppo --help': every",
        "training setting). List flags take values separated by spaces: --lengths 3 30 300.",
    ]
)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``actformer COMMAND ...``; the exit status (0 done or help, 2 for a usage error,
    130 for Ctrl-C; ``certify``: 1 for a policy it does not certify)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    choices = f"choose from {', '.join(COMMANDS)} (see actformer --help)"
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if not argv:
        print(USAGE)
        print(f"actformer: error: no command given; {choices}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        what = "an option" if command.startswith("-") else "an unknown command"
        print(f"actformer: error: {command!r} is {what}: the command comes first; {choices}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command].run(rest)
    except SystemExit as exit:  # tyro's --help (0) and its parse errors (2, already reported)
        return exit.code if isinstance(exit.code, int) else 2
    except UsageError as error:
        print(f"actformer {command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # train and eval handle their own; this is the rest (loading, trace, certify)
        print(f"\nactformer {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
