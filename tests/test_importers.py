"""Importers of public trajectory sets, on small fixtures in the upstream schemas (tests/fixtures/importers/)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from dreamgym_env.cli import main
from dreamgym_env.data.importers import (
    IMPORTERS,
    ImportConfig,
    ImportReport,
    import_to_file,
    iter_transitions,
    load_records,
)
from dreamgym_env.domain import ImportedObservation, ImportHooks, get_domain
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.replay import TransitionStore, open_replay
from dreamgym_env.types import Transition, load_transitions, stable_id

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def _run(fmt: str, source, domain: str, **kw) -> tuple[list[Transition], ImportReport]:
    report = ImportReport(fmt, domain)
    return list(iter_transitions(fmt, source, ImportConfig(domain=domain, **kw), report)), report


def _episodes(ts: list[Transition]) -> list[list[Transition]]:
    out: dict[str, list[Transition]] = {}
    for t in ts:
        out.setdefault(t.episode_id, []).append(t)
    return list(out.values())


class HashEmbedder:
    """Cheap, deterministic embedder (no model load)."""

    name, dim = "hash-test", 16

    def encode(self, texts):
        v = np.array([np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8) for t in texts], np.float32)
        v += 1.0
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_registry_names_the_formats() -> None:
    assert {"agenttraj", "agentinstruct", "eto", "nnetnav"} <= set(IMPORTERS)


def test_agenttraj_alfworld_fields() -> None:
    ts, report = _run("agenttraj", FIXTURES / "agenttraj_l.json", "alfworld")
    assert (report.records, report.episodes, report.transitions, report.unobserved_final) == (3, 1, 4, 0)
    assert dict(report.skipped) == {"wrong_domain": 1, "unknown_role": 1}
    assert report.examples["wrong_domain"] == [
        "agenttraj_l.json#1 (webshop_4127): the record is tagged 'webshop', not 'alfworld'"]
    assert report.examples["unknown_role"] == ["agenttraj_l.json#2 (alfworld_2290): turn 3 has role 'function'"]
    first = ts[0]
    assert first.state == (
        "You are in the middle of a room. Looking quickly around you, you see a cabinet 4, a cabinet 3, a cabinet 2, "
        "a cabinet 1, a countertop 1, a garbagecan 1, a handtowelholder 1, a sinkbasin 1, a toilet 1, a "
        "toiletpaperhanger 1, and a towelholder 1.\n\nYour task is to: put some spraybottle on toilet.")
    assert first.action == "go to cabinet 1"
    assert first.next_state == "On the cabinet 1, you see a cloth 1, a soapbar 1, and a spraybottle 2."
    assert first.reasoning == ("To put a spraybottle on the toilet I first need to find one. Cleaning supplies are "
                               "usually kept in cabinets, so I will start with cabinet 1.")
    assert first.instruction == "put some spraybottle on toilet."
    assert first.task_id == stable_id("alfworld", "put some spraybottle on toilet.")
    assert first.meta["admissible_actions"][:2] == ["go to cabinet 1", "go to cabinet 2"]
    assert first.meta["admissible_actions"][-2:] == ["inventory", "look"] and len(first.meta["admissible_actions"]) == 13
    assert first.meta["reasoning_source"] == "agent"
    assert [t.action for t in ts] == ["go to cabinet 1", "take spraybottle 2 from cabinet 1", "go to toilet 1",
                                      "put spraybottle 2 in/on toilet 1"]
    assert ts[1].reasoning == "" and "reasoning_source" not in ts[1].meta  # a bare "Action:" turn
    assert [t.state for t in ts[1:]] == [t.next_state for t in ts[:-1]]
    assert ts[-1].next_state == "You put the spraybottle 2 in/on the toilet 1."
    assert [t.step for t in ts] == [0, 1, 2, 3] and len({t.episode_id for t in ts}) == 1
    assert [t.done for t in ts] == [False, False, False, True]
    assert all(t.source == "imported" and t.reward == 0.0 and t.valid is None for t in ts)
    assert all(t.meta["reward_known"] is False and t.meta["record_id"] == "alfworld_1043" for t in ts)
    assert all(Transition.from_dict(t.to_dict()) == t for t in ts)
    assert get_domain("alfworld").check_action(first.action, first.state) is None


def test_agenttraj_webshop_record_and_unobserved_final() -> None:
    ts, report = _run("agenttraj", FIXTURES / "agenttraj_l.json", "webshop")
    assert (report.episodes, report.transitions, report.unobserved_final) == (1, 3, 1)
    assert dict(report.skipped) == {"wrong_domain": 2}  # both alfworld_* records, the malformed one included
    assert [t.action for t in ts] == ["search[long clip-in hair extension natural looking]", "click[b09qqldj93]",
                                      "click[buy now]"]
    assert ts[0].state.startswith("WebShop [SEP] Instruction: [SEP] i need a long clip-in hair extension")
    assert ts[0].instruction == ("i need a long clip-in hair extension which is natural looking, and price lower "
                                 "than 40.00 dollars")
    last = ts[-1]
    assert last.done and last.next_state == "" and last.meta["next_state_known"] is False
    assert "next_state_known" not in ts[0].meta
    dropped, report = _run("agenttraj", FIXTURES / "agenttraj_l.json", "webshop", drop_unobserved_final=True)
    assert [t.action for t in dropped] == [t.action for t in ts[:2]] and not any(t.done for t in dropped)
    assert report.unobserved_final == 0


def test_agentinstruct_jsonl_thought_action_and_task_marker() -> None:
    ts, report = _run("agentinstruct", FIXTURES / "agentinstruct.jsonl", "alfworld")
    assert (report.records, report.episodes, report.transitions) == (3, 1, 3)
    assert dict(report.skipped) == {"wrong_domain": 1, "invalid_json": 1}
    assert report.examples["wrong_domain"] == ["agentinstruct.jsonl:2 (os_52): the record is tagged 'os', not 'alfworld'"]
    assert report.examples["invalid_json"][0].startswith("agentinstruct.jsonl:3: ")
    # "Here is your task. ... Your task is to: ..." on one line becomes the engine's two paragraphs.
    assert ts[0].state == ("You are in the middle of a room. Looking quickly around you, you see a bed 1, a desk 1, "
                           "a drawer 2, a drawer 1, a garbagecan 1, a shelf 1, and a sidetable 1.\n\nYour task is to: "
                           "examine the alarmclock with the desklamp.")
    assert [t.action for t in ts] == ["go to desk 1", "take alarmclock 1 from desk 1", "use desklamp 1"]
    assert ts[0].reasoning == ("To examine the alarmclock with the desklamp, I first need an alarmclock. A desk is a "
                               "likely place for one.")
    assert ts[2].reasoning == "I hold the alarmclock and the desklamp is here, so I turn it on."
    assert ts[2].done and ts[2].next_state == "" and ts[0].meta["format"] == "agentinstruct"


def test_eto_webshop_rewards_and_observation_labels() -> None:
    ts, report = _run("eto", FIXTURES / "eto_webshop_sft.json", "webshop")
    assert (report.records, report.episodes, report.transitions, report.unobserved_final) == (3, 2, 6, 2)
    assert dict(report.skipped) == {"unparseable_action": 1}
    assert report.examples["unparseable_action"] == ["eto_webshop_sft.json#2 (2): turn 3 has no 'Action:' line"]
    first, second = _episodes(ts)
    assert [t.action for t in first] == ["search[gluten free sugar free protein bars]", "click[b08kj1mhz6]",
                                         "click[buy now]"]
    assert first[0].next_state.startswith("Instruction: [SEP] i want a gluten free")  # "Observation:\n" removed
    assert first[0].reasoning == "I think I should search for gluten free sugar free protein bars."
    assert [(t.reward, t.done) for t in first] == [(0.0, False), (0.0, False), (1.0, True)]
    assert [(t.reward, t.done) for t in second] == [(0.0, False), (0.0, False), (0.75, True)]
    assert all(t.meta["reward_known"] is True and t.meta["format"] == "eto" for t in ts)
    assert first[0].meta["record_id"] == "0" and second[0].meta["record_id"] == "1"


def test_eto_alfworld_inline_observations() -> None:
    ts, report = _run("eto", FIXTURES / "eto_alfworld_sft.json", "alfworld")
    assert (report.episodes, report.transitions) == (1, 7)
    assert dict(report.skipped) == {"turn_order": 1}
    assert report.examples["turn_order"] == ["eto_alfworld_sft.json#1 (1): turn 4 is from 'gpt', expected 'human'"]
    assert ts[0].instruction == "put a clean cloth in bathtubbasin."
    assert [t.next_state for t in ts[:2]] == [
        "The cabinet 1 is closed.", "You open the cabinet 1. The cabinet 1 is open. In it, you see a cloth 1."]
    assert ts[4].action == "clean cloth 1 with sinkbasin 1" and ts[4].reasoning == "I am at the sinkbasin."
    assert ts[-1].action == "put cloth 1 in/on bathtubbasin 1" and ts[-1].done and ts[-1].next_state == ""


def test_wrong_domain_by_content() -> None:
    ts, report = _run("eto", FIXTURES / "eto_webshop_sft.json", "alfworld")
    assert ts == [] and dict(report.skipped) == {"wrong_domain": 2, "unparseable_action": 1}
    assert "not an ALFWorld episode" in report.examples["wrong_domain"][0]
    ts, report = _run("nnetnav", FIXTURES / "nnetnav_wa.jsonl", "webshop")
    assert ts == [] and report.skipped["wrong_domain"] == 1


def test_nnetnav_steps_to_transitions() -> None:
    ts, report = _run("nnetnav", FIXTURES / "nnetnav_wa.jsonl", "webarena")
    assert (report.records, report.episodes, report.transitions, report.unobserved_final) == (4, 1, 3, 0)
    assert dict(report.skipped) == {"missing_field": 1}
    assert report.examples["missing_field"] == [
        "nnetnav_wa.jsonl:4 (webarena_nnetnav_reddit_112, 1 steps): step record 0: no assistant message"]
    assert [t.action for t in ts] == ["type [1585] [usb c hub] [1]", "click [3602]", "stop [$15.99]"]
    assert ts[0].state.startswith("Tab 0 (current): One Stop Market\n\n[1] RootWebArea 'One Stop Market' focused: True\n")
    assert ts[0].state.endswith("\t[1588] button 'Search' disabled: True\nURL: http://onestopmarket.com/")
    assert ts[0].next_state == ts[1].state and ts[1].next_state == ts[2].state
    assert ts[1].state.endswith("\nURL: http://onestopmarket.com/catalogsearch/result/?q=usb+c+hub")
    assert ts[0].instruction == "What is the price of the cheapest USB C hub in the search results for 'usb c hub'?"
    assert ts[0].reasoning.startswith("Let's think step-by-step. I am on the One Stop Market home page")
    assert ts[0].reasoning.endswith("I will type the query and press Enter.") and "```" not in ts[0].reasoning
    # stop [answer] leaves the page as it is (the domain's rule), so the last step is fully observed.
    assert ts[2].done and ts[2].next_state == ts[2].state and "next_state_known" not in ts[2].meta
    assert all(t.meta["reward_known"] is False and t.reward == 0.0 for t in ts)
    domain = get_domain("webarena")
    assert all(domain.check_action(t.action, t.state) is None for t in ts)


def _nnetnav_records() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "nnetnav_wa.jsonl").read_text().splitlines()]


def test_nnetnav_orders_steps_and_rejects_gaps() -> None:
    recs = _nnetnav_records()
    ts, _ = _run("nnetnav", list(reversed(recs[:3])), "webarena")
    assert [t.action for t in ts] == ["type [1585] [usb c hub] [1]", "click [3602]", "stop [$15.99]"]
    ts, report = _run("nnetnav", [recs[0], recs[2]], "webarena")
    assert ts == [] and dict(report.skipped) == {"turn_order": 1}
    assert "[0, 2]" in report.examples["turn_order"][0]
    other = copy.deepcopy(recs[0])
    other["task_name"] = other["id"] = "webarena_nnetnav_shopping_48"
    ts, report = _run("nnetnav", [recs[0], other, recs[1], recs[2]], "webarena")
    assert dict(report.skipped) == {"non_contiguous_episode": 2}
    assert report.episodes == 2 and report.transitions == 2  # two one-step episodes, both ending unobserved


BAD = [
    ("a string", "not_an_object"),
    ({"item_id": "alfworld_1"}, "missing_field"),
    ({"item_id": "alfworld_1", "conversations": []}, "empty_conversation"),
    ({"item_id": "alfworld_1", "conversations": "hello"}, "bad_field"),
    ({"item_id": "alfworld_1", "conversations": [{"from": "human"}]}, "missing_field"),
    ({"item_id": "alfworld_1", "conversations": [{"from": "observer", "value": "x"}]}, "unknown_role"),
    ({"item_id": "alfworld_1", "conversations": [{"from": "human", "value": "prompt"}, {"from": "gpt", "value": "OK"}]},
     "empty_conversation"),
    ({"item_id": "sciworld_3", "conversations": [{"from": "human", "value": "Your task is to boil water."}]},
     "wrong_domain"),
]


@pytest.mark.parametrize(("record", "reason"), BAD, ids=[r for _, r in BAD])
def test_bad_records_are_skipped_with_a_reason(record, reason) -> None:
    good = json.loads((FIXTURES / "agenttraj_l.json").read_text())[0]
    ts, report = _run("agenttraj", [record, good], "alfworld")
    assert dict(report.skipped) == {reason: 1}
    assert report.episodes == 1 and len(ts) == 4  # the good record after it still imports


def _with_reward(value) -> dict:
    rec = copy.deepcopy(json.loads((FIXTURES / "eto_webshop_sft.json").read_text())[0])
    rec["reward"] = value
    return rec


@pytest.mark.parametrize("value", ["high", 3.0, float("nan")])
def test_bad_rewards_are_skipped(value) -> None:
    ts, report = _run("eto", [_with_reward(value)], "webshop")
    assert ts == [] and dict(report.skipped) == {"bad_field": 1}


def test_success_field_is_a_reward() -> None:
    rec = _with_reward(None)
    rec["success"] = True
    ts, _ = _run("eto", [rec], "webshop")
    assert ts[-1].reward == 1.0 and ts[-1].meta["reward_known"] is True


def test_oversize_is_configurable() -> None:
    big = json.loads((FIXTURES / "agenttraj_l.json").read_text())[0]
    big["conversations"][4]["value"] = "On the cabinet 1, you see " + "a cloth 1, " * 500 + "and a soapbar 1."
    ts, report = _run("agenttraj", [big], "alfworld")  # ALFWorld's bound: 4000 chars
    assert ts == [] and dict(report.skipped) == {"oversize": 1}
    assert "limit 4000" in report.examples["oversize"][0]
    ts, report = _run("agenttraj", [big], "alfworld", max_observation_chars=10_000)
    assert len(ts) == 4 and not report.skipped
    ts, report = _run("agenttraj", FIXTURES / "agenttraj_l.json", "alfworld", max_action_chars=10)
    assert report.skipped["oversize"] == 1


def test_max_episodes() -> None:
    ts, report = _run("eto", FIXTURES / "eto_webshop_sft.json", "webshop", max_episodes=1)
    assert report.episodes == 1 and len(ts) == 3 and report.records == 1


def test_folder_and_missing_paths() -> None:
    report = ImportReport("load", "alfworld")
    records = list(load_records(FIXTURES, report=report))
    assert len(records) == 3 + 2 + 3 + 2 + 4  # every record of every fixture; the bad JSON line is counted
    assert report.skipped == {"invalid_json": 1}
    _, report = _run("agenttraj", FIXTURES, "alfworld")  # ETO's records share the schema
    assert report.episodes == 3 and report.skipped["invalid_json"] == 1
    with pytest.raises(InvalidConfigError, match="does not exist"):
        list(load_records("./no/such/file.jsonl"))
    with pytest.raises(InvalidConfigError, match="Unknown import format 'sharegpt'"):
        list(iter_transitions("sharegpt", FIXTURES, ImportConfig(domain="alfworld")))


def test_saved_hugging_face_dataset_picks_the_domain_split(tmp_path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = json.loads((FIXTURES / "eto_webshop_sft.json").read_text())
    alf = json.loads((FIXTURES / "eto_alfworld_sft.json").read_text())
    dd = datasets.DatasetDict({"webshop": datasets.Dataset.from_list(rows),
                               "alfworld": datasets.Dataset.from_list(alf)})
    dd.save_to_disk(str(tmp_path / "eto"))
    ts, report = _run("eto", tmp_path / "eto", "webshop")
    assert (report.records, report.episodes, report.transitions) == (3, 2, 6)
    assert ts == _run("eto", FIXTURES / "eto_webshop_sft.json", "webshop")[0]
    ts2, report = _run("eto", tmp_path / "eto", "webshop", split="alfworld")
    assert ts2 == [] and report.skipped["wrong_domain"] == 1


def test_domain_hooks() -> None:
    alf = get_domain("alfworld").import_hooks()
    obs = alf.clean_observation("On the desk 1, you see a pen 1.\nAVAILABLE ACTIONS: examine desk 1, take pen 1 from "
                                "desk 1, go to bed 1")
    assert obs == ImportedObservation("On the desk 1, you see a pen 1.", None,
                                      {"admissible_actions": ["examine desk 1", "take pen 1 from desk 1", "go to bed 1"]})
    assert alf.clean_action(" go to desk 1. ") == "go to desk 1"
    shop = get_domain("webshop").import_hooks()
    page = ("Instruction: [SEP] i need a red mug [SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] Next > "
            "[SEP] B0ABC [SEP] Red Mug [SEP] $9.99\n\nAvailable Actions:\n{'has_search_bar': False, 'clickables': "
            "['back to search', 'next >', 'b0abc']}")
    obs = shop.clean_observation(page)
    assert obs.text.endswith("[SEP] $9.99") and obs.instruction == "i need a red mug"
    assert obs.meta == {"admissible_actions": ["click[back to search]", "click[next >]", "click[b0abc]"]}
    assert shop.clean_action("click[Buy Now]") == "click[buy now]" and shop.clean_action("search[Red Mug]") == \
        "search[Red Mug]"
    web = get_domain("webarena").import_hooks()
    assert web.clean_observation("[1] RootWebArea 'Postmill' focused: True\n\t[36] link 'Forums'\nURL: http://r/").text \
        == "Tab 0 (current): Postmill\n\n[1] RootWebArea 'Postmill' focused: True\n\t[36] link 'Forums'\nURL: http://r/"
    assert web.final_observation("page", "stop [N/A]") == "page" and web.final_observation("page", "click [3]") is None
    plain = ImportHooks()  # the default every domain gets: no change
    assert plain.clean_observation(" x ") == ImportedObservation(" x ") and plain.check_episode("x") is None


def test_cli_round_trip(tmp_path, capsys) -> None:
    out = tmp_path / "eto.jsonl"
    path = str(FIXTURES / "eto_webshop_sft.json")
    assert main(["import", "eto", path, "--domain", "webshop", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "transitions written" in printed and "unparseable_action" in printed and "wrote 6 transitions" in printed
    loaded = load_transitions(out)
    assert loaded == list(iter_transitions("eto", path, ImportConfig(domain="webshop")))
    assert main(["import", "eto", path, "--domain", "webshop", "--out", str(out), "--max", "1"]) == 0
    assert len(load_transitions(out)) == 3
    assert main(["import", "eto", path, "--domain", "alfworld", "--out", str(tmp_path / "none.jsonl")]) == 1
    assert main(["import", "sharegpt", path, "--domain", "webshop", "--out", str(out)]) == 1
    assert "Unknown import format" in capsys.readouterr().out


def test_imported_transitions_go_into_a_replay_store(tmp_path) -> None:
    report = import_to_file("agenttraj", FIXTURES / "agenttraj_l.json", tmp_path / "t.jsonl",
                            ImportConfig(domain="alfworld"))
    imported = load_transitions(tmp_path / "t.jsonl")
    assert len(imported) == report.transitions == 4
    buf = open_replay(tmp_path / "replay.sqlite", HashEmbedder())
    ids = buf.add(imported)
    assert buf.add(imported) == ids and buf.count("alfworld") == 4  # same uids: no duplicates
    hit = buf.retrieve("alfworld", [(imported[2].state, imported[2].action)], k=1)[0][0]
    assert hit.transition == imported[2] and hit.transition.source == "imported"
    buf.close()
    assert TransitionStore(tmp_path / "replay.sqlite").get(ids) == imported
