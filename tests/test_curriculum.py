"""Curriculum: pool persistence, value/selection, lambda cap, generation + validation, env wiring, CLI,
and the scripted-learner evidence.

Generation here uses scripted fake models: they exercise the code around the model only (prompting,
parsing, selection, validation, bookkeeping), not what a real experience model writes.
"""

from __future__ import annotations

import json
import random
import re

import gymnasium as gym
import pytest
from fakes import FakeModel

from dreamgym_env.cli import main
from dreamgym_env.curriculum import (
    Curriculum,
    CurriculumConfig,
    CurriculumPoolError,
    PoolEntry,
    TaskGenerator,
    TaskPool,
    forget_shared_curricula,
    group_variance,
    task_value,
    top_k,
)
from dreamgym_env.curriculum.generation import parse_selection, parse_variations
from dreamgym_env.curriculum.simulate import LearnerConfig, SimDomain, VariationScript, run, sim_task
from dreamgym_env.domain import get_domain
from dreamgym_env.error import InvalidConfigError


@pytest.fixture(autouse=True)
def _fresh_curricula():
    forget_shared_curricula()
    yield
    forget_shared_curricula()


def sim_pool(n: int = 10) -> TaskPool:
    pool = TaskPool("sim")
    pool.add_tasks(SimDomain(n).tasks())
    return pool


# ----- value and selection ------------------------------------------------------------------------
def test_group_variance() -> None:
    assert group_variance([0, 1, 0, 1]) == pytest.approx(0.25)
    assert group_variance([1, 1, 1]) == 0.0
    assert group_variance([]) == 0.0
    assert group_variance([0.2, 0.4]) == pytest.approx(0.01)


def test_value_exploration_bonus_and_staleness() -> None:
    cfg = CurriculumConfig(group_size=4, exploration_bonus=0.1, stale_after_rounds=3)
    e = PoolEntry(sim_task(0.5))
    assert task_value(e, 0, cfg) == 0.1
    e.groups.append([0, 1, 1, 0])
    e.last_round = 2
    assert task_value(e, 3, cfg) == pytest.approx(0.25)
    assert task_value(e, 5, cfg) == 0.1  # stale: the policy has changed since


def test_top_k_orders_by_value() -> None:
    cfg = CurriculumConfig(group_size=4, exploration_bonus=0.1)
    pool = sim_pool(4)
    ids = [e.task_id for e in pool]
    for tid, group in zip(ids, ([1, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1])):
        for r in group:
            pool.record(tid, r, cfg.group_size)
    order = [e.task_id for e in top_k(list(pool), 4, pool.round, cfg)]
    assert order == [ids[1], ids[2], ids[3], ids[0]]  # 0.25, 0.1875, unseen 0.1, solved 0


def test_lambda_caps_generated_share() -> None:
    domain = SimDomain(10)
    pool = sim_pool(10)
    pool.add_tasks([sim_task(1 + i / 10) for i in range(10)], origin="generated", parent="sim-0.000")
    cfg = CurriculumConfig(group_size=2, tasks_per_round=6, lambda_generated=0.34)
    cur = Curriculum(domain, pool, cfg)
    for r in range(4):
        plan = cur.plan_round(random.Random(r))
        chosen = set(plan)
        assert len(plan) == 12 and len(chosen) == 6
        assert sum(pool[t].origin == "generated" for t in chosen) <= 2
    cur0 = Curriculum(domain, sim_pool(10), CurriculumConfig(tasks_per_round=4, lambda_generated=0.0))
    cur0.pool.add_tasks([sim_task(3.0)], origin="generated")
    assert all(cur0.pool[t].origin == "seed" for t in cur0.plan_round())


def test_record_episode_counts_each_episode_once() -> None:
    cur = Curriculum(SimDomain(3), sim_pool(3), CurriculumConfig(group_size=2))
    tid = next(iter(cur.pool)).task_id
    assert cur.record_episode(tid, 1.0, "ep1")
    assert not cur.record_episode(tid, 1.0, "ep1")
    assert not cur.record_episode("not-in-pool", 1.0, "ep2")
    assert cur.record_episode(tid, 0.0, "ep3")
    assert cur.pool[tid].groups == [[1.0, 0.0]] and cur.pool[tid].pending == []


# ----- persistence --------------------------------------------------------------------------------
def test_pool_roundtrip_and_lineage(tmp_path) -> None:
    pool = sim_pool(3)
    pool.add_tasks([sim_task(0.9)], origin="generated", parent="sim-0.333")
    pool.add_tasks([sim_task(1.0)], origin="generated", parent="sim-0.900")
    pool.record("sim-0.333", 1.0, 1)
    path = tmp_path / "pool.json"
    pool.save(path)
    again = TaskPool.load(path, "sim")
    assert [e.to_dict() for e in again] == [e.to_dict() for e in pool]
    assert [e.task_id for e in again.lineage("sim-1.000")] == ["sim-0.333", "sim-0.900", "sim-1.000"]
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("content", ["{not json", json.dumps({"version": 99, "tasks": []}),
                                     json.dumps({"version": 1, "domain": "sim", "tasks": [{"task": {}}]}),
                                     "[1, 2]"])
def test_corrupt_pool_raises_and_is_never_overwritten(tmp_path, content: str) -> None:
    path = tmp_path / "pool.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CurriculumPoolError, match="never overwritten"):
        Curriculum.open(path, SimDomain())
    with pytest.raises(CurriculumPoolError):
        gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel(), curriculum=str(path))
    assert path.read_text(encoding="utf-8") == content


def test_pool_of_another_domain_is_rejected(tmp_path) -> None:
    path = tmp_path / "pool.json"
    sim_pool(2).save(path)
    with pytest.raises(CurriculumPoolError, match="domain 'sim'"):
        TaskPool.load(path, "alfworld")


# ----- generation and validation --------------------------------------------------------------------
def test_parse_variations_and_selection() -> None:
    assert parse_variations("Here:\n1. a b\n2) c d\n- e f\n3.\nnoise") == ["a b", "c d", "e f", ""]
    assert parse_selection("SELECTION: [3, 1, 9, 1]\nREASONING: because.", 3) == ([2, 0], "because.")
    assert parse_selection("no selection here", 3) == (None, "")
    assert parse_selection("selection: []", 2) == ([], "")


def test_generation_counts_rejections_by_reason() -> None:
    domain = SimDomain(4)
    seed = domain.tasks()[1]  # reach level 0.250
    reply = "\n".join(["1. reach level 0.300", "2.", f"3. {seed.instruction}", "4. reach level 0.300",
                       "5. reach level 9.000", "6. climb the mountain", f"7. reach level 0.{'1' * 400}",
                       "8. reach level 0.400"])
    model = FakeModel(replies=[reply, "SELECTION: [1, 2, 3, 4, 5, 6, 7]\nREASONING: all but the last."])
    cfg = CurriculumConfig(variations_per_seed=8, max_instruction_chars=100)
    report = TaskGenerator(domain, model, cfg).generate([seed], known={"reach level 0"})
    assert [t.instruction for t, _ in report.accepted] == ["reach level 0.300"]
    assert report.accepted[0][1] == seed.task_id
    assert report.proposed == 8
    assert dict(report.rejected) == {"empty": 1, "duplicate": 2, "infeasible": 1, "ungrammatical": 1,
                                     "over_length": 1, "not_selected": 1}
    assert report.acceptance_rate == pytest.approx(1 / 8)
    assert report.reasoning[seed.task_id] == "all but the last."
    gen_req, sel_req = model.requests
    assert "Original task: reach level 0.250" in gen_req.messages[1]["content"] and gen_req.reply_format is None
    assert "SELECTION: [n, m, ...]" in sel_req.messages[0]["content"]
    assert "1. reach level 0.300" in sel_req.messages[1]["content"]


def test_evolve_adds_generated_tasks_with_lineage(tmp_path) -> None:
    path = tmp_path / "pool.json"
    cur = Curriculum.open(path, SimDomain(5), CurriculumConfig(seeds_per_round=2, variations_per_seed=4))
    report = cur.evolve(VariationScript(), random.Random(0))
    assert report.accepted and report.rejected["not_selected"] == 2
    saved = TaskPool.load(path, "sim")
    gen = [e for e in saved if e.origin == "generated"]
    assert len(gen) == len(report.accepted)
    assert all(e.parent in saved and saved[e.parent].origin == "seed" for e in gen)


def test_evolve_keep_filter_counts_what_it_refuses(tmp_path) -> None:
    # Same seeds and sampling twice: once unfiltered, once keeping only the tasks below level 0.6.
    full = Curriculum(SimDomain(5), sim_pool(5), CurriculumConfig(seeds_per_round=2, variations_per_seed=4))
    everything = full.evolve(VariationScript(), random.Random(0))
    cur = Curriculum(SimDomain(5), sim_pool(5), CurriculumConfig(seeds_per_round=2, variations_per_seed=4))
    report = cur.evolve(VariationScript(), random.Random(0), keep=lambda t: t.meta["difficulty"] < 0.6)
    want = [t.instruction for t, _ in everything.accepted if t.meta["difficulty"] < 0.6]
    assert 0 < len(want) < len(everything.accepted)
    assert [t.instruction for t, _ in report.accepted] == want
    assert report.rejected["filtered"] == len(everything.accepted) - len(want)
    assert sorted(e.task.instruction for e in cur.pool if e.origin == "generated") == sorted(want)


def test_evolve_samples_anew_each_call_and_counts_replies_without_a_list(tmp_path) -> None:
    # Two passes over the same seeds must not send the same sampling seeds (a vLLM server would
    # then repeat the last pass's replies word for word); replies with no list are counted.
    model = FakeModel(reply_fn=lambda r: "I cannot help with that.")
    cur = Curriculum.open(tmp_path / "pool.json", SimDomain(5), CurriculumConfig(seeds_per_round=2, selection=False))
    first = cur.evolve(model)
    second = cur.evolve(model)
    seeds = [r.seed for r in model.requests]
    assert len(seeds) == 4 and seeds[:2] != seeds[2:]
    assert (first.replies, first.unparsed, first.proposed) == (2, 2, 0)
    assert second.unparsed_examples == ["'I cannot help with that.'"] * 2
    rng_a, rng_b = FakeModel(reply_fn=lambda r: ""), FakeModel(reply_fn=lambda r: "")
    cur.evolve(rng_a, random.Random(7))
    cur.evolve(rng_b, random.Random(7))
    assert [r.seed for r in rng_a.requests] == [r.seed for r in rng_b.requests]  # reproducible with an rng


@pytest.mark.parametrize("domain_name,good,bad", [
    ("alfworld", "put two keychain on coffeetable.", {"ungrammatical": "go buy milk",
                                                       "infeasible": "put some dragon on sofa."}),
    ("webshop", ("i need a nail polish that is long lasting and easy to apply, in coral color, and price lower "
                 "than 30.00 dollars"), {"ungrammatical": "buy me stuff",
                                       "infeasible": "i need a dragon egg that is fireproof"}),
    ("webarena", "Add Olay Organic Nail Polish to my wish list",
     {"ungrammatical": "<b>", "infeasible": "What is the rating of Unicorn Dust Magic"}),
])
def test_domain_check_generated_task(domain_name: str, good: str, bad: dict[str, str]) -> None:
    domain = get_domain(domain_name)
    parent = domain.tasks("train")[0]
    ok = domain.check_generated_task(good, parent)
    assert ok.task is not None and ok.reason is None
    assert ok.task.domain == domain_name and ok.task.task_id != parent.task_id
    assert ok.task.meta["generated_from"] == parent.task_id
    assert ok.task.initial_observation
    for reason, text in bad.items():
        check = domain.check_generated_task(text, parent)
        assert check.task is None and check.reason == reason and check.detail


@pytest.mark.parametrize("env_id,instruction,action", [
    ("DreamGym-ALFWorld-v0", "put two keychain on coffeetable.", "look"),
    ("DreamGym-WebShop-v0", "i need a nail polish that is long lasting, and price lower than 30.00 dollars",
     "click[buy now]"),
    ("DreamGym-WebArena-v0", "Add Olay Organic Nail Polish to my wish list", "stop [done]"),
])
def test_generated_tasks_run_in_the_env(env_id: str, instruction: str, action: str) -> None:
    env = gym.make(env_id, experience_model=FakeModel(), retrieval_k=0)
    domain = env.unwrapped.domain
    task = domain.check_generated_task(instruction, domain.tasks("train")[0]).task
    obs, info = env.reset(options={"task": task})
    assert info["task_id"] == task.task_id and obs == task.initial_observation[: domain.max_observation_chars]
    obs, reward, _terminated, _truncated, info = env.step(action)
    assert env.observation_space.contains(obs) and 0.0 <= float(reward) <= 1.0


# ----- env wiring -----------------------------------------------------------------------------------
def test_env_samples_from_curriculum_and_feeds_rewards_back(tmp_path) -> None:
    path = tmp_path / "pool.json"
    opts = {"group_size": 2, "tasks_per_round": 2}
    model = FakeModel(replies=["<think>done</think>\n<state>Done.</state>\n<reward>0</reward>\n<done>true</done>"] * 2)
    env = gym.make("DreamGym-ALFWorld-v0", experience_model=model, retrieval_k=0, curriculum=str(path),
                   curriculum_options=opts, max_episode_steps=3)
    cur = env.unwrapped.curriculum
    assert cur is not None and len(cur.pool) > 10
    seen = []
    for ep in range(4):
        _obs, info = env.reset(seed=ep)
        seen.append(info["task_id"])
        env.step("look")  # eps 0-1: terminated by the model; eps 2-3: cut short, reported at the next reset
    env.reset(seed=99)
    assert len(set(seen)) <= 2 and all(t in cur.pool for t in seen)
    recorded = sum(len(e.pending) + sum(len(g) for g in e.groups) for e in cur.pool)
    assert recorded == 4
    env.close()
    assert sum(len(e.groups) for e in TaskPool.load(path, "alfworld")) >= 1
    # An explicit task bypasses the curriculum; its reward is ignored (not in the pool).
    _obs, info = env.reset(options={"task": "put some keychain on sofa."})
    assert info["task"] == "put some keychain on sofa."


def test_vector_env_feeds_rewards_back(tmp_path) -> None:
    path = tmp_path / "pool.json"
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=3, experience_model=FakeModel(), retrieval_k=0,
                        max_episode_steps=2, curriculum=str(path), curriculum_options={"group_size": 3})
    cur = envs.unwrapped._env.curriculum
    envs.reset(seed=0)
    for _ in range(6):  # 2 truncations per sub-env (steps 2 and 5), autoreset on steps 3 and 6
        envs.step(["look"] * 3)
    recorded = sum(len(e.pending) + sum(len(g) for g in e.groups) for e in cur.pool)
    assert recorded == 6
    envs.close()


def test_unknown_curriculum_option_is_rejected() -> None:
    with pytest.raises(InvalidConfigError, match="group_size"):
        gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel(), curriculum_options={"groupsize": 2})
    with pytest.raises(InvalidConfigError, match="lambda_generated"):
        CurriculumConfig(lambda_generated=1.5)


def test_cli_show_lineage_and_corrupt(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "pool.json"
    pool = sim_pool(3)
    pool.add_tasks([sim_task(0.9)], origin="generated", parent="sim-0.333")
    pool.save(path)
    import dreamgym_env.domain as domain_mod

    monkeypatch.setitem(domain_mod._DOMAINS, "sim", "dreamgym_env.curriculum.simulate:SimDomain")
    domain_mod.get_domain.cache_clear()
    assert main(["curriculum", "--pool", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 tasks (1 generated)" in out and "reach level 0.900" in out
    assert main(["curriculum", "lineage", "--pool", str(path), "--task", "sim-0.900"]) == 0
    assert "sim-0.333" in capsys.readouterr().out
    monkeypatch.setattr("dreamgym_env.model.factory.make_experience_model", lambda spec: VariationScript())
    assert main(["curriculum", "evolve", "--pool", str(path)]) == 0
    assert "generated tasks accepted" in capsys.readouterr().out
    assert sum(e.origin == "generated" for e in TaskPool.load(path, "sim")) > 1
    path.write_text("{oops", encoding="utf-8")
    assert main(["curriculum", "--pool", str(path)]) == 1
    assert "never overwritten" in capsys.readouterr().err


# ----- evidence: a scripted learner whose skill grows -----------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curriculum_keeps_success_near_the_middle(seed: int) -> None:
    learner = LearnerConfig(rounds=30)
    cur = run("curriculum", learner, seed=seed)
    uni = run("uniform", learner, seed=seed)

    def mid_share(rounds):  # share of chosen tasks with some successes and some failures
        rates = [r for rs in rounds for r in rs]
        return sum(0.0 < r < 1.0 for r in rates) / len(rates)

    def late_mean(rounds):
        late = [r for rs in rounds[-10:] for r in rs]
        return sum(late) / len(late)

    assert mid_share(cur) > mid_share(uni) + 0.2
    assert late_mean(uni) > 0.95  # uniform sampling drifts to all-solved
    assert 0.3 < late_mean(cur) < 0.9  # the curriculum keeps finding tasks at the edge


def test_every_real_alfworld_task_is_a_valid_variation_of_itself() -> None:
    # Regression: look-at tasks were rejected (lamps are layout objects, not room receptacles), and a
    # clean/heat/cool task in a room without a sink/microwave/fridge was accepted.
    domain = get_domain("alfworld")
    tasks = domain.tasks("train") + domain.tasks("test")
    assert all(domain.check_generated_task(t.instruction, t).task is not None for t in tasks)
    # A feasible put-task becomes infeasible as a clean-task in a room without a sink (and only for that).
    no_sink = [t for t in tasks if "sinkbasin" not in t.initial_observation]
    vetoed = []
    for parent in no_sink:
        for text in domain.reference_variations(parent, random.Random(0), limit=200):
            m = re.match(r"^put (?:a|some) (\w+) (in|on) (\w+)\.$", text)
            if m:
                check = domain.check_generated_task(f"put a clean {m[1]} {m[2]} {m[3]}.", parent)
                if check.task is None and "cleanable" not in check.detail:
                    vetoed.append(check.detail)
    assert vetoed and all("no sinkbasin" in d for d in vetoed)


@pytest.mark.parametrize("domain_name", ["alfworld", "webshop", "webarena"])
def test_reference_variations_pass_the_domain_check(domain_name: str) -> None:
    domain = get_domain(domain_name)
    parent = domain.tasks("train")[3]
    got = domain.reference_variations(parent, random.Random(0), limit=6)
    assert got and len(got) <= 6 and parent.instruction not in got
    assert all(domain.check_generated_task(v, parent).task is not None for v in got)
    assert got == domain.reference_variations(parent, random.Random(0), limit=6)  # seeded


def test_webarena_rejects_statements_and_other_domains_tasks() -> None:
    # Measured with real models: statements and ALFWorld goals passed the old one-line check.
    domain = get_domain("webarena")
    parent = domain.tasks("train")[0]
    for text in ("The zip code of Frick Park is the capital of New York State.",
                 "My way home from Pittsburgh International Airport to the Carnegie Science Center",
                 "put some bread and put it in sinkbasin."):
        check = domain.check_generated_task(text, parent)
        assert check.reason == "ungrammatical" and "opens" in check.detail
    tasks = domain.tasks("train") + domain.tasks("test")
    assert all(domain.check_generated_task(t.instruction, t).task is not None for t in tasks)
