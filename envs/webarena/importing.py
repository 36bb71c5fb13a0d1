"""WebArena's cleanup of public trajectory sets (NNetNav).

NNetNav's prompts show the accessibility tree followed by ``URL: <url>`` -- this package's
observation format minus the first line, ``Tab 0 (current): <title>`` and a blank line, which
is rebuilt from the tree's ``[1] RootWebArea '<title>'`` line. ``stop [answer]`` ends an episode
without changing the page, so its next observation is the page it was issued on.
"""

from __future__ import annotations

import re

from dreamgym_env.domain import ImportedObservation, ImportHooks

_TREE_LINE = re.compile(r"^\t*\[\d+\] \S+", re.MULTILINE)
_ROOT = re.compile(r"\A\[\d+\] RootWebArea '(?P<title>.*?)'(?: focused: \w+)?$", re.MULTILINE)


class WebArenaImportHooks(ImportHooks):
    """WebArena accessibility-tree observations in this package's format."""

    aliases = ("webarena",)

    def check_episode(self, first_observation: str) -> str | None:
        if _TREE_LINE.search(first_observation):
            return None
        return "the first observation has no '[id] role' lines (not an accessibility tree)"

    def clean_observation(self, text: str) -> ImportedObservation:
        text = text.strip()
        root = _ROOT.match(text)
        if root and not text.startswith("Tab "):
            text = f"Tab 0 (current): {root.group('title')}\n\n{text}"
        return ImportedObservation(text)

    def clean_action(self, action: str) -> str:
        return action.strip()

    def final_observation(self, state: str, action: str) -> str | None:
        return state if action.startswith("stop") else None
