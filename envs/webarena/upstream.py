"""Upstream WebArena's 812 task configs (``test.raw.json``), read from the ``libwebarena`` package.

The file is located with :func:`importlib.util.find_spec` and read as data: the package's own code
(Playwright, nltk, an OpenAI client) is never imported. Install it with
``pip install --no-deps libwebarena`` (its dependencies would downgrade transformers).
"""

from __future__ import annotations

import collections
import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dreamgym_env.error import DataFormatError, MissingDependencyError

from .evaluation import EVAL_TYPES, UnknownEvalTypeError

#: Upstream's URL placeholders.
PLACEHOLDERS = ("__SHOPPING__", "__SHOPPING_ADMIN__", "__GITLAB__", "__REDDIT__", "__MAP__", "__WIKIPEDIA__",
                "__HOMEPAGE__")
class UpstreamDataMissingError(MissingDependencyError):
    """``libwebarena`` (which ships upstream's ``test.raw.json``) is not installed."""

    def __init__(self) -> None:
        ImportError.__init__(self, "Upstream WebArena task configs need the package 'libwebarena'. Install only its "
                             "data, without its dependencies (they would replace transformers and pull Playwright): "
                             "pip install --no-deps libwebarena")
        self.package = "libwebarena"
        self.extra = ""


REQUIRED_KEYS = ("sites", "task_id", "start_url", "intent", "intent_template", "intent_template_id", "eval")


def find_test_raw(package: str = "webarena") -> Path:
    """The path of ``test.raw.json`` inside the installed ``libwebarena`` distribution.

    Raises:
        UpstreamDataMissingError: ``libwebarena`` is not installed.
    """
    spec = importlib.util.find_spec(package)
    locations: Iterable[str] = (spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = Path(loc) / "test.raw.json"
        if path.is_file():
            return path
    raise UpstreamDataMissingError()


def load_configs(path: str | Path | None = None, validate: bool = True) -> list[dict[str, Any]]:
    """Reads upstream task configs (a JSON list of dicts), checking each one's schema and eval types."""
    path = Path(path) if path is not None else find_test_raw()
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise DataFormatError(str(path), None, "<root>", "expected a JSON list of task configs")
    if validate:
        for cfg in data:
            validate_config(cfg, str(path))
    return data


def validate_config(cfg: Mapping[str, Any], source: str = "<config>") -> None:
    """Checks one config against upstream's schema.

    Raises:
        DataFormatError: A required key is missing.
        UnknownEvalTypeError: An eval type is not one of ``string_match``, ``url_match``, ``program_html``.
    """
    for k in REQUIRED_KEYS:
        if k not in cfg:
            raise DataFormatError(source, cfg.get("task_id"), k, "missing")
    for t in cfg["eval"].get("eval_types") or []:
        if t not in EVAL_TYPES:
            raise UnknownEvalTypeError("eval_type", t, EVAL_TYPES)


def template_catalog(configs: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """One entry per upstream intent template: its text, sites, eval kinds and how many tasks use it."""
    out: dict[int, dict[str, Any]] = {}
    for cfg in configs:
        tid = int(cfg["intent_template_id"])
        entry = out.setdefault(tid, {"intent_template": cfg["intent_template"], "sites": list(cfg["sites"]),
                                     "eval_types": list(cfg["eval"]["eval_types"]),
                                     "answer_kinds": sorted((cfg["eval"].get("reference_answers") or {}).keys()),
                                     "count": 0})
        entry["count"] += 1
    return out


def eval_kind_counts(configs: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many configs use each eval type and string-match approach."""
    c: collections.Counter[str] = collections.Counter()
    for cfg in configs:
        for t in cfg["eval"]["eval_types"]:
            c[t] += 1
        for k in cfg["eval"].get("reference_answers") or {}:
            c[f"string_match/{k}"] += 1
    return dict(c)


def resolve_urls(cfg: Mapping[str, Any], urls: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``cfg`` with placeholders replaced (``urls`` maps ``__GITLAB__`` -> base URL)."""
    text = json.dumps(cfg)
    for ph, url in urls.items():
        text = text.replace(ph, url.rstrip("/"))
    return json.loads(text)
