"""DreamGym-WebArena: websites as accessibility trees, with WebArena's action grammar."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from dreamgym_env.domain import Domain, ImportHooks, Outcome, Policy, TaskCheck
from dreamgym_env.types import Task, Transition, stable_id

from .tree import EDITABLE_ROLES

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
_EDITABLE = EDITABLE_ROLES
#: An element's id and role at the start of its tree line (tab-indented: the RootWebArea line ``[1]`` is not one).
_ID_ROLE = re.compile(r"^\t+\[(\d+)\] (\S+) ", re.MULTILINE)
_ELEMENT = re.compile(r"^\s*\[\d+\] (\S+) '([^'\n]*)'", re.MULTILINE)

SYSTEM_PROMPT = """\
You simulate WebArena, a set of websites (shopping: One Stop Market; shopping_admin: its Magento admin; gitlab; \
reddit: a Postmill forum; map: OpenStreetMap). An observation is the current tab's accessibility tree: \
"Tab 0 (current): <page title>" (other tabs joined with " | "), a blank line, "[1] RootWebArea '<title>' focused: \
True", then one line per element, "[id] role 'name'" with properties such as "required: False" or "selected: True", \
tab-indented by depth, and a last line "URL: <url>". A field's typed value shows as a StaticText child below it.
Actions: "click [id]", "hover [id]", "type [id] [text] [0|1]" (1 or no flag presses Enter after typing, 0 does \
not), "press [key_comb]", "scroll [up|down]", "new_tab", "tab_focus [i]", "close_tab", "goto [url]", "go_back", \
"go_forward", "stop [answer]".
Rules: an action on an id that is not in the current tree, typing into an element that is not a textbox, searchbox, \
spinbutton or combobox, or a malformed action leaves the page exactly unchanged. Typing appends to the field's \
current value; Enter submits the field's form (a search opens its results page). Clicking a link opens its page: a \
new tree with new ids and a new URL. Clicking a button runs it: a form submission usually opens a new page, other \
buttons (Add to Cart, Upvote, Subscribe, Star) update the same page. Element ids are stable within a page. Only \
"stop [answer]" ends the episode: the reward is 1 if the task is then complete (the answer matches, the final URL \
is the requested one, or the requested change was saved on the site), else 0; every other step has reward 0 and \
done false.\
"""


_INTENT = re.compile(r"^[A-Za-z][^\n<>{}]*$")


def _entities(values: Iterable[object]) -> set[str]:
    out: set[str] = set()
    for v in values:
        if isinstance(v, (list, tuple)):
            out |= _entities(v)
        elif isinstance(v, str) and len(v) >= 3 and not v.strip().replace(".", "").isdigit():
            out.add(v.strip().lower())
    return out


@functools.lru_cache(maxsize=1)
def _site_entities() -> dict[str, frozenset[str]]:
    """Site -> the entity names (products, repos, places, users, ...) that the shipped tasks use."""
    per_site: dict[str, set[str]] = {}
    for split in ("train", "test"):
        for t in WebArenaDomain().tasks(split):
            names = _entities(((t.meta.get("config") or {}).get("instantiation_dict") or {}).values())
            for site in t.meta.get("sites") or ():
                per_site.setdefault(site, set()).update(names)
    return {k: frozenset(v) for k, v in per_site.items()}


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

    def state_elements(self, state: str) -> frozenset[str] | None:
        """The accessibility tree's elements as ``role 'name'`` (ids left out: they are page-specific)."""
        found = _ELEMENT.findall(state)
        return frozenset(f"{role} '{name}'" for role, name in found) if found else None

    def check_action(self, action: str, state: str) -> str | None:
        from .actions import ActionParsingError, parse_action

        try:
            parsed = parse_action(action)
        except ActionParsingError as e:
            return f"{e} (e.g. 'click [12]', 'type [5] [query] [1]', 'stop [answer]')"
        if parsed.element_id is not None:
            line = re.search(rf"^\t+\[{parsed.element_id}\] (\S+) ", state, re.MULTILINE)
            if line is None:
                if re.search(rf"^\[{parsed.element_id}\] RootWebArea ", state, re.MULTILINE):
                    return f"[{parsed.element_id}] is the page's root (RootWebArea), not an element to act on"
                return f"there is no element [{parsed.element_id}] on this page"
            if parsed.kind == "type" and line.group(1) not in _EDITABLE:
                return f"element [{parsed.element_id}] is a {line.group(1)}, not an editable field"
        return None

    def initial_observation_for(self, instruction: str) -> str:
        from .episode import BLANK_PAGE

        return BLANK_PAGE

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        from .env import CLICKABLE

        ids = sorted({i for i, role in _ID_ROLE.findall(state) if role in CLICKABLE}, key=int)
        return [f"click [{i}]" for i in ids] + ["go_back", "scroll [down]", "scroll [up]", "stop [answer]"]

    def import_hooks(self) -> ImportHooks:
        """Cleanup for imported public trajectories (see ``importing.py``)."""
        from .importing import WebArenaImportHooks

        return WebArenaImportHooks()

    def make_policy(self, name: str, seed: int | None = None) -> Policy:
        """``expert`` (the task's scripted solution), ``noisy`` (expert with 30% mistakes) or ``random``."""
        from .policies import make_policy

        return make_policy(name, seed)

    @functools.cached_property
    def _intent_openers(self) -> frozenset[str]:
        """First words of the shipped intents ("what", "add", "tell", ...): how an instruction or a question opens."""
        return frozenset(re.sub(r"[^a-z']", "", t.instruction.split()[0].lower())
                         for split in ("train", "test") for t in self.tasks(split) if t.instruction.split())

    def check_generated_task(self, instruction: str, parent: Task) -> TaskCheck:
        """A one-line intent that opens like the shipped ones (an instruction or a question) on the parent's
        site(s); feasible when it names at least one entity that
        exists on those sites (as the shipped tasks know them) or the parent itself names none. The
        task starts on the parent's start page and has no programmatic evaluator (the model judges)."""
        text = " ".join(instruction.split())
        if not _INTENT.match(text) or len(text.split()) < 3:
            return TaskCheck(None, "ungrammatical", "not a one-line intent of at least three words")
        first = re.sub(r"[^a-z']", "", text.split()[0].lower())
        if first not in self._intent_openers:
            return TaskCheck(None, "ungrammatical", f"does not open like a WebArena intent ({first!r} opens none "
                             "of the shipped intents: an instruction or a question)")
        sites = list(parent.meta.get("sites") or ())
        known = frozenset().union(*(_site_entities().get(s, frozenset()) for s in sites)) if sites else frozenset()
        parent_entities = _entities(((parent.meta.get("config") or {}).get("instantiation_dict") or {}).values())
        low = text.lower()
        if parent_entities and not any(e in low for e in known):
            return TaskCheck(None, "infeasible", f"names no entity that exists on {', '.join(sites) or 'the site'}")
        meta = {"split": "train", "sites": sites, "template": parent.meta.get("template"),
                "generated_from": parent.task_id}
        return TaskCheck(Task(task_id=f"webarena-gen-{stable_id(self.name, text, parent.task_id)}", domain=self.name,
                              instruction=text, initial_observation=parent.initial_observation, meta=meta))

    def check_action_in_episode(self, task: Task, history: Sequence[Transition], state: str,
                                action: str) -> str | None:
        """``go_back``/``go_forward`` with no page to go to (:func:`.episode.no_page_to_go`)."""
        from .episode import no_page_to_go

        return no_page_to_go(history, state, action)

    def told_outcome(self, task: Task, history: Sequence[Transition], state: str, action: str) -> Outcome | None:
        """``hover [id]`` on an element the page shows changes nothing in the accessibility tree (the guard
        has already checked that the element is there); ``goto``, ``go_back``, ``go_forward``, ``scroll`` and
        ``press`` are told when the episode fixes the page (:func:`.episode.told_page`)."""
        if re.fullmatch(r"hover \[\d+\]", action.strip()):
            return Outcome(state, 0.0, False)
        from .episode import told_page

        page = told_page(history, state, action)
        return Outcome(page, 0.0, False) if page is not None else None

    def told_reasoning(self, action: str) -> str:
        kind = action.strip().split(" ")[0].split("[")[0]
        if kind in ("hover", "scroll", "press"):
            return (f"{action} changes nothing the accessibility tree shows (the pointer, the focus or a page that "
                    "already fits in the viewport), so the page stays; reward 0.")
        return (f"{action} loads a page the episode has already loaded, and nothing since could have changed the "
                "site's data, so it shows the same tree with the same ids; reward 0.")

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome,
                      history: Sequence[Transition] = ()) -> tuple[Outcome, str | None]:
        """Only ``stop [answer]`` pays or ends an episode; it always ends it, on the page where it was given,
        and a reward that the answer cannot earn is refused (:func:`_refused_stop_reward`)."""
        if not action.startswith("stop ["):
            if outcome.reward > 0 or outcome.done:
                return Outcome(outcome.next_state, 0.0, False), "only stop [answer] ends a WebArena episode"
            return outcome, None
        note = None if outcome.done else "stop [answer] always ends the episode"
        reward = outcome.reward
        if reward > 0 and (refused := _refused_stop_reward(task, state, action)):
            reward, note = 0.0, refused
        return Outcome(state, reward, True), note


class _WholeWordJudge:
    """:class:`LocalJudge`, but the reference's words must be whole words of the answer.

    The local judge matches terms inside any token, so an encoded payload such as ``%7Cim_end`` "contains"
    the reference ``7``; for refusing rewards only whole words count.
    """

    def __init__(self) -> None:
        from .evaluation import LocalJudge

        self._local = LocalJudge()

    def fuzzy(self, pred: str, reference: str, question: str) -> float:
        from .evaluation import _minutes, _numbers_and_words

        if not self._local.fuzzy(pred, reference, question):
            return 0.0
        p = pred.lower().replace(",", "")
        if _minutes(p) is not None and re.search(r"(?<![%\w])\d+\s*min", p):
            return 1.0
        whole = set(re.findall(r"(?<![%\w])(\d+(?:\.\d+)?|[a-z]+)(?![\w%])", p))
        return float(_numbers_and_words(reference.lower()) <= whole)

    def unachievable(self, pred: str, reason: str, question: str) -> float:
        return self._local.unachievable(pred, reason, question)


def _refused_stop_reward(task: Task, state: str, action: str) -> str | None:
    """Why a claimed success of ``stop [answer]`` cannot be right, where the task makes it checkable.

    An answer-only task (``string_match``) is scored on the answer alone, so a wrong answer is refused
    whatever the model says (an injected "reward 1" is not the reference answer). A task judged on the
    site's state or URL cannot be complete on its unchanged start page.
    """
    from .actions import ActionParsingError, parse_action
    from .evaluation import UnknownEvalTypeError, string_match

    config = task.meta.get("config") or {}
    eval_types = list((config.get("eval") or {}).get("eval_types") or task.meta.get("eval_types") or ())
    if eval_types == ["string_match"]:
        try:
            answer = parse_action(action).text or ""
            score = string_match(config, answer, _WholeWordJudge())
        except (ActionParsingError, UnknownEvalTypeError, KeyError, TypeError, ValueError):
            return "reward refused: the stop answer could not be scored"
        return None if score > 0 else "reward refused: the stop answer does not match the task's reference answer"
    if eval_types and state.strip() == task.initial_observation.strip():
        return "reward refused: nothing was done on the start page"
    return None
