"""The records that flow through the project: tasks and transitions.

Both serialise to plain JSON dicts (one per line in ``.jsonl`` files) so that shipped data, the
replay store, training sets and importers all speak one format.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from dreamgym_env.error import DataFormatError

#: Where a transition came from.
SOURCES = ("real", "synthetic", "imported")


def stable_id(*parts: object) -> str:
    """Returns a short, deterministic hex id for the given parts."""
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(repr(p).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class Task:
    """One task an agent can be given.

    Attributes:
        task_id: Unique, stable id within the domain.
        domain: Domain name (``"alfworld"``, ``"webshop"``, ``"webarena"``).
        instruction: The goal in the domain's own words (e.g. ``"put a clean mug in coffeemachine."``).
        initial_observation: The first observation, exactly as the real environment shows it.
        meta: Domain facts about the task (task type, layout id, goal spec for checking success...).
    """

    task_id: str
    domain: str
    instruction: str
    initial_observation: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict."""
        d = asdict(self)
        d["meta"] = dict(self.meta)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<dict>") -> Task:
        """Builds a task from a dict, raising :class:`DataFormatError` naming a bad field."""
        _check_fields(d, ("task_id", "domain", "instruction", "initial_observation"), source)
        return cls(
            task_id=str(d["task_id"]),
            domain=str(d["domain"]),
            instruction=str(d["instruction"]),
            initial_observation=str(d["initial_observation"]),
            meta=dict(d.get("meta") or {}),
        )


@dataclass(frozen=True)
class Transition:
    """One step of experience: ``(state, action) -> (reasoning, next_state, reward, done)``.

    Attributes:
        domain: Domain name.
        task_id: Id of the task being solved.
        instruction: The task instruction (kept with the transition so retrieval results stand alone).
        state: Observation before the action.
        action: The agent's action text.
        next_state: Observation after the action.
        reward: Reward for this step (outcome reward: non-zero only at the end in most domains).
        done: Whether the episode ended with this step.
        reasoning: Why the transition happened (teacher annotation or the model's own reasoning).
        valid: Whether the action was valid/admissible in ``state`` (``None`` when unknown).
        episode_id: Id of the episode this transition belongs to.
        step: Index of the step within its episode (0-based).
        source: ``"real"`` (a real or reference engine), ``"synthetic"`` (the experience model) or
            ``"imported"`` (a public dataset).
        meta: Anything else (admissible actions, engine facts, ...).
        uid: Stable unique id; derived from the content when not given.
    """

    domain: str
    task_id: str
    instruction: str
    state: str
    action: str
    next_state: str
    reward: float
    done: bool
    reasoning: str = ""
    valid: bool | None = None
    episode_id: str = ""
    step: int = 0
    source: str = "real"
    meta: Mapping[str, Any] = field(default_factory=dict)
    uid: str = ""

    def __post_init__(self) -> None:
        if not self.uid:
            object.__setattr__(
                self,
                "uid",
                stable_id(self.domain, self.episode_id, self.step, self.state, self.action, self.next_state),
            )

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict."""
        d = asdict(self)
        d["meta"] = dict(self.meta)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<dict>") -> Transition:
        """Builds a transition from a dict, raising :class:`DataFormatError` naming a bad field."""
        _check_fields(d, ("domain", "state", "action", "next_state", "reward", "done"), source)
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        try:
            kw["reward"] = float(kw["reward"])
        except (TypeError, ValueError) as e:
            raise DataFormatError(source, d.get("uid") or d.get("task_id"), "reward", str(e)) from e
        kw["done"] = bool(kw["done"])
        kw.setdefault("task_id", "")
        kw.setdefault("instruction", "")
        kw["meta"] = dict(kw.get("meta") or {})
        return cls(**kw)


def _check_fields(d: Mapping[str, Any], required: Iterable[str], source: str) -> None:
    if not isinstance(d, Mapping):
        raise DataFormatError(source, None, "<record>", f"expected an object, got {type(d).__name__}")
    for name in required:
        if name not in d or d[name] is None:
            rec = d.get("uid") or d.get("task_id") or d.get("episode_id")
            raise DataFormatError(source, rec, name, "missing")


def _open_text(path: Path, mode: str) -> IO[str]:
    """Opens a text file, through gzip when its name ends in ``.gz`` (or ``.gz.tmp``)."""
    if path.name.endswith((".gz", ".gz.tmp")):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yields the JSON objects of a ``.jsonl`` (or ``.jsonl.gz``) file, naming the line of any malformed one."""
    path = Path(path)
    with _open_text(path, "r") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(str(path), f"line {lineno}", "<json>", str(e)) from e


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Writes records as JSON lines (atomically: a temp file renamed into place; gzip when ``path`` ends
    in ``.gz``). Returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with _open_text(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def load_tasks(path: str | Path) -> list[Task]:
    """Loads tasks from a ``.jsonl`` file."""
    return [Task.from_dict(d, f"{path}:{i + 1}") for i, d in enumerate(read_jsonl(path))]


def load_transitions(path: str | Path) -> list[Transition]:
    """Loads transitions from a ``.jsonl`` file."""
    return [Transition.from_dict(d, f"{path}:{i + 1}") for i, d in enumerate(read_jsonl(path))]
