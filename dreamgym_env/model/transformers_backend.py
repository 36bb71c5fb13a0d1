"""Experience model run in-process with transformers (the embedded CPU default; no server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dreamgym_env.model.base import CONTEXT_LENGTH, ModelReply, ModelRequest

STOP = "</done>"
#: Token budget of the reasoning stage (the reply format asks for one to three short sentences).
THINK_TOKENS = 64


@dataclass(frozen=True)
class TransformersModelConfig:
    """In-process model settings.

    Attributes:
        model_path: A local Hugging Face causal-LM folder.
        dtype: ``"float32"`` (CPUs without native bf16 emulate bfloat16: measured 7x slower prefill
            here), ``"bfloat16"`` or ``"auto"``.
        max_batch_size: Requests generated together in one ``generate`` call.
        num_threads: torch intra-op threads (``None`` keeps torch's default).
    """

    model_path: str
    dtype: str = "float32"
    max_batch_size: int = 16
    num_threads: int | None = None


class TransformersExperienceModel:
    """An :class:`~dreamgym_env.model.base.ExperienceModel` that generates in this process.

    Requests with a ``reply_format`` get staged decoding that always yields that format; others are
    free text. Calls are serialised by a lock; a batch is generated together with left padding.
    Requests of one batch share the first request's temperature and seed.
    """

    def __init__(self, config: TransformersModelConfig) -> None:
        self.closed = False  # set by close(); the shared-model factory rebuilds closed models
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        self.config = config
        self.name = f"transformers:{Path(config.model_path).name}"
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(config.model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
        self.model = AutoModelForCausalLM.from_pretrained(config.model_path, dtype=dtype)
        self.model.eval()
        self._lock = threading.Lock()
        self._vocab = None

    # ----- primitives ---------------------------------------------------------------------------
    def _prompts(self, reqs: Sequence[ModelRequest]) -> list[str]:
        return [self.tokenizer.apply_chat_template(list(r.messages), tokenize=False, add_generation_prompt=True)
                for r in reqs]

    def _sampling(self, temperature: float, seed: int | None) -> dict:
        """``generate`` kwargs for greedy (temperature 0) or seeded sampling."""
        if temperature <= 0:
            return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if seed is not None:
            self._torch.manual_seed(seed)
        return {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}

    def _continue(self, texts: list[str], max_new: int, stop: str, temperature: float,
                  seed: int | None) -> list[tuple[str, int, bool]]:
        """Continues each text; returns ``(new_text_before_stop, new_tokens, stopped)``."""
        torch = self._torch
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        kw: dict = {"max_new_tokens": max_new, "pad_token_id": self.tokenizer.pad_token_id,
                    "stop_strings": [stop], "tokenizer": self.tokenizer}
        kw.update(self._sampling(temperature, seed))
        with torch.inference_mode():
            out = self.model.generate(**enc, **kw)
        res = []
        for row in out[:, enc["input_ids"].shape[1]:]:
            row = row[row != self.tokenizer.pad_token_id]
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            stopped = stop in text
            res.append((text[: text.index(stop)] if stopped else text, int(row.shape[0]), stopped))
        return res

    # ----- one batch ----------------------------------------------------------------------------
    def _free(self, reqs: Sequence[ModelRequest]) -> list[ModelReply]:
        t0 = time.perf_counter()
        outs = self._continue(self._prompts(reqs), max(r.max_tokens for r in reqs), STOP, reqs[0].temperature,
                              reqs[0].seed)
        dt = time.perf_counter() - t0
        return [ModelReply(text=t + (STOP if s else ""), finish_reason="stop" if s else "length",
                           completion_tokens=n, latency_s=dt) for t, n, s in outs]

    def _structured(self, reqs: Sequence[ModelRequest]) -> list[ModelReply]:
        """One ``generate`` call whose output always has the reply format (see ``constrained``)."""
        from transformers import LogitsProcessorList

        from dreamgym_env.model.constrained import ReplyGrammarProcessor, VocabInfo

        torch = self._torch
        if self._vocab is None:
            self._vocab = VocabInfo.build(self.tokenizer)
        prompts = self._prompts(reqs)
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        n_prompt = enc["input_ids"].shape[1]
        proc = ReplyGrammarProcessor(self._vocab, [r.reply_format for r in reqs], [r.max_tokens for r in reqs],
                                     n_prompt, THINK_TOKENS)
        kw: dict = {"max_new_tokens": max(r.max_tokens for r in reqs) + 32, "logits_processor": LogitsProcessorList([proc]),
                    "pad_token_id": self.tokenizer.pad_token_id, "eos_token_id": self._vocab.eos_id}
        kw.update(self._sampling(reqs[0].temperature, reqs[0].seed))
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **kw)
        dt = time.perf_counter() - t0
        replies = []
        for i, row in enumerate(out[:, n_prompt:]):
            keep = row[(row != self.tokenizer.pad_token_id) & (row != self._vocab.eos_id)]
            text = self.tokenizer.decode(keep, skip_special_tokens=True)
            finish = "stop" if text.endswith("</done>") else "length"
            replies.append(ModelReply(text=text, finish_reason=finish,
                                      prompt_tokens=int(enc["attention_mask"][i].sum()),
                                      completion_tokens=int(keep.shape[0]), latency_s=dt))
        return replies

    def _fits(self, req: ModelRequest) -> bool:
        """Whether the prompt and the reply's budget fit the model's positions."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if not limit:
            return True
        n = len(self.tokenizer(self._prompts([req])[0], add_special_tokens=False)["input_ids"])
        return n + req.max_tokens <= limit

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Generates replies, ``max_batch_size`` requests at a time (same temperature per batch).

        A request whose prompt does not fit the model's context gets an empty
        :data:`~dreamgym_env.model.base.CONTEXT_LENGTH` reply instead.
        """
        out: list[ModelReply | None] = [None] * len(requests)
        with self._lock:
            todo = []
            for i, r in enumerate(requests):
                if self._fits(r):
                    todo.append(i)
                else:
                    out[i] = ModelReply(text="", finish_reason=CONTEXT_LENGTH)
            bs = self.config.max_batch_size
            for k in range(0, len(todo), bs):
                idx = todo[k: k + bs]
                batch = [requests[i] for i in idx]
                structured = batch[0].reply_format is not None
                for i, rep in zip(idx, self._structured(batch) if structured else self._free(batch)):
                    out[i] = rep
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """Drops the model (memory is freed when the last reference goes)."""
        self.closed = True
        self.model = None  # type: ignore[assignment]
