"""Reply parsing: lenient on form, strict on the reward."""

from __future__ import annotations

import re

import pytest

from dreamgym_env.model.base import ReplyFormat
from dreamgym_env.model.parse import parse_reply
from dreamgym_env.model.prompt import format_target

GOOD = "<think>valid</think>\n<state>You arrive at desk 1.</state>\n<reward>0</reward>\n<done>false</done>"


def test_well_formed() -> None:
    p = parse_reply(GOOD)
    assert p.error is None
    assert (p.reasoning, p.next_state, p.reward, p.done) == ("valid", "You arrive at desk 1.", 0.0, False)


@pytest.mark.parametrize("text,reward,done", [
    ("<think>x</think><state>s</state><reward> 1 </reward><done>True</done>", 1.0, True),
    ("<THINK>x</THINK>\n<state>s</state>\n<reward>0.75</reward>\n<done>yes</done>", 0.75, True),
    ("<think>x</think><state>s</state><reward>2</reward><done>no</done>", 1.0, False),  # clipped
    ("<think>x</think><state>s</state><reward>-1</reward><done>false</done>", 0.0, False),  # clipped
    ("<think>x<state>s</state><reward>0</reward><done>false</done>", 0.0, False),  # unclosed think
    ("<think>x</think><state>s<reward>1</reward><done>the episode is done: true</done>", 1.0, True),
])
def test_lenient_forms(text: str, reward: float, done: bool) -> None:
    p = parse_reply(text)
    assert p.error is None, p.error
    assert p.reward == reward and p.done is done and p.next_state == "s"


@pytest.mark.parametrize("text,err", [
    ("", "missing <think>"),
    ("just prose", "missing <think>"),
    ("<think>x</think>", "missing <state>"),
    ("<think>x</think><state>cut mid-sent", "cut off"),
    ("<think>x</think><state>s</state>", "missing <reward>"),
    ("<think>x</think><state>s</state><reward>yes</reward><done>true</done>", "not a number"),
    ("<think>x</think><state>s</state><reward>NaN</reward><done>true</done>", "not finite"),
    ("<think>x</think><state>s</state><reward>0</reward>", "missing <done>"),
    ("<think>x</think><state>s</state><reward>0</reward><done>maybe</done>", "not a boolean"),
])
def test_errors_are_reported_not_raised(text: str, err: str) -> None:
    p = parse_reply(text)
    assert p.error is not None and err in p.error
    assert p.reward == 0.0 and p.done is False


def test_truncated_reply_is_an_error_even_with_later_tags() -> None:
    assert parse_reply("<think>x</think><state>abc", truncated=True).error is not None


def test_non_text_reply() -> None:
    assert parse_reply(None).error is not None  # type: ignore[arg-type]


def test_no_reasoning_mode() -> None:
    p = parse_reply("<state>s</state><reward>1</reward><done>true</done>", require_reasoning=False)
    assert p.error is None and p.reasoning == ""


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("reasoning", [True, False])
def test_regex_accepts_targets_and_rejects_broken(binary: bool, reasoning: bool) -> None:
    rx = re.compile(ReplyFormat(reasoning, binary).regex())
    from dreamgym_env.model.prompt import PromptConfig

    cfg = PromptConfig(reasoning=reasoning)
    target = format_target("The click works.", "Instruction: [SEP] x [SEP] < Prev [SEP] Buy Now", 1.0, True, cfg)
    assert rx.fullmatch(target)
    assert parse_reply(target, require_reasoning=reasoning).next_state.endswith("Buy Now")
    assert not rx.fullmatch(target.replace("</done>", ""))
    assert not rx.fullmatch(target.replace("<reward>1", "<reward>7"))
    if not binary:
        assert rx.fullmatch(format_target("ok", "s", 0.75, True, cfg))
