"""Smoke tests of the training benchmarks (RL from scratch, training throughput, history ablation): they
run on tiny budgets into a fresh folder, say they are smoke tests, and their JSON and Markdown files
have the promised shape."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from test_benchmarks import RESULTS, check_smoke, run_with_default_output

from actformer_gym.train.checkpoint import load_checkpoint
from actformer_gym.train.runs import load_policy, saved_config
from benchmarks import rl_from_scratch, weak_warm_start

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
DOCUMENT_KEYS = {"benchmark", "date", "command", "settings", "machine", "results", "markdown", "smoke"}


def own_run(task: str) -> rl_from_scratch.Run:
    """Seed 0 of our PPO on ``task``'s own recipe."""
    return rl_from_scratch.Run(task, "PPO", 0, rl_from_scratch.RECIPES[task])


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks.<name>`` from the repo root, as a user would (``python -m benchmarks.<name>``)."""
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(output: Path, result: subprocess.CompletedProcess[str], also: tuple[str, ...] = ()) -> dict:
    """The JSON document of a ``--quick`` run, after checking the run, its smoke-test marks, the
    Markdown file beside it (and the files ``also``) and the printed table."""
    assert result.returncode == 0, result.stderr
    written = [output.name, output.with_suffix(".md").name, *also]
    assert sorted(path.name for path in output.parent.iterdir()) == sorted(written)
    document = json.loads(output.read_text(encoding="utf-8"))
    assert set(document) >= DOCUMENT_KEYS
    assert output.with_suffix(".md").read_text(encoding="utf-8").strip() == document["markdown"].strip()
    check_smoke(result, document)
    assert document["machine"]["torch_threads"] == 1
    assert document["total_seconds"] > 0
    return document


def test_rl_from_scratch_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output(
        "rl_from_scratch",
        ("--quick", "--tasks", "Copy", "Parity", "--seeds", "1", "--first-seed", "3"),
        tmp_path,
    )
    document = load(folder / "rl_from_scratch.json", result, also=("rl_from_scratch.png",))
    assert document["benchmark"] == "rl_from_scratch"
    settings = document["settings"]
    assert settings["quick"] and settings["multipliers"] == [1, 10, 100]
    assert settings["env_modes"] == {"reward_mode": "dense", "mask_mode": "valid"}
    assert settings["base"]["imitation"] is False and settings["base"]["projected"] is False
    recipes = rl_from_scratch.RECIPES
    assert settings["recipes"] == {task: asdict(recipes[task]) for task in ("Copy", "Parity")}
    runs = [(r["task"], r["learner"], r["seed"]) for r in document["results"]]
    assert runs == [
        *[("Copy", learner, 3) for learner in ("PPO", "A2C", "MaskablePPO")],
        *[("Parity", learner, 3) for learner in ("PPO", "A2C")],  # (no MaskablePPO)
    ]
    for r in document["results"]:
        assert r["steps"] <= r["budget"] + 1024 and r["budget"] == settings["budget"]
        checks = r["checks"]
        assert checks["steps"] == sorted(checks["steps"]) and checks["steps"][-1] == r["steps"]
        assert all(0.0 <= v <= 1.0 for v in checks["exact_match"])
        assert set(r["exact_match"]) == set(r["mean_steps"]) == set(r["expert_steps"]) == {"1", "10", "100"}
        # Copy's expert program: 3n + 1 steps for n symbols; Parity's: 5n + 2 (n: the problem's length)
        per_symbol, extra = {"Copy": (3, 1), "Parity": (5, 2)}[r["task"]]
        for m, steps in r["expert_steps"].items():
            assert steps == per_symbol * int(m) * r["train_length"] + extra
        assert r["steps_to_target"] is None or r["steps_to_target"] == r["steps"]
        assert r["run"]["command"] == document["command"]
        recipe = recipes[r["task"]]
        assert r["recipe"] == recipe.name and r["train_length"] == recipe.train_length
        if r["learner"] != "MaskablePPO":
            assert recipe.min_length <= r["curriculum_length"] <= recipe.train_length
            assert r["curve"]["steps"][-1] == r["steps"]
    assert document["markdown"].count("| Copy | PPO |") == 1 + 1  # the seeds line, then the run


def test_only_the_under_recipes_train_a_policy_blind_beside_its_pointers() -> None:
    """Every task's own recipe but Parity's trains a policy that sees the whole local observation, with
    no count bonus; ``under-raw`` and the ``under-count`` recipes (Parity's among them) one that sees only
    the cells under its pointers and has no history, the latter with their bonus."""
    args = rl_from_scratch.parse_args(["--quick"])
    for task in rl_from_scratch.TASKS:
        config = rl_from_scratch.make_config(own_run(task), args)
        assert not config.policy.projected
        if task != "Parity":
            assert config.policy.neighbours and config.algo.count_bonus == 0.0, task
    recipe = rl_from_scratch.RECIPES["Parity"]
    assert recipe is rl_from_scratch.UNDER_COUNT_MAGNITUDE_SUCCESS
    config = rl_from_scratch.make_config(own_run("Parity"), args)
    assert not config.policy.neighbours and config.env.history_length == 0 and not config.algo.norm_adv
    assert (config.algo.count_bonus, config.algo.count_values) == (0.04, "magnitude")
    assert config.algo.ent_schedule == "success"
    for name, bonus in [("under-raw", 0.0), *((f"under-count-{b}", b) for b in rl_from_scratch.UNDER_COUNT)]:
        recipe = rl_from_scratch.ALL_RECIPES[name]
        config = rl_from_scratch.make_config(rl_from_scratch.Run("Parity", "PPO", 0, recipe), args)
        assert not config.policy.neighbours and config.env.history_length == 0 and not config.algo.norm_adv
        assert config.algo.count_bonus == bonus, name
    assert not rl_from_scratch.Trainer(config).policy.neighbours


def test_a_recipes_env_settings_hold_for_every_env_of_its_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reverse's recipe has no history: its trainer, its checks and its evaluation all say so."""
    recipe = rl_from_scratch.RECIPES["Reverse"]
    assert recipe.env_kwargs == {"history_length": 0} and rl_from_scratch.RECIPES["Copy"].env_kwargs == {}
    args = rl_from_scratch.parse_args(["--tasks", "Reverse", "--quick"])
    config = rl_from_scratch.make_config(own_run("Reverse"), args)
    assert config.env.history_length == 0
    seen: dict = {}

    def make_eval_env(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise StopIteration  # (nothing to run: the env's settings are what is checked)

    monkeypatch.setattr(rl_from_scratch, "make_eval_env", make_eval_env)
    with pytest.raises(StopIteration):
        rl_from_scratch.score(None, own_run("Reverse"), 10, 5)  # type: ignore[arg-type]
    assert seen["history_length"] == 0 and seen["reward_mode"] == "dense"


def test_a_recipes_reward_mode_replaces_the_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    """``uniform-raw-signed`` trains and evaluates on the ``"signed"`` reward, every other setting
    ``uniform-raw``'s."""
    recipe = rl_from_scratch.ALL_RECIPES["uniform-raw-signed"]
    plain = rl_from_scratch.ALL_RECIPES["uniform-raw"]
    assert recipe.env_kwargs == {"reward_mode": "signed"}
    assert {k: v for k, v in recipe.settings.items() if k != "reward_mode"} == plain.settings
    args = rl_from_scratch.parse_args(["--tasks", "Addition", "--recipe", "uniform-raw-signed", "--quick"])
    run = rl_from_scratch.Run("Addition", "PPO", 0, recipe)
    assert rl_from_scratch.make_config(run, args).env.reward_mode == "signed"
    seen: dict = {}

    def make_eval_env(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise StopIteration

    monkeypatch.setattr(rl_from_scratch, "make_eval_env", make_eval_env)
    with pytest.raises(StopIteration):
        rl_from_scratch.score(None, run, 3, 5)  # type: ignore[arg-type]
    assert seen["reward_mode"] == "signed" and seen["mask_mode"] == "valid"


def test_a_run_without_steps_gets_its_recipes_budget() -> None:
    """RepeatCopy's recipe runs 10M env-steps and the others 4M unless ``--steps`` says otherwise, so
    the plain command reproduces the committed runs."""
    run = own_run("RepeatCopy")
    plain = rl_from_scratch.parse_args(["--tasks", "RepeatCopy", "Copy"])
    assert rl_from_scratch.make_config(run, plain).run.total_steps == 10_000_000
    assert rl_from_scratch.budget(own_run("Copy"), plain) == 4_000_000
    given = rl_from_scratch.parse_args(["--tasks", "RepeatCopy", "--steps", "5000"])
    assert rl_from_scratch.make_config(run, given).run.total_steps == 5000


def test_recipe_flag_trains_every_task_on_that_recipe() -> None:
    """``--recipe`` replaces each task's recipe: the trainer's settings, the budget and the
    evaluation's env settings are the named recipe's."""
    args = rl_from_scratch.parse_args(["--tasks", "RepeatCopy", "--recipe", "annealed-2"])
    seeds = range(args.seeds)
    (run, *_) = rl_from_scratch.runs(args.tasks, ["PPO"], seeds, rl_from_scratch.ALL_RECIPES[args.recipe])
    assert run.recipe is rl_from_scratch.ANNEALED_FROM_2
    config = rl_from_scratch.make_config(run, args)
    assert config.env.history_length != 0 and config.run.total_steps == 4_000_000  # (the task's own: 0, 10M)
    assert rl_from_scratch.env_settings(run.recipe) == rl_from_scratch.ENV_MODES


@pytest.mark.usefixtures("one_thread")
def test_checkpoints_hold_the_policy_the_run_scored(tmp_path: Path) -> None:
    """``--checkpoints DIR`` saves each own run's final policy; loaded back (as ``actformer trace``
    and ``evaluate`` load it), it acts as the run's final policy, on the same problems."""
    args = rl_from_scratch.parse_args(["--quick", "--checkpoints", str(tmp_path)])
    run = own_run("Parity")
    trained, *_ = rl_from_scratch.train_own(run, args)
    (path,) = tmp_path.iterdir()
    assert path.name == "Parity-PPO-seed0.pt"
    payload = load_checkpoint(path)
    assert payload["run"] == {"recipe": run.recipe.name}
    config = saved_config(payload)
    assert config == rl_from_scratch.make_config(run, args)
    policy = load_policy(payload, config, device="cpu")
    length = run.recipe.train_length
    measured = [
        rl_from_scratch.measure(agent, run, length, args.eval_episodes) for agent in (policy, trained)
    ]
    assert measured[0] == measured[1]
    state, saved = trained.state_dict(), policy.state_dict()
    assert state.keys() == saved.keys() and all(torch.equal(state[key], saved[key]) for key in state)


def test_rl_page_states_each_recipes_budget_and_every_other_one_run() -> None:
    """The recipe table's budget column starts with the recipe's own budget and names every other
    budget its committed runs had."""
    document = json.loads((RESULTS / "rl_from_scratch.json").read_text(encoding="utf-8"))
    page = (DOCS / "rl_from_scratch.md").read_text(encoding="utf-8")
    recipes = {recipe.name: recipe for recipe in rl_from_scratch.RECIPES.values()}
    for name, recipe in recipes.items():
        (line,) = [line for line in page.splitlines() if line.startswith(f"| `{name}` |")]
        cell = line.rstrip(" |").rsplit("|", 1)[1].strip()
        assert cell.startswith(f"{recipe.steps // 10**6}M"), name
        budgets = {r["budget"] for r in document["results"] if r["recipe"] == name}
        assert recipe.steps in budgets and all(f"{b // 10**6}M" in cell for b in budgets), name


def test_a_run_stops_only_once_the_final_problems_confirm_its_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check at the target (on few problems) stops a run only if the final evaluation's problems at
    the training length confirm it; below the training length it is not even confirmed."""
    args = rl_from_scratch.parse_args(["--check-episodes", "200", "--eval-episodes", "1000"])
    shares = {200: 1.0, 1000: 0.985}  # (a policy at 98.5 % that passes a check of 200 problems)

    def measure(
        agent: None, run: rl_from_scratch.Run, length: int, episodes: int, expert: bool = False
    ) -> dict:
        return {"exact_match": shares[episodes], "mean_steps": 7.0, "expert_steps": 7.0}

    monkeypatch.setattr(rl_from_scratch, "measure", measure)
    checks = rl_from_scratch.Checks(own_run("Copy"), args)
    assert not checks.measure(None, 100, 4)  # type: ignore[arg-type]  # (the curriculum below 5)
    assert not checks.measure(None, 200, 5) and checks.confirmed is None  # type: ignore[arg-type]
    shares[1000] = 0.99
    assert checks.measure(None, 300, 5) and checks.reached == 300  # type: ignore[arg-type]
    assert checks.exact_match == [1.0, 1.0, 1.0]
    assert checks.confirmations == {"steps": [200, 300], "exact_match": [0.985, 0.99]}
    assert checks.confirmed == {"exact_match": 0.99, "mean_steps": 7.0, "expert_steps": 7.0}


def test_a_recipe_that_trains_its_whole_budget_records_when_it_was_solved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``stops=False`` a confirmed check is recorded as the steps to the target (the first one
    only, confirmed once) but does not stop the run."""
    args = rl_from_scratch.parse_args(["--check-episodes", "200", "--eval-episodes", "1000"])
    confirmed: list[int] = []

    def measure(
        agent: None, run: rl_from_scratch.Run, length: int, episodes: int, expert: bool = False
    ) -> dict:
        confirmed.append(episodes)
        return {"exact_match": 1.0, "mean_steps": 7.0, "expert_steps": 7.0}

    monkeypatch.setattr(rl_from_scratch, "measure", measure)
    recipe = rl_from_scratch.RECIPES["Addition"]
    assert not recipe.stops
    checks = rl_from_scratch.Checks(rl_from_scratch.Run("Addition", "PPO", 0, recipe), args)
    assert not checks.measure(None, 100, 5) and checks.reached == 100  # type: ignore[arg-type]
    assert not checks.measure(None, 200, 5) and checks.reached == 100  # type: ignore[arg-type]
    assert confirmed == [200, 1000, 200] and checks.confirmations["steps"] == [100]
    assert checks.confirmed is None  # (the final policy is not the one confirmed: 1x is measured again)


def test_the_final_evaluation_reuses_the_confirmation_at_1x(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that stopped on a confirmation was measured at 1x on the final problems already: the final
    evaluation takes that measurement and runs only the longer lengths."""
    lengths: list[int] = []

    def measure(
        agent: None, run: rl_from_scratch.Run, length: int, episodes: int, expert: bool = False
    ) -> dict:
        lengths.append(length)
        return {"exact_match": 0.5, "mean_steps": float(length), "expert_steps": float(length)}

    monkeypatch.setattr(rl_from_scratch, "measure", measure)
    run, confirmed = own_run("Copy"), {"exact_match": 1.0, "mean_steps": 6.0, "expert_steps": 7.0}
    final = rl_from_scratch.final_evaluation(None, run, 1000, confirmed)  # type: ignore[arg-type]
    assert lengths == [10 * 5, 100 * 5]
    assert final["exact_match"] == {"1": 1.0, "10": 0.5, "100": 0.5}
    assert final["expert_steps"]["1"] == 7.0 and final["mean_steps"]["10"] == 50.0
    lengths.clear()
    rl_from_scratch.final_evaluation(None, run, 1000)  # type: ignore[arg-type]
    assert lengths == [5, 50, 500]


def test_every_committed_run_that_stopped_holds_the_target_on_the_final_problems() -> None:
    """A run stops only once the final evaluation's problems at the training length confirm its check,
    so every committed run with steps to the target scores at least the target there; a run that trains
    on counts the first confirmation that passed (those before it failed)."""
    archived = sorted(RESULTS.glob("rl_from_scratch*/rl_from_scratch.json"))
    for path in [*archived, RESULTS / "rl_from_scratch.json"]:
        for r in json.loads(path.read_text(encoding="utf-8"))["results"]:
            recipe = rl_from_scratch.ALL_RECIPES[r.get("recipe", "uniform")]
            where = (path.parent.name, r["task"], r["learner"], r["seed"])
            if r["steps_to_target"] is not None and recipe.stops:
                assert r["exact_match"]["1"] >= rl_from_scratch.TARGET, where
            elif r["steps_to_target"] is not None:  # (trained on: its first passed confirmation is the one)
                steps, exact = r["confirmations"]["steps"], r["confirmations"]["exact_match"]
                assert steps[-1] == r["steps_to_target"] and exact[-1] >= rl_from_scratch.TARGET, where
                assert all(e < rl_from_scratch.TARGET for e in exact[:-1]), where


def test_rl_from_scratch_merges_split_runs(tmp_path: Path) -> None:
    def document(seed: int, budget: int) -> dict:
        row = {
            "task": "Copy", "learner": "PPO", "seed": seed, "train_length": 5, "budget": budget,
            "steps": budget, "steps_to_target": budget, "checks": {"steps": [budget], "exact_match": [1.0]},
            "exact_match": {"1": 1.0, "10": 1.0, "100": 0.5},
            "run": {"date": f"2026-01-0{seed + 1}", "command": f"run {seed}", "revision": {"commit": "a"}},
        }  # fmt: skip
        settings = {key: 1 for key in rl_from_scratch.MERGED_SETTINGS}
        recipes = {"Copy": {"name": f"recipe {seed}"}, f"Task{seed}": {"name": "other"}}
        return {"settings": {**settings, "budget": budget, "recipes": recipes}, "results": [row]}

    paths = []
    for seed in (1, 0):
        paths.append(tmp_path / f"{seed}.json")
        paths[-1].write_text(json.dumps(document(seed, 100 * (seed + 1))), encoding="utf-8")
    rows, settings = rl_from_scratch.merged(paths)
    assert [row["seed"] for row in rows] == [0, 1] and settings["budget"] == 200
    # each task's recipe as the last file that ran it has it
    expected = {"Copy": {"name": "recipe 0"}, "Task1": {"name": "other"}, "Task0": {"name": "other"}}
    assert settings["recipes"] == expected
    table = rl_from_scratch.markdown_table(rows)
    assert "| Copy | PPO | uniform | 5 | 2 of 2 | 2 of 2 | 0 of 2 | 100, 200 |" in table
    other = document(2, 300)
    other["settings"]["check_every"] = 2
    paths.append(tmp_path / "other.json")
    paths[-1].write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(ValueError, match="other checks"):
        rl_from_scratch.merged(paths)


def test_weak_warm_start_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output(
        "weak_warm_start", ("--quick", "--tasks", "Sort", "--seeds", "1", "--first-seed", "1"), tmp_path
    )
    document = load(folder / "weak_warm_start.json", result, also=("weak_warm_start.png",))
    assert document["benchmark"] == "weak_warm_start"
    settings = document["settings"]
    assert settings["quick"] and settings["multipliers"] == [1, 10] and settings["warm_pairs"] == 256
    assert settings["recipe"]["dagger_rounds"] == 0 and "projected" not in settings["recipe"]
    assert "count_bonus" not in settings["recipe"]  # (off unless --count-bonus sets it)
    assert settings["arms"] == {arm: weak_warm_start.ARMS[arm] for arm in weak_warm_start.DEFAULT_ARMS}
    assert settings["views"] == {"full": False, "projected": True}
    rows = document["results"]
    assert [(r["task"], r["seed"], r["view"], r["arm"]) for r in rows] == [
        ("Sort", seed, view, arm)
        for seed in (1,)
        for view in ("full", "projected")
        for arm in ("KL anchor", "no anchor", "scheduled anchor")
    ]
    for arms in zip(rows[::3], rows[1::3], rows[2::3], strict=True):
        assert len({json.dumps(arm["before"]) for arm in arms}) == 1  # one clone, measured once, for all
    budget = settings["budget"]
    assert [(r["kl_coef"], r["kl_anneal_steps"]) for r in rows[:3]] == [
        (1.0, None),
        (0.0, None),
        (1.0, budget // 2),
    ]
    for r in rows:
        assert r["train_length"] == 5 and r["steps"] >= r["budget"] == settings["budget"]
        checks = r["checks"]
        assert checks["steps"][0] == 0 and checks["exact_match"][0] == r["before"]["1"]
        assert checks["steps"] == sorted(checks["steps"]) and checks["steps"][-1] == r["steps"]
        assert set(r["before"]) == set(r["after"]) == {"1", "10"}
        assert all(0.0 <= v <= 1.0 for v in [*r["before"].values(), *r["after"].values()])
    assert document["markdown"].count("| Sort | full | KL anchor |") == 1 + 1  # the seeds line, then the run


def test_weak_warm_start_variant_trains_and_measures_at_its_length(tmp_path: Path) -> None:
    flags = ("--quick", "--tasks", "Sort", "--seeds", "1", "--train-length", "2", "--rl-length", "4")
    flags += (
        "--warm-pairs",
        "64",
        "--views",
        "projected",
        "--arms",
        "floored anchor",
        "--count-bonus",
        "0.05",
    )
    result, folder = run_with_default_output("weak_warm_start", flags, tmp_path)
    document = load(folder / "weak_warm_start.json", result, also=("weak_warm_start.png",))
    settings = document["settings"]
    assert (settings["train_length"], settings["rl_length"], settings["warm_pairs"]) == (2, 4, 64)
    assert settings["recipe"]["imitation_pairs"] == 64 and settings["recipe"]["count_bonus"] == 0.05
    [row] = document["results"]
    assert (row["view"], row["arm"], row["train_length"], row["rl_length"]) == (
        "projected",
        "floored anchor",
        2,
        4,
    )
    assert (row["kl_coef"], row["kl_anneal_steps"], row["kl_coef_final"]) == (1.0, row["budget"] // 2, 0.2)
    assert "| Sort | projected | floored anchor | 0 | 2 |" in document["markdown"]
    assert (
        "no entropy bonus, a count bonus of 0.05 (`--count-bonus`), no weight decay" in document["markdown"]
    )
    assert "RL on problems of lengths 1..4, the clone's up to the row's length" in document["markdown"]


def test_weak_warm_start_merge_keeps_a_variant_off_the_main_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import benchmarks.common

    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")  # (were it written)
    settings = {key: None for key in weak_warm_start.MERGED_SETTINGS} | {"arms": {}, "warm_pairs": 3000}
    path = tmp_path / "variant.json"
    path.write_text(json.dumps({"settings": {**settings, "rl_length": 10}, "results": []}), encoding="utf-8")
    assert weak_warm_start.main(["--merge", str(path), "--update-results"]) == 2
    assert "write a variant" in capsys.readouterr().err and not (tmp_path / "results").exists()
    assert weak_warm_start.is_variant({**settings, "warm_pairs": 1000})
    assert not weak_warm_start.is_variant(settings)
    assert weak_warm_start.is_variant(
        {**settings, "arms": {"slow anchor": weak_warm_start.ARMS["slow anchor"]}}
    )
    assert not weak_warm_start.is_variant({**settings, "arms": list(weak_warm_start.DEFAULT_ARMS)})
    assert weak_warm_start.is_variant({**settings, "count_bonus": 0.05})  # (the flag)
    assert weak_warm_start.is_variant({**settings, "recipe": {"count_bonus": 0.05}})  # (a file's recipe)
    assert not weak_warm_start.is_variant({**settings, "count_bonus": 0.0, "recipe": {"ent_coef": 0.0}})


def test_weak_warm_start_arms_penalties() -> None:
    held = {"kl_anneal_steps": None, "kl_coef_final": 0.0}
    assert weak_warm_start.kl_settings("KL anchor", 10**6) == {"kl_coef": 1.0, **held}
    assert weak_warm_start.kl_settings("no anchor", 10**6) == {"kl_coef": 0.0, **held}
    assert weak_warm_start.kl_settings("scheduled anchor", 2_000_000)["kl_anneal_steps"] == 1_000_000
    assert weak_warm_start.kl_settings("scheduled anchor", 1)["kl_anneal_steps"] == 1  # (at least one step)
    assert weak_warm_start.kl_settings("slow anchor", 2_000_000)["kl_anneal_steps"] == 2_000_000
    assert weak_warm_start.kl_settings("floored anchor", 4_000_000) == {
        "kl_coef": 1.0,
        "kl_anneal_steps": 2_000_000,
        "kl_coef_final": 0.2,
    }
    floored = weak_warm_start.kl_settings("floored anchor", 4_000_000)
    assert weak_warm_start.penalty(floored) == "1 to 0.2 over 2,000,000, then 0.2"
    assert weak_warm_start.penalty(weak_warm_start.kl_settings("slow anchor", 10)) == "1 to 0 over 10"
    assert weak_warm_start.ARM_WORDS.keys() == weak_warm_start.ARMS.keys()  # (the footnote words every arm)


def test_weak_warm_start_footnote_names_only_the_views_and_arms_run() -> None:
    def row(view: str, arm: str) -> dict:
        return {"view": view, "arm": arm}

    one = weak_warm_start.footnote([row("full", "no anchor")], 10, 3000, None)
    assert "seeing the whole local observation (`full`); then 10 env-steps of PPO from the clone" in one
    assert "with the KL penalty to it held at 0 (no anchor)." in one
    assert "projected" not in one and "scheduled" not in one and "per arm" not in one
    rows = [row("projected", "scheduled anchor"), row("full", "KL anchor"), row("full", "scheduled anchor")]
    two = weak_warm_start.footnote(rows, 10, 3000, 8)
    assert "`full`) or what the task's expert reads (`projected`)" in two
    assert "lengths 1..8" in two and "(no anchor)" not in two
    assert "the clone: held at 1 (KL anchor, the trainer's default), or decayed linearly" in two


def test_committed_weak_warm_start_footnotes_are_the_generators() -> None:
    """Every committed weak-warm-start result says what its own runs did (views, arms, budget)."""
    results = REPO_ROOT / "benchmarks" / "results"
    paths = [results / "weak_warm_start.json", *sorted(results.glob("weak_warm_start_variants/*/*.json"))]
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        settings = document["settings"]
        expected = weak_warm_start.footnote(
            document["results"],
            settings["budget"],
            settings["warm_pairs"],
            settings.get("rl_length"),
            settings["recipe"].get("count_bonus", 0.0),
        )
        assert expected in document["markdown"].split("\n\n"), path


def test_weak_warm_start_table_counts_seeds_raised_and_lowered(tmp_path: Path) -> None:
    def row(seed: int, before: float, after: float) -> dict:
        return {
            "task": "Sort", "view": "full", "arm": "no anchor", "kl_coef": 0.0, "seed": seed,
            "train_length": 5,
            "before": {"1": before, "10": 0.0}, "after": {"1": after, "10": 0.0},
            "checks": {"steps": [0, 10], "exact_match": [before, after]}, "budget": 10,
            "run": {"date": "2026-01-01", "command": f"run {seed}", "revision": {"commit": "a"}},
        }  # fmt: skip

    rows = [row(0, 0.5, 0.9), row(1, 0.5, 0.2), row(2, 0.5, 0.5)]
    table = weak_warm_start.markdown_table(rows, 10, 3000)
    assert "| Sort | full | no anchor | 0 | 1 of 3 | 0 of 3 | 1 of 3 | 0 of 3 |" in table
    assert "| Sort | full | no anchor | 1 | 5 | 50.0 % | 20.0 % | 0.0 % | 0.0 % |" in table
    paths = []
    for name, part in (("a", rows[:2]), ("b", rows[1:])):
        settings = {key: 1 for key in weak_warm_start.MERGED_SETTINGS} | {"arms": {"no anchor": 0.0}}
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"settings": settings, "results": part}), encoding="utf-8")
    merged, merged_settings = weak_warm_start.merged(paths)
    assert [r["seed"] for r in merged] == [0, 1, 2]
    assert merged_settings["arms"] == {
        "no anchor": {"kl_coef": 0.0, "anneal_share": None}
    }  # (a file's older form)
    other = {"settings": {**settings, "budget": 2}, "results": rows}
    paths.append(tmp_path / "other.json")
    paths[-1].write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(ValueError, match="other settings"):
        weak_warm_start.merged(paths)
    scheduled = [{**r, "arm": "scheduled anchor", "kl_coef": 1.0, "kl_anneal_steps": 5} for r in rows]
    arms = {"scheduled anchor": weak_warm_start.ARMS["scheduled anchor"]}
    paths[-1].write_text(
        json.dumps({"settings": {**settings, "arms": arms}, "results": scheduled}), encoding="utf-8"
    )
    merged, merged_settings = weak_warm_start.merged(paths)
    assert [r["arm"] for r in merged] == ["no anchor", "scheduled anchor"] * 3
    assert list(merged_settings["arms"]) == ["no anchor", "scheduled anchor"]
    assert "| Sort | full | scheduled anchor | 1 to 0 over 5 | 1 of 3 |" in weak_warm_start.markdown_table(
        merged, 10, 3000
    )
    clash = {"settings": {**settings, "arms": {"no anchor": 0.5}}, "results": rows}
    paths[-1].write_text(json.dumps(clash), encoding="utf-8")
    with pytest.raises(ValueError, match="ran the arm"):
        weak_warm_start.merged(paths)


def test_training_throughput_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("training_throughput", ("--quick",), tmp_path)
    document = load(folder / "training_throughput.json", result)
    assert document["benchmark"] == "training_throughput"
    settings = document["settings"]
    assert settings["num_envs"] == 8 and settings["num_steps"] == 16 and settings["repeats"] == 1
    results = document["results"]
    assert [r["learner"] for r in results] == ["trainer", "sb3-actformer", "sb3-multiinput", "network-alone"]
    for r in results:
        assert len(r["repeats"]) == 1
        assert math.isfinite(r["steps_per_second"]) and r["steps_per_second"] > 0
        assert r["parameters"] > 0
    assert set(document["ratios"]) == {
        "trainer/sb3-actformer",
        "trainer/sb3-multiinput",
        "trainer/network-alone",
        "sb3-actformer/network-alone",
    }
    assert all(math.isfinite(v) and v > 0 for v in document["ratios"].values())
    assert "stable_baselines3" in document["machine"]


def test_history_ablation_quick_writes_results(tmp_path: Path) -> None:
    result, folder = run_with_default_output("history_ablation", ("--quick",), tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["history_ablation.json"]
    document = json.loads((folder / "history_ablation.json").read_text(encoding="utf-8"))
    check_smoke(result, document)
    assert document["benchmark"] == "history_ablation"
    settings = document["settings"]
    assert settings["seeds"] == [0] and settings["weight_decays"] == [0.3] and settings["steps"] == 2000
    assert [(r["weight_decay"], r["history_length"]) for r in document["summary"]] == [(0.3, 8), (0.3, 0)]
    assert len(document["runs"]) == 2
    assert document["machine"]["torch_threads"] == 1


@pytest.mark.parametrize(
    "script, args",
    [
        ("rl_from_scratch", ("--tasks", "Sort")),
        ("rl_from_scratch", ("--tasks", "Copy,Reverse")),  # lists are space-separated
        ("rl_from_scratch", ("--steps", "0")),
        ("rl_from_scratch", ("--learners", "SAC")),
        ("rl_from_scratch", ("--first-seed", "-1")),
        ("rl_from_scratch", ("--recipe", "annealed-4")),
        ("weak_warm_start", ("--tasks", "Copy")),
        ("weak_warm_start", ("--steps", "0")),
        ("weak_warm_start", ("--first-seed", "-1")),
        ("weak_warm_start", ("--train-length", "0")),
        ("weak_warm_start", ("--views", "both")),
        ("weak_warm_start", ("--tasks", "Sort", "--rl-length", "4")),  # below Sort's training length (5)
        ("weak_warm_start", ("--update-results", "--train-length", "6")),
        ("weak_warm_start", ("--update-results", "--warm-pairs", "1000")),
        ("weak_warm_start", ("--update-results", "--rl-length", "10")),
        ("weak_warm_start", ("--update-results", "--arms", "slow anchor")),
        ("weak_warm_start", ("--update-results", "--count-bonus", "0.05")),
        ("weak_warm_start", ("--count-bonus", "-0.1")),
        ("training_throughput", ("--num-envs", "0")),
        ("training_throughput", ("--num-envs", "3", "--num-steps", "3")),
        ("history_ablation", ("--seeds", "0,1")),
        ("history_ablation", ("--seeds", "-1")),
        ("history_ablation", ("--weight-decays", "0.3,0")),
    ],
)
def test_rl_benchmarks_reject_bad_flags(
    script: str, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """In process (a subprocess per flag costs seconds of imports): the parser exits with status 2 and
    one ``error:`` line, as the command line does (``test_a_bad_flag_ends_the_command_in_one_line``)."""
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(f"benchmarks.{script}").parse_args(list(args))
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err.splitlines()[-1]


def test_a_bad_flag_ends_the_command_in_one_line() -> None:
    result = run_script("weak_warm_start", "--tasks", "Sort", "--rl-length", "4")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: --rl-length must be >= Sort's training length" in result.stderr.splitlines()[-1]


def test_a_checkpoint_folder_that_cannot_be_made_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_info:
        rl_from_scratch.parse_args(["--checkpoints", str(blocker / "checkpoints")])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: --checkpoints" in last and "cannot make that folder" in last
    made = tmp_path / "new" / "checkpoints"
    assert rl_from_scratch.parse_args(["--checkpoints", str(made)]).checkpoints == made and made.is_dir()


def test_list_flags_are_space_separated() -> None:
    from benchmarks import history_ablation, rl_from_scratch

    args = rl_from_scratch.parse_args(["--tasks", "Reverse", "Copy", "Reverse"])
    assert args.tasks == ["Reverse", "Copy"]
    assert rl_from_scratch.parse_args([]).tasks == list(rl_from_scratch.TASKS)
    args = history_ablation.parse_args(["--seeds", "0", "3", "--weight-decays", "0.3", "0"])
    assert args.seeds == [0, 3] and args.weight_decays == [0.3, 0.0]
    assert history_ablation.parse_args([]).seeds == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("content", ["not json", '{"settings": {}}', '{"results": []}'])
def test_rl_from_scratch_merge_refuses_other_files_in_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content, encoding="utf-8")
    result = run_script("rl_from_scratch", "--merge", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("--merge: ")
