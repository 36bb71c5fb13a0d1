"""ALFRED's facts, read from the installed ``alfworld`` wheel: room layouts, object rules, goals.

The wheel ships ALFRED's 120 floor plans (``gen/layouts/FloorPlan*-{objects,openable}.json``), its
object/receptacle tables (``gen/constants.py``), the goal PDDL and instruction templates
(``gen/goal_library.py``) and the TextWorld logic (``data/alfred.pddl``, ``data/alfred.twl2``). These
files are read directly, without importing the ``alfworld`` package (whose import creates a cache
folder in the user's home and pulls heavy modules).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import types
from dataclasses import dataclass
from pathlib import Path

from dreamgym_env.error import MissingDependencyError

#: The six ALFWorld task types, in upstream order (``TASK_TYPES`` 1..6 of alfworld's TextWorld env).
TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

#: Room kinds and ALFRED's floor-plan number ranges.
ROOM_TYPES = {"Kitchen": range(1, 31), "LivingRoom": range(201, 231), "Bedroom": range(301, 331),
              "Bathroom": range(401, 431)}

#: ALFRED's held-out ("test") scenes: the first six floor plans of each room kind. Problems on these
#: layouts form the ``test`` split, so evaluation uses rooms never seen in training.
TEST_LAYOUT_NUMBERS = frozenset([*range(1, 7), *range(201, 207), *range(301, 307), *range(401, 407)])

#: Room kinds where ALFRED generates each task type (``GOALS_VALID`` upstream).
VALID_ROOMS = {
    "pick_and_place_simple": {"Kitchen", "LivingRoom", "Bathroom", "Bedroom"},
    "pick_two_obj_and_place": {"Kitchen", "LivingRoom", "Bathroom", "Bedroom"},
    "look_at_obj_in_light": {"LivingRoom", "Bedroom"},
    "pick_clean_then_place_in_recep": {"Kitchen", "Bathroom"},
    "pick_heat_then_place_in_recep": {"Kitchen"},
    "pick_cool_then_place_in_recep": {"Kitchen"},
}

#: Receptacle classes that are not in a floor plan's interaction file but are placed when the plan
#: lists them, with how many instances a room gets.
EXTRA_RECEPTACLE_COUNTS = {"StoveBurner": 4}

LAMP_TYPES = ("DeskLamp", "FloorLamp")

#: Furniture a lamp stands on (the lamp must be ``inReceptacle`` for ``use`` to be applicable).
LAMP_HOLDERS = {"DeskLamp": ("Desk", "SideTable", "Dresser", "Shelf", "Nightstand"),
                "FloorLamp": ("SideTable", "Dresser", "ArmChair", "Sofa", "CoffeeTable", "Desk", "Shelf",
                              "TVStand", "DiningTable")}


@dataclass(frozen=True)
class Layout:
    """One ALFRED floor plan: its receptacle instances and the object classes it contains.

    Attributes:
        name: ``"FloorPlan12"``.
        number: ALFRED scene number.
        room_type: ``"Kitchen"``, ``"LivingRoom"``, ``"Bedroom"`` or ``"Bathroom"``.
        receptacles: ``(alfred_id, receptacle_class)`` pairs, e.g. ``("Sink|-01.99|+00.05|-02.57|SinkBasin", "SinkBasin")``.
        object_types: Object classes present in the scene (lamps included).
    """

    name: str
    number: int
    room_type: str
    receptacles: tuple[tuple[str, str], ...]
    object_types: tuple[str, ...]

    @property
    def split(self) -> str:
        """``"test"`` for ALFRED's held-out scenes, else ``"train"``."""
        return "test" if self.number in TEST_LAYOUT_NUMBERS else "train"


@dataclass(frozen=True)
class AlfredFacts:
    """ALFRED's rules and layouts.

    Attributes:
        version: Installed alfworld version.
        layouts: Floor plans by name.
        can_contain: Receptacle class -> object classes it accepts.
        properties: ``"Heatable"``/``"Coolable"``/``"Cleanable"``/``"Toggleable"``/``"Sliceable"`` -> classes.
        openable: Openable receptacle classes.
        movable_receptacles: Object classes that are themselves containers (mug, bowl...).
        goals: Task type -> ``{"pddl": str, "templates": [str, ...]}``.
        pddl_domain: ``alfred.pddl`` text.
        grammar: ``alfred.twl2`` text.
    """

    version: str
    layouts: dict[str, Layout]
    can_contain: dict[str, frozenset[str]]
    properties: dict[str, frozenset[str]]
    openable: frozenset[str]
    movable_receptacles: frozenset[str]
    goals: dict[str, dict]
    pddl_domain: str
    grammar: str

    @functools.cached_property
    def pickupable(self) -> frozenset[str]:
        """Object classes an agent can pick up (everything some receptacle accepts, unsliced)."""
        out: set[str] = set()
        for objs in self.can_contain.values():
            out.update(o for o in objs if not o.endswith("Sliced"))
        return frozenset(out)

    def fingerprint(self) -> str:
        """A short hash of the logic files (changes when the engine's rules change)."""
        h = hashlib.blake2b(digest_size=6)
        h.update(self.pddl_domain.encode())
        h.update(self.grammar.encode())
        return h.hexdigest()


def alfworld_root() -> Path:
    """Returns the installed ``alfworld`` package folder without importing it.

    Raises:
        MissingDependencyError: alfworld is not installed.
    """
    spec = importlib.util.find_spec("alfworld")
    if spec is None or not spec.origin:
        raise MissingDependencyError("alfworld", "alfworld", "the real ALFWorld engine and its problem generator")
    return Path(spec.origin).parent


def _load_module(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _room_type(number: int) -> str:
    for room, numbers in ROOM_TYPES.items():
        if number in numbers:
            return room
    raise ValueError(f"FloorPlan{number} is not an ALFRED scene number")


def _extra_id(layout: str, rtype: str, k: int) -> str:
    """A deterministic ALFRED-style id (``Type|x|y|z``) for a receptacle the interaction file lacks."""
    digest = hashlib.blake2b(f"{layout}/{rtype}/{k}".encode(), digest_size=6).digest()
    x, y, z = ((int.from_bytes(digest[i:i + 2], "big") % 600) / 100 - 3 for i in (0, 2, 4))
    return f"{rtype}|{x:+06.2f}|{abs(y):+06.2f}|{z:+06.2f}"


@functools.lru_cache(maxsize=1)
def load_facts() -> AlfredFacts:
    """Reads ALFRED's facts from the installed alfworld wheel (cached).

    Raises:
        MissingDependencyError: alfworld is not installed.
    """
    root = alfworld_root()
    constants = _load_module(root / "gen" / "constants.py", "_dreamgym_alfred_constants")
    goal_library = _load_module(root / "gen" / "goal_library.py", "_dreamgym_alfred_goals")

    can_contain = {r: frozenset(objs) for r, objs in constants.VAL_RECEPTACLE_OBJECTS.items()}
    static_receptacles = set(can_contain) - set(constants.MOVABLE_RECEPTACLES)
    layouts: dict[str, Layout] = {}
    layout_dir = root / "gen" / "layouts"
    for objects_file in sorted(layout_dir.glob("FloorPlan*-objects.json")):
        name = objects_file.name.split("-")[0]
        number = int(name[len("FloorPlan"):])
        object_types = tuple(sorted(set(json.loads(objects_file.read_text()))))
        interactions = json.loads((layout_dir / f"{name}-openable.json").read_text())
        receptacles: list[tuple[str, str]] = []
        for alfred_id in sorted(interactions):
            parts = alfred_id.split("|")
            rtype = parts[4] if len(parts) > 4 else parts[0]
            if rtype in static_receptacles:
                receptacles.append((alfred_id, rtype))
        present = {r for _, r in receptacles}
        for rtype in object_types:
            if rtype in static_receptacles and rtype not in present:
                for k in range(EXTRA_RECEPTACLE_COUNTS.get(rtype, 1)):
                    receptacles.append((_extra_id(name, rtype, k), rtype))
        layouts[name] = Layout(name, number, _room_type(number), tuple(receptacles), object_types)

    goals = {t: {"pddl": goal_library.gdict[t]["pddl"], "templates": list(goal_library.gdict[t]["templates"])}
             for t in TASK_TYPES}
    return AlfredFacts(
        version=_read_version(root),
        layouts=layouts,
        can_contain=can_contain,
        properties={k: frozenset(v) for k, v in constants.VAL_ACTION_OBJECTS.items()},
        openable=frozenset(constants.OPENABLE_CLASS_LIST),
        movable_receptacles=frozenset(constants.MOVABLE_RECEPTACLES),
        goals=goals,
        pddl_domain=(root / "data" / "alfred.pddl").read_text(),
        grammar=(root / "data" / "alfred.twl2").read_text(),
    )


def _read_version(root: Path) -> str:
    for line in (root / "info.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("'\"")
    return "unknown"
