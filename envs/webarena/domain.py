"""DreamGym-WebArena: websites as accessibility trees, with WebArena's action grammar."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from dreamgym_env.domain import Domain, Outcome
from dreamgym_env.grammar import match_any
from dreamgym_env.types import Task, Transition

#: WebArena's action grammar (``id`` actions take the element id in brackets).
ACTION_PATTERNS = tuple(
    re.compile(p, re.DOTALL)
    for p in (
        r"click \[(\d+)\]",
        r"hover \[(\d+)\]",
        r"type \[(\d+)\] \[(.*)\]( \[[01]\])?",
        r"press \[([A-Za-z0-9+]+)\]",
        r"scroll \[(up|down)\]",
        r"new_tab",
        r"tab_focus \[(\d+)\]",
        r"close_tab",
        r"goto \[(\S+)\]",
        r"go_back",
        r"go_forward",
        r"stop \[(.*)\]",
    )
)
_ID = re.compile(r"^\s*\[(\d+)\] ", re.MULTILINE)
_ACTION_ID = re.compile(r"^(?:click|hover|type) \[(\d+)\]")

SYSTEM_PROMPT = """\
You simulate WebArena, a set of websites (shopping, shopping admin, GitLab, Reddit, map). An observation is \
the current tab's accessibility tree: "Tab 0 (current): <page title>" then one line per element, \
"[id] role 'name'" with properties, tab-indented by depth, then "URL: <url>".
Actions: "click [id]", "hover [id]", "type [id] [text] [1]" (1 presses Enter after typing, 0 does not), \
"press [key_comb]", "scroll [up|down]", "new_tab", "tab_focus [i]", "close_tab", "goto [url]", "go_back", \
"go_forward", "stop [answer]".
Rules: an action on an id that is not in the current tree, typing into an element that is not a textbox or \
searchbox, or any malformed action leaves the page unchanged. Clicking a link navigates to its page (new \
tree, new ids, new URL). Element ids are stable within a page. Only "stop [answer]" ends the episode: reward \
is 1 if the task is then complete (the answer is correct, or the required change was made on the site), \
else 0; every other step has reward 0 and done false.\
"""


class WebArenaDomain(Domain):
    """WebArena's rules, grammar and data for the experience model."""

    name = "webarena"
    max_episode_steps = 30
    max_observation_chars = 16000
    max_action_chars = 512
    reward_range = (0.0, 1.0)
    binary_reward = True
    real_env_id = "WebArena-Ref-v0"
    data_dir = Path(__file__).parent / "data"
    max_new_tokens = 768

    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def check_action(self, action: str, state: str) -> str | None:
        if not match_any(action, ACTION_PATTERNS):
            return "not a WebArena action (e.g. 'click [12]', 'type [5] [query] [1]', 'stop [answer]')"
        m = _ACTION_ID.match(action)
        if m and not re.search(rf"^\s*\[{m.group(1)}\] ", state, re.MULTILINE):
            return f"there is no element [{m.group(1)}] on this page"
        return None

    def initial_observation_for(self, instruction: str) -> str:
        return "Tab 0 (current): about:blank\n\n[1] RootWebArea '' focused: True\nURL: about:blank"

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        ids = sorted(set(_ID.findall(state)), key=int)
        return [f"click [{i}]" for i in ids] + ["go_back", "scroll [down]", "scroll [up]", "stop [answer]"]

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome) -> tuple[Outcome, str | None]:
        if not action.startswith("stop [") and (outcome.reward > 0 or outcome.done):
            return Outcome(outcome.next_state, 0.0, False), "only stop [answer] ends a WebArena episode"
        return outcome, None
