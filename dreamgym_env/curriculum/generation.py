"""LLM task variation: propose k variations of a seed task, select the challenging-but-feasible ones,
validate each against the domain, and count rejections by reason."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.pool import normalise
from dreamgym_env.domain import Domain
from dreamgym_env.model.base import ExperienceModel, ModelRequest
from dreamgym_env.types import Task

#: Every reason a generated task can be rejected for.
REJECTION_REASONS = ("empty", "duplicate", "over_length", "ungrammatical", "infeasible", "not_selected",
                     "filtered")

GENERATION_SYSTEM = (
    "You write training tasks for an agent in the {domain} environment. Given a task the agent sometimes "
    "solves, write {k} new tasks that are variations of it: harder or related (new object/receptacle "
    "combinations, stricter attributes or options, other sites or entities), in exactly the same style and "
    "grammar as the original, each feasible in this environment. Reply with a numbered list, one task per "
    "line (`1. ...`), and nothing else.")

SELECTION_SYSTEM = (
    "You curate training tasks for an agent in the {domain} environment. From the numbered candidates, keep "
    "the ones that are challenging but feasible for an agent that sometimes solves the original task. Reply "
    "exactly in this format:\nSELECTION: [n, m, ...]\nREASONING: one or two sentences.")

_ITEM = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•])\s*(.*)$")
_SELECTION = re.compile(r"SELECTION\s*:\s*\[([^\]]*)\]", re.IGNORECASE)


@dataclass
class GenerationReport:
    """What one generation pass produced.

    Attributes:
        accepted: Validated new tasks with their parent's id.
        proposed: Candidate instructions parsed from the model's replies.
        rejected: Counts of rejected candidates by reason (see :data:`REJECTION_REASONS`).
        examples: Up to three rejected candidates per reason, with the detail.
        reasoning: The selection step's ``REASONING:`` per seed id.
        replies: Generation replies (one per seed).
        unparsed: Generation replies that held no numbered or bulleted item (so proposed nothing).
        unparsed_examples: Up to three such replies, cut to 200 characters.
    """

    accepted: list[tuple[Task, str]] = field(default_factory=list)
    proposed: int = 0
    rejected: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    reasoning: dict[str, str] = field(default_factory=dict)
    replies: int = 0
    unparsed: int = 0
    unparsed_examples: list[str] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float:
        """Accepted / proposed (0 when nothing was proposed)."""
        return len(self.accepted) / self.proposed if self.proposed else 0.0

    def reject(self, reason: str, text: str, detail: str = "") -> None:
        """Counts one rejection and keeps a few examples."""
        self.rejected[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 3:
            ex.append(f"{text[:120]!r}" + (f": {detail}" if detail else ""))


def numbered(items: Sequence[str]) -> str:
    """``1. a`` / ``2. b`` lines: how candidates are shown and how variations are asked for."""
    return "\n".join(f"{i}. {x}" for i, x in enumerate(items, 1))


def generation_request(domain: Domain, seed: Task, config: CurriculumConfig, seed_id: int = 0) -> ModelRequest:
    """The task-generation prompt for one seed task."""
    system = GENERATION_SYSTEM.format(domain=domain.name, k=config.variations_per_seed)
    user = f"Original task: {seed.instruction}\n\nWrite {config.variations_per_seed} variations."
    return ModelRequest(messages=({"role": "system", "content": system}, {"role": "user", "content": user}),
                        max_tokens=config.max_new_tokens, temperature=config.temperature, seed=seed_id)


def selection_request(domain: Domain, seed: Task, candidates: Sequence[str], config: CurriculumConfig) -> ModelRequest:
    """The ``SELECTION: [n] / REASONING:`` prompt over numbered candidates."""
    user = f"Original task: {seed.instruction}\n\nCandidates:\n{numbered(candidates)}"
    return ModelRequest(messages=({"role": "system", "content": SELECTION_SYSTEM.format(domain=domain.name)},
                                  {"role": "user", "content": user}),
                        max_tokens=128, temperature=0.0)


def parse_variations(text: str) -> list[str]:
    """Candidate instructions from a numbered (or bulleted) list; blank items are kept (counted as empty)."""
    out = []
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m:
            out.append(m.group(1).strip().strip('"').strip())
    return out


def parse_selection(text: str, n: int) -> tuple[list[int] | None, str]:
    """The 0-based indices in ``SELECTION: [..]`` (``None`` when absent: keep everything) and the reasoning."""
    m = _SELECTION.search(text)
    reasoning = text.split("REASONING:", 1)[1].strip() if "REASONING:" in text else ""
    if not m:
        return None, reasoning
    picked = []
    for tok in re.findall(r"\d+", m.group(1)):
        i = int(tok) - 1
        if 0 <= i < n and i not in picked:
            picked.append(i)
    return picked, reasoning


def validate(domain: Domain, instruction: str, parent: Task, known: set[str], config: CurriculumConfig,
             report: GenerationReport) -> Task | None:
    """Checks one candidate (empty, length, duplicate, then the domain's grammar/feasibility hook)."""
    text = " ".join(instruction.split())
    if not text:
        report.reject("empty", instruction)
        return None
    if len(text) > config.max_instruction_chars:
        report.reject("over_length", text, f"{len(text)} > {config.max_instruction_chars} characters")
        return None
    if normalise(text) in known:
        report.reject("duplicate", text)
        return None
    check = domain.check_generated_task(text, parent)
    if check.task is None:
        reason = check.reason if check.reason in REJECTION_REASONS else "infeasible"
        report.reject(reason, text, check.detail)
        return None
    known.add(normalise(text))
    return check.task


class TaskGenerator:
    """Writes variations of seed tasks with an :class:`ExperienceModel` (same weights/endpoint)."""

    def __init__(self, domain: Domain, model: ExperienceModel, config: CurriculumConfig | None = None) -> None:
        """Args:
            domain: The domain whose ``check_generated_task`` validates candidates.
            model: The experience model (any :class:`ExperienceModel`).
            config: Generation settings.
        """
        self.domain = domain
        self.model = model
        self.config = config or CurriculumConfig()

    def generate(self, seeds: Sequence[Task], known: set[str] | None = None, sample_seed: int = 0) -> GenerationReport:
        """Proposes, selects and validates variations of every seed (one batched call per stage).

        ``sample_seed`` seeds the sampling of request ``i`` with ``sample_seed + i``: give each pass
        its own, or a pass with the same seeds repeats the last one's replies word for word.
        """
        report = GenerationReport()
        known = set(known or ())
        known.update(normalise(s.instruction) for s in seeds)
        if not seeds:
            return report
        replies = self.model.generate([generation_request(self.domain, s, self.config, (sample_seed + i) % 2**31)
                                       for i, s in enumerate(seeds)])
        candidates = [parse_variations(r.text)[: self.config.variations_per_seed] for r in replies]
        report.proposed = sum(len(c) for c in candidates)
        report.replies = len(replies)
        for r, c in zip(replies, candidates):
            if not c:
                report.unparsed += 1
                if len(report.unparsed_examples) < 3:
                    report.unparsed_examples.append(repr(r.text[:200]))
        selected: list[list[int] | None] = [None] * len(seeds)
        todo = [i for i, c in enumerate(candidates) if c]
        if self.config.selection and todo:
            sel_replies = self.model.generate([selection_request(self.domain, seeds[i], candidates[i], self.config)
                                               for i in todo])
            for i, r in zip(todo, sel_replies):
                selected[i], report.reasoning[seeds[i].task_id] = parse_selection(r.text, len(candidates[i]))
        for seed, cands, sel in zip(seeds, candidates, selected):
            for j, text in enumerate(cands):
                if sel is not None and j not in sel:
                    report.reject("not_selected", text)
                    continue
                task = validate(self.domain, text, seed, known, self.config, report)
                if task is not None:
                    report.accepted.append((task, seed.task_id))
        return report
