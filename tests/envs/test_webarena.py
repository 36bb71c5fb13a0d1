"""WebArena reference sites: rendering, actions, evaluators, tasks, policies, data and wiring."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys

import gymnasium as gym
import pytest
from dreamgym_env.envs.webarena.actions import Action, ActionParsingError, parse_action
from dreamgym_env.envs.webarena.browser import Browser
from dreamgym_env.envs.webarena.env import WebArenaRefEnv
from dreamgym_env.envs.webarena.evaluation import (
    LocalJudge,
    UnknownEvalTypeError,
    evaluate,
    exact_match,
    must_include,
    string_match,
    url_match,
)
from dreamgym_env.envs.webarena.policies import make_policy, parse_tree
from dreamgym_env.envs.webarena.sites import World, generate_content, shipped_content
from dreamgym_env.envs.webarena.tasks import TaskGenConfig, generate_tasks
from gymnasium.utils.env_checker import check_env

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.domain import get_domain
from dreamgym_env.error import DreamGymError, InvalidConfigError
from dreamgym_env.types import Task

LINE = re.compile(r"^\t+\[\d+\] \S+ ('.*'|\".*\")( \w+: \S+)*$")


@pytest.fixture(scope="module")
def domain():
    return get_domain("webarena")


@pytest.fixture(scope="module")
def all_tasks(domain):
    return list(domain.tasks("train")) + list(domain.tasks("test"))


@pytest.fixture()
def env():
    e = WebArenaRefEnv()
    yield e
    e.close()


def task_of(all_tasks, template):
    return next(t for t in all_tasks if t.meta["template"] == template)


def ids(obs, role=None, name=None):
    return [e.id for e in parse_tree(obs) if (role is None or e.role == role) and (name is None or e.name == name)]


# ----- actions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("click [12]", Action("click", element_id=12)),
    ("click[12] because it is the link", Action("click", element_id=12)),
    ("hover [3]", Action("hover", element_id=3)),
    ("type [5] [red shoes]", Action("type", element_id=5, text="red shoes", enter=True)),
    ("type [5] [red shoes] [0]", Action("type", element_id=5, text="red shoes", enter=False)),
    ("press [Control+a]", Action("press", text="Control+a")),
    ("scroll [down]", Action("scroll", text="down")),
    ("new_tab", Action("new_tab")),
    ("tab_focus [1]", Action("tab_focus", tab=1)),
    ("goto [http://map.local/]", Action("goto", text="http://map.local/")),
    ("stop [$6.49]", Action("stop", text="$6.49")),
    ("stop", Action("stop", text="")),
    ("click('a51')", Action("click", element_id=51)),
    ("fill('12', \"blue jeans\")", Action("type", element_id=12, text="blue jeans", enter=False)),
    ("send_msg_to_user('42')", Action("stop", text="42")),
    ("report_infeasible('no such page')", Action("stop", text="N/A")),
    ("scroll(0, -300)", Action("scroll", text="up")),
])
def test_parse_action_follows_upstream_rules(text, expected):
    assert parse_action(text) == expected


@pytest.mark.parametrize("text", ["click 12", "clik [1]", "type [5]", "press [Hyper+q]", "scroll [left]",
                                  "tab_focus [x]", "", "fill('12')", "click(a51)", "frobnicate('1')"])
def test_parse_action_rejects_with_typed_error(text):
    with pytest.raises(ActionParsingError) as e:
        parse_action(text)
    assert isinstance(e.value, DreamGymError)


# ----- rendering -------------------------------------------------------------------------------

def test_observation_is_upstream_accessibility_tree_text():
    b = Browser(World())
    b.reset("http://shopping.local/")
    obs = b.observe()
    lines = obs.splitlines()
    assert lines[0] == "Tab 0 (current): One Stop Market" and lines[1] == ""
    assert lines[2] == "[1] RootWebArea 'One Stop Market' focused: True"
    assert lines[-1] == "URL: http://shopping.local/"
    assert all(LINE.match(ln) for ln in lines[3:-1]), [ln for ln in lines[3:-1] if not LINE.match(ln)]
    assert "\t\t[" in obs  # nested elements are indented one tab per depth
    b.goto("http://shopping.local/")
    assert b.observe() == obs  # ids are stable within a page
    b.goto("http://shopping.local/wishlist/")
    assert set(ids(b.observe())) != set(ids(obs))


def test_every_shipped_task_starts_compact(all_tasks):
    assert len(all_tasks) > 250
    for t in all_tasks:
        assert t.initial_observation.count("\n") <= 60
        assert len(t.initial_observation) < 16_000


# ----- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["click [99999]", "type [{link}] [hello] [1]", "fly [3]", "click [12",
                                    "type [{search}]", "hover [-1]", "go_forward", "tab_focus [7]",
                                    "x" * 5000, 42])
def test_bad_actions_leave_the_page_unchanged(env, all_tasks, action):
    obs, _ = env.reset(options={"task": task_of(all_tasks, "shopping/product_price")})
    if isinstance(action, str):
        action = action.format(link=ids(obs, "link")[0], search=ids(obs, "searchbox")[0])
    obs2, reward, terminated, _, info2 = env.step(action)
    assert obs2 == obs and reward == 0 and not terminated
    assert info2["action_error"] and info2["valid"] is False
    assert "page stays exactly the same" in info2["reasoning"]


def test_step_limit_is_upstream_30():
    env = gym.make("WebArena-Ref-v0")
    assert env.spec.max_episode_steps == 30 and isinstance(env.spec.entry_point, str)
    env.reset(seed=0)
    for _ in range(29):
        *_, term, trunc, _ = env.step("scroll [down]")
        assert not term and not trunc
    *_, term, trunc, _ = env.step("scroll [down]")
    assert trunc and not term
    env.close()


def test_check_env(env):
    check_env(env, skip_render_check=True)


def test_registration_is_lazy():
    code = ("import sys, gymnasium as gym, dreamgym_env; assert 'WebArena-Ref-v0' in gym.registry; "
            "assert 'dreamgym_env.envs.webarena.env' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.stdout.strip() == "ok", out.stderr


# ----- site behaviour --------------------------------------------------------------------------

def test_search_type_appends_and_enter_submits(env, all_tasks):
    obs, _ = env.reset(options={"task": task_of(all_tasks, "shopping/search")})
    box = ids(obs, "searchbox")[0]
    obs, *_ , info = env.step(f"type [{box}] [yoga] [0]")
    assert "StaticText 'yoga'" in obs and obs.endswith("URL: http://shopping.local/")
    obs, *_ , info = env.step(f"type [{box}] [ mat]")
    assert obs.splitlines()[-1] == "URL: http://shopping.local/catalogsearch/result/?q=yoga+mat"
    assert "Search results for: 'yoga mat'" in obs.splitlines()[0]
    assert "The URL changes" in info["reasoning"]


def test_tabs_history_and_viewport(all_tasks):
    env = WebArenaRefEnv(viewport_lines=8)
    obs, _ = env.reset(options={"task": task_of(all_tasks, "shopping/search")})
    hidden = ids(obs)  # the visible ids
    below = [i for i, n in env.browser.view().by_id.items() if i not in hidden and n.role == "link"]
    obs2, *_, info = env.step(f"click [{below[-1]}]")
    assert info["action_error"] and "viewport" in info["action_error"] and obs2 == obs
    for _ in range(5):
        obs2, *_ = env.step("scroll [down]")
        if str(below[-1]) in obs2:
            break
    obs3, *_, info = env.step(f"click [{below[-1]}]")
    assert info["valid"] and obs3.splitlines()[-1] != obs.splitlines()[-1]
    obs4, *_ = env.step("go_back")
    assert obs4.splitlines()[-1] == "URL: http://shopping.local/"
    env.step("go_forward")
    obs5, *_ = env.step("new_tab")
    assert obs5.startswith("Tab 0: ") and "| Tab 1 (current): " in obs5.splitlines()[0]
    env.step("goto [http://map.local/]")
    obs6, *_ = env.step("tab_focus [0]")
    assert obs6.startswith("Tab 0 (current): ")
    obs7, *_ = env.step("close_tab")
    assert obs7.startswith("Tab 0 (current): OpenStreetMap")


def test_state_changes_persist_and_reset_restores(env, all_tasks):
    task = task_of(all_tasks, "shopping/add_to_wishlist")
    for _ in range(2):
        obs, info = env.reset(options={"task": task})
        policy = make_policy("expert", 0)
        policy.reset(obs, info)
        assert "You have no items in your wish list." in env.world.load("http://shopping.local/wishlist/").body[-1].name
        for _ in range(10):
            obs, r, term, _, info = env.step(policy.act(obs, info))
            if term:
                break
        assert r == 1.0 and info["eval"] == {"program_html": 1.0}


# ----- evaluators ------------------------------------------------------------------------------

def test_string_match_rules():
    assert exact_match("Quest Lumaflex Band", ' "quest lumaflex band" ') == 1
    assert must_include("0", "10 items", tokenize_single=True) == 0
    assert must_include("0", "0 items", tokenize_single=True) == 1
    assert must_include("0", "10 items") == 1
    cfg = {"intent": "q", "eval": {"eval_types": ["string_match"],
                                   "reference_answers": {"must_include": ["Sarah", "sarah@x.com"]}}}
    assert string_match(cfg, "Sarah Miller, sarah@x.com", LocalJudge()) == 1
    assert string_match(cfg, "Sarah Miller", LocalJudge()) == 0
    fuzzy = {"intent": "q", "eval": {"eval_types": ["string_match"], "reference_answers": {"fuzzy_match": ["4min"]}}}
    assert string_match(fuzzy, "It takes about 0:04 by car", LocalJudge()) == 1
    assert string_match(fuzzy, "It takes 9 minutes", LocalJudge()) == 0

    class Yes:
        def fuzzy(self, pred, reference, question):
            return 1.0

        def unachievable(self, pred, reason, question):
            return 1.0

    assert string_match(fuzzy, "whatever", Yes()) == 1  # the judge is pluggable


def test_url_match_gold_in_pred():
    w = World()
    cfg = {"eval": {"eval_types": ["url_match"], "reference_url": "__SHOPPING__/catalogsearch/result/?q=yoga+mat",
                    "url_note": "GOLD in PRED"}}
    assert url_match(cfg, "http://shopping.local/catalogsearch/result/?q=yoga+mat&p=2", w) == 1
    assert url_match(cfg, "http://shopping.local/catalogsearch/result/?q=yoga", w) == 0
    cfg["eval"]["url_note"] = "EXACT"
    with pytest.raises(UnknownEvalTypeError, match="EXACT"):
        url_match(cfg, "http://shopping.local/", w)


@pytest.mark.parametrize("bad, name", [({"eval_types": ["visual_match"]}, "visual_match"),
                                       ({"eval_types": ["string_match"], "reference_answers": {"regex": "x"}},
                                        "regex"),
                                       ({"eval_types": ["program_html"], "program_html": [
                                           {"url": "last", "locator": "xpath://div", "required_contents": {
                                               "exact_match": "x"}}]}, "xpath://div"),
                                       ({"eval_types": ["program_html"], "program_html": [
                                           {"url": "func:steal_cookies()", "locator": "",
                                            "required_contents": {"exact_match": "x"}}]}, "steal_cookies")])
def test_unknown_eval_kinds_raise_a_typed_error_naming_them(env, all_tasks, bad, name):
    task = task_of(all_tasks, "shopping/product_price")
    cfg = {**task.meta["config"], "eval": bad}
    env.reset(options={"task": task})
    with pytest.raises(UnknownEvalTypeError, match=re.escape(name)) as e:
        evaluate(cfg, "x", env.browser.tab.page, env.world)
    assert isinstance(e.value, InvalidConfigError)


def test_wrong_answers_and_unfinished_work_score_zero(env, all_tasks):
    for template, answer in [("map/zip_code", "15213x"), ("gitlab/top_contributor", "nobody"),
                             ("shopping_admin/disable_product", "")]:
        env.reset(options={"task": task_of(all_tasks, template)})
        _, r, term, _, info = env.step(f"stop [{answer}]")
        assert term and r == 0.0 and "not complete" in info["reasoning"]


# ----- tasks, policies, data --------------------------------------------------------------------

def test_generated_tasks_cover_sites_and_eval_types(all_tasks):
    per_site = collections.Counter(t.meta["sites"][0] for t in all_tasks)
    assert set(per_site) == {"shopping", "shopping_admin", "gitlab", "reddit", "map"}
    kinds = collections.Counter(k for t in all_tasks for k in t.meta["eval_types"])
    assert set(kinds) == {"string_match", "url_match", "program_html"}
    answers = {k for t in all_tasks for k in (t.meta["config"]["eval"].get("reference_answers") or {})}
    assert answers == {"exact_match", "must_include", "fuzzy_match"}
    assert {t.meta["split"] for t in all_tasks} == {"train", "test"}
    for t in all_tasks:
        cfg = t.meta["config"]
        assert cfg["intent"] == t.instruction and cfg["start_url"].startswith("__")


def test_expert_solves_every_shipped_task_and_random_rarely_does(env, all_tasks):
    wins = collections.Counter()
    for name in ("expert", "random"):
        for i, task in enumerate(all_tasks):
            p = make_policy(name, seed=i)
            obs, info = env.reset(options={"task": task})
            p.reset(obs, info)
            for _ in range(30):
                obs, r, term, _, info = env.step(p.act(obs, info))
                if term:
                    break
            wins[name] += r
    assert wins["expert"] == len(all_tasks)
    assert wins["random"] < 0.1 * len(all_tasks)


def test_shipped_data_is_what_make_data_generates(all_tasks, domain):
    assert generate_content(0) == shipped_content()
    regenerated = [t.to_dict() for t in generate_tasks(TaskGenConfig(seed=0, per_template=12))]
    assert regenerated == [json.loads(json.dumps(t.to_dict())) for t in sorted(all_tasks, key=lambda t: t.task_id)]
    seeds = domain.seed_transitions()
    assert 400 <= len(seeds) and {t.meta["policy"] for t in seeds} == {"expert", "noisy", "random"}
    assert any(t.reward == 1 for t in seeds) and any(t.valid is False for t in seeds)
    assert all(t.reasoning for t in seeds)


@pytest.mark.slow
def test_seed_transitions_regenerate_exactly():
    from dreamgym_env.envs.webarena.make_data import SEED_EPISODES, stream_transitions
    from dreamgym_env.envs.webarena.sites import CONTENT_FILE

    path = CONTENT_FILE.parent / "seed_transitions.jsonl"
    shipped = [json.loads(line) for line in path.read_text().splitlines()]
    fresh = [t.to_dict() for t in stream_transitions(SEED_EPISODES, progress=False)]
    assert json.loads(json.dumps(fresh)) == shipped


def test_collect_loop_contract(tmp_path):
    from dreamgym_env.data.collect import CollectConfig, collect_to_file
    from dreamgym_env.types import load_transitions

    n = collect_to_file(CollectConfig(domain="webarena", episodes=6, seed=3), tmp_path / "t.jsonl", progress=False)
    rows = load_transitions(tmp_path / "t.jsonl")
    assert n == len(rows) > 6
    assert all(r.source == "real" and r.reasoning and r.valid is not None for r in rows)
    assert all(r.reward == 0 for r in rows if not r.done)


def test_domain_wiring(domain, all_tasks):
    assert domain.real_env_id == "WebArena-Ref-v0"
    state = all_tasks[0].initial_observation
    link = ids(state, "link")[0]
    assert domain.check_action(f"click [{link}]", state) is None
    assert domain.check_action(f"click('{link}')", state) is None
    assert "no element" in domain.check_action("click [99999]", state)
    assert "not an editable" in domain.check_action(f"type [{link}] [x]", state)
    assert domain.check_action("open the page", state)
    # The clicks the domain offers are the engine's (interactive elements; not the root [1], not text).
    clicks = [a for a in domain.admissible_actions(all_tasks[0], [], state) if a.startswith("click")]
    assert f"click [{link}]" in clicks and "click [1]" not in clicks
    assert all(domain.check_action(a, state) is None for a in clicks)
    with pytest.raises(InvalidConfigError, match="Valid ones"):
        domain.make_policy("oracle")


def test_upstream_config_runs_on_the_reference_sites(env):
    """An upstream test.raw.json config (template 6) is graded by the same evaluator on our reddit."""
    upstream = pytest.importorskip("dreamgym_env.envs.webarena.upstream")
    try:
        configs = upstream.load_configs()
    except upstream.UpstreamDataMissingError:
        pytest.skip("libwebarena is not installed")
    cfg = next(c for c in configs if c["intent_template_id"] == 6)
    bio = cfg["eval"]["program_html"][0]["required_contents"]["exact_match"]
    obs, _ = env.reset(options={"task": cfg})
    for role, name in [("link", "MarvelsGrantMan136"), ("link", "Edit biography")]:
        obs, *_ = env.step(f"click [{ids(obs, role, name)[0]}]")
    obs, *_ = env.step(f"type [{ids(obs, 'textbox', 'Biography')[0]}] [{bio}] [0]")
    obs, *_ = env.step(f"click [{ids(obs, 'button', 'Save')[0]}]")
    _, r, term, _, info = env.step("stop []")
    assert term and r == 1.0 and info["eval"] == {"program_html": 1.0}


def test_upstream_loader_reads_all_812_configs(all_tasks):
    upstream = pytest.importorskip("dreamgym_env.envs.webarena.upstream")
    try:
        configs = upstream.load_configs()
    except upstream.UpstreamDataMissingError:
        pytest.skip("libwebarena is not installed")
    assert len(configs) == 812
    catalog = upstream.template_catalog(configs)
    assert len(catalog) == 190
    # Every generated template follows an upstream template with the same eval types.
    for t in all_tasks:
        up = catalog[t.meta["config"]["intent_template_id"]]
        assert up["eval_types"] == t.meta["eval_types"], t.meta["template"]
    with pytest.raises(UnknownEvalTypeError, match="visual_match"):
        upstream.validate_config({**configs[0], "eval": {"eval_types": ["visual_match"]}})


def test_browsergym_adapter_constructs_and_translates():
    from dreamgym_env.envs.webarena.browsergym_adapter import (
        BrowserGymWebArenaEnv,
        format_observation,
        to_browsergym,
    )

    env = BrowserGymWebArenaEnv(task_id=310)
    assert env.env_id == "browsergym/webarena.310" and env.observation_space.contains("Tab 0 (current): x")
    assert to_browsergym(parse_action("type [12] [hello] [1]")) == 'fill("12", "hello")\npress("12", \'Enter\')'
    assert to_browsergym(parse_action("stop [42]")) == 'send_msg_to_user("42")'
    assert to_browsergym(parse_action("tab_focus [2]")) == "tab_focus(2)"
    text = format_observation({"open_pages_titles": ["A", "B"], "active_page_index": 1, "url": "http://x/"},
                              "[1] RootWebArea 'B'")
    assert text == "Tab 0: A | Tab 1 (current): B\n\n[1] RootWebArea 'B'\nURL: http://x/"
    with pytest.raises(InvalidConfigError):
        BrowserGymWebArenaEnv(task_id=9999)


def test_reset_accepts_task_and_rejects_garbage(env, all_tasks):
    t = all_tasks[0]
    obs, info = env.reset(options={"task": t})
    assert obs == t.initial_observation and info["task_id"] == t.task_id
    with pytest.raises(InvalidConfigError):
        env.reset(options={"task": Task("x", "webarena", "do", "", {})})


def test_hover_is_told_and_stop_ends_on_its_page_as_the_engine_does(domain):
    from dreamgym_env.data.collect import CollectConfig, collect
    from dreamgym_env.domain import Outcome

    tasks = {t.task_id: t for t in domain.tasks("test")}
    hovers = stops = 0
    for t in collect(CollectConfig("webarena", episodes=150, split="test", seed=12), progress=False):
        task = tasks[t.task_id]
        told = domain.told_outcome(task, (), t.state, t.action)
        if t.action.startswith("hover [") and t.valid:
            hovers += 1
            assert told == Outcome(t.next_state, 0.0, False)
        elif t.action.startswith(("click [", "type [", "stop [")):
            assert told is None  # (the other kinds: tests/envs/test_webarena_episode.py)
        if t.action.startswith("stop ["):
            stops += 1
            # Whatever page and done the model says, the episode ends on the page the answer was given on.
            out, note = domain.check_outcome(task, t.state, t.action, Outcome("Thanks!", t.reward, False))
            assert out.next_state == t.next_state and out.done == t.done is True and "always ends" in note
    assert hovers >= 3 and stops >= 100, (hovers, stops)
