"""A readable view of the engine's PDDL facts: where the agent is, what it holds, what is where."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .engine import Fact


@dataclass
class World:
    """The engine state as plain dicts (built from :meth:`ALFWorldEngine.facts`).

    Attributes:
        at: Receptacle the agent stands at (``None`` in the middle of the room).
        held: Object the agent holds, if any.
        location_of: Receptacle -> its location name.
        contents: Receptacle -> objects in/on it (sorted).
        where: Object -> receptacle it is in/on.
        object_class: Entity -> lowercase class (``"mug 1"`` -> ``"mug"``), objects and receptacles.
        openable, opened: Openable and currently open receptacles.
        clean, hot, cool, toggled: Objects with that state.
        flags: Object -> static properties (``pickupable``, ``cleanable``, ``heatable``, ``coolable``, ``toggleable``).
    """

    at: str | None = None
    held: str | None = None
    location_of: dict[str, str] = field(default_factory=dict)
    contents: dict[str, list[str]] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    object_class: dict[str, str] = field(default_factory=dict)
    openable: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    clean: set[str] = field(default_factory=set)
    hot: set[str] = field(default_factory=set)
    cool: set[str] = field(default_factory=set)
    toggled: set[str] = field(default_factory=set)
    flags: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_facts(cls, facts: Iterable[Fact]) -> World:
        """Builds the view from true facts."""
        w = cls()
        agent_loc = None
        for f in facts:
            n, a = f.name, f.args
            if n == "atlocation":
                agent_loc = a[1]
            elif n == "receptacleatlocation":
                w.location_of[a[0]] = a[1]
            elif n == "inreceptacle":
                w.where[a[0]] = a[1]
                w.contents.setdefault(a[1], []).append(a[0])
            elif n == "holds":
                w.held = a[1]
            elif n in ("objecttype", "receptacletype"):
                w.object_class[a[0]] = a[1].removesuffix("type")
            elif n == "openable":
                w.openable.add(a[0])
            elif n == "opened":
                w.opened.add(a[0])
            elif n == "isclean":
                w.clean.add(a[0])
            elif n == "ishot":
                w.hot.add(a[0])
            elif n == "iscool":
                w.cool.add(a[0])
            elif n == "istoggled":
                w.toggled.add(a[0])
            elif n in ("pickupable", "cleanable", "heatable", "coolable", "toggleable", "sliceable"):
                w.flags.setdefault(a[0], set()).add(n)
        for r in w.location_of:
            w.contents.setdefault(r, [])
            w.contents[r].sort(key=_natural)
            if w.location_of[r] == agent_loc:
                w.at = r
        return w

    @property
    def receptacles(self) -> list[str]:
        """All receptacles, naturally sorted."""
        return sorted(self.location_of, key=_natural)

    def objects_of(self, cls: str) -> list[str]:
        """Objects of a lowercase class, naturally sorted."""
        return sorted((o for o, c in self.object_class.items() if c == cls and o not in self.location_of),
                      key=_natural)

    def receptacles_of(self, cls: str) -> list[str]:
        """Receptacles of a lowercase class, naturally sorted."""
        return [r for r in self.receptacles if self.object_class.get(r) == cls]

    def is_closed(self, receptacle: str) -> bool:
        """Whether a receptacle is openable and closed."""
        return receptacle in self.openable and receptacle not in self.opened

    def visible_at(self, receptacle: str) -> list[str]:
        """Objects the agent can see at ``receptacle`` (none while it is closed)."""
        return [] if self.is_closed(receptacle) else list(self.contents.get(receptacle, []))


def _natural(name: str) -> tuple[str, int]:
    base, _, num = name.rpartition(" ")
    return (base, int(num)) if num.isdigit() else (name, 0)
