"""Importers: public offline trajectory sets -> :class:`~dreamgym_env.types.Transition` (``source="imported"``).

Users download the datasets themselves; each format is parsed in its upstream schema:

* ``agenttraj`` (alias ``agentinstruct``): AgentGym's AgentTraj-L and THUDM's AgentInstruct.
  One record per episode, ``{"item_id" | "id": "alfworld_12", "conversations": [{"from": "human" |
  "gpt", "value": ..., "loss": ...}, ...]}``; the first turns are the instruction prompt and the
  agent's "OK"; agent turns are ``Thought: ...\\n\\nAction: ...``, ``THOUGHT: ... ACTION: ...`` or a
  bare action.
* ``eto``: ETO's expert trajectories, ``{"id", "conversations": [{"from", "value"}], "reward"?}``;
  environment turns read ``Observation: ...`` and agent turns ``Thought: ...\\nAction: ...``.
* ``nnetnav``: NNetNav's step records ``{"task_name", "id", "messages": [system, user, assistant],
  ...}``, one per step, consecutive per episode; the user message holds ``OBSERVATION:``, ``URL:``,
  ``OBJECTIVE:`` and ``PREVIOUS ACTIONS:``, the assistant ends with "In summary, the next action I
  will perform is ```click [1234]```".

Format functions turn records into episodes (observations and agent steps); one shared builder
applies the domain's :class:`~dreamgym_env.domain.ImportHooks` (its observation cleanup lives under
``envs/<domain>/importing.py``), checks sizes and makes the transitions: ``state`` is the observation
before the action, ``next_state`` the one after, ``reasoning`` the agent's thought (flagged with
``meta["reasoning_source"] = "agent"``), the last step ``done``, and the reward the record's
``reward``/``success`` on the last step (else 0 with ``meta["reward_known"] = False``). A record that
cannot be imported is skipped and counted by reason in an :class:`ImportReport`; nothing raises on
bad input.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamgym_env.domain import Domain, ImportHooks, get_domain
from dreamgym_env.error import InvalidConfigError, MissingDependencyError
from dreamgym_env.types import Transition, stable_id, write_jsonl

logger = logging.getLogger(__name__)

#: Why a record can be skipped (the keys of :attr:`ImportReport.skipped`).
SKIP_REASONS = (
    "invalid_json",  # a line or file that is not JSON
    "not_an_object",  # a record that is not a JSON object
    "missing_field",  # a required field or turn is absent or empty
    "bad_field",  # a field of the wrong type or value (e.g. a non-numeric reward)
    "empty_conversation",  # no turns, or none after the instruction prompt
    "unknown_role",  # a turn whose role is not human/gpt/system (or user/assistant)
    "turn_order",  # turns that do not alternate observation/action, or missing steps
    "unparseable_action",  # an agent turn without an action
    "wrong_domain",  # tagged for, or looking like, another environment
    "oversize",  # an observation or action longer than the limits
    "non_contiguous_episode",  # NNetNav step records of one episode that are not consecutive
)

_HUMAN, _AGENT, _SYSTEM = "human", "gpt", "system"
_ROLES = {"human": _HUMAN, "user": _HUMAN, "gpt": _AGENT, "assistant": _AGENT, "system": _SYSTEM}
#: Phrases after which the real task starts (AgentBench's and ETO's prompts put examples before them).
_TASK_MARKERS = ("Now, it's your turn and here is the task.", "Here is your task.")
_ACK = re.compile(r"\s*(?:ok|okay)\b", re.IGNORECASE)
_ACTION_MARK = re.compile(r"(?:^|(?<=\s))action\s*:", re.IGNORECASE)
_THOUGHT_LABEL = re.compile(r"\A\s*thought\s*:\s*", re.IGNORECASE)
_OBS_LABEL = re.compile(r"\A\s*Observation:[ \t]*\n?")
_TAGGED_ID = re.compile(r"\A([A-Za-z][A-Za-z_]*?)_\d+\Z")
_SPECIAL_TOKENS = re.compile(r"<\|(?:begin_of_text|end_of_text|eot_id|start_header_id|end_header_id)\|>")
_NN_USER = re.compile(r"OBSERVATION:[ \t]*\n?(?P<obs>.*?)\nOBJECTIVE:[ \t]*(?P<objective>.*?)"
                      r"(?:\nPREVIOUS ACTIONS:[ \t]*\n?(?P<prev>.*))?\Z", re.DOTALL)
_NN_SUMMARY = re.compile(r"In summary, the next action I will perform is", re.IGNORECASE)
_NN_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_NN_PREV_LINE = re.compile(r"^\s*\d+\s*:(.*)$", re.MULTILINE)
#: Files a ``datasets.save_to_disk`` folder has (such folders load with ``datasets.load_from_disk``).
_SAVED_DATASET_FILES = ("dataset_info.json", "state.json", "dataset_dict.json")


@dataclass(frozen=True)
class ImportConfig:
    """What to import and how strictly.

    Attributes:
        domain: Target domain name; records of other environments are skipped (``wrong_domain``).
        max_episodes: Stop after importing this many episodes (``None``: all).
        max_observation_chars: Longer observations skip the record (default: the domain's bound).
        max_action_chars: Longer actions skip the record (default: the domain's bound).
        drop_unobserved_final: Datasets often end with the agent's last action and no observation
            after it. Such a last transition is kept with ``next_state=""`` and
            ``meta["next_state_known"] = False`` (it carries ``done`` and the reward) unless this is set.
        split: Split to load from a Hugging Face dataset (default: the split named like the domain
            when there is one, else all splits).
        examples_per_reason: How many example skip messages the report keeps per reason.
    """

    domain: str
    max_episodes: int | None = None
    max_observation_chars: int | None = None
    max_action_chars: int | None = None
    drop_unobserved_final: bool = False
    split: str | None = None
    examples_per_reason: int = 3


@dataclass
class ImportReport:
    """Counts of one import run.

    Attributes:
        format: The importer's name.
        domain: The target domain.
        records: Input records read (NNetNav: step records; others: episodes), bad ones included.
        episodes: Episodes imported.
        transitions: Transitions produced.
        unobserved_final: Imported episodes whose last action has no observation after it.
        skipped: Skipped episodes (or unreadable records) per reason (see :data:`SKIP_REASONS`).
        examples: A few ``"where (record id): why"`` messages per reason.
    """

    format: str
    domain: str
    records: int = 0
    episodes: int = 0
    transitions: int = 0
    unobserved_final: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    examples_per_reason: int = 3

    @property
    def skipped_total(self) -> int:
        """All skipped episodes and records."""
        return sum(self.skipped.values())

    def skip(self, reason: str, where: str, detail: str) -> None:
        """Counts one skipped record and keeps (and logs) the first few examples of each reason."""
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < self.examples_per_reason:
            examples.append(f"{where}: {detail}")
            logger.info("import %s: skipped %s (%s): %s", self.format, where, reason, detail)

    def summary(self) -> str:
        """One line: records read, episodes and transitions imported, skips by reason."""
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"{self.format} -> {self.domain}: {self.records} records read, {self.episodes} episodes and "
                f"{self.transitions} transitions imported ({self.unobserved_final} episodes end without a final "
                f"observation); skipped: {skipped}")

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict."""
        return {"format": self.format, "domain": self.domain, "records": self.records, "episodes": self.episodes,
                "transitions": self.transitions, "unobserved_final": self.unobserved_final,
                "skipped": dict(self.skipped), "examples": {k: list(v) for k, v in self.examples.items()}}


@dataclass
class ImportContext:
    """What a format function needs: the config, the report to count into, the domain and its hooks."""

    format: str
    config: ImportConfig
    report: ImportReport
    domain: Domain
    hooks: ImportHooks
    tags: frozenset[str]
    max_observation_chars: int
    max_action_chars: int

    @classmethod
    def create(cls, fmt: str, config: ImportConfig, report: ImportReport | None = None) -> ImportContext:
        """Looks up the domain and its hooks; resolves the default size limits."""
        domain = get_domain(config.domain)
        hooks = domain.import_hooks()
        if report is None:
            report = ImportReport(fmt, config.domain, examples_per_reason=config.examples_per_reason)
        tags = frozenset(t.lower() for t in (domain.name, *hooks.aliases))
        return cls(fmt, config, report, domain, hooks, tags,
                   config.max_observation_chars or domain.max_observation_chars,
                   config.max_action_chars or domain.max_action_chars)

    def full(self) -> bool:
        """Whether ``max_episodes`` episodes have been imported."""
        return self.config.max_episodes is not None and self.report.episodes >= self.config.max_episodes


class _Skip(Exception):
    """Internal: this record cannot be imported, for ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Step:
    action: str
    reasoning: str = ""


@dataclass
class _Episode:
    """One parsed episode: ``observations[t]`` is seen before ``steps[t]``; one more when the last is observed."""

    record_id: str
    observations: list[str]
    steps: list[_Step]
    instruction: str | None = None
    reward: float | None = None


#: Input records, each with where it came from (``"file.jsonl:12"``) for the report.
Records = Iterable[tuple[str, Any]]
Importer = Callable[[Records, ImportContext], Iterator[Transition]]


# ----- shared parsing ------------------------------------------------------------------------------
def _record_id(record: Mapping[str, Any], where: str) -> str:
    for key in ("item_id", "id", "task_name"):
        value = record.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            return str(value)
    return where


def _id_tag(record: Mapping[str, Any]) -> str | None:
    """The environment named by an ``<env>_<n>`` id (AgentTraj-L/AgentInstruct's convention), if any."""
    for key in ("item_id", "id"):
        m = _TAGGED_ID.match(str(record.get(key, "")))
        if m:
            return m.group(1).lower()
    return None


def _record_reward(record: Mapping[str, Any]) -> float | None:
    """The episode's reward from a ``reward`` or ``success`` field, ``None`` when the schema has neither."""
    for key in ("reward", "success"):
        if key not in record or record[key] is None:
            continue
        value = record[key]
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        try:
            reward = float(value)
        except (TypeError, ValueError):
            raise _Skip("bad_field", f"{key!r} is not a number: {value!r}") from None
        if not math.isfinite(reward):
            raise _Skip("bad_field", f"{key!r} is not finite: {value!r}")
        return reward
    return None


def _turns(record: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """The ``(role, text, index)`` turns of a ``conversations`` record, system turns left out."""
    if "conversations" not in record or record["conversations"] is None:
        raise _Skip("missing_field", "no 'conversations' field")
    conv = record["conversations"]
    if not isinstance(conv, list):
        raise _Skip("bad_field", f"'conversations' is a {type(conv).__name__}, not a list")
    if not conv:
        raise _Skip("empty_conversation", "'conversations' is empty")
    out = []
    for i, turn in enumerate(conv):
        if not isinstance(turn, Mapping):
            raise _Skip("bad_field", f"turn {i} is a {type(turn).__name__}, not an object")
        role = turn.get("from", turn.get("role"))
        value = turn.get("value", turn.get("content"))
        if role is None or value is None:
            raise _Skip("missing_field", f"turn {i} has no {'from' if role is None else 'value'!r}")
        kind = _ROLES.get(str(role).strip().lower())
        if kind is None:
            raise _Skip("unknown_role", f"turn {i} has role {role!r}")
        if not isinstance(value, str):
            raise _Skip("bad_field", f"turn {i}'s value is a {type(value).__name__}, not a string")
        if kind != _SYSTEM:
            out.append((kind, value, i))
    return out


def _parse_react(text: str, where: str) -> _Step:
    """``Thought: ...\\nAction: ...`` (any case, any spacing) or a bare one-line action."""
    marks = list(_ACTION_MARK.finditer(text))
    if marks:
        m = marks[-1]
        lines = [line.strip() for line in text[m.end():].splitlines() if line.strip()]
        action = lines[0] if lines else ""
        thought = _THOUGHT_LABEL.sub("", text[: m.start()]).strip()
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) != 1:
            raise _Skip("unparseable_action", f"{where} has no 'Action:' line")
        action, thought = lines[0], ""
    action = action.strip("`").strip()
    if not action:
        raise _Skip("unparseable_action", f"{where} has an empty action")
    return _Step(action, thought)


def _conversation_episode(record: Mapping[str, Any], where: str) -> _Episode:
    """Parses a ``conversations`` record (AgentTraj-L, AgentInstruct, ETO) into an episode."""
    turns = _turns(record)
    start, first_text = 0, None
    for i, (role, text, _) in enumerate(turns):
        if role == _HUMAN:
            for marker in _TASK_MARKERS:
                k = text.rfind(marker)
                if k >= 0:
                    start, first_text = i, text[k + len(marker):]
                    break
    if first_text is None and len(turns) >= 2 and turns[0][0] == _HUMAN and turns[1][0] == _AGENT \
            and _ACK.match(turns[1][1]) and not _ACTION_MARK.search(turns[1][1]):
        start = 2  # the instruction prompt and the agent's "OK"
    seq = list(turns[start:])
    if first_text is not None:
        seq[0] = (_HUMAN, first_text, seq[0][2])
    if not seq:
        raise _Skip("empty_conversation", "no turns after the instruction prompt")
    for j, (role, _, i) in enumerate(seq):
        expected = _HUMAN if j % 2 == 0 else _AGENT
        if role != expected:
            raise _Skip("turn_order", f"turn {i} is from {role!r}, expected {expected!r}")
    observations = []
    for _, text, i in seq[0::2]:
        observations.append(_OBS_LABEL.sub("", text).strip())
        if not observations[-1]:
            raise _Skip("missing_field", f"turn {i} (an observation) is empty")
    steps = [_parse_react(text, f"turn {i}") for _, text, i in seq[1::2]]
    if not steps:
        raise _Skip("empty_conversation", "no agent turn after the first observation")
    return _Episode(_record_id(record, where), observations, steps, reward=_record_reward(record))


def _build(ep: _Episode, ctx: ImportContext) -> list[Transition]:
    """Applies the domain's hooks and limits to a parsed episode and makes its transitions."""
    hooks = ctx.hooks
    cleaned = [hooks.clean_observation(o) for o in ep.observations]
    why = hooks.check_episode(cleaned[0].text)
    if why:
        raise _Skip("wrong_domain", why)
    actions = [hooks.clean_action(s.action) for s in ep.steps]
    for t, c in enumerate(cleaned):
        if not c.text:
            raise _Skip("missing_field", f"observation {t} is empty after cleanup")
        if len(c.text) > ctx.max_observation_chars:
            raise _Skip("oversize", f"observation {t} has {len(c.text)} chars (limit {ctx.max_observation_chars})")
    for t, a in enumerate(actions):
        if not a:
            raise _Skip("unparseable_action", f"action {t} is empty after cleanup")
        if len(a) > ctx.max_action_chars:
            raise _Skip("oversize", f"action {t} has {len(a)} chars (limit {ctx.max_action_chars})")
    n = len(actions)
    next_states: list[str | None] = [c.text for c in cleaned[1: n + 1]]
    if len(next_states) < n:
        next_states.append(hooks.final_observation(cleaned[n - 1].text, actions[-1]))
    unobserved = next_states[-1] is None
    if unobserved and ctx.config.drop_unobserved_final:
        n -= 1
        if n == 0:
            raise _Skip("missing_field", "the only action has no observation after it")
    instruction = ep.instruction or next((c.instruction for c in cleaned if c.instruction), None) or ""
    reward_known = ep.reward is not None
    reward = float(ep.reward) if reward_known else 0.0
    lo, hi = ctx.domain.reward_range
    if not lo <= reward <= hi:
        raise _Skip("bad_field", f"reward {reward:g} is outside the domain's range [{lo:g}, {hi:g}]")
    episode_id = stable_id("imported", ctx.format, ctx.domain.name, ep.record_id, cleaned[0].text, tuple(actions))
    task_id = stable_id(ctx.domain.name, instruction) if instruction else episode_id
    out = []
    for t in range(n):
        last = t == len(actions) - 1
        meta: dict[str, Any] = {"format": ctx.format, "record_id": ep.record_id, "reward_known": reward_known}
        if ep.steps[t].reasoning:
            meta["reasoning_source"] = "agent"
        if last and next_states[t] is None:
            meta["next_state_known"] = False
        meta.update(cleaned[t].meta)
        out.append(Transition(
            domain=ctx.domain.name, task_id=task_id, instruction=instruction, state=cleaned[t].text,
            action=actions[t], next_state=next_states[t] or "", reward=reward if last else 0.0, done=last,
            reasoning=ep.steps[t].reasoning, valid=None, episode_id=episode_id, step=t, source="imported",
            meta=meta,
        ))
    if unobserved and not ctx.config.drop_unobserved_final:
        ctx.report.unobserved_final += 1
    return out


def _emit(parse: Callable[[], _Episode], where: str, ctx: ImportContext) -> list[Transition]:
    """Parses and builds one episode, counting it in the report or skipping it with its reason."""
    try:
        transitions = _build(parse(), ctx)
    except _Skip as s:
        ctx.report.skip(s.reason, where, s.detail)
        return []
    ctx.report.episodes += 1
    ctx.report.transitions += len(transitions)
    return transitions


def _describe(where: str, record: Mapping[str, Any]) -> str:
    rid = _record_id(record, where)
    return where if rid == where else f"{where} ({rid})"


# ----- formats -------------------------------------------------------------------------------------
def import_agenttraj(records: Records, ctx: ImportContext) -> Iterator[Transition]:
    """AgentTraj-L / AgentInstruct: one ``{"item_id"|"id", "conversations"}`` record per episode."""
    if ctx.full():
        return
    for where, record in records:
        if not isinstance(record, Mapping):
            ctx.report.skip("not_an_object", where, f"a {type(record).__name__}, not an object")
            continue
        tag = _id_tag(record)
        if tag is not None and tag not in ctx.tags:
            ctx.report.skip("wrong_domain", _describe(where, record),
                            f"the record is tagged {tag!r}, not {ctx.domain.name!r}")
            continue
        yield from _emit(functools.partial(_conversation_episode, record, where), _describe(where, record), ctx)
        if ctx.full():
            return


def import_eto(records: Records, ctx: ImportContext) -> Iterator[Transition]:
    """ETO: ``{"id", "conversations", "reward"?}`` records with ``Observation:``/``Thought: ... Action:`` turns."""
    yield from import_agenttraj(records, ctx)


def _nnetnav_step(record: Mapping[str, Any]) -> tuple[int | None, str, str, _Step]:
    """One NNetNav step record -> (step number, observation, objective, agent step)."""
    messages = record.get("messages")
    if messages is None:
        raise _Skip("missing_field", "no 'messages' field")
    if not isinstance(messages, list):
        raise _Skip("bad_field", f"'messages' is a {type(messages).__name__}, not a list")
    if not messages:
        raise _Skip("empty_conversation", "'messages' is empty")
    user = assistant = None
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise _Skip("bad_field", f"message {i} is a {type(m).__name__}, not an object")
        role, content = m.get("role"), m.get("content")
        if role is None or content is None:
            raise _Skip("missing_field", f"message {i} has no {'role' if role is None else 'content'!r}")
        kind = _ROLES.get(str(role).strip().lower())
        if kind is None:
            raise _Skip("unknown_role", f"message {i} has role {role!r}")
        if not isinstance(content, str):
            raise _Skip("bad_field", f"message {i}'s content is a {type(content).__name__}, not a string")
        if kind == _HUMAN:
            user = content
        elif kind == _AGENT:
            assistant = content
    if user is None or assistant is None:
        raise _Skip("missing_field", f"no {'user' if user is None else 'assistant'} message")
    m = _NN_USER.search(user)
    if m is None:
        raise _Skip("missing_field", "the user message has no 'OBSERVATION:' ... 'OBJECTIVE:' parts")
    observation = _SPECIAL_TOKENS.sub("", m.group("obs")).strip()
    prev = m.group("prev")
    # "PREVIOUS ACTIONS:\n1: None" on the first step, then one numbered line per action taken.
    step_no = len([a for a in _NN_PREV_LINE.findall(prev) if a.strip() != "None"]) if prev is not None else None
    summary = _NN_SUMMARY.search(assistant)
    fences = list(_NN_FENCE.finditer(assistant, summary.end() if summary else 0))
    if fences:
        lines = [ln.strip() for ln in fences[-1].group(1).splitlines() if ln.strip()]
    elif summary:
        lines = [ln.strip() for ln in assistant[summary.end():].splitlines() if ln.strip()]
    else:
        lines = []
    action = lines[0].strip("`").strip() if lines else ""
    if not fences and action.endswith("."):
        action = action[:-1].rstrip()
    if not action:
        raise _Skip("unparseable_action", "the assistant message has no ```action```")
    cut = summary.start() if summary else (fences[-1].start() if fences else len(assistant))
    return step_no, observation, m.group("objective").strip(), _Step(action, assistant[:cut].strip())


def import_nnetnav(records: Records, ctx: ImportContext) -> Iterator[Transition]:
    """NNetNav: step records ``{"task_name", "messages": [system, user, assistant]}``, consecutive per episode."""
    closed: set[str] = set()
    group: list[tuple[str, Mapping[str, Any]]] = []
    key: str | None = None

    def flush() -> list[Transition]:
        if key is None or not group:
            return []
        closed.add(key)
        where = f"{group[0][0]} ({key}, {len(group)} steps)"
        return _emit(functools.partial(_nnetnav_episode, key, group), where, ctx)

    for where, record in records:
        if ctx.full():
            return
        if not isinstance(record, Mapping):
            ctx.report.skip("not_an_object", where, f"a {type(record).__name__}, not an object")
            continue
        rkey = record.get("task_name", record.get("id"))
        if rkey is None:
            ctx.report.skip("missing_field", where, "no 'task_name' or 'id' to group its episode by")
            continue
        rkey = str(rkey)
        if rkey != key:
            yield from flush()
            group, key = [], rkey
            if ctx.full():
                return
            if rkey in closed:
                ctx.report.skip("non_contiguous_episode", where,
                                f"more steps of {rkey!r} after another episode's (records must be consecutive)")
                key = None
                continue
        if key is not None:
            group.append((where, record))
    if not ctx.full():
        yield from flush()


def _nnetnav_episode(key: str, group: list[tuple[str, Mapping[str, Any]]]) -> _Episode:
    parsed = []
    for i, (_where, record) in enumerate(group):
        try:
            parsed.append((i, *_nnetnav_step(record)))
        except _Skip as s:
            raise _Skip(s.reason, f"step record {i}: {s.detail}") from None
    numbers = [p[1] for p in parsed]
    if all(n is not None for n in numbers):
        parsed.sort(key=lambda p: (p[1], p[0]))
        ordered = [p[1] for p in parsed]
        if ordered != list(range(len(ordered))):
            raise _Skip("turn_order", f"step numbers {ordered} are not 0..{len(ordered) - 1} (missing or repeated steps)")
    rewards = [r for r in (_record_reward(rec) for _, rec in group) if r is not None]
    return _Episode(key, [p[2] for p in parsed], [p[4] for p in parsed], instruction=parsed[0][3] or None,
                    reward=rewards[-1] if rewards else None)


#: Format name -> importer. Add your own: ``IMPORTERS["mine"] = fn(records, ctx) -> Iterator[Transition]``.
IMPORTERS: dict[str, Importer] = {
    "agenttraj": import_agenttraj,
    "agentinstruct": import_agenttraj,
    "eto": import_eto,
    "nnetnav": import_nnetnav,
}


# ----- loading -------------------------------------------------------------------------------------
def _read_file(path: Path, report: ImportReport) -> Iterator[tuple[str, Any]]:
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{lineno}"
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as e:
                    report.records += 1
                    report.skip("invalid_json", where, str(e))
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        report.records += 1
        report.skip("invalid_json", path.name, str(e))
        return
    if isinstance(data, list):
        for i, record in enumerate(data):
            yield f"{path.name}#{i}", record
    else:
        yield f"{path.name}#0", data


def _datasets_module() -> Any:
    try:
        import datasets
    except ImportError as e:
        raise MissingDependencyError("datasets", "train", "loading Hugging Face datasets") from e
    return datasets


def _hf_records(ds: Any, name: str, split: str | None, domain: str) -> Iterator[tuple[str, Any]]:
    if isinstance(ds, Mapping):  # a DatasetDict: split name -> Dataset
        splits = [split] if split else ([domain] if domain in ds else list(ds.keys()))
        for s in splits:
            if s not in ds:
                raise InvalidConfigError(f"{name} has no split {s!r}. Valid ones: {', '.join(ds.keys())}.")
            for i, record in enumerate(ds[s]):
                yield f"{name}[{s}]#{i}", record
    else:
        for i, record in enumerate(ds):
            yield f"{name}#{i}", record


def load_records(source: str | Path, split: str | None = None, domain: str = "",
                 report: ImportReport | None = None) -> Iterator[tuple[str, Any]]:
    """Yields ``(where, record)`` pairs from a dataset, lazily.

    Args:
        source: A ``.json`` (a list of records) or ``.jsonl`` file; a folder of such files; a folder
            saved with ``datasets.save_to_disk`` or holding parquet/arrow files; or a Hugging Face
            dataset id (the last two need ``datasets``, from the ``train`` extra).
        split: Split of a Hugging Face dataset (default: the one named ``domain`` if any, else all).
        domain: Target domain, used to pick the default split.
        report: Counts unreadable JSON as ``invalid_json`` skips (a throwaway report when ``None``).
    """
    report = report if report is not None else ImportReport("load", domain)
    path = Path(source)
    if path.is_file():
        yield from _read_file(path, report)
        return
    if path.is_dir():
        if any((path / f).exists() for f in _SAVED_DATASET_FILES):
            yield from _hf_records(_datasets_module().load_from_disk(str(path)), path.name, split, domain)
            return
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
        if files:
            for f in files:
                yield from _read_file(f, report)
            return
        yield from _hf_records(_datasets_module().load_dataset(str(path), split=split), path.name, None, domain)
        return
    if path.suffix in (".json", ".jsonl") or str(source).startswith((".", "/", "~")):
        raise InvalidConfigError(f"{source} does not exist. Pass a .json/.jsonl file, a folder of them, a saved "
                                 "dataset folder, or a Hugging Face dataset id.")
    datasets = _datasets_module()
    yield from _hf_records(datasets.load_dataset(str(source), split=split), str(source), None, domain)


def _counted(records: Iterable[tuple[str, Any]], report: ImportReport) -> Iterator[tuple[str, Any]]:
    for item in records:
        report.records += 1
        yield item


# ----- entry points --------------------------------------------------------------------------------
def iter_transitions(fmt: str, source: str | Path | Iterable[Any], config: ImportConfig,
                     report: ImportReport | None = None) -> Iterator[Transition]:
    """Yields the transitions of a public trajectory set, skipping (and counting) bad records.

    Args:
        fmt: A key of :data:`IMPORTERS` (``"agenttraj"``, ``"agentinstruct"``, ``"eto"``, ``"nnetnav"``).
        source: What :func:`load_records` accepts, or records already loaded (an iterable of dicts).
        config: Target domain and limits.
        report: Filled in while iterating (pass one to read the counts afterwards).

    Raises:
        InvalidConfigError: ``fmt`` is unknown, or a local ``source`` does not exist.
        UnknownDomainError: ``config.domain`` is not registered.
        MissingDependencyError: a Hugging Face source without ``datasets`` installed.
    """
    if fmt not in IMPORTERS:
        raise InvalidConfigError.unknown_keys("import format", [fmt], IMPORTERS)
    ctx = ImportContext.create(fmt, config, report)
    if isinstance(source, (str, Path)):
        records: Iterable[tuple[str, Any]] = load_records(source, config.split, config.domain, ctx.report)
    else:
        records = ((f"record {i}", r) for i, r in enumerate(source))
    yield from IMPORTERS[fmt](_counted(records, ctx.report), ctx)
    log = logger.warning if ctx.report.skipped_total else logger.info
    log("import %s", ctx.report.summary())


def import_to_file(fmt: str, source: str | Path | Iterable[Any], out: str | Path,
                   config: ImportConfig) -> ImportReport:
    """Imports a trajectory set into a transitions ``.jsonl`` file (written atomically); returns the report."""
    report = ImportReport(fmt, config.domain, examples_per_reason=config.examples_per_reason)
    write_jsonl(out, (t.to_dict() for t in iter_transitions(fmt, source, config, report)))
    return report
