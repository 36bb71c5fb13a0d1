"""Map: a small OpenStreetMap (place search, place pages, directions by car, bicycle or foot)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from ..tree import Node, Page
from .base import Site, button, combobox, first, heading, link, set_dom, text, textbox

PLACES = [
    ("Carnegie Mellon University", "university", "5000 Forbes Avenue"),
    ("University of Pittsburgh", "university", "4200 Fifth Avenue"),
    ("Hunt Library", "library", "4909 Frew Street"),
    ("Carnegie Science Center", "museum", "1 Allegheny Avenue"),
    ("Carnegie Music Hall", "theatre", "4400 Forbes Avenue"),
    ("Phipps Conservatory", "garden", "1 Schenley Drive"),
    ("Pittsburgh International Airport", "airport", "1000 Airport Boulevard"),
    ("PNC Park", "stadium", "115 Federal Street"),
    ("Heinz Field", "stadium", "100 Art Rooney Avenue"),
    ("Schenley Park", "park", "Schenley Drive"),
    ("The Andy Warhol Museum", "museum", "117 Sandusky Street"),
    ("Giant Eagle Market District", "supermarket", "5550 Centre Avenue"),
    ("Hyatt House Pittsburgh", "hotel", "1 Station Square"),
    ("Starbucks Craig Street", "cafe", "417 South Craig Street"),
    ("UPMC Presbyterian", "hospital", "200 Lothrop Street"),
    ("Frick Park", "park", "6750 Forbes Avenue"),
]
#: (display name, engine id, km/h): upstream's routing engine order (selectedIndex 0, 1, 2).
MODES = [("Bicycle (OSRM)", "fossgis_osrm_bike", 15.0), ("Car (OSRM)", "fossgis_osrm_car", 35.0),
         ("Foot (OSRM)", "fossgis_osrm_foot", 4.8)]


def generate_content(seed: int = 0) -> dict[str, Any]:
    """Generates place coordinates and postcodes around Pittsburgh from a seed."""
    rng = random.Random(f"map-{seed}")
    places = []
    for i, (name, kind, street) in enumerate(PLACES):
        places.append({"id": 3000000 + i * 7919, "name": name, "type": kind,
                       "address": f"{street}, Pittsburgh, Allegheny County, Pennsylvania",
                       "postcode": f"152{rng.randint(0, 40):02d}",
                       "lat": round(40.44 + rng.uniform(-0.06, 0.06), 4),
                       "lon": round(-79.96 + rng.uniform(-0.1, 0.1), 4)})
    return {"places": places}


def distance_km(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Route length between two places: the great-circle distance with a fixed street detour factor."""
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 1.3 * 2 * 6371.0 * math.asin(math.sqrt(h))


def fmt_distance(km: float) -> str:
    """Formats a distance the way the OSM directions panel does (``748m``, ``3.2km``)."""
    return f"{round(km * 1000)}m" if km < 1 else f"{km:.1f}km"


def fmt_time(km: float, speed: float) -> str:
    """Formats a travel time as ``H:MM``."""
    minutes = max(1, round(km / speed * 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


class MapSite(Site):
    """An OpenStreetMap instance (upstream ``__MAP__``)."""

    name = "map"
    placeholder = "__MAP__"
    default_url = "http://map.local"
    routes = (
        (r"/", "home"),
        (r"/search/?", "search"),
        (r"/node/(\d+)/?", "node"),
        (r"/directions/?", "directions"),
    )

    def find(self, name: str) -> dict[str, Any] | None:
        """The place whose name (or address) best matches ``name``."""
        q = name.strip().lower()
        if not q:
            return None
        for p in self.state["places"]:
            if p["name"].lower() == q:
                return p
        return next((p for p in self.state["places"] if q in f"{p['name']} {p['address']}".lower()), None)

    def _page(self, url: str, title: str, *sidebar: Node) -> Page:
        go = (lambda v: self.url("/search", query=v.get("query", "").strip()))
        head = [link("OpenStreetMap", self.url("/")), textbox("Search", "query", submit=go, role="textbox"),
                button("Go", go), link("Find directions between two points", self.url("/directions"))]
        return Page(url=url, title=f"{title} | OpenStreetMap", body=[*head, Node("complementary", "").add(*sidebar)])

    def home(self, query: Mapping[str, list[str]]) -> Page:
        return self._page(self.url("/"), "OpenStreetMap", text("Welcome to OpenStreetMap!"))

    def search(self, query: Mapping[str, list[str]]) -> Page:
        q = first(query, "query").strip()
        toks = q.lower().split()
        found = [p for p in self.state["places"] if toks and all(t in f"{p['name']} {p['type']}".lower() for t in toks)]
        items: list[Node] = [heading("Search Results")]
        items += [link(p["name"], self.url(f"/node/{p['id']}")) for p in found] or [text("No results found")]
        page = self._page(self.url("/search", query=q), "Search", *items)
        page.values["query"] = q
        set_dom(page, "document.querySelector('[id=\"sidebar_content\"').outerText",
                "\n".join(p["name"] for p in found))
        return page

    def node(self, query: Mapping[str, list[str]], nid: str) -> Page | None:
        p = next((p for p in self.state["places"] if p["id"] == int(nid)), None)
        if p is None:
            return None
        info = [heading(f"Node: {p['name']} ({p['id']})"), text(f"Type {p['type']}"), text(p["address"]),
                text(f"Postcode {p['postcode']}"), text(f"Coordinates: {p['lat']}, {p['lon']}"),
                link("Directions from here", self.url("/directions", **{"from": p["name"]})),
                link("Directions to here", self.url("/directions", to=p["name"]))]
        page = self._page(self.url(f"/node/{p['id']}"), p["name"], *info)
        set_dom(page, "document.querySelector('[id=\"sidebar_content\"').outerText",
                f"{p['name']}\n{p['address']}\n{p['postcode']}\n{p['lat']}, {p['lon']}")
        return page

    def directions(self, query: Mapping[str, list[str]]) -> Page:
        engine = first(query, "engine", MODES[1][1])
        idx = next((i for i, m in enumerate(MODES) if m[1] == engine), 1)
        src_name, dst_name = first(query, "from"), first(query, "to")

        def go(v: dict[str, str]) -> str:
            mode = next((m for m in MODES if m[0] == v.get("mode")), MODES[1])
            return self.url("/directions", engine=mode[1], **{"from": v.get("route_from", "").strip() or None},
                            to=v.get("route_to", "").strip() or None)

        a, b = self.find(src_name), self.find(dst_name)
        result: list[Node] = []
        if src_name and dst_name:
            if a is None or b is None:
                result = [text("Could not find a route between these points.")]
            else:
                km = distance_km(a, b)
                result = [heading("Directions"),
                          text(f"Distance: {fmt_distance(km)}. Time: {fmt_time(km, MODES[idx][2])}."),
                          text(f"Start at {a['name']}"), text(f"Arrive at {b['name']}")]
        form = [combobox("Routing engine", "mode", [m[0] for m in MODES]),
                textbox("From", "route_from", submit=go), textbox("To", "route_to", submit=go), button("Go", go)]
        q = {"engine": engine if "engine" in query else None, "from": src_name or None, "to": dst_name or None}
        page = self._page(self.url("/directions", **q), "Directions", *form, *result)
        page.values.update({"mode": MODES[idx][0],
                            "route_from": a["address"] if a and src_name else src_name,
                            "route_to": b["address"] if b and dst_name else dst_name})
        if a is not None and src_name:
            page.values["route_from"] = f"{a['name']}, {a['address']}"
        if b is not None and dst_name:
            page.values["route_to"] = f"{b['name']}, {b['address']}"
        names = [m[0] for m in MODES]
        set_dom(page, 'document.querySelector("div#content select.routing_engines").selectedIndex',
                lambda v: str(names.index(v["mode"]) if v.get("mode") in names else 1))
        set_dom(page, "document.querySelector('[name=\"route_from\"').value", lambda v: v.get("route_from", ""))
        set_dom(page, "document.querySelector('[name=\"route_to\"').value", lambda v: v.get("route_to", ""))
        set_dom(page, "document.querySelector('[id=\"sidebar_content\"').outerText",
                "\n".join(n.name for n in result))
        return page
