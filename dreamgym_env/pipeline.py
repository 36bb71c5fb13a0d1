"""One DreamGym step, for a batch of episodes: guard -> retrieve -> prompt -> model -> parse -> record.

Each stage is a small function. A single env runs a batch of one; the vector env runs all of its
sub-envs together, so retrieval is one batched embedding + one k-NN query and the model sees the
requests concurrently.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dreamgym_env.domain import Domain, Outcome
from dreamgym_env.grammar import guard_action
from dreamgym_env.model.base import CONTEXT_LENGTH, ExperienceModel, ModelReply, ModelRequest, ReplyFormat
from dreamgym_env.model.parse import ParsedReply, parse_reply
from dreamgym_env.model.prompt import PromptConfig, build_messages
from dreamgym_env.replay.buffer import ReplayBuffer, Retrieved
from dreamgym_env.types import Task, Transition

#: Each time a prompt does not fit the model's context, its clipped parts (current state, history and
#: example observations) shrink to this fraction; after ``CONTEXT_RETRIES`` tries the step falls back.
CONTEXT_SHRINK = 0.6
CONTEXT_RETRIES = 3
CONTEXT_ERROR = "prompt does not fit the model's context, even shortened"

#: The least temperature a resample uses: a greedy model (temperature 0) would repeat the reply it re-asks for.
RESAMPLE_TEMPERATURE = 0.8
RESAMPLE_NOTE = "resampled"
#: The note a parsed reply carries once any reply of its step was re-asked for being unreadable.
REPAIR_NOTE = "re-asked: unreadable reply"

REPAIR_MESSAGE = ("Your reply could not be read ({error}). Reply again with exactly the four tags "
                  "<think>, <state>, <reward>, <done> and nothing else.")


@dataclass
class Episode:
    """The running state of one episode."""

    task: Task
    state: str
    episode_id: str
    history: list[Transition] = field(default_factory=list)
    t: int = 0


@dataclass(frozen=True)
class StepSettings:
    """What the pipeline needs from the env config."""

    retrieval_k: int = 3
    max_new_tokens: int = 256
    temperature: float = 0.0
    repair_retries: int = 1
    resample_retries: int = 1
    check_outcome: bool = True
    repair_observation: bool = True
    check_in_episode: bool = True
    tell_from_episode: bool = True
    record_transitions: bool = False
    prompt: PromptConfig = field(default_factory=PromptConfig)


@dataclass
class StepResult:
    """What one sub-env's step returns."""

    observation: str
    reward: float
    terminated: bool
    info: dict[str, Any]


@dataclass
class StepStats:
    """Counters over the life of an env (rates go into ``info``)."""

    steps: int = 0
    guarded: int = 0
    told: int = 0
    model_calls: int = 0
    parse_failures: int = 0
    repairs: int = 0
    fallbacks: int = 0
    outcome_corrections: int = 0
    observation_repairs: int = 0
    prompt_shortenings: int = 0
    implausible: int = 0
    resamples: int = 0
    implausible_kept: int = 0

    def rates(self) -> dict[str, float]:
        """Fallback/repair/prompt-shortening/observation-repair rates per model-answered step, and the
        share of all steps the episode answered (``told_rate``)."""
        answered = max(1, self.steps - self.guarded - self.told)
        return {"told_rate": self.told / max(1, self.steps),
                "parse_fallback_rate": self.fallbacks / answered, "repair_rate": self.repairs / answered,
                "prompt_shortened_rate": self.prompt_shortenings / answered,
                "observation_repair_rate": self.observation_repairs / answered,
                "implausible_rate": self.implausible / answered, "implausible_kept_rate": self.implausible_kept / answered}


def shortened(config: PromptConfig, state: str, scale: float) -> PromptConfig:
    """The prompt layout with its clipped parts scaled by ``scale`` (the current state relative to its
    own length), for a prompt the model's context cannot hold."""
    return dataclasses.replace(
        config, history_chars=max(40, int(config.history_chars * scale)),
        example_chars=max(60, int(config.example_chars * scale)),
        state_chars=max(200, int(min(config.state_chars, len(state)) * scale)),
    )


class StepPipeline:
    """Runs steps for batches of episodes of one domain."""

    def __init__(self, domain: Domain, settings: StepSettings, model_fn, replay_fn) -> None:
        """Args:
            domain: The domain.
            settings: Step settings.
            model_fn: Zero-argument callable returning the :class:`ExperienceModel` (built on first use).
            replay_fn: Zero-argument callable returning the :class:`ReplayBuffer` or ``None``.
        """
        self.domain = domain
        self.settings = settings
        self._model_fn = model_fn
        self._replay_fn = replay_fn
        self.stats = StepStats()
        self._format = ReplyFormat(settings.prompt.reasoning, domain.binary_reward)

    # ----- stages -------------------------------------------------------------------------------
    def guard(self, ep: Episode, action: object) -> tuple[str, str | None]:
        """Stage 1: coerce/bound the action and check it against the domain grammar (and, with
        ``check_in_episode``, against what the episode has shown: the domain's admissible commands)."""
        g = guard_action(action, self.domain.max_action_chars)
        if g.error is not None:
            return g.text, g.error
        error = self.domain.check_action(g.text, ep.state)
        if error is None and self.settings.check_in_episode:
            error = self.domain.check_action_in_episode(ep.task, ep.history, ep.state, g.text)
        return g.text, error

    def tell(self, ep: Episode, action: str) -> Outcome | None:
        """Stage 1b: the outcome of a valid action when the episode so far fixes it (with
        ``tell_from_episode``), answered without the model (:meth:`Domain.told_outcome`)."""
        if not self.settings.tell_from_episode:
            return None
        return self.domain.told_outcome(ep.task, ep.history, ep.state, action)

    def needs_model(self, ep: Episode, action: object) -> bool:
        """Whether a step with ``action`` would go to the model: neither the guard nor the episode answers it."""
        text, error = self.guard(ep, action)
        return error is None and self.tell(ep, text) is None

    def demo_model_action(self, ep: Episode, rng: random.Random, tries: int = 20) -> str:
        """A demo-agent action (:meth:`Domain.demo_action`) that the model answers, for tests and benchmarks
        that time or check the model path; the domain's first seed action when ``tries`` draws find none."""
        for _ in range(tries):
            action = self.domain.demo_action(ep.task, ep.history, ep.state, rng)
            if action and self.needs_model(ep, action):
                return action
        return self.domain.seed_transitions()[0].action

    def retrieve(self, eps: Sequence[Episode], actions: Sequence[str]) -> list[list[Retrieved]]:
        """Stage 2: top-k similar stored transitions for each (state, action), batched."""
        if self.settings.retrieval_k <= 0 or not eps:
            return [[] for _ in eps]
        replay: ReplayBuffer | None = self._replay_fn()
        if replay is None:
            return [[] for _ in eps]
        return replay.retrieve(self.domain.name, [(e.state, a) for e, a in zip(eps, actions)],
                               self.settings.retrieval_k)

    def request(self, ep: Episode, action: str, examples: Sequence[Retrieved], seed: int | None,
                scale: float = 1.0) -> ModelRequest:
        """Stage 3: the prompt for one step (``scale`` < 1 shortens it, see :func:`shortened`)."""
        config = self.settings.prompt if scale >= 1.0 else shortened(self.settings.prompt, ep.state, scale)
        msgs = build_messages(self.domain.system_prompt(), ep.task.instruction, ep.history,
                              [r.transition for r in examples], ep.state, action, config)
        return ModelRequest(messages=tuple(msgs), max_tokens=self.settings.max_new_tokens,
                            temperature=self.settings.temperature, seed=seed, reply_format=self._format)

    def parse(self, reply: ModelReply) -> ParsedReply:
        """Stage 5: read the reply (never raises)."""
        if reply.finish_reason == CONTEXT_LENGTH:
            return ParsedReply("", "", 0.0, False, CONTEXT_ERROR)
        return parse_reply(reply.text, self.domain.reward_range, require_reasoning=self.settings.prompt.reasoning,
                           truncated=reply.finish_reason == "length")

    def simulate(self, eps: Sequence[Episode], actions: Sequence[str], retrieved: Sequence[Sequence[Retrieved]],
                 seeds: Sequence[int | None]) -> tuple[list[ParsedReply], list[list[ModelReply]]]:
        """Stages 3-5 for a batch: build the prompts, call the model, parse and repair."""
        reqs = [self.request(e, a, r, s) for e, a, r, s in zip(eps, actions, retrieved, seeds)]
        parsed, replies = self.generate(
            reqs, lambda i, scale: self.request(eps[i], actions[i], retrieved[i], seeds[i], scale))
        self.resample(eps, actions, retrieved, seeds, parsed, replies)
        return parsed, replies

    def resample(self, eps: Sequence[Episode], actions: Sequence[str], retrieved: Sequence[Sequence[Retrieved]],
                 seeds: Sequence[int | None], parsed: list[ParsedReply], replies: list[list[ModelReply]]) -> None:
        """Stage 5b: re-asks (up to ``resample_retries`` times, in place) for a readable reply the domain rules
        out for that action given the episode (:meth:`Domain.implausible_observation`), with another seed and
        a temperature of at least ``RESAMPLE_TEMPERATURE``. Such replies are counted (``implausible``); one still
        ruled out after the re-asks is kept and counted (``implausible_kept``); a re-ask that cannot be read
        leaves the earlier reply."""

        def ruled_out(i: int) -> str | None:
            p = parsed[i]
            return None if p.error is not None else self.domain.implausible_observation(
                eps[i].task, eps[i].history, eps[i].state, actions[i], p.next_state)

        flagged = {i: r for i in range(len(parsed)) if (r := ruled_out(i)) is not None}
        self.stats.implausible += len(flagged)
        bad = list(flagged)
        temperature = max(self.settings.temperature, RESAMPLE_TEMPERATURE)
        for attempt in range(1, self.settings.resample_retries + 1):
            if not bad:
                break

            def build(i: int, scale: float = 1.0, attempt: int = attempt) -> ModelRequest:
                seed = None if seeds[i] is None else (seeds[i] + 7919 * attempt) % 2**31
                return dataclasses.replace(self.request(eps[i], actions[i], retrieved[i], seed, scale),
                                           temperature=temperature)

            asked = list(bad)
            again, again_replies = self.generate([build(i) for i in asked],
                                                 lambda j, scale, asked=asked: build(asked[j], scale))
            self.stats.resamples += len(bad)
            for i, p, reps in zip(asked, again, again_replies):
                replies[i].extend(reps)
                kept = p if p.error is None else parsed[i]
                if REPAIR_NOTE in (*p.notes, *parsed[i].notes):  # a parse re-ask on either path stays known
                    kept = _noted(kept, REPAIR_NOTE)
                if not any(n.startswith(RESAMPLE_NOTE) for n in kept.notes):
                    kept = _noted(kept, f"{RESAMPLE_NOTE}: {flagged[i]}")
                parsed[i] = kept
            bad = [i for i in bad if ruled_out(i) is not None]
        self.stats.implausible_kept += len(bad)

    def generate(self, requests: Sequence[ModelRequest],
                 rebuild: Callable[[int, float], ModelRequest] | None = None,
                 ) -> tuple[list[ParsedReply], list[list[ModelReply]]]:
        """Stage 4+5: call the model, parse, and re-ask (up to ``repair_retries``) for unreadable replies.

        A request the model's context cannot hold is rebuilt shorter with ``rebuild(index, scale)``
        (up to ``CONTEXT_RETRIES`` times, each ``CONTEXT_SHRINK`` shorter); one that never fits (or
        has no ``rebuild``) falls back like an unreadable reply.
        """
        model: ExperienceModel = self._model_fn()
        replies = list(model.generate(requests))
        self.stats.model_calls += len(requests)
        all_replies = [[r] for r in replies]
        current = list(requests)
        scale = [1.0] * len(requests)
        for _ in range(CONTEXT_RETRIES if rebuild is not None else 0):
            over = [i for i, r in enumerate(replies) if r.finish_reason == CONTEXT_LENGTH]
            if not over:
                break
            self.stats.prompt_shortenings += len(over)
            for i in over:
                scale[i] *= CONTEXT_SHRINK
                current[i] = rebuild(i, scale[i])
            again = model.generate([current[i] for i in over])
            self.stats.model_calls += len(over)
            for i, rep in zip(over, again):
                replies[i] = rep
                all_replies[i].append(rep)
        parsed = [self.parse(r) for r in replies]
        for _ in range(self.settings.repair_retries):
            bad = [i for i, p in enumerate(parsed) if p.error is not None and replies[i].finish_reason != CONTEXT_LENGTH]
            if not bad:
                break
            self.stats.parse_failures += len(bad)
            fixes = []
            for i in bad:
                last = all_replies[i][-1]
                grow = 1.5 if last.finish_reason == "length" else 1.0
                fixes.append(ModelRequest(
                    messages=current[i].messages + (
                        {"role": "assistant", "content": last.text[:2000]},
                        {"role": "user", "content": REPAIR_MESSAGE.format(error=parsed[i].error)},
                    ),
                    max_tokens=int(current[i].max_tokens * grow), temperature=current[i].temperature,
                    seed=current[i].seed, reply_format=current[i].reply_format,
                ))
            again = model.generate(fixes)
            self.stats.model_calls += len(fixes)
            self.stats.repairs += len(fixes)
            for i, req, rep in zip(bad, fixes, again):
                current[i] = req
                replies[i] = rep
                all_replies[i].append(rep)
                parsed[i] = _noted(self.parse(rep), REPAIR_NOTE)
        return parsed, all_replies

    # ----- the whole step -----------------------------------------------------------------------
    def step(self, eps: Sequence[Episode], actions: Sequence[object], seeds: Sequence[int | None]) -> list[StepResult]:
        """Runs one step of each episode; mutates the episodes (state, history, t)."""
        n = len(eps)
        guarded = [self.guard(e, a) for e, a in zip(eps, actions)]
        texts = [g[0] for g in guarded]
        errors = [g[1] for g in guarded]
        told = {i: o for i in range(n) if errors[i] is None and (o := self.tell(eps[i], texts[i])) is not None}
        todo = [i for i in range(n) if errors[i] is None and i not in told]

        t_ret = time.perf_counter()
        retrieved = self.retrieve([eps[i] for i in todo], [texts[i] for i in todo])
        t_ret = time.perf_counter() - t_ret

        t_model = time.perf_counter()
        parsed, replies = (self.simulate([eps[i] for i in todo], [texts[i] for i in todo], retrieved,
                                         [seeds[i] for i in todo]) if todo else ([], []))
        t_model = time.perf_counter() - t_model

        results: list[StepResult | None] = [None] * n
        new_transitions: list[Transition] = []
        by_i = {i: (p, r, ret) for i, p, r, ret in zip(todo, parsed, replies, retrieved)}
        todo_set = set(todo)
        for i in range(n):
            ep, action = eps[i], texts[i]
            info: dict[str, Any] = {
                "task": ep.task.instruction, "task_id": ep.task.task_id, "action_error": errors[i],
                "told": i in told, "parse_error": None, "repaired": False, "resampled": False, "prompt_shortened": False, "fallback": False, "outcome_note": None,
                "retrieved": [], "reasoning": "", "prompt_tokens": 0, "completion_tokens": 0,
            }
            if errors[i] is not None:
                self.stats.guarded += 1
                outcome = Outcome(self.domain.invalid_action_observation(ep.state), 0.0, False)
                info["reasoning"] = self.domain.invalid_action_reasoning(action, errors[i])
            elif i in told:
                self.stats.told += 1
                outcome = _bounded(told[i], self.domain.reward_range)
                info["reasoning"] = self.domain.told_reasoning(action)
            else:
                p, reps, ret = by_i[i]
                info["retrieved"] = [r.transition.uid for r in ret]
                info["prompt_tokens"] = sum(r.prompt_tokens for r in reps)
                info["completion_tokens"] = sum(r.completion_tokens for r in reps)
                too_long = sum(r.finish_reason == CONTEXT_LENGTH for r in reps)
                info["prompt_shortened"] = too_long > 0
                info["resampled"] = any(n.startswith(RESAMPLE_NOTE) for n in p.notes)
                info["repaired"] = REPAIR_NOTE in p.notes  # a parse re-ask, before or after any resample
                if p.error is not None:
                    self.stats.fallbacks += 1
                    info["parse_error"] = p.error
                    info["fallback"] = True
                    outcome = Outcome(ep.state, 0.0, False)
                    info["reasoning"] = p.reasoning
                else:
                    outcome = Outcome(p.next_state[: self.domain.max_observation_chars] or ep.state,
                                      p.reward, p.done)
                    info["reasoning"] = p.reasoning
                    if self.settings.repair_observation:
                        fixed = self.domain.repair_observation(action, outcome.next_state, ep.task, ep.history)
                        if fixed != outcome.next_state:
                            self.stats.observation_repairs += 1
                            info["observation_repaired"] = True
                            outcome = Outcome(fixed, outcome.reward, outcome.done)
                    if self.settings.check_outcome:
                        outcome, note = self.domain.check_outcome(ep.task, ep.state, action, outcome, ep.history)
                        if note:
                            self.stats.outcome_corrections += 1
                            info["outcome_note"] = note
                    outcome = _bounded(outcome, self.domain.reward_range)
            self.stats.steps += 1
            tr = Transition(
                domain=self.domain.name, task_id=ep.task.task_id, instruction=ep.task.instruction, state=ep.state,
                action=action, next_state=outcome.next_state, reward=float(outcome.reward), done=bool(outcome.done),
                reasoning=info["reasoning"], valid=errors[i] is None and not info["fallback"],
                episode_id=ep.episode_id, step=ep.t, source="synthetic",
            )
            ep.history.append(tr)
            ep.state = outcome.next_state
            ep.t += 1
            if i in todo_set and not info["fallback"]:  # guarded and told steps teach the replay nothing new
                new_transitions.append(tr)
            info["admissible_actions"] = self.domain.admissible_actions(ep.task, ep.history, ep.state)
            results[i] = StepResult(outcome.next_state, float(outcome.reward), bool(outcome.done), info)

        if self.settings.record_transitions and new_transitions:
            replay = self._replay_fn()
            if replay is not None:
                replay.add(new_transitions)
        rates = self.stats.rates()
        for i, r in enumerate(results):
            assert r is not None
            # Time spent simulating this step (retrieval + model). A step the guard or the episode answered
            # costs nothing, so it reports exactly 0 and stays reproducible (Gymnasium's determinism check).
            simulated = i in todo_set
            r.info["latency_s"] = t_ret + t_model if simulated else 0.0
            r.info["timings"] = {"retrieve_s": t_ret if simulated else 0.0, "model_s": t_model if simulated else 0.0}
            r.info.update(rates)
        return results  # type: ignore[return-value]


def _noted(parsed: ParsedReply, note: str) -> ParsedReply:
    """Returns ``parsed`` with ``note`` added to its notes (once)."""
    return parsed if note in parsed.notes else dataclasses.replace(parsed, notes=(*parsed.notes, note))


def _bounded(outcome: Outcome, reward_range: tuple[float, float]) -> Outcome:
    """Keeps the reward a finite number in the domain's range, whatever a domain rule returned."""
    lo, hi = reward_range
    r = float(outcome.reward)
    if math.isnan(r) or not lo <= r <= hi:
        r = lo if math.isnan(r) else min(max(r, lo), hi)
        return Outcome(outcome.next_state, r, bool(outcome.done))
    return outcome
