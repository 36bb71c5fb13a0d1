"""Run the real WebArena through BrowserGym with this package's observation and action language.

For users who host the WebArena Docker sites: ``BrowserGymWebArenaEnv(task_id=310)`` wraps
``browsergym/webarena.310`` (``pip install browsergym-webarena``, then ``playwright install``
and the ``SHOPPING``/``GITLAB``/... URL variables BrowserGym documents). Actions in WebArena's
grammar are translated to BrowserGym calls, and BrowserGym's accessibility tree is rendered in
the same text format as ``WebArena-Ref-v0``, so policies and DreamGym models move between the
reference sites and the real ones unchanged. BrowserGym is imported on :meth:`reset` only.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import gymnasium as gym

from dreamgym_env.error import InvalidConfigError, MissingDependencyError
from dreamgym_env.spaces import BoundedText

from .actions import Action, ActionParsingError, parse_action
from .env import MAX_ACTION_CHARS, MAX_OBSERVATION_CHARS


def to_browsergym(action: Action) -> str:
    """Translates a parsed WebArena action into BrowserGym's high-level action string."""
    k, q = action.kind, json.dumps
    if k == "click":
        return f"click({q(str(action.element_id))})"
    if k == "hover":
        return f"hover({q(str(action.element_id))})"
    if k == "type":
        fill = f"fill({q(str(action.element_id))}, {q(action.text)})"
        return fill + (f"\npress({q(str(action.element_id))}, 'Enter')" if action.enter else "")
    if k == "press":
        return f"keyboard_press({q(action.text)})"
    if k == "scroll":
        return f"scroll(0, {-600 if action.text == 'up' else 600})"
    if k == "goto":
        return f"goto({q(action.text)})"
    if k == "tab_focus":
        return f"tab_focus({action.tab})"
    if k == "close_tab":
        return "tab_close()"
    if k in ("new_tab", "go_back", "go_forward"):
        return f"{k}()"
    return f"send_msg_to_user({q(action.text)})"


def format_observation(obs: dict[str, Any], tree_text: str) -> str:
    """BrowserGym's observation dict rendered as ``Tab ...`` line, tree and ``URL:`` line."""
    titles = list(obs.get("open_pages_titles") or [""])
    active = int(obs.get("active_page_index", 0) or 0)
    tabs = " | ".join(f"Tab {i} (current): {t}" if i == active else f"Tab {i}: {t}" for i, t in enumerate(titles))
    return f"{tabs}\n\n{tree_text}\nURL: {obs.get('url', '')}"


class BrowserGymWebArenaEnv(gym.Env[str, str]):
    """
    ## Description

    The real WebArena task ``task_id`` through BrowserGym, speaking the same text language as
    ``WebArena-Ref-v0``. Needs the WebArena sites running and ``browsergym-webarena`` installed.

    ## Action Space

    WebArena's grammar (``click [id]``, ``type [id] [text] [1]``, ``stop [answer]``...), translated
    to BrowserGym calls; ``stop [answer]`` becomes ``send_msg_to_user(answer)``. Unparseable
    actions do not reach the browser: the observation is unchanged and ``info["action_error"]`` is set.

    ## Observation Space

    ``Tab i (current): title`` line, blank line, BrowserGym's flattened accessibility tree, ``URL:``.

    ## Rewards

    BrowserGym's WebArena reward (upstream's evaluators), given when the episode ends.

    ## Termination

    As BrowserGym: after the answer message is sent, or on its own limits.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, task_id: int, env_kwargs: dict[str, Any] | None = None) -> None:
        if not isinstance(task_id, int) or not 0 <= task_id < 812:
            raise InvalidConfigError(f"task_id must be an upstream WebArena task id in 0..811, got {task_id!r}")
        self.task_id = task_id
        self.env_id = f"browsergym/webarena.{task_id}"
        self.env_kwargs = dict(env_kwargs or {})
        self.observation_space = BoundedText(MAX_OBSERVATION_CHARS)
        self.action_space = BoundedText(MAX_ACTION_CHARS)
        self._env: gym.Env | None = None
        self._last = ""

    def _make(self) -> gym.Env:
        try:
            import browsergym.webarena  # noqa: F401  (registers the browsergym/webarena.* ids)
        except ImportError as e:
            raise MissingDependencyError("browsergym-webarena", "webarena-real",
                                         "running the real WebArena through BrowserGym") from e
        return gym.make(self.env_id, **self.env_kwargs)

    def _text(self, obs: dict[str, Any]) -> str:
        from browsergym.utils.obs import flatten_axtree_to_str

        return format_observation(obs, flatten_axtree_to_str(obs["axtree_object"]))[:MAX_OBSERVATION_CHARS]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if self._env is None:
            self._env = self._make()
        obs, info = self._env.reset(seed=seed)
        self._last = self._text(obs)
        return self._last, {**info, "goal": obs.get("goal", ""), "action_error": None}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._env is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        try:
            bg_action = to_browsergym(parse_action(action))
        except ActionParsingError as e:
            return self._last, 0.0, False, False, {"action_error": str(e), "valid": False}
        obs, reward, terminated, truncated, info = self._env.step(bg_action)
        self._last = self._text(obs)
        err = obs.get("last_action_error") or None
        return self._last, float(reward), bool(terminated), bool(truncated), {**info, "action_error": err,
                                                                             "valid": err is None}

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
