"""ALFWorld's cleanup of public trajectory sets (AgentTraj-L, AgentInstruct, ETO).

Those sets show the real engine's text with small differences this module undoes:

* AgentGym (AgentTraj-L) appends ``\\nAVAILABLE ACTIONS: a,b,c`` to observations; the list goes to
  ``meta["admissible_actions"]``.
* AgentGym and ETO join the first observation's paragraphs with one newline and AgentBench
  (AgentInstruct) with a space; the engine (and this package's tasks) put a blank line before
  ``Your task is to: ...``.
* The instruction is the text after ``Your task is to: `` (``put a clean mug in coffeemachine.``).
"""

from __future__ import annotations

import re

from dreamgym_env.domain import ImportedObservation, ImportHooks

_AVAILABLE = re.compile(r"\s*\bAVAILABLE ACTIONS:[ \t]*(?P<list>[^\n]*)\s*\Z")
_INSTRUCTION = re.compile(r"Your task is to: ([^\n]+)")
_ROOM = "You are in the middle of a room"


class ALFWorldImportHooks(ImportHooks):
    """ALFWorld observations from AgentGym/AgentBench/ETO into the engine's own format."""

    aliases = ("alfworld",)

    def check_episode(self, first_observation: str) -> str | None:
        if "Your task is to: " in first_observation or _ROOM in first_observation:
            return None
        return "the first observation has no 'Your task is to: ' line (not an ALFWorld episode)"

    def clean_observation(self, text: str) -> ImportedObservation:
        meta = {}
        m = _AVAILABLE.search(text)
        if m:
            actions = [a.strip() for a in m.group("list").split(",")]
            meta["admissible_actions"] = list(dict.fromkeys(a for a in actions if a))
            text = text[: m.start()]
        text = text.strip()
        task = _INSTRUCTION.search(text)
        if task and task.start() > 0:
            head, tail = text[: task.start()].rstrip(), text[task.start():]
            text = f"{head}\n\n{tail}" if head else tail
        return ImportedObservation(text, task.group(1).strip() if task else None, meta)

    def clean_action(self, action: str) -> str:
        # Objects and receptacles never end with a period; some agents end their command with one.
        return action.strip().rstrip(".").strip()
