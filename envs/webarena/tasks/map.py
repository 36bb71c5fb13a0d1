"""Task templates over the map site (after upstream templates 70, 46, 36, 58, 54, 52)."""

from __future__ import annotations

import random

from ..sites import World
from ..sites.map import MODES, distance_km, fmt_distance, fmt_time
from .spec import TaskSpec, click, html_eval, stop, string_eval, target, type_

M = "__MAP__"
TRANSPORT = {"car": 1, "bike": 0, "walk": 2}


def generate(world: World, rng: random.Random, per_template: int) -> list[TaskSpec]:
    """Instantiates every map template ``per_template`` times (fewer when entities run out)."""
    places = world.site("map").state["places"]
    out: list[TaskSpec] = []

    def pick(items: list, n: int = per_template) -> list:
        return rng.sample(items, min(n, len(items)))

    def open_place(p: dict) -> list:
        return [type_("Search", p["name"], enter=True), click(p["name"])]

    def directions(a: dict, b: dict, mode: int | None = None) -> list:
        steps = [click("Find directions between two points")]
        if mode is not None and mode != 1:
            steps.append(click(MODES[mode][0], role="option"))
        return steps + [type_("From", a["name"]), type_("To", b["name"], enter=True)]

    for p in pick(places):
        out.append(TaskSpec("map", "zip_code", 70, "What is the zip code of {{place}}?", {"place": p["name"]}, M,
                            string_eval(exact_match=p["postcode"]), [*open_place(p), stop(p["postcode"])]))
    for p in pick(places):
        out.append(TaskSpec("map", "coordinates", 46, "Tell me the coordinates of {{location}} in DD format",
                            {"location": p["name"]}, M, string_eval(must_include=[str(p["lat"]), str(p["lon"])]),
                            [*open_place(p), stop(f"{p['lat']}, {p['lon']}")]))
    pairs = [(a, b) for a in places for b in places if a is not b]
    for a, b in pick(pairs):
        km = distance_km(a, b)
        t = fmt_time(km, MODES[1][2])
        minutes = int(t.split(":")[0]) * 60 + int(t.split(":")[1])
        out.append(TaskSpec("map", "drive_time", 36, "What is the minimum travel time by car from {{location1}} to "
                            "{{location2}}?", {"location1": a["name"], "location2": b["name"]}, M,
                            string_eval(fuzzy_match=[f"{minutes}min"]), [*directions(a, b), stop(f"{minutes} min")]))
    for a, b in pick(pairs):
        d = fmt_distance(distance_km(a, b))
        out.append(TaskSpec("map", "walk_distance", 58, "Measure distance between {{location/address_1}} and "
                            "{{location/address_2}} by walking", {"location/address_1": a["name"],
                                                                 "location/address_2": b["name"]}, M,
                            string_eval(exact_match=d), [*directions(a, b, 2), stop(d)]))
    for a, b in pick(pairs):
        how = rng.choice(sorted(TRANSPORT))
        idx = TRANSPORT[how]
        out.append(TaskSpec("map", "get_directions", 54, "Get directions from {{location/address_1}} to "
                            "{{location/address_2}} using {{transportation}} options.",
                            {"location/address_1": a["name"], "location/address_2": b["name"], "transportation": how},
                            M, html_eval(
                                target("last", 'document.querySelector("div#content select.routing_engines")'
                                               ".selectedIndex", exact=str(idx)),
                                target("last", "document.querySelector('[name=\"route_from\"').value",
                                       include=[a["name"], "Pittsburgh"]),
                                target("last", "document.querySelector('[name=\"route_to\"').value",
                                       include=[b["name"], "Pittsburgh"])),
                            [*directions(a, b, idx), stop()]))
    for p in pick(places):
        out.append(TaskSpec("map", "place_page", 52, "Pull up the description page of {{location}} on Map",
                            {"location": p["name"]}, M,
                            html_eval(target("last", "document.querySelector('[id=\"sidebar_content\"').outerText",
                                             include=[p["name"], p["postcode"]])),
                            [*open_place(p), stop()]))
    return out
