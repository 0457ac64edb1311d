"""Certificates that a policy takes its task's expert's actions step for step, at any length.

The observation is a finite, length-invariant view, and each task's expert is a function of it. If
the set of observations the expert visits on training-length problems is *closed* (longer problems
show no observation outside it), and the policy's greedy action equals the expert's on every
observation of the set, then on every problem the policy's trajectory is the expert's: by induction
over the steps, each observation it meets is one the expert meets, where it acts as the expert does.

What a certificate checks, and what it rests on (``Certificate.assumptions``):

- closure, *as checked*: the problems at the longest training length + 1 and + 2 (every one where
  the task enumerates them and they are few enough, else a random sample) and random problems at
  10x and 100x it show no observation outside the set; where problems are sampled, a stray on a
  problem not drawn would escape the check;
- the policy is a deterministic function of the observation: its greedy actions are computed with
  the set in two batch compositions and must be identical;
- the expert is correct, as tested: it solves every problem the set and the probes ran.

``greedy_agreement`` is the policy's side, on the saved module itself (eval mode, no gradients, its
own ``masked_logits``, argmax). ``certify`` builds the set from training-length problems only
(``actformer_envs.verification``: every problem of a length where the task enumerates at most
``cap`` of them, else random ones), probes closure, measures agreement and the minimum logit margin,
and on a disagreement replays the episode where the first disagreeing observation was first seen
with the greedy policy acting (``Counterexample``): the step where it leaves the expert's
trajectory, the frame there, and whether the policy then fails. ``actformer certify`` runs it on a
checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actformer_envs.checks import check_int
from actformer_envs.config import EnvConfig
from actformer_envs.env import task_class
from actformer_envs.episodes import Episodes
from actformer_envs.instructions import instruction_name
from actformer_envs.reads import project
from actformer_envs.rendering import render_text
from actformer_envs.set_cache import cache_dir, load_set, save_set, set_key
from actformer_envs.symbols import SYMBOL_CHARS
from actformer_envs.tasks import MultiTask, Task
from actformer_envs.tasks.base import MAX_ENUMERATION
from actformer_envs.verification import (
    BATCH,
    SET_CAP,
    SET_SAMPLES,
    ObservationSet,
    affordable_length,
    collect,
    covering,
    enumerable,
    expert_observations,
    mean_episode_steps,
    nearest_member,
    new_observations,
)
from actformer_gym.agents.actformer import ActformerPolicy, masked_logits

#: Where ``actformer certify`` writes its JSON by default: beside the checkpoint.
CERTIFICATE_NAME = "certificate.json"
#: Random problems per training length (and at train+1, train+2) where they are not all run, and the
#: most problems of a length run all (``actformer_envs.verification``; imitation's fit uses the same).
DEFAULT_SAMPLES, DEFAULT_CAP = SET_SAMPLES, SET_CAP
#: Random problems at each multiple of the training length (long episodes: fewer of them).
PROBE_SAMPLES = 100
#: A far probe's length is lowered until the expert's mean episode takes at most this many steps
#: (a 300 x 300 multiplication takes about 720,000), and it runs at most ``PROBE_STEPS`` in all.
PROBE_EPISODE_STEPS, PROBE_STEPS = 20_000, 2_000_000
#: The second batch composition: the set in a fixed permutation, in batches of this (prime) size.
SECOND_BATCH, PERMUTATION_SEED = 61, 0
#: Stray observations and disagreements listed by index in the JSON (all are counted).
LISTED = 20
#: Steps of a counterexample's trace kept after the divergence (the rest are counted).
TRACE_AFTER = 40

TaskType = type[Task] | type[MultiTask]


# -- greedy agreement --------------------------------------------------------------------------


@dataclass
class Agreement:
    """The policy's greedy actions on a verification set, at two batch compositions.

    Everything is per observation of the set, in its order: each observation counts once, so a rare
    state counts as much as a common one.
    """

    expert: np.ndarray  # (n,) the expert's actions
    greedy: np.ndarray  # (n,) argmax of the masked logits, first composition
    margins: np.ndarray  # (n,) expert's logit - best other allowed logit, first composition
    second_greedy: np.ndarray  # (n,) the same, second composition
    second_margins: np.ndarray
    compositions: tuple[str, str]  # how each composition batched the set

    @property
    def size(self) -> int:
        return len(self.expert)

    @property
    def disagreements(self) -> np.ndarray:
        """Indices (ascending) of the observations where the greedy action is not the expert's."""
        return np.flatnonzero(self.greedy != self.expert)

    @property
    def agreement(self) -> float:
        """Fraction of the set's observations where the greedy action is the expert's."""
        return 1.0 - len(self.disagreements) / self.size

    @property
    def min_margin(self) -> float:
        """The smallest margin over the set (negative where the policy disagrees; NaN if any is)."""
        return float(np.min(self.margins))

    @property
    def min_margin_index(self) -> int:
        """The observation with the smallest margin."""
        return int(np.argmin(self.margins))

    @property
    def composition_mismatches(self) -> np.ndarray:
        """Indices where the two compositions' greedy actions differ (none for a policy that is a
        deterministic function of the observation)."""
        return np.flatnonzero(self.greedy != self.second_greedy)

    @property
    def deterministic(self) -> bool:
        return len(self.composition_mismatches) == 0

    @property
    def max_margin_difference(self) -> float:
        """The largest change of a (finite) margin between the compositions: the float noise of
        batching, to compare with ``min_margin``."""
        both = np.isfinite(self.margins) & np.isfinite(self.second_margins)
        if not both.any():
            return 0.0
        return float(np.max(np.abs(self.margins[both] - self.second_margins[both])))

    def to_dict(self) -> dict[str, Any]:
        """The summary that goes into the certificate's JSON (indices listed up to ``LISTED``)."""
        disagreements, mismatches = self.disagreements, self.composition_mismatches
        return {
            "observations": self.size,
            "agreeing": self.size - len(disagreements),
            "agreement": self.agreement,
            "min_margin": self.min_margin,
            "min_margin_index": self.min_margin_index,
            "disagreements": len(disagreements),
            "disagreement_indices": disagreements[:LISTED].tolist(),
            "compositions": list(self.compositions),
            "deterministic": self.deterministic,
            "composition_mismatches": len(mismatches),
            "composition_mismatch_indices": mismatches[:LISTED].tolist(),
            "max_margin_difference": self.max_margin_difference,
        }


def greedy_agreement(policy: ActformerPolicy, obs_set: ObservationSet, batch_size: int = 4096) -> Agreement:
    """The greedy actions of ``policy`` (the module itself, in eval mode, without gradients: argmax
    of its logits masked by its own ``masked_logits``) on every observation of ``obs_set``, compared
    with the expert's, with each observation's logit margin.

    Computed twice: the set in order in batches of ``batch_size``, and in a fixed permutation in
    batches of ``SECOND_BATCH`` (61). A policy that is a function of the observation alone gives the
    same greedy actions both times; ``Agreement.composition_mismatches`` lists where it does not.
    The policy's train/eval mode is restored afterwards.
    """
    check_int("batch_size", batch_size, low=1, numpy_ints=True)
    if len(obs_set) == 0:
        raise ValueError("obs_set must hold at least one observation, got an empty set")
    count = len(obs_set)
    permutation = np.random.default_rng(PERMUTATION_SEED).permutation(count)
    greedy, margins = _greedy(policy, obs_set, np.arange(count), batch_size)
    second_greedy, second_margins = _greedy(policy, obs_set, permutation, SECOND_BATCH)
    return Agreement(
        expert=np.asarray(obs_set.expert_actions, dtype=np.int64),
        greedy=greedy,
        margins=margins,
        second_greedy=second_greedy,
        second_margins=second_margins,
        compositions=(
            f"in order, batches of {batch_size}",
            f"permuted (seed {PERMUTATION_SEED}), batches of {SECOND_BATCH}",
        ),
    )


def _greedy(
    policy: ActformerPolicy, obs_set: ObservationSet, order: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray]:
    """(greedy actions, margins), in the set's order, computed on the set's observations taken in
    ``order`` in batches of ``batch``."""
    count = len(obs_set)
    greedy, margins = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.float64)
    training = policy.training
    policy.eval()
    try:
        with torch.no_grad():
            for start in range(0, count, batch):
                index = order[start : start + batch]
                logits = policy(obs_set.observations(index))[0]
                mask = torch.from_numpy(np.array(obs_set.action_masks[index], dtype=bool))
                greedy[index] = masked_logits(logits, mask, logits.device).argmax(-1).cpu().numpy()
                expert = torch.from_numpy(np.asarray(obs_set.expert_actions[index], dtype=np.int64))
                margins[index] = logit_margins(logits, mask, expert).numpy()
    finally:
        policy.train(training)
    return greedy, margins


def logit_margins(logits: torch.Tensor, mask: torch.Tensor, expert: torch.Tensor) -> torch.Tensor:
    """The expert action's logit minus the best other *allowed* action's, per row, in float64 on the
    CPU: > 0 where the argmax is the expert's action alone, < 0 where another action wins; +inf
    where no other action is allowed, -inf where the expert's action is not allowed."""
    logits = logits.detach().to("cpu", torch.float64)
    mask = mask.to("cpu", torch.bool)
    expert = expert.to("cpu", torch.int64)[:, None]
    own = logits.gather(1, expert).squeeze(1)
    allowed = mask.gather(1, expert).squeeze(1)
    others = mask.clone()
    others.scatter_(1, expert, False)
    best = logits.masked_fill(~others, -math.inf).max(-1).values
    margins = own - best
    return torch.where(allowed, margins, torch.full_like(margins, -math.inf))


# -- the certificate ---------------------------------------------------------------------------


@dataclass
class Probe:
    """Closure evidence at one length: the expert's observations on random problems there, and how
    many of them (strays) the verification set lacks."""

    label: str  # "train+1", "train+2", "10x", ...
    length: int
    member: str | None = None  # a MultiTask's member whose problems it ran (None: a plain task's)
    exhaustive: bool = False  # every problem of the length, else random ones
    problems: int = 0
    observations: int = 0  # distinct
    strays: int = 0
    expert_failures: int = 0
    seed: int = 0
    seconds: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)  # the first ``LISTED`` strays
    error: str | None = None  # why the probe could not run (closure then not checked there)


@dataclass
class Counterexample:
    """The episode where the first disagreeing observation of the set was first seen, replayed with
    the greedy policy acting and the expert's action computed alongside."""

    index: int  # the observation in the set
    episode: int  # where it was first seen: the problem, in the set's generation order
    step: int  # ... and the step into its episode
    source: dict[str, Any]  # the problem: {"problem": ...} (given) or {"length", "problem_seed"} (random)
    reproduced: bool  # the replay met the set's observation at ``step`` (it is the same episode)
    diverged_at: int | None  # the first step where the policy's action is not the expert's
    policy_action: str | None
    expert_action: str | None
    frame: str  # the text frame at ``diverged_at``, before the action
    steps: int  # steps of the policy's episode
    ended: str  # "halted" or "truncated" (step limit)
    solved: bool  # the policy's episode ended with the exact answer
    output: str
    target: str
    start: str  # the first frame (the problem as posed)
    trace: list[str] = field(default_factory=list)  # one line per step: policy's action, expert's


@dataclass
class Certificate:
    """The verdict on a policy, with the evidence and what it rests on; ``to_dict`` is its JSON."""

    task: str
    settings: dict[str, Any]  # the env settings the observation depends on
    train_lengths: list[int]
    parameters: dict[str, Any]  # certify's: samples, seed, cap, probes, batch size
    verification: dict[str, Any]  # the set: size, provenance, growth by length, expert checks
    closure: list[Probe]
    agreement: Agreement
    assumptions: list[str]
    verdict: str  # "certified" or "not certified"
    reasons: list[str]  # why not (empty when certified)
    counterexample: Counterexample | None
    observation_set: ObservationSet = field(repr=False)

    @property
    def certified(self) -> bool:
        return self.verdict == "certified"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: non-finite floats as the strings "inf", "-inf", "nan"."""
        return jsonable(
            {
                "task": self.task,
                "settings": self.settings,
                "train_lengths": self.train_lengths,
                "parameters": self.parameters,
                "verdict": self.verdict,
                "reasons": self.reasons,
                "assumptions": self.assumptions,
                "verification": self.verification,
                "closure": self.closure,
                "agreement": self.agreement.to_dict(),
                "counterexample": self.counterexample,
            }
        )

    def summary(self) -> dict[str, Any]:
        """The verdict and its headline numbers (what ``eval.json`` keeps of it), plain JSON."""
        return jsonable(
            {
                "verdict": self.verdict,
                "reasons": self.reasons,
                "projected": bool(self.settings.get("projected", False)),
                "observations": len(self.observation_set),
                "exhaustive": self.verification["exhaustive"],
                "strays": sum(probe.strays for probe in self.closure),
                "agreement": self.agreement.agreement,
                "min_margin": self.agreement.min_margin,
            }
        )

    def write(self, path: Path, **extra: Any) -> None:
        """The certificate as JSON at ``path``, with ``extra`` entries (e.g. the checkpoint) first."""
        path.write_text(json.dumps({**jsonable(extra), **self.to_dict()}, indent=2) + "\n")


def certify(
    policy: ActformerPolicy,
    task: str | TaskType,
    train_lengths: Sequence[int],
    env_kwargs: Mapping[str, Any] | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    probe_multipliers: Sequence[int] = (10, 100),
    probe_samples: int = PROBE_SAMPLES,
    cap: int = DEFAULT_CAP,
    problems: Sequence[Any] = (),
    batch_size: int = 4096,
    log: Callable[[str], None] | None = None,
) -> Certificate:
    """Certify ``policy`` on ``task`` trained at ``train_lengths``, or say why not.

    The verification set: the expert's observations on every problem of each training length where
    the task enumerates them and they number at most ``cap`` (``Task.all_problems``), else on
    ``samples`` random problems of it (seed ``seed``) and the task's covering problems of it
    (``Task.covering_problems``, at most ``cap``), plus any given ``problems`` (e.g. a task's
    adversarial families). Closure: the longest training length + 1 and + 2 the same way (every
    problem, else ``samples``), and ``probe_samples`` random problems at each multiple of it in
    ``probe_multipliers``; a probe of length ``n`` draws with seed ``seed + n``. ``env_kwargs`` are
    the env's observation settings (``history_length``, ``obs_mode``, ``base``, ...). ``log`` hears
    a line as each phase starts.

    Certified iff no probe shows an observation outside the set, the expert solved every problem
    and chose one action per observation, the greedy actions are the same at both batch
    compositions, agreement is 1.0 and the minimum margin > 0.
    """
    task_type = task_class(task)
    lengths = _check_arguments(train_lengths, samples, seed, cap, probe_multipliers, probe_samples)
    given = list(problems)
    kwargs = {
        key: value for key, value in (env_kwargs or {}).items() if key not in ("min_length", "max_length")
    }
    say = log or (lambda line: None)

    projected = policy.projected
    parts = set_parts(task_type, lengths, samples, cap, kwargs, given)
    say(f"verification set: the expert on {_provenance(parts)}")
    started = time.perf_counter()
    obs_set, part_sets = whole_set(task_type, parts, seed, cap, kwargs, projected)
    verification = {
        "observations": len(obs_set),
        "provenance": _provenance(parts, seed),
        "exhaustive": all(count is None for part in parts for count in part.counts),
        "episodes": obs_set.episodes,
        "visits": obs_set.visits,
        "growth": _growth(obs_set),
        "expert_failures": obs_set.expert_failures,
        "conflicts": obs_set.conflicts,
        "sources": obs_set.sources,
        "keys": list(obs_set.keys),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if any(part.member is not None for part in parts):
        verification["members"] = {
            part.member: {"train_lengths": part.lengths, "observations": len(part_set)}
            for part, part_set in zip(parts, part_sets, strict=True)
        }

    closure = []
    for part, part_set in zip(parts, part_sets, strict=True):
        closure += _closure(
            task_type, part, part_set, samples, probe_samples, probe_multipliers, seed, cap, say
        )

    say(f"greedy agreement on {len(obs_set)} observations, two batch compositions")
    agreement = greedy_agreement(policy, obs_set, batch_size)
    reasons = _reasons(obs_set, closure, agreement)
    found = None
    if len(agreement.disagreements):
        index = int(agreement.disagreements[0])
        say(f"counterexample: replaying the episode where observation {index} was first seen")
        for part, part_set in zip(parts, part_sets, strict=True):  # (the member whose set holds it)
            if index < len(part_set):
                found = counterexample(policy, task_type, part_set, index, part.given)
                break
            index -= len(part_set)
    return Certificate(
        task=task_type.name,
        settings={k: v for k, v in obs_set.settings.items() if k not in ("min_length", "max_length")},
        train_lengths=lengths,
        parameters={
            "samples": samples,
            "seed": seed,
            "cap": cap,
            "probe_multipliers": list(probe_multipliers),
            "probe_samples": probe_samples,
            "given_problems": len(given),
            "batch_size": batch_size,
        },
        verification=verification,
        closure=closure,
        agreement=agreement,
        assumptions=_assumptions(obs_set, closure, agreement, _provenance(parts)),
        verdict="not certified" if reasons else "certified",
        reasons=reasons,
        counterexample=found,
        observation_set=obs_set,
    )


def _closure(
    task_type: TaskType,
    part: SetPart,
    obs_set: ObservationSet,
    samples: int,
    probe_samples: int,
    probe_multipliers: Sequence[int],
    seed: int,
    cap: int,
    say: Callable[[str], None],
) -> list[Probe]:
    """The closure probes of one part of the set: its longest length + 1 and + 2, and multiples."""
    probes, top, kwargs = [], max(part.lengths), part.kwargs
    of = "" if part.member is None else f"{part.member} "
    for label, length, drawn in _probe_plan(top, samples, probe_samples, probe_multipliers):
        every = label.startswith("train+") and _enumerable(task_type, length, cap, kwargs)
        count = None if every else drawn
        if not label.startswith("train+"):
            wanted = length
            length = affordable_length(task_type, length, top + 2, PROBE_EPISODE_STEPS, seed, **kwargs)
            steps = mean_episode_steps(task_type, length, seed, **kwargs)
            count = max(1, min(drawn, int(PROBE_STEPS // steps)))
            if length != wanted:
                label = (
                    f"{label} (run at {length}: episodes of {wanted} exceed {PROBE_EPISODE_STEPS:,} steps)"
                )
        say(f"closure: {of}{_describe([length], [count], 0)} ({label})")
        probe = _probe(
            task_type,
            obs_set,
            label,
            length,
            count,
            seed + length,
            cap,
            kwargs,
            obs_set.settings["projected"],
        )
        probe.member = part.member
        probes.append(probe)
    return probes


def _check_arguments(
    train_lengths: Sequence[int],
    samples: int,
    seed: int,
    cap: int,
    probe_multipliers: Sequence[int],
    probe_samples: int,
) -> list[int]:
    """The training lengths, sorted and distinct; ``ValueError`` naming a bad argument."""
    lengths = list(train_lengths)
    if not lengths:
        raise ValueError("train_lengths must hold at least one length, got none")
    for length in lengths:
        check_int("train_lengths", length, low=1, numpy_ints=True)
    check_int("samples", samples, low=1, numpy_ints=True)
    check_int("seed", seed, low=0, numpy_ints=True)
    check_int("cap", cap, low=0, high=MAX_ENUMERATION, numpy_ints=True)
    check_int("probe_samples", probe_samples, low=1, numpy_ints=True)
    for multiplier in probe_multipliers:
        check_int("probe_multipliers", multiplier, low=2, numpy_ints=True)
    return sorted({int(length) for length in lengths})


def set_plan(
    task_type: TaskType, lengths: Sequence[int], samples: int, cap: int, kwargs: Mapping[str, Any]
) -> list[int | None]:
    """Per training length, how its problems join the verification set: None, every one (the task
    enumerates at most ``cap`` of them), else ``samples`` random ones."""
    return [None if _enumerable(task_type, n, cap, kwargs) else samples for n in lengths]


@dataclass(frozen=True)
class SetPart:
    """One share of a verification set: a plain task's problems (``member`` None), or those of one
    member of a MultiTask, posed in a MultiTask of that member alone (the same observations, its
    task id included) at the training lengths up to its recipe's ``certified_length``."""

    member: str | None
    lengths: list[int]
    counts: list[int | None]  # per length: None, every problem; else that many random ones
    kwargs: dict[str, Any]  # the env's settings for it (a member's: ``tasks=(member,)``)
    given: list[Any]  # the given problems that are its
    covering: list[int]  # per length: the task's covering problems run besides the random ones


def set_parts(
    task_type: TaskType,
    lengths: Sequence[int],
    samples: int,
    cap: int,
    kwargs: Mapping[str, Any],
    given: Sequence[Any] = (),
) -> list[SetPart]:
    """How a verification set is made (:func:`whole_set`): a plain task's, one part at ``lengths``
    (:func:`set_plan`); a MultiTask's, one part per member at the ``lengths`` up to the member's
    recipe's ``certified_length`` (all of them for a member without a recipe), its given problems
    the ``(member, problem)`` pairs of ``given``. ``ValueError`` for a given pair of no member."""
    if not issubclass(task_type, MultiTask):
        counts = set_plan(task_type, lengths, samples, cap, kwargs)
        extra = _covering_counts(task_type, lengths, counts, cap, kwargs)
        return [SetPart(None, list(lengths), counts, dict(kwargs), list(given), extra)]
    config = EnvConfig.for_task(task_type, max_length=max(lengths), **kwargs)
    members = list(task_type(config.base, **config.task_options).mixture.members)
    names = [member.name for member in members]
    stray = [p for p in given if not (isinstance(p, (tuple, list)) and len(p) == 2 and p[0] in names)]
    if stray:
        raise ValueError(f"problems must be (member, problem) pairs of the members {names}, got {stray[0]!r}")
    parts = []
    for member in members:
        top = max(lengths) if member.recipe is None else member.recipe.certified_length
        own = [n for n in lengths if n <= top] or [min(lengths)]
        own_kwargs = {**kwargs, "tasks": (member.name,)}
        counts = set_plan(task_type, own, samples, cap, own_kwargs)
        mine = [p for p in given if p[0] == member.name]
        extra = _covering_counts(task_type, own, counts, cap, own_kwargs)
        parts.append(SetPart(member.name, own, counts, own_kwargs, mine, extra))
    return parts


def _covering_counts(
    task_type: TaskType,
    lengths: Sequence[int],
    counts: Sequence[int | None],
    cap: int,
    kwargs: Mapping[str, Any],
) -> list[int]:
    """Per training length, the task's covering problems a verification set runs there: at a
    sampled length, its ``covering_problems`` (at most ``cap``); else none."""
    families = [
        None if count is None else covering(task_type, n, cap, **kwargs)
        for n, count in zip(lengths, counts, strict=True)
    ]
    return [0 if family is None else len(family) for family in families]


def whole_set(
    task_type: TaskType,
    parts: Sequence[SetPart],
    seed: int,
    cap: int,
    kwargs: Mapping[str, Any],
    projected: bool = False,
) -> tuple[ObservationSet, list[ObservationSet]]:
    """The verification set of ``parts`` (:func:`set_parts`), and each part's own
    (:func:`verification_set`): a MultiTask's is its members' sets in order, one set of the env of
    ``kwargs`` (rows of two members never coincide: their task ids differ)."""
    sets = [
        verification_set(task_type, part.lengths, part.counts, seed, cap, part.kwargs, projected, part.given)
        for part in parts
    ]
    if all(part.member is None for part in parts):
        return sets[0], sets
    offsets = np.cumsum([0, *(each.episodes for each in sets[:-1])])
    first = sets[0]
    whole = replace(
        first,
        rows=np.concatenate([each.rows for each in sets]),
        expert_actions=np.concatenate([each.expert_actions for each in sets]),
        action_masks=np.concatenate([each.action_masks for each in sets]),
        episode=np.concatenate([each.episode + offset for each, offset in zip(sets, offsets, strict=True)]),
        step=np.concatenate([each.step for each in sets]),
        sources=[
            {**source, "member": part.member}
            for part, each in zip(parts, sets, strict=True)
            for source in each.sources
        ],
        episodes=sum(each.episodes for each in sets),
        visits=sum(each.visits for each in sets),
        expert_failures=sum(each.expert_failures for each in sets),
        conflicts=sum(each.conflicts for each in sets),
        settings={
            **first.settings,
            "tasks": kwargs.get("tasks"),
            "min_length": min(each.settings["min_length"] for each in sets),
            "max_length": max(each.settings["max_length"] for each in sets),
        },
    )
    return whole, sets


def verification_set(
    task_type: TaskType,
    lengths: Sequence[int],
    counts: Sequence[int | None],
    seed: int,
    cap: int,
    kwargs: Mapping[str, Any],
    projected: bool = False,
    given: Sequence[Any] = (),
) -> ObservationSet:
    """The verification set of a task trained at ``lengths``: the expert's distinct observations on
    the problems ``counts`` says (:func:`set_plan`), seeded by ``seed``, and at each sampled length
    the task's covering problems (``Task.covering_problems``), plus any ``given`` problems;
    as the expert reads them with ``projected``. ``kwargs``: the env's observation settings.
    ``certify`` and imitation's fit on the set (``train.set_fit``) build it the same way.

    Deterministic, so a set built without ``given`` problems is kept on disk
    (``actformer_envs.set_cache``: per env version, settings and expert code) and the last few in
    memory, and returned again (the same object: do not modify it), as a run fits one set and then
    certifies on it."""
    key = (task_type, tuple(lengths), tuple(counts), seed, cap, tuple(sorted(kwargs.items())), projected)
    if not given and key in _SETS:
        return _SETS[key]
    path = None if given else _cache_path(task_type, key)
    cached = None if path is None else load_set(path)
    if cached is not None:
        _keep(key, cached)
        return cached
    obs_set = collect(
        task_type,
        lengths,
        counts,
        seed=seed,
        cap=cap,
        batch=BATCH,
        projected=projected,
        with_covering=True,
        min_length=min(lengths),
        **kwargs,
    )
    if given:
        extra = expert_observations(task_type, problems=given, batch=BATCH, projected=projected, **kwargs)
        obs_set = merge(obs_set, extra)
    else:
        _keep(key, obs_set)
        if path is not None:
            with contextlib.suppress(OSError):  # (a read-only home: no disk cache, the set stands)
                save_set(obs_set, path)
    return obs_set


#: Verification sets ``verification_set`` keeps in memory (the most recent, by their arguments).
KEPT_SETS = 4
_SETS: dict[tuple[Any, ...], ObservationSet] = {}
#: What a cached set's key names besides the task (``verification_set``'s arguments, in order).
_KEY_FIELDS = ("lengths", "counts", "seed", "cap", "settings", "projected")


def _cache_path(task_type: TaskType, key: tuple[Any, ...]) -> Path | None:
    """Where the set of ``key`` is kept on disk; None without a disk cache or an expert fingerprint."""
    folder = cache_dir()
    name = set_key(task_type, **dict(zip(_KEY_FIELDS, key[1:], strict=True)))
    return None if folder is None or name is None else folder / f"{name}.npz"


def _keep(key: tuple[Any, ...], obs_set: ObservationSet) -> None:
    """Keep ``obs_set`` in memory under ``key``, dropping the oldest beyond ``KEPT_SETS``."""
    _SETS[key] = obs_set
    while len(_SETS) > KEPT_SETS:
        del _SETS[next(iter(_SETS))]


def _enumerable(task_type: TaskType, length: int, cap: int, kwargs: Mapping[str, Any]) -> bool:
    """Whether every problem of ``length`` is run (the task enumerates them, at most ``cap``)."""
    return cap > 0 and enumerable(task_type, length, cap, **kwargs) is not None


def merge(first: ObservationSet, second: ObservationSet) -> ObservationSet:
    """One set of two of the same env: ``first``'s observations, then ``second``'s new ones, whose
    episodes are numbered after ``first``'s (its sources follow ``first``'s, in that order)."""
    new = new_observations(first, second)  # (checks that the envs are the same)
    return replace(
        first,
        rows=np.concatenate([first.rows, second.rows[new]]),
        expert_actions=np.concatenate([first.expert_actions, second.expert_actions[new]]),
        action_masks=np.concatenate([first.action_masks, second.action_masks[new]]),
        episode=np.concatenate([first.episode, second.episode[new] + first.episodes]),
        step=np.concatenate([first.step, second.step[new]]),
        sources=[*first.sources, *second.sources],
        episodes=first.episodes + second.episodes,
        visits=first.visits + second.visits,
        expert_failures=first.expert_failures + second.expert_failures,
        conflicts=first.conflicts + second.conflicts + _conflicts_between(first, second),
        settings={
            **first.settings,
            "max_length": max(first.settings["max_length"], second.settings["max_length"]),
        },
    )


def _conflicts_between(first: ObservationSet, second: ObservationSet) -> int:
    """Observations of both sets on which their experts chose different actions."""
    known = {row.tobytes(): int(action) for row, action in zip(first.rows, first.expert_actions, strict=True)}
    return sum(
        known.get(row.tobytes(), int(action)) != int(action)
        for row, action in zip(second.rows, second.expert_actions, strict=True)
    )


def _probe_plan(top: int, near: int, far: int, multipliers: Sequence[int]) -> list[tuple[str, int, int]]:
    """(label, length, random problems) of each closure probe, each length once."""
    plan = [("train+1", top + 1, near), ("train+2", top + 2, near)]
    plan += [(f"{m}x", m * top, far) for m in multipliers]
    seen: set[int] = set()
    kept = []
    for label, length, count in plan:
        if length not in seen:
            seen.add(length)
            kept.append((label, length, count))
    return kept


def _probe(
    task_type: TaskType,
    obs_set: ObservationSet,
    label: str,
    length: int,
    count: int | None,
    seed: int,
    cap: int,
    kwargs: Mapping[str, Any],
    projected: bool = False,
) -> Probe:
    """The closure probe at ``length``: the expert on every problem (``count`` None) or ``count``
    random ones, and the observations it makes that the set lacks (the strays)."""
    started = time.perf_counter()
    probe = Probe(label=label, length=length, exhaustive=count is None, seed=seed)
    try:
        found = collect(
            task_type,
            [length],
            [count],
            seed=seed,
            cap=cap,
            batch=BATCH,
            projected=projected,
            min_length=length,
            **kwargs,
        )
    except ValueError as error:
        probe.error = " ".join(str(error).split())
        return probe
    strays = new_observations(obs_set, found)
    probe.problems, probe.observations, probe.strays = found.episodes, len(found), len(strays)
    probe.expert_failures = found.expert_failures
    listed = strays[:LISTED]
    observations = found.observations(listed)
    for row, i in enumerate(listed):
        nearest = nearest_member(obs_set, found.rows[i])
        probe.examples.append(
            {
                "episode": int(found.episode[i]),  # where it was first seen at this length
                "step": int(found.step[i]),
                "expert_action": instruction_name(int(found.expert_actions[i])),
                "observation": {key: value[row].tolist() for key, value in observations.items()},
                "nearest": nearest["index"],  # the set's closest observation, and how this one differs
                "differs_in": nearest["entries"],
                "novel_keys": nearest["novel_keys"],
            }
        )
    probe.seconds = round(time.perf_counter() - started, 3)
    return probe


def _reasons(obs_set: ObservationSet, closure: Sequence[Probe], agreement: Agreement) -> list[str]:
    """Why the policy is not certified (empty: it is)."""
    reasons = []
    if obs_set.expert_failures:
        reasons.append(
            f"the expert failed {obs_set.expert_failures} of the set's {obs_set.episodes} problems"
        )
    if obs_set.conflicts:
        reasons.append(
            f"the expert chose two different actions on {obs_set.conflicts} observations "
            "(it is not a function of the observation)"
        )
    for probe in closure:
        where = (
            "" if probe.member is None else f"{probe.member} "
        ) + f"length {probe.length} ({probe.label})"
        if probe.error is not None:
            reasons.append(f"closure not checked at {where}: {probe.error}")
            continue
        if probe.strays:
            reasons.append(
                f"the set is not closed: {probe.strays} of the {probe.observations} observations at "
                f"{where} are not in it"
            )
        if probe.expert_failures:
            reasons.append(
                f"the expert failed {probe.expert_failures} of {probe.problems} problems at {where}"
            )
    mismatches = len(agreement.composition_mismatches)
    if mismatches:
        reasons.append(
            f"the greedy actions differ between the two batch compositions on {mismatches} observations "
            "(the policy is not a deterministic function of the observation)"
        )
    wrong = len(agreement.disagreements)
    if wrong:
        reasons.append(
            f"the greedy action is not the expert's on {wrong} of {agreement.size} observations "
            f"(agreement {agreement.agreement:.6f})"
        )
    elif not agreement.min_margin > 0:
        reasons.append(
            f"the minimum logit margin is {agreement.min_margin:g}, not > 0 "
            f"(observation {agreement.min_margin_index}: a tie that the argmax breaks by index)"
        )
    return reasons


def _assumptions(
    obs_set: ObservationSet, closure: Sequence[Probe], agreement: Agreement, provenance: str
) -> list[str]:
    """What the certificate rests on, as checked (``provenance``: where the set comes from)."""
    probed = [p for p in closure if p.error is None]
    members = list(dict.fromkeys(p.member for p in probed))
    probes = "; ".join(
        ("" if member is None else f"{member}: ")
        + _describe(
            [p.length for p in probed if p.member == member],
            [None if p.exhaustive else p.problems for p in probed if p.member == member],
            0,
        )
        for member in members
    )
    solved = obs_set.episodes + sum(p.problems for p in probed)
    failures = obs_set.expert_failures + sum(p.expert_failures for p in probed)
    sampled = any(p.exhaustive is False for p in probed)
    return [
        f"closure as checked: the set comes from {provenance}; beyond the training "
        f"lengths, {probes or 'nothing'} showed no observation outside it"
        + (" (a sample: a stray on a problem not drawn would escape the check)" if sampled else ""),
        "the policy is a deterministic function of the observation: checked as identical greedy actions "
        f"with the set {agreement.compositions[0]} and {agreement.compositions[1]}",
        f"the expert is correct as tested: it is checked to solve the {solved} problems run "
        f"(failures: {failures}) and to choose one action per observation",
    ]


def _provenance(parts: Sequence[SetPart], seed: int | None = None) -> str:
    """Which problems a set comes from, member by member for a MultiTask (:func:`_describe`)."""
    return "; ".join(
        ("" if part.member is None else f"{part.member}: ")
        + _describe(part.lengths, part.counts, len(part.given), seed, part.covering)
        for part in parts
    )


def _describe(
    lengths: Sequence[int],
    counts: Sequence[int | None],
    given: int,
    seed: int | None = None,
    covering: Sequence[int] = (),
) -> str:
    """Which problems: "every problem of length 1, 2; 10000 random problems of length 3 (seed 0);
    the 5000 covering problems of length 3" (``covering``: per length, ``Task.covering_problems``)."""
    every = [n for n, count in zip(lengths, counts, strict=True) if count is None]
    sampled: dict[int, list[int]] = {}
    for n, count in zip(lengths, counts, strict=True):
        if count is not None:
            sampled.setdefault(count, []).append(n)
    parts = [f"every problem of length {_span(every)}"] if every else []
    drawn = f" (seed {seed})" if seed is not None else ""
    parts += [f"{count} random problems of length {_span(ns)}{drawn}" for count, ns in sampled.items()]
    parts += [
        f"the {count} covering problems of length {n}"
        for n, count in zip(lengths, covering, strict=False)
        if count
    ]
    if given:
        parts.append(f"{given} given problems")
    return "; ".join(parts)


def _growth(obs_set: ObservationSet) -> dict[str, int]:
    """Observations first seen on each source of the set, in order (a training length counts only
    what the shorter ones did not show; "given": the given problems)."""
    growth: dict[str, int] = {}
    first = 0
    for source in obs_set.sources:
        count = int(source.get("count", source.get("samples", 0)))
        label = "given" if source.get("problems") == "given" else str(source.get("length"))
        if source.get("member") is not None:
            label = f"{source['member']} {label}"
        seen = (obs_set.episode >= first) & (obs_set.episode < first + count)
        growth[label] = growth.get(label, 0) + int(np.count_nonzero(seen))
        first += count
    return growth


def _span(lengths: Sequence[int]) -> str:
    """``1..3`` for three or more consecutive lengths, else ``1, 3, 5``."""
    if len(lengths) > 2 and list(lengths) == list(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]}..{lengths[-1]}"
    return ", ".join(map(str, lengths))


# -- counterexamples ---------------------------------------------------------------------------


def episode_source(
    obs_set: ObservationSet,
    problems: Sequence[Any],
    episode: int,
    batch: int = BATCH,
    task: str | TaskType | None = None,
) -> dict[str, Any]:
    """The problem of episode ``episode`` of ``obs_set`` (numbered in generation order, over its
    sources in order): ``{"problem": p}`` for one of the given ``problems``; ``{"problem": p,
    "length": n, "index": i}`` for problem ``i`` of every problem of length ``n``
    (``Task.all_problems`` of ``task``, default the set's) or of its covering problems of length
    ``n`` (``Task.covering_problems``); ``{"length": n, "problem_seed": s}`` for
    a random one, its seed drawn again as the set drew it (one generator seeded with the set's seed,
    over the sampled lengths in order, ``batch`` problems at a time). ``ValueError`` if the set's
    sources do not reach that episode."""
    offset, random = 0, None
    for source in obs_set.sources:
        if source.get("problems") in ("given", "all", "covering"):
            count = int(source["count"])
            if offset <= episode < offset + count:
                if source["problems"] == "given":
                    return {"problem": problems[episode - offset]}
                length = int(source["length"])
                settings = {
                    k: v
                    for k, v in obs_set.settings.items()
                    if k not in ("min_length", "max_length", "projected")
                }
                family = covering if source["problems"] == "covering" else enumerable
                every = family(task or obs_set.task, length, count, **settings)
                if every is None or len(every) != count:
                    break
                return {"problem": every[episode - offset], "length": length, "index": episode - offset}
            offset += count
        elif "length" in source and "samples" in source:
            if random is None:
                random = np.random.default_rng(int(source["seed"]))
            samples = int(source["samples"])
            for start in range(0, samples, batch):
                count = min(batch, samples - start)
                seeds = random.integers(2**63, size=count)
                if offset <= episode < offset + count:
                    return {"length": int(source["length"]), "problem_seed": int(seeds[episode - offset])}
                offset += count
        else:
            break
    raise ValueError(f"episode {episode} is not one the set's sources ({obs_set.sources}) can regenerate")


def counterexample(
    policy: ActformerPolicy,
    task: str | TaskType,
    obs_set: ObservationSet,
    index: int,
    problems: Sequence[Any] = (),
) -> Counterexample:
    """Replay the episode where observation ``index`` of ``obs_set`` was first seen, with the greedy
    ``policy`` acting and the expert's action computed alongside at every step; ``problems`` are the
    given problems the set was built from (if any)."""
    episode, step = int(obs_set.episode[index]), int(obs_set.step[index])
    source = episode_source(obs_set, problems, episode, task=task)
    episodes = Episodes(task_class(task), _set_config(task_class(task), obs_set.settings), batch=1)
    env = np.zeros(1, dtype=np.intp)
    if "problem" in source:
        episodes.reset(env, problem=source["problem"])
    else:
        episodes.problems.seed(env, np.array([source["problem_seed"]], dtype=np.uint64))
        episodes.reset(env, lengths=np.array([source["length"]]))
    start = _frame(episodes)
    reproduced, diverged, frame = False, None, ""
    actions: tuple[str | None, str | None] = (None, None)
    trace: list[str] = []
    steps, skipped = 0, 0
    training = policy.training
    policy.eval()
    try:
        while True:
            obs = episodes.observation()
            if steps == step:
                seen = (
                    project(obs, episodes.mixture.read_masks()) if obs_set.settings.get("projected") else obs
                )
                reproduced = bool(np.array_equal(_row(seen, obs_set.keys), obs_set.rows[index]))
            expert = int(episodes.expert_action()[0])
            with torch.no_grad():
                logits = policy(obs)[0]
                mask = torch.from_numpy(np.array(episodes.action_masks(), dtype=bool))
                action = int(masked_logits(logits, mask, logits.device).argmax(-1)[0])
            mark = ""
            if action != expert:
                mark = "  <- leaves the expert's trajectory" if diverged is None else "  (differs)"
            if diverged is None and action != expert:
                diverged, frame = steps, _frame(episodes)
                actions = (instruction_name(action), instruction_name(expert))
            line = f"{steps:>5}  {instruction_name(action):<16} expert: {instruction_name(expert)}{mark}"
            if diverged is None or steps <= diverged + TRACE_AFTER:
                trace.append(line)
            else:
                skipped += 1
            _, terminated, truncated, _, success = episodes.step(np.array([action]))
            steps += 1
            if terminated[0] or truncated[0]:
                break
    finally:
        policy.train(training)
    if skipped:
        trace.append(f"       ... {skipped} more steps")
    output, target = episodes.outcomes(env)[:, 0]
    return Counterexample(
        index=int(index),
        episode=episode,
        step=step,
        source={key: _plain(value) for key, value in source.items()},
        reproduced=reproduced,
        diverged_at=diverged,
        policy_action=actions[0],
        expert_action=actions[1],
        frame=frame,
        steps=steps,
        ended="halted" if terminated[0] else "truncated",
        solved=bool(success[0]),
        output=show_answer(output),
        target=show_answer(target),
        start=start,
        trace=trace,
    )


def _frame(episodes: Episodes) -> str:
    """Env 0's text frame (``render_text``), without the spaces that pad its lines."""
    return "\n".join(line.rstrip() for line in render_text(episodes, 0).splitlines())


def _set_config(task_type: TaskType, settings: Mapping[str, Any]) -> EnvConfig:
    """The env config the set was built with (its settings name the env's arguments, and whether
    the set is projected)."""
    return EnvConfig.for_task(task_type, **{k: v for k, v in settings.items() if k != "projected"})


def _row(obs: Mapping[str, Any], keys: Sequence[str]) -> np.ndarray:
    """Env 0's observation as one int64 row, as ``ObservationSet.rows`` holds it."""
    return np.concatenate([np.asarray(obs[key])[:1].reshape(1, -1).astype(np.int64) for key in keys], axis=1)[
        0
    ]


def show_answer(value: Any) -> str:
    """An answer as text: symbols as a string, numbers as digits, none as "none"."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in value):
        return "".join(SYMBOL_CHARS[v] if 0 <= v < len(SYMBOL_CHARS) else f"<{v}>" for v in value)
    return str(value)


# -- reports -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def jsonable(value: Any) -> Any:
    """``value`` in plain JSON types: dataclasses and mappings as dicts, NumPy values as Python's,
    paths as strings, non-finite floats as "inf", "-inf", "nan"."""
    value = _plain(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def format_certificate(certificate: Certificate, source: str) -> str:
    """The human summary ``actformer certify`` prints: the set, closure, agreement, verdict, and the
    counterexample if there is one."""
    c, v, a = certificate, certificate.verification, certificate.agreement
    settings = ", ".join(f"{key} {value}" for key, value in c.settings.items())
    growth = ", ".join(f"{key}: {count}" for key, count in v["growth"].items())
    lines = [
        f"certificate of {source} ({c.task}; {settings})",
        f"verification set: {v['observations']} observations from {v['episodes']} expert episodes "
        f"({v['provenance']}); first seen by length: {growth}; "
        f"expert failures {v['expert_failures']}, conflicts {v['conflicts']}",
        "closure:",
    ]
    for probe in c.closure:
        of = "" if probe.member is None else f"{probe.member}, "
        where = f"  {of}length {probe.length:>6} ({probe.label}):"
        if probe.error is not None:
            lines.append(f"{where} not checked: {probe.error}")
        else:
            problems = f"all {probe.problems}" if probe.exhaustive else f"{probe.problems} random"
            lines.append(
                f"{where} {problems} problems, {probe.observations} observations, "
                f"{probe.strays} not in the set"
            )
    summary = a.to_dict()
    lines.append(
        f"agreement: {a.agreement:.6f} ({summary['agreeing']} of {a.size} observations), "
        f"minimum margin {a.min_margin:.4g} (observation {a.min_margin_index})"
    )
    same = "identical greedy actions" if a.deterministic else f"{summary['composition_mismatches']} differ"
    lines.append(
        f"batch compositions ({a.compositions[0]}; {a.compositions[1]}): {same}, "
        f"largest margin change {a.max_margin_difference:.2g}"
    )
    lines.append("assumptions:")
    lines += [f"  - {line}" for line in c.assumptions]
    lines.append(f"verdict: {c.verdict}")
    lines += [f"  - {reason}" for reason in c.reasons]
    if c.counterexample is not None:
        lines += _format_counterexample(c.counterexample)
    return "\n".join(lines)


def _format_counterexample(found: Counterexample) -> list[str]:
    source = found.source
    if "problem_seed" in source:
        problem = f"random problem of length {source['length']} (problem seed {source['problem_seed']})"
    elif "index" in source:
        problem = f"problem {source['problem']!r} (number {source['index']} of length {source['length']})"
    else:
        problem = f"given problem {source['problem']!r}"
    lines = [f"counterexample: observation {found.index}, first seen at step {found.step} of the {problem}:"]
    if found.diverged_at != 0:  # (at step 0, the frame below is the first one)
        lines += [f"  {line}" for line in found.start.splitlines()]
    if found.diverged_at is None:
        lines.append("  replayed with the greedy policy acting, it never left the expert's trajectory")
    else:
        lines.append(
            f"  at step {found.diverged_at} the greedy policy takes {found.policy_action} where the expert "
            f"takes {found.expert_action}:"
        )
        lines += [f"  {line}" for line in found.frame.splitlines()]
    verdict = "solved" if found.solved else "not solved"
    lines.append(
        f"  the policy's episode then: {found.ended} after {found.steps} steps, {verdict} "
        f"(output {found.output}, expected {found.target})"
    )
    if not found.reproduced:
        lines.append("  (the replay did not meet the set's observation at that step)")
    return lines
