"""``WebArena-Ref-v0``: the five reference sites as one Gymnasium environment."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym

from dreamgym_env.error import InvalidConfigError
from dreamgym_env.grammar import guard_action
from dreamgym_env.spaces import BoundedText
from dreamgym_env.types import Task, stable_id

from .actions import ActionParsingError, parse_action
from .browser import VIEWPORT_LINES, Browser
from .evaluation import EvalResult, Judge, LocalJudge, check_config, evaluate
from .reasoning import step_reasoning, stop_reasoning
from .sites import World, generate_content, shipped_content

MAX_OBSERVATION_CHARS = 16_000
MAX_ACTION_CHARS = 2_000
#: Roles whose elements an agent can usefully click.
CLICKABLE = frozenset({"link", "button", "option", "checkbox", "textbox", "searchbox", "combobox", "spinbutton",
                       "menuitem", "tab"})


@functools.lru_cache(maxsize=4)
def _content(seed: int | None) -> str:
    import json
    return json.dumps(shipped_content() if seed is None else generate_content(seed))


class WebArenaRefEnv(gym.Env[str, str]):
    """
    ## Description

    Five small stateful reference websites that mirror WebArena's (shopping, shopping_admin,
    gitlab, reddit, map) and speak its exact observation and action language, so WebArena tasks can
    be played, graded and recorded without the Docker images. Every episode starts from the same
    site content (the shipped seed content, or one generated from ``content_seed``).

    ## Mission Space

    A task config in upstream's ``test.raw.json`` schema (``intent``, ``start_url`` with
    ``__SHOPPING__``-style placeholders, ``eval``), given as ``options["task"]``: a :class:`Task`
    whose ``meta["config"]`` holds it, or the config dict itself. Without one, a task of ``split``
    is drawn with the reset seed.

    ## Action Space

    A string in WebArena's grammar: ``click [id]``, ``hover [id]``, ``type [id] [text] [0|1]``
    (missing flag: press Enter), ``press [key_comb]``, ``scroll [up|down]``, ``new_tab``,
    ``tab_focus [i]``, ``close_tab``, ``goto [url]``, ``go_back``, ``go_forward``, ``stop [answer]``;
    BrowserGym calls (``click('51')``, ``fill('12', 'text')``, ``send_msg_to_user('answer')``) are
    accepted too. Ids must be visible in the current viewport. Bad actions never raise: the page
    is unchanged and ``info["action_error"]`` says why.

    ## Observation Space

    Upstream's accessibility-tree text: ``Tab 0 (current): <title>``, a blank line, then
    ``[id] role 'name' props`` lines indented by depth (ids stable within a page), then
    ``URL: <url>``. At most ``viewport_lines`` tree lines are shown; ``scroll`` moves the viewport.

    ## Rewards

    0 on every step except ``stop [answer]``, which gets the task's evaluator score (the product of
    ``string_match``, ``url_match`` and ``program_html``): 1 or 0.

    ## Termination

    ``terminated`` after ``stop``. ``truncated`` after 30 steps (upstream's limit) via TimeLimit.

    ## Info

    ``task``, ``task_id``, ``url``, ``reasoning`` (teacher reasoning from the sites' facts),
    ``valid``, ``action_error``, ``admissible_actions`` (clicks on the visible interactive elements
    plus navigation), and at ``stop`` ``eval`` (each evaluator's score).

    ## Registered Configurations

    * ``WebArena-Ref-v0``: shipped content, train split, local fuzzy-match judge.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}

    def __init__(self, split: str = "train", content_seed: int | None = None, judge: Judge | None = None,
                 viewport_lines: int = VIEWPORT_LINES, urls: Mapping[str, str] | None = None,
                 render_mode: str | None = None) -> None:
        if render_mode not in (None, "ansi"):
            raise InvalidConfigError(f"render_mode {render_mode!r} is not supported; use 'ansi' or None")
        if split not in ("train", "test"):
            raise InvalidConfigError(f"split {split!r} is not supported; use 'train' or 'test'")
        self.split = split
        self.content_seed = content_seed
        self.judge: Judge = judge or LocalJudge()
        self.viewport_lines = viewport_lines
        self.urls = dict(urls or {})
        self.render_mode = render_mode
        self.observation_space = BoundedText(MAX_OBSERVATION_CHARS)
        self.action_space = BoundedText(MAX_ACTION_CHARS)
        self.world: World | None = None
        self.browser: Browser | None = None
        self.task: Task | None = None
        self.config: dict[str, Any] = {}
        self._done = False

    # ----- gym API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        task = (options or {}).get("task")
        self.task = self._resolve(task)
        self.config = dict(self.task.meta["config"])
        check_config(self.config)
        import json
        self.world = World(json.loads(_content(self.content_seed)), self.urls)
        self.browser = Browser(self.world, self.viewport_lines)
        self.browser.reset(self.world.resolve(str(self.config["start_url"]).split(" |AND| ")[0]))
        self._done = False
        return self._obs(), self._info(valid=True, error=None, reasoning="")

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.browser is None or self.world is None or self.task is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        guarded = guard_action(action, MAX_ACTION_CHARS)
        before = self.browser.url
        if self._done:
            err = "the episode is over (stop was already called); call reset()"
            return self._obs(), 0.0, True, False, self._info(False, err, step_reasoning(guarded.text, None, err,
                                                                                         before, before, "", None))
        err = guarded.error
        parsed = None
        if err is None:
            try:
                parsed = parse_action(guarded.text)
            except ActionParsingError as e:
                err = str(e)
        if parsed is None:
            why = err or "unparseable action"
            return self._obs(), 0.0, False, False, self._info(False, why, step_reasoning(guarded.text, None, why,
                                                                                          before, before, "", None))
        if parsed.kind == "stop":
            result = evaluate(self.config, parsed.text, self.browser.tab.page, self.world, self.judge)
            self._done = True
            info = self._info(True, None, stop_reasoning(parsed.text, result, self.task.instruction))
            info["eval"] = dict(result.parts)
            return self._obs(), float(result.score), True, False, info
        effect = self.browser.execute(parsed)
        obs = self._obs()
        progress = self._progress() if effect.error is None else None
        reasoning = step_reasoning(guarded.text, effect, effect.error, before, self.browser.url,
                                   self.browser.tab.page.title, progress)
        return obs, 0.0, False, False, self._info(effect.error is None, effect.error, reasoning)

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self.browser is not None:
            return self._obs()
        return None

    # ----- helpers ------------------------------------------------------------------------------
    def _obs(self) -> str:
        assert self.browser is not None
        return self.browser.observe()[:MAX_OBSERVATION_CHARS]

    def _progress(self) -> EvalResult | None:
        """The non-answer evaluators' verdict on the current site state (facts for reasoning)."""
        types = [t for t in self.config["eval"]["eval_types"] if t != "string_match"]
        if not types:
            return None
        cfg = {**self.config, "eval": {**self.config["eval"], "eval_types": types}}
        assert self.browser is not None and self.world is not None
        return evaluate(cfg, "", self.browser.tab.page, self.world, self.judge)

    def admissible_actions(self) -> list[str]:
        """Clicks on the visible interactive elements, then the page-independent actions."""
        assert self.browser is not None
        ids = [i for i, n in sorted(self.browser.visible_ids().items()) if n.role in CLICKABLE]
        return [f"click [{i}]" for i in ids] + ["go_back", "scroll [down]", "scroll [up]"]

    def _info(self, valid: bool, error: str | None, reasoning: str) -> dict[str, Any]:
        assert self.task is not None and self.browser is not None
        return {"task": self.task, "task_id": self.task.task_id, "url": self.browser.url, "reasoning": reasoning,
                "valid": valid, "action_error": error, "admissible_actions": self.admissible_actions()}

    def _resolve(self, task: Any) -> Task:
        if isinstance(task, Task):
            if "config" not in task.meta:
                raise InvalidConfigError(f"task {task.task_id!r} has no meta['config'] (an upstream task config)")
            return task
        if isinstance(task, Mapping):
            cfg = dict(task)
            return Task(task_id=f"webarena-config-{cfg.get('task_id', stable_id(cfg.get('intent')))}",
                        domain="webarena", instruction=str(cfg.get("intent", "")), initial_observation="",
                        meta={"config": cfg, "split": self.split})
        if task is not None:
            raise InvalidConfigError(f"options['task'] must be a Task or an upstream config dict, got "
                                     f"{type(task).__name__}")
        pool = _split_tasks(self.split)
        if not pool:
            raise InvalidConfigError(f"no shipped WebArena tasks in split {self.split!r}")
        return pool[int(self.np_random.integers(len(pool)))]


def _split_tasks(split: str) -> Sequence[Task]:
    from dreamgym_env.domain import get_domain
    return get_domain("webarena").tasks(split)
