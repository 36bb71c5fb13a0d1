"""SFT examples for the experience model, built exactly as the env prompts at run time.

Each real transition becomes one example: the prompt is :func:`~dreamgym_env.model.prompt.build_messages`
with the episode's earlier transitions as history and the top-k similar transitions retrieved from a
replay index (the same one the env grounds on), and the completion is
:func:`~dreamgym_env.model.prompt.format_target` (reasoning + next state + reward + done).

Neighbours from the same task are left out by default: held-out tasks have none in the index at run
time, so a model trained with them would learn to copy answers it will not have.

Bad records are skipped and counted by reason (:class:`BuildReport`), never silently.
"""

from __future__ import annotations

import collections
import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamgym_env.model.prompt import PromptConfig, build_messages, format_target
from dreamgym_env.types import Task, Transition, read_jsonl, write_jsonl

log = logging.getLogger(__name__)

#: Neighbour exclusion modes: drop retrieved transitions of the same ``"episode"``, ``"task"``, or ``"none"``.
EXCLUDE_MODES = ("episode", "task", "none")


@dataclass(frozen=True)
class ExampleConfig:
    """How SFT examples are built.

    Attributes:
        domain: Domain name; transitions of other domains are skipped.
        prompt: Context budget and reasoning switch (must match the env that will serve the model).
        retrieval_k: Retrieved neighbours per example (0 = the no-retrieval ablation).
        exclude: Which neighbours are left out (see :data:`EXCLUDE_MODES`).
        max_prompt_chars: Examples whose rendered prompt is longer are skipped as oversize.
        max_target_chars: Examples whose target is longer are skipped as oversize.
        skip_told: Skip steps the env answers without the model (:meth:`Domain.told_outcome`, e.g. a
            WebShop page the episode has already shown): the model never sees them at run time.
    """

    domain: str
    prompt: PromptConfig = field(default_factory=PromptConfig)
    retrieval_k: int = 3
    exclude: str = "task"
    max_prompt_chars: int = 16_000
    max_target_chars: int = 4_000
    skip_told: bool = True


@dataclass
class BuildReport:
    """What happened to each input record."""

    read: int = 0
    kept: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)

    def skip(self, reason: str) -> None:
        """Counts one skipped record."""
        self.skipped[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable summary."""
        return {"read": self.read, "kept": self.kept, "skipped": dict(self.skipped)}


def _check(t: Transition, config: ExampleConfig) -> str | None:
    if t.domain != config.domain:
        return f"domain {t.domain!r} is not {config.domain!r}"
    if not t.state.strip():
        return "empty state"
    if not t.action.strip():
        return "empty action"
    if not t.next_state.strip():
        return "empty next_state"
    if config.prompt.reasoning and not t.reasoning.strip():
        return "missing reasoning"
    if t.reward != t.reward:  # NaN
        return "reward is NaN"
    if t.meta.get("next_state_known") is False:
        return "next state not observed"
    if config.prompt.reasoning and t.meta.get("reasoning_source") == "agent":
        return "reasoning is the agent's thought, not the environment's"
    return None


def episodes_of(transitions: Iterable[Transition]) -> list[list[Transition]]:
    """Groups transitions into episodes (by ``episode_id``), each ordered by ``step``."""
    groups: dict[str, list[Transition]] = collections.defaultdict(list)
    for t in transitions:
        groups[t.episode_id or f"single-{t.uid}"].append(t)
    return [sorted(g, key=lambda t: t.step) for g in groups.values()]


TOLD = "told by the episode (the env answers it without the model)"


def _drop_told(flat: list[tuple[list[Transition], Transition]], domain_name: str,
               report: BuildReport) -> list[tuple[list[Transition], Transition]]:
    """Leaves out the steps whose outcome the domain tells from the episode so far (counted as :data:`TOLD`)."""
    from dreamgym_env.domain import Domain, get_domain

    domain = get_domain(domain_name)
    if type(domain).told_outcome is Domain.told_outcome:
        return flat  # the domain tells nothing
    kept = []
    for history, t in flat:
        first = history[0].state if history else t.state
        task = Task(t.task_id, t.domain, t.instruction, first)
        if domain.check_action(t.action, t.state) is None \
                and domain.told_outcome(task, history, t.state, t.action) is not None:
            report.skip(TOLD)
        else:
            kept.append((history, t))
    return kept


def build_examples(
    transitions: Iterable[Transition],
    system_prompt: str,
    config: ExampleConfig,
    replay: Any | None = None,
    progress: bool = False,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], BuildReport]:
    """Builds prompt/completion SFT examples (TRL's conversational prompt-completion format).

    Args:
        transitions: Real transitions (records of whole episodes keep their history).
        system_prompt: The domain's static rules (``Domain.system_prompt()``).
        config: How to build them.
        replay: A :class:`~dreamgym_env.replay.buffer.ReplayBuffer` to retrieve neighbours from
            (``None`` or ``retrieval_k=0``: no neighbours).
        progress: Show a progress bar.
        limit: Build at most this many examples, a seeded random sample (before retrieval, which
            is the expensive part); histories still come from the whole episodes.
        seed: Seed of that sample.

    Returns:
        ``(examples, report)``; each example has ``prompt`` (messages), ``completion`` (one assistant
        message) and ``meta`` (uid, task_id, episode_id, step).
    """
    report = BuildReport()
    good: list[Transition] = []
    for t in transitions:
        report.read += 1
        why = _check(t, config)
        if why is None:
            good.append(t)
        else:
            report.skip(why)
    episodes = episodes_of(good)
    flat = [(ep[:i], t) for ep in episodes for i, t in enumerate(ep)]
    if config.skip_told:
        flat = _drop_told(flat, config.domain, report)
    if limit is not None and limit < len(flat):
        import random

        flat = random.Random(seed).sample(flat, limit)
    neighbours = _neighbours(flat, config, replay, progress)
    examples = []
    for (history, t), nbrs in zip(flat, neighbours):
        msgs = build_messages(system_prompt, t.instruction, history, nbrs, t.state, t.action, config.prompt)
        target = format_target(t.reasoning, t.next_state, t.reward, t.done, config.prompt)
        if sum(len(m["content"]) for m in msgs) > config.max_prompt_chars:
            report.skip("oversize prompt")
            continue
        if len(target) > config.max_target_chars:
            report.skip("oversize target")
            continue
        examples.append({
            "prompt": msgs,
            "completion": [{"role": "assistant", "content": target}],
            "meta": {"uid": t.uid, "task_id": t.task_id, "episode_id": t.episode_id, "step": t.step},
        })
    report.kept = len(examples)
    if report.skipped:
        log.warning("SFT examples: skipped %d of %d records: %s", sum(report.skipped.values()), report.read,
                    dict(report.skipped))
    return examples, report


def _neighbours(flat: Sequence[tuple[Sequence[Transition], Transition]], config: ExampleConfig,
                replay: Any | None, progress: bool, batch: int = 256) -> list[list[Transition]]:
    """Top-k retrieved transitions for each example, with the configured exclusion."""
    if replay is None or config.retrieval_k <= 0:
        return [[] for _ in flat]
    if config.exclude not in EXCLUDE_MODES:
        raise ValueError(f"exclude must be one of {EXCLUDE_MODES}, got {config.exclude!r}")
    from tqdm.auto import tqdm

    over = config.retrieval_k + (0 if config.exclude == "none" else 12)
    out: list[list[Transition]] = []
    for lo in tqdm(range(0, len(flat), batch), desc="retrieve", disable=not progress):
        chunk = flat[lo:lo + batch]
        hits = replay.retrieve(config.domain, [(t.state, t.action) for _, t in chunk], over)
        for (_, t), row in zip(chunk, hits):
            keep = []
            for r in row:
                n = r.transition
                if n.uid == t.uid or (config.exclude == "episode" and n.episode_id == t.episode_id) or (
                        config.exclude == "task" and n.task_id == t.task_id):
                    continue
                keep.append(n)
                if len(keep) == config.retrieval_k:
                    break
            out.append(keep)
    return out


#: Format tag of an exported examples file (its first line).
EXAMPLES_FORMAT = "dreamgym-sft-examples/1"


def save_examples(path: str | Path, examples: Sequence[dict[str, Any]], header: dict[str, Any]) -> Path:
    """Writes built examples as JSON lines (gzip when ``path`` ends in ``.gz``), a header line first.

    Building is the expensive, CPU-side part (retrieval over the replay index); an exported file lets
    a GPU machine without the replay stack train on exactly the same examples
    (``dreamgym train --examples FILE``).

    Args:
        path: Output file.
        examples: What :func:`build_examples` returned (plus any curriculum examples).
        header: How they were built: ``domain``, ``prompt`` (a :class:`PromptConfig` as a dict),
            ``retrieval_k`` and anything else worth keeping (counts).

    Returns:
        The path written.
    """
    write_jsonl(path, itertools.chain([{"format": EXAMPLES_FORMAT, **header}], examples))
    return Path(path)


def load_examples(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Reads a file written by :func:`save_examples`.

    Returns:
        ``(header, examples)``.

    Raises:
        InvalidConfigError: the file does not exist.
        DataFormatError: the file is not an examples export or a line is not a valid example.
    """
    from dreamgym_env.error import DataFormatError, InvalidConfigError

    path = Path(path)
    if not path.exists():
        raise InvalidConfigError(f"Examples file {path} does not exist (write one with `dreamgym train "
                                 "--export-examples FILE`).")
    records = read_jsonl(path)
    header = next(records, None)
    if not isinstance(header, dict) or header.get("format") != EXAMPLES_FORMAT:
        raise DataFormatError(str(path), 1, "format", f"not an examples export (expected a header line "
                              f"with format {EXAMPLES_FORMAT!r}; write one with --export-examples)")
    examples = []
    for n, ex in enumerate(records, 2):
        if not (isinstance(ex, dict) and isinstance(ex.get("prompt"), list)
                and isinstance(ex.get("completion"), list) and ex["prompt"] and ex["completion"]):
            raise DataFormatError(str(path), n, "prompt/completion", "an example needs non-empty "
                                  "'prompt' and 'completion' message lists")
        examples.append(ex)
    return header, examples

