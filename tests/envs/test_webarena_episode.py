"""What a WebArena episode fixes about the next page (``envs/webarena/episode.py``) and the guard on the
browser history, checked against the reference engine, and the pipeline answering told steps without the
model."""

from __future__ import annotations

import collections
import random
from collections.abc import Iterator

import gymnasium as gym
import pytest
from dreamgym_env.envs.webarena.episode import BLANK_PAGE, episode_browser, no_page_to_go, told_page
from fakes import FakeModel

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.data.collect import CollectConfig, collect
from dreamgym_env.domain import get_domain
from dreamgym_env.training.examples import episodes_of
from dreamgym_env.types import Task, Transition

DOMAIN = get_domain("webarena")
URL = "http://reddit.local/"


def _kind(action: str) -> str:
    return action.split(" ")[0].split("[")[0]


@pytest.fixture(scope="module")
def episodes() -> list[list[Transition]]:
    return episodes_of(collect(CollectConfig("webarena", episodes=150, split="test", seed=12), progress=False))


def _steps(episodes: list[list[Transition]]) -> Iterator[tuple[Task, list[Transition], Transition, str | None]]:
    """Each real step with its task, the episode before it, and why the guard rejects it (``None``: it does not)."""
    tasks = {t.task_id: t for t in DOMAIN.tasks("test")}
    for ep in episodes:
        task = tasks[ep[0].task_id]
        for i, t in enumerate(ep):
            err = DOMAIN.check_action(t.action, t.state) or DOMAIN.check_action_in_episode(task, ep[:i], t.state,
                                                                                            t.action)
            yield task, ep[:i], t, err


def test_every_told_page_is_the_engines_page(episodes: list[list[Transition]]) -> None:
    told: collections.Counter[str] = collections.Counter()
    steps = 0
    for task, hist, t, err in _steps(episodes):
        steps += 1
        out = None if err else DOMAIN.told_outcome(task, hist, t.state, t.action)
        if out is not None:
            assert (out.next_state, out.reward, out.done) == (t.next_state, 0.0, False), (t.action, len(hist))
            told[_kind(t.action)] += 1
    # Every rule fires on real episodes: a revisit by URL, back (to a page or to about:blank), a scroll
    # that cannot move, a key that changes nothing, a hover.
    assert set(told) >= {"goto", "go_back", "scroll", "press", "hover"}, told
    assert 0.06 < sum(told.values()) / steps < 0.15, (told, steps)


def test_guard_rejects_what_the_engine_rejects_and_nothing_it_accepts(episodes: list[list[Transition]]) -> None:
    rejected: collections.Counter[str] = collections.Counter()
    invalid = 0
    for _task, _hist, t, err in _steps(episodes):
        invalid += t.valid is False
        if err:
            assert t.valid is False and t.next_state == t.state, (t.action, err)
            rejected["root" if "RootWebArea" in err else _kind(t.action)] += 1
    assert rejected["root"] >= 10 and rejected["go_forward"] >= 3, rejected
    assert sum(rejected.values()) / invalid > 0.95, (rejected, invalid)


def _t(state: str, action: str, nxt: str, valid: bool = True) -> Transition:
    return Transition("webarena", "t", "do it", state, action, nxt, 0.0, False, valid=valid)


def _page(url: str, *lines: str, focused: str = "") -> str:
    body = "".join(f"\n\t{line}" for line in lines)
    return f"Tab 0 (current): P\n\n[1] RootWebArea 'P' focused: True{body}{focused}\nURL: {url}"


A = _page(URL, "[10] link 'Forums'", "[11] button 'Upvote'", "[12] textbox 'Search' required: False")
B = _page(URL + "forums", "[20] link 'books'")
A_TYPED = _page(URL, "[10] link 'Forums'", "[11] button 'Upvote'",
                "[12] textbox 'Search' focused: True required: False", "\t[13] StaticText 'x'")


def test_back_and_revisits_follow_the_history() -> None:
    hist = [_t(A, "click [10]", B)]
    assert told_page(hist, B, "go_back") == A
    assert told_page(hist, B, f"goto [{URL}]") == A
    assert told_page(hist, B, "press [Alt+ArrowLeft]") == A
    assert told_page([], A, "go_back") == BLANK_PAGE  # every tab starts on about:blank
    assert told_page(hist, B, "go_forward") is None
    assert no_page_to_go(hist, B, "go_forward") == "there is no page to go forward to"
    back = [*hist, _t(B, "go_back", A)]
    assert told_page(back, A, "go_forward") == B and no_page_to_go(back, A, "go_forward") is None
    # Opening a URL drops the forward history.
    again = [*back, _t(A, f"goto [{URL}]", A)]
    assert no_page_to_go(again, A, "go_forward") is not None
    to_blank = [_t(A, "go_back", BLANK_PAGE)]
    assert no_page_to_go(to_blank, BLANK_PAGE, "go_back") == "there is no page to go back to"
    assert told_page(hist, B, f"goto [{URL}other]") is None  # never loaded


def test_a_typed_value_is_not_part_of_the_page_a_revisit_shows() -> None:
    hist = [_t(A, "type [12] [x] [0]", A_TYPED), _t(A_TYPED, "click [10]", B)]
    assert told_page(hist, B, "go_back") == A  # a fresh load: no value, no focus


def test_a_button_or_a_submitted_form_forgets_the_pages_loaded_before() -> None:
    # A button that opened another URL: the data may have changed, so earlier pages are not told again.
    hist = [_t(A, "click [11]", B)]
    assert told_page(hist, B, f"goto [{URL}]") is None
    assert told_page(hist, B, "go_back") is None
    assert told_page(hist, B, f"goto [{URL}forums]") == B  # loaded after the change
    # A form submitted in place (same URL, no field focused): was a history entry added? Unknown.
    reloaded = _page(URL, "[10] link 'Forums'", "[11] button 'Upvoted'", "[12] textbox 'Search' required: False")
    browser = episode_browser([_t(A, "click [11]", reloaded)], reloaded)
    assert browser.history is None and told_page([_t(A, "click [11]", reloaded)], reloaded, "go_back") is None
    # A field still focused shows a re-render in place, which adds no entry.
    focused = A_TYPED.replace("'Upvote'", "'Upvoted'")
    browser = episode_browser([_t(A, "type [12] [x] [0]", A_TYPED), _t(A_TYPED, "click [11]", focused)], focused)
    assert browser.history == ["about:blank", URL] and browser.pos == 1


def test_scroll_press_and_several_tabs() -> None:
    assert told_page([], A, "scroll [down]") == A  # three lines fit in the viewport
    long_page = _page(URL, *(f"[{100 + i}] StaticText 'line {i}'" for i in range(60)))
    assert told_page([], long_page, "scroll [down]") is None
    assert told_page([], A, "press [Meta+a]") == A and told_page([], A, "press [Tab]") == A
    assert told_page([], A, "press [Enter]") is None and told_page([], A, "press [Backspace]") is None
    two = A.replace("Tab 0 (current): P", "Tab 0: Q | Tab 1 (current): P")
    assert told_page([_t(A, "new_tab", two)], two, "go_back") is None
    assert no_page_to_go([_t(A, "new_tab", two)], two, "go_forward") is None  # the replay stopped


def test_a_page_without_its_url_stops_the_replay() -> None:
    nonsense = "You see the forums."  # a dreamed page that is no browser page
    hist = [_t(A, "click [10]", nonsense)]
    assert episode_browser(hist, nonsense).lost
    assert told_page(hist, nonsense, "go_back") is None and no_page_to_go(hist, nonsense, "go_forward") is None
    # A rejected action changes nothing, whatever page it shows.
    assert not episode_browser([_t(A, "click [99]", A, valid=False)], A).lost


def test_guard_names_the_root_element() -> None:
    assert "RootWebArea" in DOMAIN.check_action("click [1]", A)
    assert "RootWebArea" in DOMAIN.check_action("type [1] [x] [1]", A)
    assert DOMAIN.check_action("click [10]", A) is None


def _env_on_b_after_a() -> tuple[gym.Env, FakeModel]:
    """A WebArena env (fake model, no retrieval) whose episode clicked from page A to page B."""
    model = FakeModel()
    env = gym.make("DreamGym-WebArena-v0", experience_model=model, retrieval_k=0).unwrapped
    env.reset(seed=0)
    env._episode.history = [_t(A, "click [10]", B)]
    env._episode.state = B
    return env, model


def test_pipeline_tells_a_revisit_without_the_model() -> None:
    env, model = _env_on_b_after_a()
    obs, r, term, _, info = env.step("go_back")
    assert obs == A and r == 0.0 and not term
    assert info["told"] and model.requests == [] and "already loaded" in info["reasoning"]
    obs, _, _, _, info = env.step("go_forward")
    assert obs == B and info["told"] and model.requests == []


def test_demo_model_action_skips_what_the_episode_tells() -> None:
    # Tests and benchmarks of the model path draw demo actions through this: it must never hand them a
    # step the episode answers (on B after A, go_back is told) or one the guard rejects.
    env, model = _env_on_b_after_a()
    pipe, ep = env.pipeline, env._episode
    assert not pipe.needs_model(ep, "go_back") and not pipe.needs_model(ep, "click [1]")
    rng = random.Random(0)
    drawn = {pipe.demo_model_action(ep, rng) for _ in range(30)}
    assert drawn and all(pipe.needs_model(ep, a) for a in drawn), drawn
    _, _, _, _, info = env.step(min(drawn))
    assert not info["told"] and info["action_error"] is None and len(model.requests) == 1
