"""SFT data and training: examples match the env's prompts, loss only on the reply, resume, LoRA, bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dreamgym_env.domain import get_domain
from dreamgym_env.error import InvalidConfigError, ModelLoadError
from dreamgym_env.model.prompt import PromptConfig, build_messages, format_target
from dreamgym_env.training.examples import TOLD, BuildReport, ExampleConfig, build_examples, episodes_of
from dreamgym_env.types import Transition

pytest.importorskip("trl")

DOMAIN = get_domain("alfworld")
TINY = {"vocab_size": 400, "hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "max_positions": 2048}


def _seeds(n: int = 60) -> list[Transition]:
    return list(DOMAIN.seed_transitions()[:n])


def test_examples_are_the_env_prompt_with_history_and_target():
    trs = _seeds(40)
    examples, report = build_examples(trs, DOMAIN.system_prompt(), ExampleConfig(domain="alfworld", retrieval_k=0))
    assert report.kept == len(examples) == 40 and not report.skipped
    by_uid = {t.uid: t for t in trs}
    eps = {e[0].episode_id: e for e in episodes_of(trs)}
    for ex in examples:
        t = by_uid[ex["meta"]["uid"]]
        history = [h for h in eps[t.episode_id] if h.step < t.step]
        assert ex["prompt"] == build_messages(DOMAIN.system_prompt(), t.instruction, history, [], t.state, t.action)
        assert ex["completion"] == [{"role": "assistant",
                                     "content": format_target(t.reasoning, t.next_state, t.reward, t.done)}]


def test_neighbours_come_from_the_index_and_exclude_the_same_task(embedder):
    from dreamgym_env.replay.buffer import open_replay

    seeds = list(DOMAIN.seed_transitions())
    replay = open_replay(None, embedder)
    replay.add(seeds)
    trs = seeds[:30]
    cfg = ExampleConfig(domain="alfworld", retrieval_k=3, exclude="task")
    examples, _ = build_examples(trs, DOMAIN.system_prompt(), cfg, replay)
    task_of = {t.uid: t.task_id for t in seeds}
    for ex in examples:
        user = ex["prompt"][1]["content"]
        assert "Similar transitions from the real environment:" in user
        assert user.count("Example ") == 3
    # With exclusion "none" a transition retrieves itself first (its own key is in the index).
    ex_none, _ = build_examples(trs[:5], DOMAIN.system_prompt(), dataclasses.replace(cfg, exclude="none"), replay)
    for ex in ex_none:
        t = next(t for t in trs if t.uid == ex["meta"]["uid"])
        assert f"<action>{t.action}</action>" in ex["prompt"][1]["content"].split("Current state:")[0]
    assert all(task_of[ex["meta"]["uid"]] for ex in examples)


def test_bad_records_are_skipped_with_reasons():
    good = _seeds(3)
    bad = [
        dataclasses.replace(good[0], uid="a", domain="webshop"),
        dataclasses.replace(good[0], uid="b", reasoning=""),
        dataclasses.replace(good[0], uid="c", next_state=""),
        dataclasses.replace(good[0], uid="d", state="x" * 50_000),
        dataclasses.replace(good[0], uid="e", meta={"reasoning_source": "agent"}),
    ]
    cfg = ExampleConfig(domain="alfworld", retrieval_k=0, max_prompt_chars=6000)  # states are clipped to 8000 chars
    examples, report = build_examples(good + bad, DOMAIN.system_prompt(), cfg)
    assert report.read == 8 and report.kept == len(examples) == 3
    assert report.skipped == {"domain 'webshop' is not 'alfworld'": 1, "missing reasoning": 1, "empty next_state": 1,
                              "oversize prompt": 1, "reasoning is the agent's thought, not the environment's": 1}
    # Without the reasoning target a missing reasoning is fine.
    cfg = ExampleConfig(domain="alfworld", retrieval_k=0, prompt=PromptConfig(reasoning=False))
    examples, report = build_examples(good + bad[1:2], DOMAIN.system_prompt(), cfg)
    assert report.kept == 4 and "<think>" not in examples[0]["completion"][0]["content"]


def test_limit_samples_before_retrieval():
    examples, report = build_examples(_seeds(60), DOMAIN.system_prompt(), ExampleConfig(domain="alfworld", retrieval_k=0),
                                      limit=7, seed=1)
    assert report.kept == 7 and len({e["meta"]["uid"] for e in examples}) == 7


def test_scratch_template_makes_the_prompt_a_prefix_of_the_example():
    """TRL masks the loss by this prefix: the loss covers exactly the reply (and its end token)."""
    from dreamgym_env.training.scratch import ScratchConfig, example_texts, train_tokenizer

    examples, _ = build_examples(_seeds(20), DOMAIN.system_prompt(), ExampleConfig(domain="alfworld", retrieval_k=0))
    tok = train_tokenizer(example_texts(examples), ScratchConfig(vocab_size=600))
    for ex in examples[:5]:
        prompt = tok.apply_chat_template(ex["prompt"], add_generation_prompt=True, tokenize=False)
        full = tok.apply_chat_template([*ex["prompt"], *ex["completion"]], tokenize=False)
        assert full.startswith(prompt)
        reply = full[len(prompt):]
        assert reply == ex["completion"][0]["content"] + tok.eos_token
        assert DOMAIN.system_prompt()[:40] not in prompt  # the static rules live in the weights
        ids = tok(reply, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids, skip_special_tokens=True) == ex["completion"][0]["content"]  # tags survive decoding


def _write(path: Path, trs, extra_lines=()) -> Path:
    with path.open("w") as f:
        for t in trs:
            f.write(json.dumps(t.to_dict()) + "\n")
        for line in extra_lines:
            f.write(line + "\n")
    return path


def test_train_scratch_resume_and_serveable_folder(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, train

    data = _write(tmp_path / "d.jsonl", _seeds(24), ['{"not": "a transition"}', "{broken json"])
    cfg = TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "run"), max_steps=2, batch_size=4,
                      save_steps=1, retrieval_k=0, scratch=ScratchConfig(**TINY), threads=1)
    rep = train(cfg, progress=False)
    assert rep["steps"] == 2 and rep["examples"]["kept"] == 24 and rep["device"] == "cpu"
    assert sum(rep["examples"]["skipped"].values()) == 2  # the two malformed lines, counted
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-2").exists()
    model_dir = tmp_path / "run" / "model"
    meta = json.loads((model_dir / "dreamgym.json").read_text())
    assert meta["retrieval_k"] == 0 and meta["prompt"]["history_window"] == 6
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    assert model.config.vocab_size == len(tok) and tok.chat_template
    # A second run with a larger step budget resumes from checkpoint-2 (same tokenizer, no retraining).
    rep2 = train(dataclasses.replace(cfg, max_steps=3), progress=False)
    assert rep2["steps"] == 3 and rep2["resumed_from_step"] == 2
    assert rep2["examples_per_s"] == pytest.approx(4 / rep2["wall_s"], rel=0.2)  # one step's worth, not three
    assert AutoTokenizer.from_pretrained(str(model_dir)).get_vocab() == tok.get_vocab()


def test_train_lora_merges_into_a_plain_model(tmp_path):
    from transformers import AutoModelForCausalLM

    from dreamgym_env.training.scratch import ScratchConfig, example_texts, init_model, train_tokenizer
    from dreamgym_env.training.sft import TrainConfig, train

    examples, _ = build_examples(_seeds(8), DOMAIN.system_prompt(), ExampleConfig(domain="alfworld", retrieval_k=0))
    tok = train_tokenizer(example_texts(examples), ScratchConfig(**TINY))
    base = tmp_path / "base"
    init_model(tok, ScratchConfig(**TINY)).save_pretrained(str(base))
    tok.save_pretrained(str(base))
    data = _write(tmp_path / "d.jsonl", _seeds(8))
    rep = train(TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "run"), base=str(base),
                            lora=True, lora_rank=4, max_steps=1, batch_size=4, retrieval_k=0, threads=1),
                progress=False)
    assert rep["trainable_params"] < rep["params"] / 2
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "run" / "model"))
    assert not any("lora" in n for n, _ in model.named_parameters())


def test_unloadable_base_and_missing_data_raise_typed_errors(tmp_path):
    from dreamgym_env.training.sft import TrainConfig, train

    data = _write(tmp_path / "d.jsonl", _seeds(4))
    with pytest.raises(ModelLoadError, match="nope"):
        train(TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "r"), base=str(tmp_path / "nope"),
                          retrieval_k=0), progress=False)
    with pytest.raises(InvalidConfigError, match="does not exist"):
        train(TrainConfig(domain="alfworld", data=(str(tmp_path / "missing.jsonl"),), out=str(tmp_path / "r2")),
              progress=False)
    empty = _write(tmp_path / "e.jsonl", [dataclasses.replace(t, domain="webshop") for t in _seeds(2)])
    with pytest.raises(InvalidConfigError, match="No usable training examples"):
        train(TrainConfig(domain="alfworld", data=(str(empty),), out=str(tmp_path / "r3"), retrieval_k=0),
              progress=False)


def test_build_report_is_json():
    r = BuildReport(read=2, kept=1)
    r.skip("x")
    assert json.loads(json.dumps(r.to_dict())) == {"read": 2, "kept": 1, "skipped": {"x": 1}}


@pytest.mark.parametrize("domain_name", ["alfworld", "webshop"])
def test_task_generation_examples_use_the_curriculum_prompts(domain_name):
    from dreamgym_env.curriculum import CurriculumConfig
    from dreamgym_env.curriculum.generation import (
        generation_request,
        parse_selection,
        parse_variations,
        selection_request,
    )
    from dreamgym_env.training.task_examples import task_generation_examples

    domain = get_domain(domain_name)
    cfg = CurriculumConfig(variations_per_seed=4)
    examples, counts = task_generation_examples(domain, 12, cfg, seed=3)
    assert len(examples) == 12 and counts["generation"] + counts["selection"] == 12
    by_text: dict[str, list] = {}
    for t in domain.tasks("train"):
        by_text.setdefault(t.instruction, []).append(t)
    kinds = set()
    for ex in examples:
        user = ex["prompt"][1]["content"]
        same = by_text[user.split("\n", 1)[0].removeprefix("Original task: ")]
        target = ex["completion"][0]["content"]
        # Tasks can share an instruction across layouts: the parent is the one whose check the target passes.
        parent = next((p for p in same if all(domain.check_generated_task(v, p).task is not None
                                              for v in parse_variations(target) if "SELECTION" not in v)), same[0])
        target = ex["completion"][0]["content"]
        if "Candidates:" in user:
            kinds.add("selection")
            cands = parse_variations(user.split("Candidates:\n", 1)[1])
            assert ex["prompt"] == [dict(m) for m in selection_request(domain, parent, cands, cfg).messages]
            picked, reasoning = parse_selection(target, len(cands))
            valid = [i for i, c in enumerate(cands) if domain.check_generated_task(c, parent).task is not None]
            assert picked == valid and 0 < len(valid) < len(cands) and "infeasible" in reasoning
        else:
            kinds.add("generation")
            assert ex["prompt"] == [dict(m) for m in generation_request(domain, parent, cfg).messages]
            variations = parse_variations(target)
            assert 1 <= len(variations) <= 4
            assert all(domain.check_generated_task(v, parent).task is not None for v in variations)
    assert kinds == {"generation", "selection"} or domain_name == "webshop"


def test_train_mixes_in_task_generation_examples(tmp_path):
    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, train

    data = _write(tmp_path / "d.jsonl", _seeds(8), [])
    cfg = TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "run"), max_steps=1, batch_size=4,
                      retrieval_k=0, scratch=ScratchConfig(**TINY), threads=1, task_generation_examples=6)
    rep = train(cfg, progress=False)
    assert rep["examples"]["kept"] == 8 + 6
    assert sum(rep["task_generation_examples"].get(k, 0) for k in ("generation", "selection")) == 6


@pytest.mark.parametrize("name", ["ex.jsonl", "ex.jsonl.gz"])
def test_exported_examples_train_elsewhere_with_their_own_prompt_layout(tmp_path, name):
    from dreamgym_env.training.examples import load_examples
    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, export_examples, prepare_examples, train

    data = _write(tmp_path / "d.jsonl", _seeds(12), ["{broken json"])
    built = TrainConfig(domain="alfworld", data=(str(data),), out="", retrieval_k=0, history_window=2,
                        reasoning=False)
    header = export_examples(built, tmp_path / name, progress=False)
    assert header["build"]["kept"] == 12 and header["build"]["skipped"] == {"malformed record (JSONDecodeError)": 1}
    head, examples = load_examples(tmp_path / name)
    assert head["prompt"]["history_window"] == 2 and head["prompt"]["reasoning"] is False
    again, _, _ = prepare_examples(built, progress=False)
    assert examples == again  # the file holds exactly what a local run would train on
    # The trainer takes the layout from the file, not from its own (default) config.
    rep = train(TrainConfig(domain="alfworld", data=(), out=str(tmp_path / "run"), examples=str(tmp_path / name),
                            max_steps=1, batch_size=4, scratch=ScratchConfig(**TINY), threads=1), progress=False)
    assert rep["steps"] == 1 and rep["examples"]["kept"] == 12
    meta = json.loads((tmp_path / "run" / "model" / "dreamgym.json").read_text())
    assert meta["retrieval_k"] == 0 and meta["prompt"]["history_window"] == 2 and meta["prompt"]["reasoning"] is False


def test_bad_examples_files_raise_typed_errors(tmp_path):
    from dreamgym_env.error import DataFormatError
    from dreamgym_env.training.examples import load_examples, save_examples
    from dreamgym_env.training.sft import TrainConfig, train

    with pytest.raises(InvalidConfigError, match="does not exist"):
        load_examples(tmp_path / "missing.jsonl")
    transitions = _write(tmp_path / "d.jsonl", _seeds(2))
    with pytest.raises(DataFormatError, match="not an examples export"):
        load_examples(transitions)  # a transitions file is not an examples file
    bad = tmp_path / "bad.jsonl"
    save_examples(bad, [], {"domain": "alfworld"})
    with bad.open("a") as f:
        f.write('{"prompt": [], "completion": []}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl: record 2, field 'prompt/completion'"):
        load_examples(bad)
    webshop = tmp_path / "ws.jsonl"
    save_examples(webshop, [{"prompt": [{"role": "user", "content": "x"}],
                             "completion": [{"role": "assistant", "content": "y"}]}],
                  {"domain": "webshop", "prompt": {}, "retrieval_k": 0})
    with pytest.raises(InvalidConfigError, match="--domain webshop"):
        train(TrainConfig(domain="alfworld", data=(), out=str(tmp_path / "run"), examples=str(webshop)),
              progress=False)


def test_cli_exports_then_trains_from_the_file(tmp_path, capsys):
    from dreamgym_env.cli import main

    data = _write(tmp_path / "d.jsonl", _seeds(8))
    ex = tmp_path / "ex.jsonl.gz"
    assert main(["train", "--domain", "alfworld", "--data", str(data), "--retrieval-k", "0",
                 "--export-examples", str(ex)]) == 0
    assert "examples:" in capsys.readouterr().out and not (tmp_path / "run").exists()
    assert main(["train", "--domain", "alfworld", "--examples", str(ex), "--out", str(tmp_path / "run"),
                 "--max-steps", "1", "--batch-size", "4", "--hidden", "32", "--layers", "1", "--heads", "2",
                 "--intermediate", "64", "--vocab", "400", "--threads", "1", "--max-length", "3000"]) == 0
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["max_position_embeddings"] == 3000  # a longer --max-length gets the positions for it
    with pytest.raises(InvalidConfigError, match="--data"):
        main(["train", "--domain", "alfworld", "--out", str(tmp_path / "x")])


def test_a_time_limit_stops_training_and_still_writes_the_model(tmp_path):
    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, train

    data = _write(tmp_path / "d.jsonl", _seeds(8))
    cfg = TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "run"), max_steps=500, batch_size=4,
                      save_steps=1000, retrieval_k=0, scratch=ScratchConfig(**TINY), threads=1, max_seconds=0.0)
    rep = train(cfg, progress=False)
    assert rep["steps"] == 1 and rep["stopped_by_time_limit"] is True
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    unlimited = train(dataclasses.replace(cfg, out=str(tmp_path / "run2"), max_steps=2, max_seconds=None),
                      progress=False)
    assert unlimited["steps"] == 2 and unlimited["stopped_by_time_limit"] is False


def test_a_diverged_run_raises_and_writes_no_model(tmp_path):
    from dreamgym_env.error import TrainingDivergedError
    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, train

    data = _write(tmp_path / "d.jsonl", _seeds(8))
    cfg = TrainConfig(domain="alfworld", data=(str(data),), out=str(tmp_path / "run"), max_steps=4, batch_size=4,
                      learning_rate=1e12, retrieval_k=0, scratch=ScratchConfig(**TINY), threads=1)
    with pytest.raises(TrainingDivergedError, match="Lower the learning rate"):
        train(cfg, progress=False)
    assert not (tmp_path / "run" / "model").exists()


def test_steps_the_env_tells_are_not_trained_on():
    """WebShop pages the episode fixes are answered by the env at run time, so no example teaches them."""
    ws = get_domain("webshop")
    trs = list(ws.seed_transitions())
    examples, report = build_examples(trs, ws.system_prompt(), ExampleConfig(domain="webshop", retrieval_k=0))
    kept, rep_all = build_examples(trs, ws.system_prompt(),
                                   ExampleConfig(domain="webshop", retrieval_k=0, skip_told=False))
    told = report.skipped[TOLD]
    assert told > 0 and report.kept + told == rep_all.kept == len(kept)
    assert {e["meta"]["uid"] for e in examples} < {e["meta"]["uid"] for e in kept}
    by_uid = {t.uid: t for t in trs}
    # The left-out steps are exactly those the env would tell (each an exact page of the real episode).
    episodes = {t.episode_id: sorted((u for u in trs if u.episode_id == t.episode_id), key=lambda u: u.step)
                for t in trs}
    dropped = {e["meta"]["uid"] for e in kept} - {e["meta"]["uid"] for e in examples}
    for uid in dropped:
        t = by_uid[uid]
        ep = episodes[t.episode_id]
        hist = [u for u in ep if u.step < t.step]
        task = dataclasses.replace(ws.tasks("train")[0], initial_observation=(hist[0].state if hist else t.state))
        told_out = ws.told_outcome(task, hist, t.state, t.action)
        assert told_out is not None and told_out.next_state == t.next_state
    # ALFWorld tells nothing at that stage, so its examples are all kept.
    _, alf = build_examples(_seeds(40), DOMAIN.system_prompt(), ExampleConfig(domain="alfworld", retrieval_k=0))
    assert alf.kept == 40 and TOLD not in alf.skipped
