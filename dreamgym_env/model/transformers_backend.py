"""Experience model run in-process with transformers (the embedded CPU default; no server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dreamgym_env.model.base import ModelReply, ModelRequest

STOP = "</done>"


@dataclass(frozen=True)
class TransformersModelConfig:
    """In-process model settings.

    Attributes:
        model_path: A local Hugging Face causal-LM folder.
        dtype: ``"bfloat16"`` (fastest on recent CPUs), ``"float32"`` or ``"auto"``.
        max_batch_size: Requests generated together in one ``generate`` call.
        num_threads: torch intra-op threads (``None`` keeps torch's default).
    """

    model_path: str
    dtype: str = "bfloat16"
    max_batch_size: int = 16
    num_threads: int | None = None


class TransformersExperienceModel:
    """An :class:`~dreamgym_env.model.base.ExperienceModel` that generates in this process.

    There is no constrained decoding here: replies are parsed leniently. Calls are serialised by a
    lock (one ``generate`` at a time), and a batch is generated together with left padding.
    """

    def __init__(self, config: TransformersModelConfig) -> None:
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

    def _batch(self, reqs: Sequence[ModelRequest]) -> list[ModelReply]:
        torch = self._torch
        prompts = [
            self.tokenizer.apply_chat_template(list(r.messages), tokenize=False, add_generation_prompt=True)
            for r in reqs
        ]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        max_new = max(r.max_tokens for r in reqs)
        temp = reqs[0].temperature
        gen_kwargs: dict = {"max_new_tokens": max_new, "pad_token_id": self.tokenizer.pad_token_id,
                            "stop_strings": [STOP], "tokenizer": self.tokenizer}
        if temp > 0:
            gen_kwargs.update(do_sample=True, temperature=temp, top_p=1.0, top_k=0)
            if reqs[0].seed is not None:
                torch.manual_seed(reqs[0].seed)
        else:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **gen_kwargs)
        dt = time.perf_counter() - t0
        n_prompt = enc["input_ids"].shape[1]
        replies = []
        for i, r in enumerate(reqs):
            new = out[i, n_prompt:]
            new = new[new != self.tokenizer.pad_token_id]
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            if STOP in text:
                text = text[: text.index(STOP) + len(STOP)]
            n_new = int(new.shape[0])
            finish = "stop" if STOP in text or n_new < r.max_tokens else "length"
            replies.append(ModelReply(
                text=text, finish_reason=finish,
                prompt_tokens=int(enc["attention_mask"][i].sum()), completion_tokens=n_new, latency_s=dt,
            ))
        return replies

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Generates replies, ``max_batch_size`` requests at a time (same temperature per batch)."""
        out: list[ModelReply] = []
        with self._lock:
            bs = self.config.max_batch_size
            for i in range(0, len(requests), bs):
                out.extend(self._batch(requests[i: i + bs]))
        return out

    def close(self) -> None:
        """Drops the model (memory is freed when the last reference goes)."""
        self.model = None  # type: ignore[assignment]
