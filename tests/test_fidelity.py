"""Fidelity harness: metrics, predictors, domain hooks and the ``dreamgym eval fidelity`` command."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dreamgym_env.domain import Outcome, get_domain
from dreamgym_env.evaluation import fidelity as fid
from dreamgym_env.types import Transition
from tests.fakes import FakeModel

ALF = get_domain("alfworld")


def _items(n: int = 12) -> list[fid.EvalItem]:
    return fid.load_items(ALF, list(ALF.seed_transitions()[:80]), fid.FidelityConfig("alfworld", limit=n, seed=3))


def test_text_metrics():
    assert fid.normalize("  a\n b  ") == "a b"
    assert fid.token_f1("a b c", "a b c") == 1.0
    assert fid.token_f1("", "") == 1.0 and fid.token_f1("a", "") == 0.0
    assert fid.token_f1("a b", "a c") == pytest.approx(0.5)
    assert fid.set_f1(frozenset({"x", "y"}), frozenset({"x"})) == pytest.approx(2 / 3)
    assert fid.set_f1(frozenset(), frozenset()) == 1.0


def test_items_keep_real_history_and_a_seeded_sample():
    items = _items(12)
    assert len(items) == 12 and items == _items(12)
    for it in items:
        assert [h.step for h in it.history] == list(range(it.truth.step))
        assert all(h.episode_id == it.truth.episode_id for h in it.history)


def test_perfect_and_wrong_predictions_score_as_expected():
    items = _items(20)
    perfect = [fid.Prediction(Outcome(i.truth.next_state, i.truth.reward, i.truth.done),
                              Outcome(i.truth.next_state, i.truth.reward, i.truth.done)) for i in items]
    res = fid.score(ALF, items, perfect, fid.FidelityConfig("alfworld"))
    for view in ("env", "model"):
        m = res[view]
        assert m["reward_agree"] == m["done_agree"] == m["invalid_acc"] == m["exact"] == m["token_f1"] == 1.0
    nothing = [fid.Prediction(Outcome("Nothing happens.", 0.0, False), Outcome("Nothing happens.", 0.0, False))
               for _ in items]
    m = fid.score(ALF, items, nothing, fid.FidelityConfig("alfworld"))["env"]
    n_inv = sum(1 for i in items if i.truth.valid is False)
    assert m["invalid_acc"] == pytest.approx(n_inv / len(items))
    assert m["invalid_recall"] in (None, 1.0)


def test_mismatches_lists_each_inexact_step_once_with_what_was_said():
    items = _items(20)
    preds = [fid.Prediction(Outcome(i.truth.next_state, i.truth.reward, i.truth.done),
                            Outcome(i.truth.next_state, i.truth.reward, i.truth.done)) for i in items]
    wrong = {1, 4}
    for k in wrong:  # 1: the model wrong and kept; 4: the model right, the env's rules changed it
        bad = Outcome("Nothing happens.  ", 0.0, False)
        preds[k] = fid.Prediction(bad if k == 1 else preds[k].model, bad, reasoning="r" * 900)
    preds[7] = fid.Prediction(preds[7].model, Outcome(items[7].truth.next_state + "\n ", 0.0, False))  # whitespace only
    rows = fid.mismatches(ALF, items, preds, "m")
    assert [(r["episode_id"], r["step"]) for r in rows] == [(items[k].truth.episode_id, items[k].truth.step)
                                                             for k in sorted(wrong)]
    assert [r["model_changed_by_env"] for r in rows] == [False, True]
    assert all(r["truth"] == items[k].truth.next_state and r["env"] == "Nothing happens.  " and r["predictor"] == "m"
               and len(r["reasoning"]) == 600 and r["hidden"] == ALF.reveals_hidden(items[k].truth, items[k].history)
               for r, k in zip(rows, sorted(wrong)))


def test_alfworld_hidden_facts():
    t = Transition(domain="alfworld", task_id="t", instruction="put a mug in cabinet.", state="You arrive at x.",
                   action="go to countertop 1", next_state="On the countertop 1, you see a mug 1.", reward=0.0,
                   done=False)
    assert ALF.reveals_hidden(t, [])  # mug 1 was never mentioned
    seen = dataclasses.replace(t, state="On the countertop 1, you see a mug 1.", action="look",
                               next_state="You are facing the countertop 1. Next to it, you see a mug 1.")
    assert not ALF.reveals_hidden(seen, [])
    assert not ALF.reveals_hidden(dataclasses.replace(t, next_state="Nothing happens."), [])


def test_webarena_elements():
    wa = get_domain("webarena")
    tree = "Tab 0 (current): Home\n\n[1] RootWebArea 'Home' focused: True\n\t[12] link 'My Account'\n\t[13] button 'Go'"
    assert wa.state_elements(tree) == frozenset({"RootWebArea 'Home'", "link 'My Account'", "button 'Go'"})
    assert wa.state_elements("no tree here") is None
    assert ALF.state_elements("Nothing happens.") is None


def test_model_predictor_env_view_applies_guard_and_rules():
    """A model claiming success everywhere: the env view keeps only what the domain's rules allow."""
    liar = FakeModel(lambda r: "<think>done</think>\n<state>You win.</state>\n<reward>1</reward>\n<done>true</done>")
    items = _items(16)
    bad = dataclasses.replace(items[0], truth=dataclasses.replace(items[0].truth, action="fly to the moon"))
    pred = fid.ModelPredictor("liar", ALF, liar)
    preds = pred.predict([bad, *items[1:]])
    assert preds[0].env.next_state == "Nothing happens." and preds[0].model.reward == 1.0
    assert all(p.model.reward == 1.0 for p in preds)
    for it, p in zip([bad, *items[1:]], preds):  # reward only where a put/use could satisfy the goal
        assert p.env.reward == 0 or it.truth.action.startswith(("put ", "move ", "use "))
    assert sum(p.env.reward for p in preds) < len(preds) / 2
    res = fid.evaluate(ALF, items, fid.ModelPredictor("liar", ALF, FakeModel(liar.reply_fn)),
                       fid.FidelityConfig("alfworld", batch=5), progress=False)
    assert res["model"]["reward_agree"] < 0.5 <= res["env"]["reward_agree"]
    assert res["parse_fallback"] == 0.0 and len(res["samples"]) == 5


def test_unreadable_replies_count_as_fallback():
    items = _items(4)
    res = fid.evaluate(ALF, items, fid.ModelPredictor("junk", ALF, FakeModel(lambda r: "garbage")),
                       fid.FidelityConfig("alfworld"), progress=False)
    assert res["parse_fallback"] == 1.0


def test_prompts_too_long_for_the_model_are_counted():
    from dreamgym_env.model.base import CONTEXT_LENGTH, ModelReply

    class NoRoom(FakeModel):
        def generate(self, requests):
            return [ModelReply(text="", finish_reason=CONTEXT_LENGTH) for _ in requests]

    res = fid.evaluate(ALF, _items(4), fid.ModelPredictor("tiny-context", ALF, NoRoom()),
                       fid.FidelityConfig("alfworld"), progress=False)
    assert res["prompt_shortened"] == 1.0 and res["parse_fallback"] == 1.0


def test_nearest_neighbour_on_its_own_data_is_exact(embedder):
    from dreamgym_env.replay.buffer import open_replay

    trs = list(ALF.seed_transitions()[:80])
    replay = open_replay(None, embedder)
    replay.add(trs)
    items = fid.load_items(ALF, trs, fid.FidelityConfig("alfworld", limit=None))
    # Duplicated (state, action) keys may map to another copy; the stored outcome must then match.
    res = fid.evaluate(ALF, items, fid.NearestNeighbourPredictor("nn", ALF, replay),
                       fid.FidelityConfig("alfworld", limit=None), progress=False)
    assert res["env"]["exact"] >= 0.9 and res["items"] == 80


def test_cli_eval_fidelity_writes_json_markdown_and_plot(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from dreamgym_env import cli

    data = tmp_path / "held.jsonl"
    data.write_text("".join(json.dumps(t.to_dict()) + "\n" for t in ALF.seed_transitions()[:40]))
    out = tmp_path / "fid.json"
    rc = cli.main(["eval", "fidelity", "--domain", "alfworld", "--data", str(data), "--model", "nn=nn",
                   "--limit", "10", "--json", str(out), "--markdown", str(tmp_path / "t.md"),
                   "--plot", str(tmp_path / "p.png"), "--errors", str(tmp_path / "err.jsonl")])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["results"][0]["predictor"] == "nn" and res["results"][0]["items"] == 10
    errors = (tmp_path / "err.jsonl").read_text().splitlines()
    assert len(errors) == round(10 * (1 - res["results"][0]["env"]["exact"]))  # one record per inexact step
    assert "| nn |" in (tmp_path / "t.md").read_text()
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_judge_scores_parse_and_aggregate():
    from dreamgym_env.evaluation.judge import JudgeConfig, judge, parse_scores
    from tests.stubs import StubServer

    assert parse_scores('ok {"consistency": 2, "diversity": 1, "informativeness": 2, "hallucination": 0}') == {
        "consistency": 2, "diversity": 1, "informativeness": 2, "hallucination": 0}
    assert parse_scores('{"consistency": 3, "diversity": 1, "informativeness": 2, "hallucination": 0}') is None
    assert parse_scores("no json") is None and parse_scores('{"consistency": "x"}') is None
    items = _items(3)
    preds = [fid.Prediction(Outcome("Nothing happens.", 0.0, False), Outcome("Nothing happens.", 0.0, False))] * 3
    stub = StubServer(reply='{"consistency": 2, "diversity": 0, "informativeness": 1, "hallucination": 2}')
    try:
        res = judge(JudgeConfig(stub.url, "m"), ALF, items, preds)
        assert res["scored"] == 3 and res["consistency"] == 2 and res["diversity"] == 0
        assert "Nothing happens." in stub.bodies[0]["messages"][0]["content"]
        stub.reply = "I refuse to give numbers"
        assert judge(JudgeConfig(stub.url, "m"), ALF, items, preds)["unreadable"] == 3
    finally:
        stub.stop()


def _webshop_items(n: int = 60) -> tuple:
    ws = get_domain("webshop")
    return ws, fid.load_items(ws, list(ws.seed_transitions()), fid.FidelityConfig("webshop", limit=n, seed=1))


def test_an_exact_unchanged_page_after_a_valid_action_is_no_invalid_miss():
    """A WebShop option click leaves the page as it was: predicting that page is right, not a missed 'valid'."""
    ws, items = _webshop_items(400)
    same = [it for it in items if it.truth.valid and it.truth.next_state == it.truth.state]
    assert same, "the seed data has option clicks"
    perfect = [fid.Prediction(Outcome(i.truth.next_state, 0.0, False), Outcome(i.truth.next_state, 0.0, False))
               for i in same]
    assert fid.score(ws, same, perfect, fid.FidelityConfig("webshop"))["env"]["invalid_acc"] == 1.0
    moved = [fid.Prediction(Outcome("elsewhere", 0.0, False), Outcome("elsewhere", 0.0, False)) for _ in same]
    assert fid.score(ws, same, moved, fid.FidelityConfig("webshop"))["env"]["invalid_acc"] == 1.0  # said: valid
    stuck = [fid.Prediction(Outcome(i.truth.state + " x", 0.0, False), Outcome(i.truth.state + " x", 0.0, False))
             for i in same]
    assert fid.score(ws, same, stuck, fid.FidelityConfig("webshop"))["env"]["exact"] == 0.0


def test_copy_predictor_is_the_rules_alone():
    ws, items = _webshop_items(120)
    preds = fid.make_predictor("copy", "copy", ws, replay=None).predict(items)
    for it, p in zip(items, preds):
        assert p.model == Outcome(it.truth.state, 0.0, False)
    told = 0
    for it, p in zip(items, preds):  # every told page is the engine's; a purchase page says what was bought
        if ws.check_action(it.truth.action, it.truth.state) is None \
                and ws.told_outcome(it.task, it.history, it.truth.state, it.truth.action) is not None:
            told += 1
            assert p.env.next_state == it.truth.next_state
        if it.truth.action == "click[buy now]" and it.truth.done:
            assert p.env.done and p.env.next_state.startswith("Thank you for shopping with us!")
    assert told > 10
