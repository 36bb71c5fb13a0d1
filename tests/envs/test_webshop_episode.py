"""What a WebShop episode fixes about the next page (``envs/webshop/episode.py``), checked against the
reference engine, and the pipeline answering those steps without the model."""

from __future__ import annotations

import collections

import gymnasium as gym
import pytest
from dreamgym_env.envs.webshop.episode import episode_pages, purchase_page, repair_page, told_page
from fakes import FakeModel

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.data.collect import CollectConfig, collect
from dreamgym_env.domain import Outcome, get_domain
from dreamgym_env.evaluation.fidelity import EvalItem, ModelPredictor
from dreamgym_env.training.examples import episodes_of
from dreamgym_env.types import Transition

DOMAIN = get_domain("webshop")


def _kind(t: Transition) -> str:
    act = t.action.lower()
    if act in ("click[back to search]", "click[< prev]", "click[next >]"):
        return act
    if act in ("click[description]", "click[features]", "click[reviews]"):
        return "sub-page revisit"
    if t.state == t.next_state:
        return "unchanged"
    return "search revisit" if act.startswith("search[") else "product revisit"


@pytest.fixture(scope="module")
def episodes() -> list[list[Transition]]:
    return episodes_of(collect(CollectConfig("webshop", episodes=300, split="test", seed=12), progress=False))


def test_every_told_page_is_the_engines_page(episodes: list[list[Transition]]) -> None:
    tasks = {t.task_id: t for t in DOMAIN.tasks("test")}
    told: collections.Counter[str] = collections.Counter()
    steps = 0
    for ep in episodes:
        task = tasks[ep[0].task_id]
        for i, t in enumerate(ep):
            steps += 1
            page = told_page(task, ep[:i], t.state, t.action)
            if page is not None:
                assert page == t.next_state, (t.state[:120], t.action)
                assert t.reward == 0.0 and not t.done
                told[_kind(t)] += 1
            if t.action.lower() == "click[buy now]" or i == 0:
                assert page is None  # a purchase and the first search are the model's to predict
    # Every rule fires on real episodes, and together they answer about a third of the steps.
    assert set(told) >= {"click[back to search]", "click[< prev]", "unchanged", "product revisit",
                         "search revisit", "click[next >]", "sub-page revisit"}, told
    assert 0.25 < sum(told.values()) / steps < 0.45, (told, steps)


def test_a_first_look_is_not_told() -> None:
    task = DOMAIN.tasks("test")[0]
    start = task.initial_observation
    results = (f"Instruction: [SEP] {task.instruction} [SEP] Back to Search [SEP] Page 1 (Total results: 12) "
               "[SEP] Next > [SEP] B000000001 [SEP] A red shoe [SEP] $10.00")
    search = Transition("webshop", task.task_id, task.instruction, start, "search[red shoes]", results, 0.0, False)
    assert told_page(task, [], start, "search[red shoes]") is None
    assert told_page(task, [search], results, "click[b000000001]") is None  # not opened yet
    assert told_page(task, [search], results, "click[next >]") is None  # page 2 not shown yet
    assert told_page(task, [search], results, "click[back to search]") == start
    assert told_page(task, [search], start, "search[red shoes]") == results
    assert told_page(task, [search], start, "search[red  shoes]") is None  # other keywords (the engine splits on " ")


def test_a_page_the_replay_cannot_place_forgets_where_the_agent_is() -> None:
    task = DOMAIN.tasks("test")[0]
    start = task.initial_observation
    results = (f"Instruction: [SEP] {task.instruction} [SEP] Back to Search [SEP] Page 1 (Total results: 12) "
               "[SEP] Next > [SEP] B000000001 [SEP] A red shoe [SEP] $10.00")
    nonsense = "You see a shoe."  # a dreamed page that is no WebShop page
    hist = [Transition("webshop", task.task_id, task.instruction, start, "search[red shoes]", results, 0.0, False),
            Transition("webshop", task.task_id, task.instruction, results, "click[next >]", nonsense, 0.0, False)]
    pages = episode_pages(task, hist)
    assert pages.keywords is None and pages.page_num is None
    # From a results page it cannot place, "< Prev" is not told (page 1 is known, but not that this is page 2).
    assert told_page(task, hist, results.replace("Page 1", "Page 2"), "click[< prev]") is None


def _bought_episode(episodes: list[list[Transition]]) -> list[Transition]:
    """An episode that went back to search and then went on (so it has a told step midway)."""
    for ep in episodes:
        acts = [t.action.lower() for t in ep]
        if "click[back to search]" in acts[:-2]:
            return ep
    raise AssertionError("no episode goes back to search")


def test_pipeline_answers_told_steps_without_the_model(episodes: list[list[Transition]]) -> None:
    ep = _bought_episode(episodes)
    k = [t.action.lower() for t in ep].index("click[back to search]")
    task = next(t for t in DOMAIN.tasks("test") if t.task_id == ep[0].task_id)
    model = FakeModel()
    env = gym.make("DreamGym-WebShop-v0", experience_model=model, retrieval_k=0).unwrapped
    env.reset(options={"task": task})
    env._episode.history = list(ep[:k])  # the episode so far, as the real engine played it
    env._episode.state = ep[k].state
    obs, r, term, _, info = env.step("click[back to search]")
    assert obs == task.initial_observation and r == 0.0 and not term
    assert info["told"] and model.requests == [] and info["latency_s"] == 0.0
    assert env.pipeline.stats.told == 1 and info["told_rate"] == 1.0
    assert env._episode.history[-1].valid and "start page" in info["reasoning"]


def test_telling_can_be_turned_off(episodes: list[list[Transition]]) -> None:
    ep = _bought_episode(episodes)
    k = [t.action.lower() for t in ep].index("click[back to search]")
    model = FakeModel()
    env = gym.make("DreamGym-WebShop-v0", experience_model=model, retrieval_k=0, tell_from_episode=False).unwrapped
    env.reset(seed=0)
    env._episode.history, env._episode.state = list(ep[:k]), ep[k].state
    _, _, _, _, info = env.step("click[back to search]")
    assert not info["told"] and len(model.requests) == 1


def test_fidelity_env_view_uses_told_pages(episodes: list[list[Transition]]) -> None:
    ep = _bought_episode(episodes)
    k = [t.action.lower() for t in ep].index("click[back to search]")
    task = next(t for t in DOMAIN.tasks("test") if t.task_id == ep[0].task_id)
    pred = ModelPredictor("fake", DOMAIN, FakeModel()).predict([EvalItem(task, tuple(ep[:k]), ep[k])])[0]
    assert pred.env.next_state == ep[k].next_state  # told
    assert pred.model.next_state != ep[k].next_state  # the fake model alone does not know it


def test_purchase_page_is_the_engines_page_for_the_paid_score(episodes: list[list[Transition]]) -> None:
    tasks = {t.task_id: t for t in DOMAIN.tasks("test")}
    bought = exact = 0
    for ep in episodes:
        task = tasks[ep[0].task_id]
        for i, t in enumerate(ep):
            if t.action.lower() != "click[buy now]" or not t.done:
                continue  # (a buy where there is nothing to buy is the guard's)
            bought += 1
            # The env pays the model's score snapped to the goal's grid (rounded to 10 digits) and shows
            # the purchase page for it; with the engine's score that page is the engine's.
            claimed = Outcome("Thank you! You bought it.", round(t.reward, 10), True)
            out, _ = DOMAIN.check_outcome(task, t.state, t.action, claimed, ep[:i])
            exact += out.next_state == t.next_state
            assert out.reward == pytest.approx(t.reward) and out.done
    assert bought > 100 and exact / bought > 0.98, (exact, bought)


def test_purchase_page_shows_the_options_selected_since_the_product_opened() -> None:
    task = DOMAIN.tasks("test")[0]
    start = task.initial_observation
    results = (f"Instruction: [SEP] {task.instruction} [SEP] Back to Search [SEP] Page 1 (Total results: 12) "
               "[SEP] Next > [SEP] B000000001 [SEP] A red shoe [SEP] $10.00")
    item = (f"Instruction: [SEP] {task.instruction} [SEP] Back to Search [SEP] < Prev [SEP] size [SEP] 8 [SEP] 9 "
            "[SEP] color [SEP] red [SEP] Big Red [SEP] A red shoe [SEP] Price: $10.00 [SEP] Rating: N.A. "
            "[SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now")

    def tr(state: str, action: str, nxt: str) -> Transition:
        return Transition("webshop", task.task_id, task.instruction, state, action, nxt, 0.0, False)

    hist = [tr(start, "search[red shoes]", results), tr(results, "click[b000000001]", item),
            tr(item, "click[9]", item), tr(item, "click[8]", item), tr(item, "click[red]", item),
            tr(item, "click[Big Red]", item)]  # capitals: not an option the engine can click
    page = purchase_page(task, hist, item, 1.0)
    assert page is not None and "[SEP] B000000001 [SEP]" in page
    assert '[SEP] {"color": "red", "size": "8"} [SEP]' in page and page.endswith("[SEP] 1.0 [SEP] Reward Details [SEP] None")
    assert purchase_page(task, hist[:1], results, 1.0) is None  # not an item page
    assert purchase_page(task, [], item, 1.0) is None  # the episode never named the product


def test_repair_keeps_real_pages_and_restores_the_goal_title_and_price(episodes: list[list[Transition]]) -> None:
    firsts = 0
    for ep in episodes:
        for t in ep:
            assert repair_page(t.action, t.next_state, t.state) == t.next_state  # real pages stay as they are
            segs = t.next_state.split(" [SEP] ")
            if segs[0] != "Instruction:":
                continue
            wrong = [segs[0], "i want a dragon", *segs[2:]]
            opened = t.state.split(" [SEP] ")[3].startswith("Page ") and segs[-1] == "Buy Now"
            if opened:
                firsts += 1
                wrong[-7], wrong[-6] = "A Title The Row Never Showed", "Price: $0.01"
            assert repair_page(t.action, " [SEP] ".join(wrong), t.state) == t.next_state
    assert firsts > 100
    # A page that is no WebShop page, or a state without a goal, is left alone.
    assert repair_page("click[x]", "You see a shoe.", "Instruction: [SEP] g [SEP] Back to Search") == "You see a shoe."
    assert repair_page("click[x]", "Instruction: [SEP] h", "no page") == "Instruction: [SEP] h"


def test_env_repairs_a_page_the_model_wrote_with_another_goal() -> None:
    task = DOMAIN.tasks("test")[0]
    page = ("Instruction: [SEP] i want cheap socks [SEP] Back to Search [SEP] Page 1 (Total results: 12) [SEP] "
            "Next > [SEP] B000000001 [SEP] A red shoe [SEP] $10.00")
    reply = f"<think>ok</think><state>{page}</state><reward>0</reward><done>false</done>"
    env = gym.make("DreamGym-WebShop-v0", experience_model=FakeModel(replies=[reply]), retrieval_k=0).unwrapped
    env.reset(options={"task": task})
    obs, _, _, _, info = env.step("search[red shoes]")
    assert obs == page.replace("i want cheap socks", task.instruction) and info["observation_repaired"]


def test_repair_sets_the_results_header_the_action_fixes(episodes: list[list[Transition]]) -> None:
    restored = 0
    for ep in episodes:
        for t in ep:
            segs = t.next_state.split(" [SEP] ")
            turned = t.state.split(" [SEP] ")[3:4] != ["< Prev"]  # not back from a product: the state says where
            if t.state == t.next_state or len(segs) < 4 or not segs[3].startswith("Page ") or not turned:
                continue
            rows = 4
            while rows < len(segs) and segs[rows] in ("< Prev", "Next >"):
                rows += 1
            # The model's page number, total and buttons are off; its rows stay.
            total = segs[3].split(": ")[1] if t.action.startswith("search[") else "3)"
            wrong = [*segs[:3], f"Page 7 (Total results: {total}", "< Prev", *segs[rows:]]
            assert repair_page(t.action, " [SEP] ".join(wrong), t.state) == t.next_state, t.action
            restored += 1
    assert restored > 300


def test_vector_env_tells_some_sub_envs_and_asks_the_model_for_the_rest() -> None:
    def results(request) -> str:  # a results page with goal "x": the repair puts the state's goal back
        page = ("Instruction: [SEP] x [SEP] Back to Search [SEP] Page 1 (Total results: 30) [SEP] Next > "
                "[SEP] B000000001 [SEP] A red shoe [SEP] $10.00")
        return f"<think>ok</think><state>{page}</state><reward>0</reward><done>false</done>"

    model = FakeModel(results)
    envs = gym.make_vec("DreamGym-WebShop-v0", num_envs=2, experience_model=model, retrieval_k=0)
    obs, _ = envs.reset(seed=0)
    envs.step(["search[red shoes]", "search[red shoes]"])
    n0 = len(model.requests)
    obs2, _, _, _, infos = envs.step(["click[back to search]", "click[next >]"])
    assert len(model.requests) - n0 == 1  # one sub-env was told, the other asked the model
    assert list(infos["told"]) == [True, False] and obs2[0] == obs[0]
    envs.close()
