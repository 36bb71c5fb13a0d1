"""WebShop's cleanup of public trajectory sets (AgentTraj-L, AgentInstruct, ETO).

Those sets keep the text-mode ``[SEP]`` pages as they are; what differs:

* AgentBench (AgentInstruct) appends ``\\n\\nAvailable Actions:\\n{'has_search_bar': ..., 'clickables':
  [...]}``; it goes to ``meta["admissible_actions"]`` as ``search[...]`` / ``click[...]`` actions.
* Agents write clicks in any case (``click[Buy Now]``); the site matches them lower case, and this
  package records them lower case.
* The instruction is the ``[SEP]`` segment after ``Instruction:``.
"""

from __future__ import annotations

import ast
import re

from dreamgym_env.domain import ImportedObservation, ImportHooks

_AVAILABLE = re.compile(r"\s*\bAvailable Actions:\s*(?P<dict>\{.*\})\s*\Z", re.DOTALL)
_INSTRUCTION = re.compile(r"Instruction:\s*\[SEP\]\s*(.*?)\s*(?:\[SEP\]|$)")
_CLICK = re.compile(r"^click\[(.*)\]$", re.DOTALL | re.IGNORECASE)


class WebShopImportHooks(ImportHooks):
    """WebShop pages from AgentGym/AgentBench/ETO in the reference site's format."""

    aliases = ("webshop",)

    def check_episode(self, first_observation: str) -> str | None:
        if "[SEP]" in first_observation:
            return None
        return "the first observation has no '[SEP]' segments (not a WebShop text page)"

    def clean_observation(self, text: str) -> ImportedObservation:
        meta = {}
        m = _AVAILABLE.search(text)
        if m:
            try:
                avail = ast.literal_eval(m.group("dict"))
            except (ValueError, SyntaxError):
                avail = None
            if isinstance(avail, dict):
                acts = ["search[...]"] if avail.get("has_search_bar") else []
                acts += [f"click[{str(c).lower()}]" for c in avail.get("clickables") or ()]
                meta["admissible_actions"] = list(dict.fromkeys(acts))
                text = text[: m.start()]
        text = text.strip()
        task = _INSTRUCTION.search(text)
        return ImportedObservation(text, task.group(1) if task else None, meta)

    def clean_action(self, action: str) -> str:
        action = action.strip()
        m = _CLICK.match(action)
        return f"click[{m.group(1).strip().lower()}]" if m else action
