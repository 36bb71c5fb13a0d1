"""Supervised fine-tuning of an experience model with TRL's ``SFTTrainer``.

    dreamgym train --domain alfworld --data runs/alfworld_train.jsonl --base scratch --out runs/alf-model

The base is a from-scratch tiny Llama with its own tokenizer (``scratch``), the embedded
SmolLM2-135M-Instruct (``smollm2``), a local Hugging Face folder, or a hub id (for users with
internet); ``lora=True`` trains PEFT LoRA adapters instead of all weights and merges them at the end
so vLLM serves a plain folder. The loss covers only the completion (reasoning + next state + reward +
done), never the prompt. Checkpoints go to ``OUT/checkpoints`` and a rerun resumes from the last one.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dreamgym_env.error import (
    DataFormatError,
    InvalidConfigError,
    MissingDependencyError,
    ModelLoadError,
    TrainingDivergedError,
)
from dreamgym_env.model.prompt import PromptConfig
from dreamgym_env.training.examples import BuildReport, ExampleConfig, build_examples
from dreamgym_env.training.scratch import ScratchConfig
from dreamgym_env.types import Transition

log = logging.getLogger(__name__)

#: Base names that build a model instead of loading one.
SCRATCH = "scratch"


@dataclass(frozen=True)
class TrainConfig:
    """One SFT run.

    Attributes:
        domain: Domain name.
        data: Transition ``.jsonl`` files (real transitions annotated with reasoning).
        out: Output folder: ``model/`` (the servable folder), ``checkpoints/``, ``report.json``.
        base: ``"scratch"``, ``"smollm2"``/``"default"``, a local model folder, or a hub id.
        lora: Train LoRA adapters (PEFT) and merge them into the saved model.
        lora_rank: LoRA rank.
        epochs: Passes over the examples.
        max_steps: Stop after this many optimizer steps (``-1`` = use ``epochs``).
        batch_size: Examples per step (per device).
        grad_accum: Gradient accumulation steps.
        learning_rate: Peak learning rate (cosine schedule with warm-up).
        max_length: Longest example in tokens; longer ones are skipped (counted), never truncated.
        retrieval_k: Retrieved neighbours per example (0 = no-retrieval ablation).
        history_window: Steps of history in the prompt (0 = no-history ablation).
        reasoning: Train the ``<think>`` target (``False`` = no-reasoning ablation).
        scratch: Size of a from-scratch model.
        save_steps: Checkpoint every this many steps.
        threads: torch intra-op threads (``None`` = torch's default).
        seed: Seed.
        max_examples: Use at most this many examples (``None`` = all).
        task_generation_examples: Add this many curriculum examples (task generation and selection,
            see :mod:`~dreamgym_env.training.task_examples`) so the model also writes tasks.
        examples: Train on a prebuilt examples file (:func:`export_examples`) instead of building
            from ``data``; its header's prompt layout and ``retrieval_k`` replace this config's.
        max_seconds: Stop at the first step after this many seconds of training and save the model
            as it is (``None`` = no limit), e.g. to fit a lent GPU's time; the report says so.
        skip_told: Leave out the steps the env answers without the model (``Domain.told_outcome``),
            counted in the report (``False`` keeps them).
    """

    domain: str
    data: tuple[str, ...]
    out: str
    base: str = SCRATCH
    lora: bool = False
    lora_rank: int = 16
    epochs: float = 2.0
    max_steps: int = -1
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 2e-3
    max_length: int = 1536
    retrieval_k: int = 3
    history_window: int = 6
    reasoning: bool = True
    scratch: ScratchConfig = field(default_factory=ScratchConfig)
    save_steps: int = 200
    threads: int | None = None
    seed: int = 0
    max_examples: int | None = None
    task_generation_examples: int = 0
    examples: str | None = None
    max_seconds: float | None = None
    skip_told: bool = True

    def prompt_config(self) -> PromptConfig:
        """The prompt layout this model is trained (and must be served) with."""
        return PromptConfig(history_window=self.history_window, reasoning=self.reasoning)


def read_transitions(paths: Sequence[str | Path], report: BuildReport) -> list[Transition]:
    """Reads transition files leniently: a malformed line is skipped and counted, not fatal."""
    out = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InvalidConfigError(f"Training data file {path} does not exist.")
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append(Transition.from_dict(json.loads(line), source=f"{path}:{n}"))
                except (json.JSONDecodeError, DataFormatError, TypeError, ValueError) as e:
                    report.read += 1
                    report.skip(f"malformed record ({type(e).__name__})")
                    log.warning("skipping %s:%d: %s", path, n, e)
    return out


def load_base(base: str, examples: Sequence[dict], scratch: ScratchConfig, seed: int):
    """Returns ``(model, tokenizer)`` for a base name (see :class:`TrainConfig`).

    Raises:
        ModelLoadError: the base cannot be loaded (names the path and what to install).
    """
    from dreamgym_env.training import scratch as scratch_mod

    if base == SCRATCH:
        tok = scratch_mod.train_tokenizer(scratch_mod.example_texts(examples), scratch)
        return scratch_mod.init_model(tok, scratch, seed), tok
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base in ("smollm2", "default", "smollm2-135m-instruct"):
        from dreamgym_env.model.assets import ensure_smollm2

        path: str = str(ensure_smollm2())
    else:
        path = base
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    except (OSError, ValueError) as e:
        raise ModelLoadError(path, str(e)) from e
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def _token_length(tok, ex: dict) -> int:
    ids = tok.apply_chat_template([*ex["prompt"], *ex["completion"]], tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def prepare_examples(config: TrainConfig, progress: bool = True) -> tuple[list[dict], BuildReport, dict[str, int]]:
    """Builds the SFT examples a run trains on: one per usable transition, plus curriculum examples.

    Returns:
        ``(examples, report, task_counts)``: the examples, what happened to each record, and the
        counts of curriculum (task generation/selection) examples added.

    Raises:
        InvalidConfigError: no record of ``config.data`` makes a usable example (the counts say why).
    """
    from dreamgym_env.domain import get_domain
    from dreamgym_env.replay.buffer import seeded_replay

    domain = get_domain(config.domain)
    report = BuildReport()
    transitions = read_transitions(config.data, report)
    replay = None
    if config.retrieval_k > 0:
        replay = seeded_replay(domain.name, domain.seed_transitions(), domain.seed_data_files())
    ex_cfg = ExampleConfig(domain=domain.name, prompt=config.prompt_config(), retrieval_k=config.retrieval_k,
                           skip_told=config.skip_told)
    examples, rep2 = build_examples(transitions, domain.system_prompt(), ex_cfg, replay, progress=progress,
                                    limit=config.max_examples, seed=config.seed)
    report.read += rep2.read
    report.skipped.update(rep2.skipped)
    if not examples:
        raise InvalidConfigError(f"No usable training examples in {list(config.data)}: {report.to_dict()}")
    task_counts: dict[str, int] = {}
    if config.task_generation_examples > 0:
        from dreamgym_env.training.task_examples import task_generation_examples

        extra, counts = task_generation_examples(domain, config.task_generation_examples, seed=config.seed)
        examples = [*examples, *extra]
        task_counts = dict(counts)
    return examples, report, task_counts


def export_examples(config: TrainConfig, path: str | Path, progress: bool = True) -> dict[str, Any]:
    """Builds a run's examples (as :func:`train` would) and writes them to ``path`` without training.

    The file carries the prompt layout and ``retrieval_k`` they were built with, so
    ``dreamgym train --examples path`` on another machine (a GPU box without the replay index or
    embedder) trains exactly what this one would have, and writes the matching ``dreamgym.json``.

    Returns:
        The file's header (counts included).
    """
    from dreamgym_env.training.examples import save_examples

    examples, report, task_counts = prepare_examples(config, progress)
    report.kept = len(examples)
    header = {"domain": config.domain, "prompt": asdict(config.prompt_config()), "retrieval_k": config.retrieval_k,
              "data": list(config.data), "seed": config.seed, "build": report.to_dict(),
              "task_generation_examples": task_counts}
    save_examples(path, examples, header)
    return header


def _load_prebuilt(config: TrainConfig) -> tuple[TrainConfig, list[dict], BuildReport, dict[str, int]]:
    """Reads ``config.examples`` and returns the config with the file's prompt layout and retrieval."""
    import dataclasses

    from dreamgym_env.training.examples import load_examples

    header, examples = load_examples(config.examples)
    if header.get("domain") != config.domain:
        raise InvalidConfigError(f"{config.examples} holds {header.get('domain')!r} examples, not "
                                 f"{config.domain!r}: pass --domain {header.get('domain')}.")
    if not examples:
        raise InvalidConfigError(f"{config.examples} holds no examples.")
    prompt = PromptConfig(**header["prompt"])
    config = dataclasses.replace(config, history_window=prompt.history_window, reasoning=prompt.reasoning,
                                 retrieval_k=int(header["retrieval_k"]), data=tuple(header.get("data", ())))
    report = BuildReport(read=int(header.get("build", {}).get("read", len(examples))))
    report.skipped.update(header.get("build", {}).get("skipped", {}))
    return config, examples, report, dict(header.get("task_generation_examples", {}))


def train(config: TrainConfig, progress: bool = True) -> dict[str, Any]:
    """Runs SFT and writes ``OUT/model`` (servable by vLLM and transformers) and ``OUT/report.json``.

    Returns:
        The report: example counts and skip reasons, wall time, examples/s, tokens/s, final loss, sizes.
    """
    for mod in ("trl", "datasets") + (("peft",) if config.lora else ()):
        if importlib.util.find_spec(mod) is None:
            raise MissingDependencyError(mod, "train", "training an experience model")
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if config.examples:
        config, examples, report, task_counts = _load_prebuilt(config)
    else:
        examples, report, task_counts = prepare_examples(config, progress)

    resume = _last_checkpoint(out / "checkpoints")
    if resume is not None and (out / "base").exists():
        # Resuming a scratch run: reuse its tokenizer and initial weights, never retrain them.
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(out / "base"))
        model = AutoModelForCausalLM.from_pretrained(str(out / "base"), dtype="float32")
    else:
        model, tok = load_base(config.base, examples, config.scratch, config.seed)
        if config.base == SCRATCH:
            model.save_pretrained(str(out / "base"))
            tok.save_pretrained(str(out / "base"))

    lengths = [_token_length(tok, ex) for ex in examples]
    keep = [i for i, n in enumerate(lengths) if n <= config.max_length]
    report.skipped["oversize (tokens > max_length)"] += len(examples) - len(keep)
    examples = [examples[i] for i in keep]
    lengths = [lengths[i] for i in keep]
    report.kept = len(examples)
    dataset = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"], "length": n}
                                 for e, n in zip(examples, lengths)])

    peft_config = None
    if config.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=config.lora_rank, lora_alpha=2 * config.lora_rank, lora_dropout=0.0,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    gpu = torch.cuda.is_available()  # the 3B-8B recipe: same code, bf16 on a GPU
    args = SFTConfig(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, num_train_epochs=config.epochs, max_steps=config.max_steps,
        learning_rate=config.learning_rate, lr_scheduler_type="cosine", warmup_steps=0.05,
        weight_decay=0.01, logging_steps=10, save_steps=config.save_steps, save_total_limit=2,
        report_to="none", max_length=config.max_length, completion_only_loss=True, use_cpu=not gpu,
        bf16=gpu and torch.cuda.is_bf16_supported(), fp16=False, dataloader_num_workers=0, seed=config.seed, disable_tqdm=not progress,
        train_sampling_strategy="group_by_length", length_column_name="length", remove_unused_columns=True,
        dataset_num_proc=None,
    )
    clock = _wall_clock_limit(config.max_seconds)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                         peft_config=peft_config, callbacks=[clock])
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    wall = time.perf_counter() - t0
    final = trainer.model
    if config.lora:
        final = final.merge_and_unload()
    bad = [n for n, p in final.named_parameters() if not torch.isfinite(p).all()]
    if bad:  # bf16 at a high learning rate can blow up; never ship NaN weights as a model
        raise TrainingDivergedError(str(out), int(result.global_step), config.learning_rate, bad)
    model_dir = out / "model"
    final.save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    meta = {"domain": config.domain, "prompt": asdict(config.prompt_config()), "retrieval_k": config.retrieval_k,
            "base": config.base, "lora": config.lora}
    (model_dir / "dreamgym.json").write_text(json.dumps(meta, indent=1) + "\n")
    steps = int(result.global_step)
    start = int(resume.name.split("-")[-1]) if resume is not None else 0
    epochs_done = steps * config.batch_size * config.grad_accum / max(1, len(examples))
    # Speeds count only the steps this call trained (a resumed run did the others earlier).
    run_examples = (steps - start) * config.batch_size * config.grad_accum
    trained_tokens = sum(lengths) * run_examples / max(1, len(examples))
    history = [h for h in trainer.state.log_history if "loss" in h]
    rep = {
        "config": {k: (v if not hasattr(v, "__dataclass_fields__") else asdict(v)) for k, v in asdict(config).items()},
        "examples": report.to_dict(),
        "task_generation_examples": task_counts,
        "params": sum(p.numel() for p in final.parameters()),
        "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "steps": steps, "resumed_from_step": start, "stopped_by_time_limit": clock.fired, "epochs": round(epochs_done, 3),
        "wall_s": round(wall, 1),
        "examples_per_s": round(run_examples / max(wall, 1e-9), 3),
        "tokens_per_s": round(trained_tokens / max(wall, 1e-9), 1),
        "mean_example_tokens": round(sum(lengths) / len(lengths), 1),
        "final_loss": history[-1]["loss"] if history else math.nan,
        "loss_curve": [(h["step"], h["loss"]) for h in history],
        "model_mb": round(sum(f.stat().st_size for f in model_dir.glob("*.safetensors")) / 1e6, 2),
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "device": torch.cuda.get_device_name(0) if gpu else "cpu", "bf16": bool(args.bf16),
    }
    (out / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
    return rep


def _wall_clock_limit(seconds: float | None) -> Any:
    """A callback that stops training at the first step end after ``seconds`` (the model is then saved).

    Its ``fired`` attribute says whether it stopped the run.
    """
    from transformers import TrainerCallback

    class WallClockLimit(TrainerCallback):
        def __init__(self) -> None:
            self.fired = False
            self._t0 = time.perf_counter()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._t0 = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if seconds is None or time.perf_counter() - self._t0 < seconds:
                return
            if not self.fired:
                log.warning("time limit of %.0f s reached at step %d: stopping and saving the model",
                            seconds, state.global_step)
            self.fired = True
            control.should_training_stop = True

    return WallClockLimit()


def _last_checkpoint(folder: Path) -> Path | None:
    if not folder.exists():
        return None
    cks = sorted((p for p in folder.glob("checkpoint-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[-1]))
    return cks[-1] if cks else None
