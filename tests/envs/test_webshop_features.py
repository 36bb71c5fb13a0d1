"""Goal-relative WebShop action features (the WebShop sim-to-real benchmark's policy input)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from dreamgym_env.envs.webshop.features import (
    FALLBACK_ACTION,
    FEATURES,
    EpisodeMemory,
    candidate_actions,
    price_bound,
    read_page,
)
from dreamgym_env.envs.webshop.policies import ExpertPolicy, goal_keywords

import dreamgym_env  # noqa: F401
from dreamgym_env.domain import get_domain

NAILS = ("i'm looking for a nail polish that is easy to apply and chip resistant and long lasting, in coral color "
         "and in 0.5 fl oz, and price lower than 40.00 dollars")
ITEM = (f"Instruction: [SEP] {NAILS} [SEP] Back to Search [SEP] < Prev [SEP] color [SEP] red [SEP] coral [SEP] "
        "size [SEP] 0.5 fl oz [SEP] pack of 6 [SEP] Solace Nail Polish [SEP] Price: $17.47 [SEP] Rating: N.A. [SEP] "
        "Description [SEP] Features [SEP] Reviews [SEP] Buy Now")
ITEM_ACTIONS = ["click[back to search]", "click[< prev]", "click[description]", "click[features]", "click[reviews]",
                "click[buy now]", "click[red]", "click[coral]", "click[0.5 fl oz]", "click[pack of 6]"]


def feats(memory: EpisodeMemory, action: str) -> dict[str, float]:
    return dict(zip(FEATURES, memory.features(action)))


def on(memory: EpisodeMemory, action: str) -> set[str]:
    return {k for k, v in feats(memory, action).items() if v}


@pytest.fixture(scope="module")
def real_env() -> gym.Env:
    env = gym.make("WebShop-Real-v0", split="test")
    yield env
    env.close()


def test_feature_vector_has_the_documented_length() -> None:
    assert len(FEATURES) == len(set(FEATURES)) == 15
    m = EpisodeMemory(NAILS, f"WebShop [SEP] Instruction: [SEP] {NAILS} [SEP] Search", ["search[...]"])
    for a in ("search[nail polish]", "click[buy now]", "", "dance"):
        v = m.features(a)
        assert v.shape == (15,) and v.dtype == np.float64


def test_candidates_replace_the_search_placeholder_with_the_goal_keywords() -> None:
    assert candidate_actions(NAILS, ["search[...]"]) == [f"search[{goal_keywords(NAILS)}]"]
    assert candidate_actions(NAILS, ["click[a]", "click[a]", "", None, "click[b]"]) == ["click[a]", "click[b]"]
    assert candidate_actions(NAILS, None) == candidate_actions(NAILS, []) == [FALLBACK_ACTION]
    assert price_bound(NAILS) == 40.0 and price_bound("i need socks") is None


def test_item_page_options_named_by_the_instruction() -> None:
    m = EpisodeMemory(NAILS, ITEM, ITEM_ACTIONS)
    assert m.page.kind == "item" and m.page.goal_options == {"coral", "0.5 fl oz"}
    assert on(m, "click[coral]") == {"select_option_in_goal"}
    assert on(m, "click[red]") == {"select_option_not_in_goal"}
    assert on(m, "click[buy now]") == {"buy_now_goal_options_missing"}
    assert on(m, "click[reviews]") == {"open_sub_page"}
    assert on(m, "click[< prev]") == {"prev_page"}
    assert on(m, "click[back to search]") == {"back_to_search"}
    m.update("click[coral]", ITEM, ITEM_ACTIONS)
    assert on(m, "click[coral]") == {"select_option_again", "repeat_last_action"}
    m.update("click[0.5 fl oz]", ITEM, ITEM_ACTIONS)
    assert on(m, "click[buy now]") == {"buy_now_goal_options_done"}
    # A sub-page and back keeps the selection; going back to the results clears it.
    sub = f"Instruction: [SEP] {NAILS} [SEP] Back to Search [SEP] < Prev [SEP] No reviews found"
    m.update("click[reviews]", sub, ["click[back to search]", "click[< prev]"])
    m.update("click[< prev]", ITEM, ITEM_ACTIONS)
    assert on(m, "click[buy now]") == {"buy_now_goal_options_done"}
    results = f"Instruction: [SEP] {NAILS} [SEP] Back to Search [SEP] Page 1 (Total results: 1) [SEP] " \
              "B0G20OY0LR [SEP] Solace Nail Polish [SEP] $17.47"
    m.update("click[< prev]", results, ["click[back to search]", "click[b0g20oy0lr]"])
    assert m.selected == set()


def test_a_value_inside_a_longer_named_value_does_not_count() -> None:
    goal = "i want sheets, in size california king and in 8.5, and price lower than 80.00 dollars"
    page = (f"Instruction: [SEP] {goal} [SEP] Back to Search [SEP] < Prev [SEP] size [SEP] king [SEP] california king "
            "[SEP] 8 [SEP] 8.5 [SEP] Sheets [SEP] Price: $20.00 [SEP] Rating: N.A. [SEP] Description [SEP] Features "
            "[SEP] Reviews [SEP] Buy Now")
    acts = ["click[king]", "click[california king]", "click[8]", "click[8.5]", "click[buy now]"]
    assert read_page(page, goal, acts).goal_options == {"california king", "8.5"}


def test_results_page_products_title_match_and_price() -> None:
    goal = "i need a red nail polish, and price lower than 15.00 dollars"
    page = (f"Instruction: [SEP] {goal} [SEP] Back to Search [SEP] Page 1 (Total results: 12) [SEP] Next > [SEP] "
            "B0AAAAAAA1 [SEP] Red Nail Polish [SEP] $12.00 [SEP] B0AAAAAAA2 [SEP] Garden Hose [SEP] $9.00 to $20.00 "
            "[SEP] B0AAAAAAA3 [SEP] Nail Polish Red [SEP] $30.00")
    m = EpisodeMemory(goal, page, ["click[back to search]", "click[next >]", "click[b0aaaaaaa1]",
                                   "click[b0aaaaaaa2]", "click[b0aaaaaaa3]"])
    top, hose, dear = (feats(m, f"click[b0aaaaaaa{i}]") for i in (1, 2, 3))
    assert top["click_product_top_match"] == 1 and top["click_product_price_ok"] == 1
    assert hose["click_product_top_match"] == 0 and hose["click_product_match"] < top["click_product_match"]
    assert hose["click_product_price_ok"] == 1  # the lowest listed price counts
    assert dear["click_product_price_ok"] == 0
    assert on(m, "click[next >]") == {"next_page"}


def test_expert_actions_get_the_intended_features_on_real_pages(real_env: gym.Env) -> None:
    """Scripted expert episodes in WebShop-Real-v0; the page is read from the text and admissible actions only."""
    domain = get_domain("webshop")
    kinds: dict[str, int] = {}
    for i, task in enumerate(domain.tasks("test")[:30]):
        expert = ExpertPolicy(seed=i, read_prob=0.5)
        obs, info = real_env.reset(options={"task": task})
        expert.reset(obs, info)
        m = EpisodeMemory(task.instruction, obs, info["admissible_actions"])
        for _ in range(15):
            action = expert.act(obs, info)
            cands = candidate_actions(task.instruction, info["admissible_actions"])
            assert action in cands
            f = on(m, action)
            # The synthetic env derives its admissible actions from the page text: same features.
            dream = EpisodeMemory(task.instruction, obs, domain.admissible_actions(task, [], obs))
            dream.last_action, dream.visited, dream.selected = m.last_action, m.visited, m.selected
            assert np.array_equal(dream.features(action), m.features(action))
            page = info["page"]  # privileged: used by the test only, never by the features
            if page == "search":
                assert f == {"search_goal_keywords"}
            elif page == "results" and action != "click[next >]":
                assert "click_product_match" in f and f <= {"click_product_match", "click_product_top_match",
                                                           "click_product_price_ok", "click_product_visited"}
            elif page == "results":
                assert "next_page" in f
            elif page == "item" and action == "click[buy now]":
                assert f & {"buy_now_goal_options_done", "buy_now_goal_options_missing"}
            elif page == "item" and action[6:-1] in ("description", "features", "reviews"):
                assert f == {"open_sub_page"}
            elif page == "item":
                assert f & {"select_option_in_goal", "select_option_not_in_goal"}
            elif page == "item_sub":
                assert f == {"prev_page"}
            for k in f:
                kinds[k] = kinds.get(k, 0) + 1
            obs, reward, terminated, truncated, info = real_env.step(action)
            m.update(action, obs, info["admissible_actions"])
            if terminated or truncated:
                break
        assert terminated and reward > 0
    # The expert mostly selects named options and buys with them selected.
    assert kinds["select_option_in_goal"] > 5 * kinds.get("select_option_not_in_goal", 0)
    assert kinds["buy_now_goal_options_done"] > 5 * kinds.get("buy_now_goal_options_missing", 0)
    assert kinds["search_goal_keywords"] == 30 and kinds["open_sub_page"] > 0


@pytest.mark.parametrize("observation", ["", "garbage", ITEM, "Thank you for shopping with us! [SEP] x",
                                         "Instruction: [SEP] x [SEP] Back to Search [SEP] Page 1 (Total results: 9)"])
def test_bad_candidates_and_pages_never_crash(observation: str) -> None:
    bad = ["", " ", "click[]", "click[", "search[]", "search[", "click", "buy now", "click[nonexistent]",
           "click[buy now]", "CLICK[Coral]", "click[[x]]", "x" * 20_000, "search[...]", "click[b0aaaaaaa1]"]
    for admissible in (None, [], ITEM_ACTIONS, [None, 3, "click[]"]):
        m = EpisodeMemory(NAILS, observation, admissible)  # type: ignore[arg-type]
        for a in bad + [None, 3]:  # type: ignore[list-item]
            v = m.features(a)  # type: ignore[arg-type]
            assert v.shape == (len(FEATURES),) and np.isfinite(v).all()
        for a in bad:
            m.update(a, observation, admissible)  # type: ignore[arg-type]
        assert candidate_actions(NAILS, admissible)  # type: ignore[arg-type]
