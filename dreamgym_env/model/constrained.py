"""Grammar-constrained decoding of the reply format for in-process transformers generation.

vLLM enforces the reply regex server-side; in-process we do the same with a logits processor that
runs a small state machine per batch row over the phases ``think -> state -> reward -> done``:

* in free-text phases, tokens that would open a tag are masked; when the model's own best token
  would open one (it wants to end the phase), or the phase's token budget is spent, the closing
  sequence (e.g. ``</think>\\n<state>``) is forced token by token;
* the reward phase allows only tokens that keep a valid reward (``0``/``1``, or a score in [0, 1]);
* the done phase allows only ``true``/``false``; then ``</done>`` and end-of-sequence are forced.

One prefill and one ``generate`` call per batch; the reply always parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from dreamgym_env.model.base import ReplyFormat

_GRADED = re.compile(r"(0|1|1\.0|0\.[0-9]{1,3})")
_GRADED_PREFIX = re.compile(r"(|0|1|1\.|1\.0|0\.|0\.[0-9]{1,3})")
#: Tokens kept free for the closing sequences when budgeting the state.
RESERVE = 24


@dataclass
class VocabInfo:
    """Per-model token facts, computed once."""

    strings: list[str]
    opens_tag: torch.Tensor  # bool: token contains "<"
    closes_tag: torch.Tensor  # bool: token contains "</"
    starts_slash: torch.Tensor  # bool: token starts with "/"
    digit_ids: list[int]
    eos_id: int
    encode: object  # str -> list[int]

    @classmethod
    def build(cls, tokenizer) -> VocabInfo:
        """Decodes every token once."""
        n = len(tokenizer)
        strings = tokenizer.batch_decode([[i] for i in range(n)])
        opens = torch.tensor(["<" in s for s in strings])
        closes = torch.tensor(["</" in s for s in strings])
        slash = torch.tensor([s.startswith("/") for s in strings])
        digits = [i for i, s in enumerate(strings) if s and all(c in "0123456789." for c in s)]
        eos = tokenizer.eos_token_id
        return cls(strings, opens, closes, slash, digits, int(eos),
                   lambda text: tokenizer.encode(text, add_special_tokens=False))


@dataclass
class _Row:
    fmt: ReplyFormat
    max_tokens: int
    think_tokens: int
    phase: str = "think"
    buf: str = ""
    phase_tokens: int = 0
    total: int = 0
    queue: list[int] = field(default_factory=list)
    next_phase: str = ""
    forced_last: bool = False
    phase_start: int = 0


class ReplyGrammarProcessor:
    """A ``LogitsProcessor`` enforcing :class:`ReplyFormat` on each row of a batch."""

    def __init__(self, vocab: VocabInfo, formats: list[ReplyFormat], max_tokens: list[int], prompt_len: int,
                 think_tokens: int = 64) -> None:
        self.v = vocab
        self.prompt_len = prompt_len
        self.rows = [_Row(f, m, think_tokens, phase="think" if f.reasoning else "state")
                     for f, m in zip(formats, max_tokens)]
        for r in self.rows:
            self._force(r, "<think>" if r.fmt.reasoning else "<state>", r.phase)

    # ----- state machine ----------------------------------------------------------------------
    def _force(self, row: _Row, text: str, next_phase: str) -> None:
        row.queue = list(self.v.encode(text))
        row.next_phase = next_phase

    def _observe(self, row: _Row, tok: int) -> None:
        """Updates a row with the token chosen at the previous step."""
        if row.phase == "end":  # finished: the row only receives padding now
            return
        row.total += 1
        if row.forced_last:
            row.queue.pop(0)
            if not row.queue:
                row.phase, row.buf, row.phase_tokens = row.next_phase, "", 0
                row.phase_start = row.total
            return
        row.buf += self.v.strings[tok]
        row.phase_tokens += 1
        if row.phase == "done_word":
            # The chosen first token of true/false: force the rest of the word and the closing tag.
            word = "true" if "t" in row.buf else "false"
            rest = word[len(row.buf.strip()):]
            self._force(row, rest + "</done>", "end")

    def _close(self, row: _Row) -> None:
        closing = {"think": ("</think>\n<state>", "state"), "state": ("</state>\n<reward>", "reward"),
                   "reward": ("</reward>\n<done>", "done_word")}
        text, nxt = closing[row.phase]
        self._force(row, text, nxt)

    def _allowed(self, row: _Row, scores: torch.Tensor) -> torch.Tensor | int:
        """Returns a mask of allowed tokens, or a single forced token id."""
        v = self.v
        if row.queue:
            return row.queue[0]
        if row.phase == "end":
            return v.eos_id
        if row.phase in ("think", "state"):
            # The reasoning gets at most half of the budget; the state gets what the reasoning left.
            budget = (min(row.think_tokens, row.max_tokens // 2) if row.phase == "think"
                      else max(8, row.max_tokens - row.phase_start - RESERVE))
            best = int(scores.argmax())
            if row.phase == "think":
                wants_tag = bool(v.opens_tag[best]) or best == v.eos_id
            else:
                wants_tag = bool(v.closes_tag[best]) or best == v.eos_id or (
                    row.buf.endswith("<") and bool(v.starts_slash[best]))
            # A spent budget closes the phase even when the model produced only whitespace.
            if (row.buf.strip() and wants_tag) or row.phase_tokens >= budget:
                self._close(row)
                return row.queue[0]
            mask = ~(v.opens_tag if row.phase == "think" else v.closes_tag)
            if row.buf.endswith("<"):
                mask = mask & ~v.starts_slash
            mask = mask.clone()
            mask[v.eos_id] = False
            return mask
        if row.phase == "reward":
            ok = [i for i in v.digit_ids if self._reward_prefix(row, row.buf + v.strings[i])]
            if self._reward_complete(row, row.buf) and (not ok or int(scores.argmax()) not in ok):
                self._close(row)
                return row.queue[0]
            mask = torch.zeros_like(v.opens_tag)
            mask[ok] = True
            return mask
        if row.phase == "done_word":
            ids = [v.encode("true")[0], v.encode("false")[0]]
            mask = torch.zeros_like(v.opens_tag)
            mask[ids] = True
            return mask
        raise AssertionError(row.phase)

    def _reward_prefix(self, row: _Row, text: str) -> bool:
        if row.fmt.binary_reward:
            return text in ("", "0", "1")
        return _GRADED_PREFIX.fullmatch(text) is not None

    def _reward_complete(self, row: _Row, text: str) -> bool:
        if row.fmt.binary_reward:
            return text in ("0", "1")
        return _GRADED.fullmatch(text) is not None

    # ----- LogitsProcessor API ----------------------------------------------------------------
    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids.shape[1] - self.prompt_len
        out = torch.full_like(scores, float("-inf"))
        for i, row in enumerate(self.rows):
            if generated > 0:
                self._observe(row, int(input_ids[i, -1]))
            allowed = self._allowed(row, scores[i])
            row.forced_last = isinstance(allowed, int)
            if isinstance(allowed, int):
                out[i, allowed] = 0.0
            else:
                out[i] = torch.where(allowed, scores[i], out[i])
        return out
