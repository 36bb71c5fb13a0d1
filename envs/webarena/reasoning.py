"""Teacher reasoning for one step, written from the reference sites' own facts."""

from __future__ import annotations

from .browser import Effect
from .evaluation import EvalResult

_PARTS = {"string_match": "the answer", "url_match": "the final URL", "program_html": "the page content"}


def step_reasoning(action: str, effect: Effect | None, error: str | None, url_before: str, url_after: str,
                   title_after: str, progress: EvalResult | None) -> str:
    """Explains a non-stop step: which element, what changed, and whether the goal is met yet.

    Args:
        action: The action text.
        effect: What the browser did (``None`` when the action did not parse).
        error: Why the action was rejected, if it was.
        url_before: URL before the step.
        url_after: URL after the step.
        title_after: Page title after the step.
        progress: The evaluators' verdict on the site state (string_match excluded) after the step.
    """
    if error is not None:
        return (f"'{action}' cannot be executed: {error}. The page stays exactly the same, the reward is 0 and "
                "the episode continues.")
    assert effect is not None
    what = effect.note[:1].upper() + effect.note[1:] if effect.note else f"Executed '{action}'"
    if url_after != url_before:
        change = f"The URL changes to {url_after} ({title_after or 'blank page'}), so the tree is a new page with new ids."
    elif effect.mutated:
        change = "The URL stays the same; the page is re-rendered from the updated site state."
    else:
        change = "The URL stays the same and only the shown values change." if effect.node and effect.node.field \
            else "Nothing else on the page changes."
    goal = "Only 'stop [answer]' ends the episode, so the reward is 0 and the episode continues"
    if progress is not None and progress.parts:
        met = [_PARTS[k] for k, v in progress.parts.items() if v >= 1]
        unmet = [_PARTS[k] for k, v in progress.parts.items() if v < 1]
        if unmet:
            goal += f"; the task's check on {', '.join(unmet)} is not satisfied yet"
        if met:
            goal += f"; the check on {', '.join(met)} would already pass"
    return f"{what}. {change} {goal}."


def stop_reasoning(answer: str, result: EvalResult, intent: str) -> str:
    """Explains the final ``stop [answer]``: the evaluators' verdict and the resulting reward."""
    parts = "; ".join(f"{_PARTS[k]} {'passes' if v >= 1 else 'fails'} {k}" for k, v in result.parts.items())
    given = f"the answer {answer!r}" if answer else "no answer"
    if result.score >= 1:
        return (f"The agent stops with {given}. Checking the task '{intent}': {parts}. The task is complete, so the "
                "reward is 1 and the episode ends.")
    return (f"The agent stops with {given}. Checking the task '{intent}': {parts}. The task is not complete, so the "
            "reward is 0 and the episode ends.")
