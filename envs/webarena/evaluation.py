"""WebArena's evaluators (``evaluation_harness/evaluators.py``) over the reference sites.

Same rules as upstream: ``string_match`` (exact_match / must_include / fuzzy_match) on the stop
answer, ``url_match`` (rule "GOLD in PRED") on the last URL and ``program_html`` (DOM locators or
``func:`` helpers, on the last page or a given URL); a config's score is the product of its
evaluators. ``fuzzy_match`` goes to a pluggable :class:`Judge`: upstream asks GPT-4, we default to a
deterministic local judge and offer :class:`OpenAIJudge` with upstream's grading prompt.
"""

from __future__ import annotations

import ast
import collections
import html
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dreamgym_env.error import InvalidConfigError, MissingDependencyError

from .sites import World
from .tree import Page, dom_value, render

EVAL_TYPES = ("string_match", "url_match", "program_html")


class UnknownEvalTypeError(InvalidConfigError):
    """A task config names an evaluator, matching rule, locator or helper this harness does not know."""

    def __init__(self, what: str, value: object, known: Sequence[str]) -> None:
        super().__init__(f"Unknown {what} {value!r} in a WebArena task config. Known: {', '.join(known)}. "
                         "Fix the config (upstream schema: eval.eval_types, eval.reference_answers, "
                         "eval.url_note, eval.program_html[].locator/required_contents).")
        self.value = value


class Judge(Protocol):
    """Grades free-form answers for ``fuzzy_match`` (upstream: an LLM)."""

    def fuzzy(self, pred: str, reference: str, question: str) -> float:
        """1.0 when ``pred`` is semantically equivalent to ``reference`` for ``question``."""

    def unachievable(self, pred: str, reason: str, question: str) -> float:
        """1.0 when ``pred`` gives the same reason as ``reason`` for an unachievable task."""


_WORD = re.compile(r"\w+|[^\w\s]")


def tokenize(s: str) -> list[str]:
    """Word tokens (a dependency-free stand-in for nltk's ``word_tokenize`` on short answers)."""
    return _WORD.findall(s)


def _numbers_and_words(s: str) -> set[str]:
    s = s.lower().replace(",", "")
    return {t for t in re.findall(r"\d+(?:\.\d+)?|[a-z]+", s) if t not in _STOP}


_STOP = frozenset(["a", "an", "the", "is", "are", "was", "of", "to", "in", "on", "at", "for", "and", "or", "it", "its", "by", "with", "from", "this", "that", "min", "mins", "minute", "minutes"])


@dataclass(frozen=True)
class LocalJudge:
    """A deterministic judge: equivalent when every content word/number of the reference is in the answer.

    Durations are compared as minutes (``"4min"``, ``"0:04"`` and ``"4 minutes"`` agree).
    """

    def fuzzy(self, pred: str, reference: str, question: str) -> float:
        p, r = pred.lower(), reference.lower()
        if _minutes(p) is not None and _minutes(p) == _minutes(r):
            return 1.0
        ref_terms = _numbers_and_words(r)
        return float(bool(ref_terms) and ref_terms <= _numbers_and_words(p))

    def unachievable(self, pred: str, reason: str, question: str) -> float:
        terms = _numbers_and_words(reason)
        return float(bool(terms) and len(terms & _numbers_and_words(pred)) >= max(1, len(terms) // 2))


def _minutes(s: str) -> int | None:
    m = re.search(r"\b(\d+):(\d\d)\b", s)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2))
    m = re.search(r"(\d+)\s*(?:min|minute)", s)
    return int(m.group(1)) if m else None


@dataclass
class OpenAIJudge:
    """Upstream's LLM judge (same prompts) against any OpenAI-compatible server.

    Args:
        model: Model name (upstream: ``gpt-4-1106-preview``).
        base_url: Server URL (``None``: the OpenAI default / ``OPENAI_BASE_URL``).
        api_key: API key (``None``: ``OPENAI_API_KEY``).
    """

    model: str = "gpt-4-1106-preview"
    base_url: str | None = None
    api_key: str | None = None
    _client: Any = field(default=None, repr=False)

    def _ask(self, message: str) -> str:
        if self._client is None:
            try:
                import openai
            except ImportError as e:
                raise MissingDependencyError("openai", "core", "the LLM fuzzy_match judge") from e
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "EMPTY")
        out = self._client.chat.completions.create(
            model=self.model, temperature=0, max_tokens=768,
            messages=[{"role": "system", "content": "You are a helpful assistant"}, {"role": "user", "content": message}])
        return (out.choices[0].message.content or "").lower()

    def fuzzy(self, pred: str, reference: str, question: str) -> float:
        msg = ("Help a teacher to grade the answer of a student given a question. Keep in mind that the student may "
               "use different phrasing or wording to answer the question. The goal is to evaluate whether the answer "
               "is semantically equivalent to the reference answer.\n"
               f"question: {question}\nreference answer: {reference}\n"
               "all the string 'N/A' that you see is a special sequence that means 'not achievable'\n"
               f"student answer: {pred}\nConclude the judgement by correct/incorrect/partially correct.")
        r = self._ask(msg)
        return 0.0 if ("partially correct" in r or "incorrect" in r) else float("correct" in r)

    def unachievable(self, pred: str, reason: str, question: str) -> float:
        msg = (f"task: {question}\nactual unachievable reason: {reason}\nreported unachievable reason: {pred}\n"
               "The task described above is inherently unachievable due to the reason specified under 'actual "
               "unachievable reason'. An individual previously attempted this task and was unable to complete it. "
               "They provided a reason for their failure, which is listed under 'reported unachievable reason'. Your "
               "role is to review both the actual and reported reasons. Determine if the reported reason aligns with "
               "the actual reason, even if implicitly. If the stated reason is in line with the actual reason, respond "
               "with 'same'. Otherwise, respond with 'different'.")
        r = self._ask(msg)
        return 0.0 if "different" in r else float("same" in r)


# ----- string_match --------------------------------------------------------------------------

def clean_answer(answer: str) -> str:
    """Strips whitespace and one pair of surrounding quotes, lowercases (upstream ``clean_answer``)."""
    answer = answer.strip()
    if len(answer) >= 2 and answer[0] == answer[-1] and answer[0] in "'\"":
        answer = answer[1:-1]
    return answer.lower()


def exact_match(ref: str, pred: str) -> float:
    """1.0 when the cleaned strings are equal."""
    return float(clean_answer(pred) == clean_answer(ref))


def must_include(ref: str, pred: str, tokenize_single: bool = False) -> float:
    """1.0 when the cleaned reference is a substring of the prediction.

    With ``tokenize_single`` and a one-character reference, it must be a whole token (so ``"0"``
    does not match ``"10"``), as upstream does when a must_include list has a single entry.
    """
    r, p = clean_answer(ref), clean_answer(pred)
    if tokenize_single and len(r) == 1 and len(tokenize(r)) == 1:
        return float(r in tokenize(p))
    return float(r in p)


def string_match(config: Mapping[str, Any], answer: str, judge: Judge) -> float:
    """Scores the stop answer against ``eval.reference_answers``."""
    ev = config["eval"]
    pred = clean_answer(answer)
    score = 1.0
    for approach, value in (ev.get("reference_answers") or {}).items():
        if approach == "exact_match":
            score *= exact_match(str(value), pred)
        elif approach == "must_include":
            values = list(value)
            for v in values:
                score *= must_include(str(v), pred, tokenize_single=len(values) == 1)
        elif approach == "fuzzy_match":
            intent = config.get("intent", "")
            if value == "N/A":
                score *= exact_match("N/A", pred)
                if score != 1:
                    score = judge.unachievable(pred, ev.get("string_note", ""), intent)
            else:
                for ref in value:
                    score *= judge.fuzzy(pred, str(ref), intent)
        else:
            raise UnknownEvalTypeError("reference_answers approach", approach,
                                       ("exact_match", "must_include", "fuzzy_match"))
    return score


# ----- url_match -----------------------------------------------------------------------------

def _parse_url(url: str) -> tuple[str, dict[str, list[str]]]:
    u = urllib.parse.urlparse(url)
    return u.netloc + u.path, urllib.parse.parse_qs(u.query)


def url_match(config: Mapping[str, Any], url: str, world: World) -> float:
    """Scores the last URL against ``eval.reference_url`` (alternatives split by ``" |OR| "``)."""
    ev = config["eval"]
    rule = ev.get("url_note", "GOLD in PRED") or "GOLD in PRED"
    if rule != "GOLD in PRED":
        raise UnknownEvalTypeError("url_note matching rule", rule, ("GOLD in PRED",))
    pred = url.rstrip("/")
    refs = [world.resolve(r).rstrip("/") for r in str(ev.get("reference_url", "")).split(" |OR| ")]
    ref_paths, ref_queries = [], collections.defaultdict(set)
    for r in refs:
        path, q = _parse_url(r)
        ref_paths.append(path)
        for k, v in q.items():
            ref_queries[k].update(v)
    pred_path, pred_query = _parse_url(pred)
    # Upstream tests "ref in pred_base_path" on strings, i.e. a substring test.
    base = float(any(r in pred_path for r in ref_paths))
    query = 1.0
    for k, values in ref_queries.items():
        query *= float(any(v in pred_query.get(k, []) for v in values))
    return base * query


# ----- program_html --------------------------------------------------------------------------

_CALL = re.compile(r"\s*(\w+)\((.*)\)\s*", re.DOTALL)
HELPERS = ("shopping_get_latest_order_url", "reddit_get_post_url", "gitlab_get_project_memeber_role",
           "shopping_get_sku_latest_review_rating", "shopping_get_sku_latest_review_author")


def _call(expr: str) -> tuple[str, list[Any]]:
    m = _CALL.fullmatch(expr)
    if not m:
        raise UnknownEvalTypeError("func: expression", expr, HELPERS)
    name, raw = m.groups()
    if name not in HELPERS:
        raise UnknownEvalTypeError("func: helper", name, HELPERS)
    raw = raw.replace("__page__", "None")
    try:
        args = list(ast.literal_eval(f"({raw},)")) if raw.strip() else []
    except (ValueError, SyntaxError) as e:
        raise UnknownEvalTypeError("func: arguments", raw, ("string literals",)) from e
    return name, args


def _helper(name: str, args: list[Any], world: World, page: Page) -> str:
    shop = world.site("shopping")
    if name == "shopping_get_latest_order_url":
        return shop.latest_order_url()  # type: ignore[attr-defined]
    if name == "reddit_get_post_url":
        return world.site("reddit").post_url_of(str(args[0]))  # type: ignore[attr-defined]
    if name == "gitlab_get_project_memeber_role":
        return world.site("gitlab").member_role(page.url, str(args[-1]))  # type: ignore[attr-defined]
    product = next((p for p in shop.state["products"] if p["sku"] == str(args[0])), None)
    if product is None or not product["reviews"]:
        return ""
    last = product["reviews"][-1]
    return str(last["rating"]) if name.endswith("rating") else str(last["author"])


def page_content(page: Page) -> str:
    """The page's whole content (upstream ``page.content()``): its rendered text plus element texts."""
    extra = [v for v in (dom_value(page, k) for k in list(page.dom)) if v]
    return "\n".join([*render(page).lines, *extra])


def program_html(config: Mapping[str, Any], page: Page, world: World) -> float:
    """Scores ``eval.program_html`` targets, each selected on the last page or a freshly loaded URL."""
    score = 1.0
    for target in config["eval"].get("program_html") or []:
        target_url = str(target.get("url", "last"))
        if target_url.startswith("func:"):
            name, args = _call(target_url.split("func:", 1)[1].replace("__last_url__", page.url))
            target_url = _helper(name, args, world, page)
        target_page = page if target_url == "last" else world.load(world.resolve(target_url))
        locator = str(target.get("locator", ""))
        if not locator.strip():
            selected = page_content(target_page)
        elif locator.startswith(("document.", "[...document.")):
            selected = dom_value(target_page, locator) or ""
        elif locator.startswith("func:"):
            name, args = _call(locator.split("func:", 1)[1])
            selected = _helper(name, args, world, target_page)
        else:
            raise UnknownEvalTypeError("program_html locator", locator, ("''", "document....", "func:..."))
        selected = html.unescape(selected)
        required = target.get("required_contents") or {}
        if "exact_match" in required:
            score *= exact_match(str(required["exact_match"]), selected)
        elif "must_include" in required:
            for content in required["must_include"]:
                score *= float(any(must_include(c, selected) for c in str(content).split(" |OR| ")))
        else:
            raise UnknownEvalTypeError("required_contents", sorted(required), ("exact_match", "must_include"))
    return score


# ----- the router ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalResult:
    """A config's score and each evaluator's share of it."""

    score: float
    parts: dict[str, float]


def check_config(config: Mapping[str, Any]) -> None:
    """Raises :class:`UnknownEvalTypeError` for an eval type the harness cannot run (before any episode)."""
    types = (config.get("eval") or {}).get("eval_types")
    if not types:
        raise UnknownEvalTypeError("eval_types", types, EVAL_TYPES)
    for t in types:
        if t not in EVAL_TYPES:
            raise UnknownEvalTypeError("eval_type", t, EVAL_TYPES)


def evaluate(config: Mapping[str, Any], answer: str, page: Page, world: World,
             judge: Judge | None = None) -> EvalResult:
    """Scores an episode that ended with ``stop [answer]`` on ``page`` (the product of the evaluators)."""
    check_config(config)
    judge = judge or LocalJudge()
    parts: dict[str, float] = {}
    for t in config["eval"]["eval_types"]:
        if t == "string_match":
            parts[t] = string_match(config, answer, judge)
        elif t == "url_match":
            parts[t] = url_match(config, page.url, world)
        else:
            parts[t] = program_html(config, page, world)
    score = 1.0
    for v in parts.values():
        score *= v
    return EvalResult(score, parts)
