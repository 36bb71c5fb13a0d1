"""WebArena's action grammar, parsed the way upstream parses it, plus BrowserGym's dialect.

Upstream (``browser_env/actions.py: create_id_based_action``) takes the word before the first
``[`` as the action type and then searches (not full-matches) a per-type pattern, so
``click [12] extra`` is a click on 12 and ``type [5] [shoes]`` gets an implicit ``[1]`` (press
Enter). We keep those rules. BrowserGym's Python-call dialect (``click('a51')``,
``fill('12', "text")``, ``send_msg_to_user("answer")``...) maps onto the same actions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from dreamgym_env.error import DreamGymError

#: Action types, named as upstream's id-based actions.
ACTION_TYPES = (
    "click", "hover", "type", "press", "scroll", "new_tab", "tab_focus", "close_tab",
    "goto", "go_back", "go_forward", "stop",
)

#: Keys accepted by ``press [key_comb]`` (Playwright key names; upstream's list, abridged).
KEYS = frozenset(
    ["Enter", "Tab", "Escape", "Backspace", "Delete", "Home", "End", "PageUp", "PageDown", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space", "Insert", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12"]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + [str(d) for d in range(10)]
    + ["[", "]", "-", "=", "/", "\\", ",", ".", ";", "'", "`"]
)
MODIFIERS = frozenset({"Control", "Shift", "Alt", "Meta"})


class ActionParsingError(DreamGymError, ValueError):
    """An action string is not in WebArena's (or BrowserGym's) grammar.

    The reference env catches it: the page stays unchanged and ``info["action_error"]`` holds the
    message. Only direct callers of :func:`parse_action` see it raised.
    """


@dataclass(frozen=True)
class Action:
    """One parsed browser action.

    Attributes:
        kind: One of :data:`ACTION_TYPES`.
        element_id: For click/hover/type: the element id.
        text: Typed text (type), key combination (press), direction (scroll), URL (goto),
            answer (stop).
        enter: For type: press Enter after typing.
        tab: For tab_focus: the tab index.
    """

    kind: str
    element_id: int | None = None
    text: str = ""
    enter: bool = False
    tab: int | None = None

    def to_upstream(self) -> str:
        """Returns the canonical upstream action string."""
        k = self.kind
        if k in ("click", "hover"):
            return f"{k} [{self.element_id}]"
        if k == "type":
            return f"type [{self.element_id}] [{self.text}] [{int(self.enter)}]"
        if k in ("press", "scroll", "goto", "stop"):
            return f"{k} [{self.text}]"
        if k == "tab_focus":
            return f"tab_focus [{self.tab}]"
        return k


def parse_action(text: str) -> Action:
    """Parses an action string (upstream grammar or BrowserGym dialect).

    Raises:
        ActionParsingError: The text is not an action; the message says what was expected.
    """
    s = text.strip()
    if not s:
        raise ActionParsingError("empty action")
    if _BG_CALL.fullmatch(s):
        return _parse_browsergym(s)
    return _parse_upstream(s)


def _parse_upstream(s: str) -> Action:
    kind = s.split("[")[0].strip() if "[" in s else s.split()[0].strip()
    if kind in ("click", "hover"):
        m = re.search(rf"{kind} ?\[(\d+)\]", s)
        if not m:
            raise ActionParsingError(f"Invalid {kind} action {s!r}: expected '{kind} [id]' with a numeric id")
        return Action(kind, element_id=int(m.group(1)))
    if kind == "type":
        if not s.endswith(("[0]", "[1]")):
            s += " [1]"
        m = re.search(r"type ?\[(\d+)\] ?\[(.+)\] ?\[(\d+)\]", s, re.DOTALL)
        if not m:
            raise ActionParsingError(f"Invalid type action {s!r}: expected 'type [id] [text] [0|1]'")
        return Action("type", element_id=int(m.group(1)), text=m.group(2), enter=m.group(3) == "1")
    if kind == "press":
        m = re.search(r"press ?\[(.+)\]", s)
        if not m:
            raise ActionParsingError(f"Invalid press action {s!r}: expected 'press [key_comb]', e.g. 'press [Enter]'")
        combo = m.group(1)
        if not _valid_key_comb(combo):
            raise ActionParsingError(f"Invalid key combination {combo!r}: use Playwright key names like "
                                     "'Enter', 'Control+a', 'Meta+['")
        return Action("press", text=combo)
    if kind == "scroll":
        m = re.search(r"scroll ?\[?(up|down)\]?", s)
        if not m:
            raise ActionParsingError(f"Invalid scroll action {s!r}: expected 'scroll [up]' or 'scroll [down]'")
        return Action("scroll", text=m.group(1))
    if kind == "goto":
        m = re.search(r"goto ?\[(.+)\]", s)
        if not m:
            raise ActionParsingError(f"Invalid goto action {s!r}: expected 'goto [url]'")
        return Action("goto", text=m.group(1).strip())
    if kind == "tab_focus":
        m = re.search(r"tab_focus ?\[(\d+)\]", s)
        if not m:
            raise ActionParsingError(f"Invalid tab_focus action {s!r}: expected 'tab_focus [index]'")
        return Action("tab_focus", tab=int(m.group(1)))
    if kind in ("new_tab", "close_tab", "go_back", "go_forward"):
        return Action(kind)
    if kind == "stop":
        m = re.search(r"stop ?\[(.+)\]", s, re.DOTALL)
        return Action("stop", text=m.group(1) if m else "")
    raise ActionParsingError(
        f"Invalid action {s!r}: the first word must be one of {', '.join(ACTION_TYPES)}"
    )


def _valid_key_comb(combo: str) -> bool:
    parts = combo.split("+")
    if not parts or any(not p for p in parts):
        return combo == "+"
    *mods, key = parts
    return all(m in MODIFIERS for m in mods) and (key in KEYS or key in MODIFIERS)


# ----- BrowserGym dialect ---------------------------------------------------------------------

_BG_CALL = re.compile(r"[a-z_]+\(.*\)", re.DOTALL)


def _bid(value: object) -> int:
    """BrowserGym element ids are strings ('a51', '51'); ours are the digits."""
    m = re.fullmatch(r"[a-z]*(\d+)", str(value))
    if not m:
        raise ActionParsingError(f"Invalid element id {value!r}: expected a bid such as '51' or 'a51'")
    return int(m.group(1))


def _parse_browsergym(s: str) -> Action:
    try:
        call = ast.parse(s, mode="eval").body
    except SyntaxError as e:
        raise ActionParsingError(f"Malformed BrowserGym action {s!r}: {e.msg}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ActionParsingError(f"Malformed BrowserGym action {s!r}")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except ValueError:
        raise ActionParsingError(f"BrowserGym action {s!r}: arguments must be literals") from None
    name = call.func.id
    args += list(kwargs.values())

    def need(n: int) -> None:
        if len(args) < n:
            raise ActionParsingError(f"BrowserGym action {name}() needs {n} argument(s), got {len(args)}")

    if name in ("click", "dblclick", "hover"):
        need(1)
        return Action("hover" if name == "hover" else "click", element_id=_bid(args[0]))
    if name in ("fill", "select_option"):
        need(2)
        value = args[1][0] if isinstance(args[1], list) and args[1] else args[1]
        return Action("type", element_id=_bid(args[0]), text=str(value), enter=False)
    if name in ("press", "keyboard_press"):
        need(1)
        combo = str(args[-1])
        if not _valid_key_comb(combo):
            raise ActionParsingError(f"Invalid key combination {combo!r}")
        return Action("press", text=combo)
    if name == "scroll":
        need(2)
        return Action("scroll", text="up" if float(args[1]) < 0 else "down")
    if name == "goto":
        need(1)
        return Action("goto", text=str(args[0]))
    if name in ("go_back", "go_forward", "new_tab"):
        return Action(name)
    if name == "tab_close":
        return Action("close_tab")
    if name == "tab_focus":
        need(1)
        return Action("tab_focus", tab=int(args[0]))
    if name in ("send_msg_to_user", "report_infeasible"):
        need(1)
        return Action("stop", text="N/A" if name == "report_infeasible" else str(args[0]))
    raise ActionParsingError(f"Unsupported BrowserGym action {name}(): supported are click, dblclick, hover, fill, "
                             "select_option, press, keyboard_press, scroll, goto, go_back, go_forward, new_tab, "
                             "tab_close, tab_focus, send_msg_to_user, report_infeasible")
