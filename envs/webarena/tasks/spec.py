"""The record a task template produces: an upstream-schema config plus a scripted solution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """One step of a scripted solution, stated by element role and name (ids differ per page).

    Attributes:
        do: ``click``, ``type``, ``clear`` (focus, select all, delete), ``goto`` or ``stop``.
        role: Role of the target element.
        name: Accessible name of the target element (a prefix when ``prefix``).
        text: Text to type, URL to open, or the stop answer.
        enter: For ``type``: press Enter after typing.
        after: Pick the first match below the element named ``after`` (disambiguates repeated buttons).
        prefix: Match ``name`` as a prefix.
        url: The URL this step is taken on, when known in advance (lets a policy recover after detours).
    """

    do: str
    role: str = ""
    name: str = ""
    text: str = ""
    enter: bool = False
    after: str = ""
    prefix: bool = False
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON dict (defaults left out)."""
        d: dict[str, Any] = {"do": self.do}
        for k in ("role", "name", "text", "after", "url"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        for k in ("enter", "prefix"):
            if getattr(self, k):
                d[k] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


def click(name: str, role: str = "link", **kw: Any) -> Step:
    """A click on the element ``role 'name'``."""
    return Step("click", role, name, **kw)


def type_(name: str, text: str, enter: bool = False, role: str = "textbox", **kw: Any) -> Step:
    """Typing ``text`` into the field ``role 'name'``."""
    return Step("type", role, name, text=text, enter=enter, **kw)


def clear(name: str, role: str = "textbox", **kw: Any) -> Step:
    """Emptying a pre-filled field (click it, ``press [Meta+a]``, ``press [Backspace]``)."""
    return Step("clear", role, name, **kw)


def stop(answer: str = "") -> Step:
    """The final ``stop [answer]``."""
    return Step("stop", text=answer)


@dataclass
class TaskSpec:
    """One instantiated template.

    Attributes:
        site: Upstream site name.
        template: Our template name (unique per site).
        upstream_template_id: The ``intent_template_id`` of the upstream template this one follows.
        intent_template: Intent with ``{{slots}}``.
        slots: The instantiation dict.
        start_path: Start URL as upstream writes it (``__SHOPPING__/...``).
        eval: Upstream ``eval`` block.
        solution: Scripted solution steps.
    """

    site: str
    template: str
    upstream_template_id: int
    intent_template: str
    slots: dict[str, Any]
    start_path: str
    eval: dict[str, Any]
    solution: list[Step] = field(default_factory=list)

    @property
    def intent(self) -> str:
        """The intent with its slots filled."""
        s = self.intent_template
        for k, v in self.slots.items():
            s = s.replace("{{" + k + "}}", str(v))
        return s


def string_eval(**reference_answers: Any) -> dict[str, Any]:
    """An upstream ``string_match`` eval block."""
    raw = next(iter(reference_answers.values()))
    return {"eval_types": ["string_match"], "reference_answers": dict(reference_answers), "reference_url": "",
            "program_html": [], "string_note": "", "reference_answer_raw_annotation": str(raw)}


def url_eval(reference_url: str, extra_program_html: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An upstream ``url_match`` eval block (optionally combined with ``program_html``)."""
    types = ["url_match"] + (["program_html"] if extra_program_html else [])
    return {"eval_types": types, "reference_answers": None, "reference_url": reference_url,
            "program_html": list(extra_program_html or []), "url_note": "GOLD in PRED"}


def html_eval(*targets: dict[str, Any]) -> dict[str, Any]:
    """An upstream ``program_html`` eval block."""
    return {"eval_types": ["program_html"], "reference_answers": None, "reference_url": "",
            "program_html": list(targets)}


def target(url: str, locator: str, exact: str | None = None, include: list[str] | None = None) -> dict[str, Any]:
    """One ``program_html`` target."""
    req: dict[str, Any] = {"exact_match": exact} if exact is not None else {"must_include": list(include or [])}
    return {"url": url, "locator": locator, "required_contents": req}
