"""Goal-relative ALFWorld action features (the sim-to-real benchmark's policy input)."""

from __future__ import annotations

from dreamgym_env.envs.alfworld.features import FEATURES, EpisodeMemory, parse_goal


def test_parse_goal_reads_instructions_and_first_observations() -> None:
    assert parse_goal("You are in the middle of a room.\n\nYour task is to: put some apple on countertop.") == \
        ("pick_and_place_simple", "apple", "countertop")
    assert parse_goal("heat some egg and put it in garbagecan") == ("pick_heat_then_place_in_recep", "egg",
                                                                     "garbagecan")
    assert parse_goal("dance") is None


def test_memory_tracks_places_holding_and_where_the_goal_object_was_seen() -> None:
    m = EpisodeMemory(("pick_and_place_simple", "apple", "countertop"))
    f = dict(zip(FEATURES, m.features("go to fridge 1")))
    assert f["go_unvisited"] == 1 and f["go_where_goal_object_seen"] == 0
    m.update("go to fridge 1", "You arrive at fridge 1. The fridge 1 is closed.")
    m.update("open fridge 1", "You open the fridge 1. The fridge 1 is open. In it, you see a apple 2, and a egg 1.")
    assert m.goal_object_seen_at == {"fridge 1"} and "fridge 1" in m.visited
    assert dict(zip(FEATURES, m.features("take apple 2 from fridge 1")))["take_goal_obj"] == 1
    m.update("take apple 2 from fridge 1", "Nothing happens.")  # failed actions change nothing
    assert m.holding is None and not m.got_goal_object
    m.update("take apple 2 from fridge 1", "You pick up the apple 2 from the fridge 1.")
    assert m.holding == "apple" and m.got_goal_object
    f = dict(zip(FEATURES, m.features("go to countertop 1")))
    assert f["go_goal_recep_holding_goal"] == 1
    assert dict(zip(FEATURES, m.features("put apple 2 in/on countertop 1")))["put_goal_in_goal_recep"] == 1
    assert dict(zip(FEATURES, m.features("open fridge 1")))["repeat_last_action"] == 0
    assert dict(zip(FEATURES, m.features("take apple 2 from fridge 1")))["repeat_last_action"] == 1
