"""The paper's LLM-judge dimensions for synthetic transitions, via any OpenAI-compatible endpoint.

Each predicted transition is shown to the judge next to the real engine's outcome, and the judge
scores four dimensions from 0 to 2: consistency (follows the rules and the history), diversity
(informative variety rather than a canned answer), informativeness (enough detail to act on), and
hallucination (2 = invents nothing). Optional: ``dreamgym eval fidelity --judge-base-url URL``.
Replies that carry no readable scores are counted, never fatal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dreamgym_env.domain import Domain

DIMENSIONS = ("consistency", "diversity", "informativeness", "hallucination")

JUDGE_PROMPT = """\
You judge a simulator of the environment "{domain}". Given the state, the agent's action, the real \
environment's next observation and the simulator's prediction, score the prediction on four \
dimensions, each 0, 1 or 2:
- consistency: follows the environment's rules and the state (2 = fully consistent);
- diversity: a specific, situation-dependent outcome rather than a generic canned answer (2 = specific);
- informativeness: gives the agent the information the real observation gives (2 = as informative);
- hallucination: 2 = invents no objects, pages or facts; 0 = invents a lot.
Reply with one JSON object only, e.g. {{"consistency": 2, "diversity": 1, "informativeness": 2, "hallucination": 2}}.

State: {state}
Action: {action}
Real next observation: {truth}
Predicted next observation: {pred}
Predicted reward: {reward}, done: {done}"""

_JSON = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge runs.

    Attributes:
        base_url: OpenAI-compatible base URL (``.../v1``).
        model: Model name (``None`` = the server's first model).
        api_key: Bearer token, if the server wants one.
        max_tokens: Reply budget.
    """

    base_url: str
    model: str | None = None
    api_key: str | None = None
    max_tokens: int = 64


def parse_scores(text: str) -> dict[str, int] | None:
    """Reads the four scores from a judge reply (the first JSON object with all of them), else ``None``."""
    for m in _JSON.finditer(text or ""):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and all(k in obj for k in DIMENSIONS):
            try:
                vals = {k: int(obj[k]) for k in DIMENSIONS}
            except (TypeError, ValueError):
                continue
            if all(0 <= v <= 2 for v in vals.values()):
                return vals
    return None


def judge(config: JudgeConfig, domain: Domain, items: Sequence[Any], predictions: Sequence[Any]) -> dict[str, Any]:
    """Scores each (item, prediction) with the judge. Returns mean scores, item and unreadable counts."""
    from openai import OpenAI

    client = OpenAI(base_url=config.base_url, api_key=config.api_key or "EMPTY", max_retries=2, timeout=120)
    model = config.model or client.models.list().data[0].id
    sums = dict.fromkeys(DIMENSIONS, 0)
    n = unreadable = 0
    for it, p in zip(items, predictions):
        prompt = JUDGE_PROMPT.format(domain=domain.name, state=it.truth.state[-1500:], action=it.truth.action,
                                     truth=it.truth.next_state[:1500], pred=p.env.next_state[:1500],
                                     reward=p.env.reward, done=p.env.done)
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                               max_tokens=config.max_tokens, temperature=0.0)
        scores = parse_scores(reply.choices[0].message.content or "")
        if scores is None:
            unreadable += 1
            continue
        n += 1
        for k in DIMENSIONS:
            sums[k] += scores[k]
    return {"judge_model": model, "items": len(items), "scored": n, "unreadable": unreadable,
            **{k: (sums[k] / n if n else None) for k in DIMENSIONS}}
