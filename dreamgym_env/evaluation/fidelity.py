"""Fidelity of an experience model against the real engine, on held-out real transitions.

For each held-out transition the predictor gets exactly the context the env would give it (the
task, the real episode's earlier steps as history, the top-k neighbours retrieved from the domain's
seed index, the state and the action) and its prediction is compared with what the real engine did:

* ``reward_agree`` / ``done_agree``: the predicted reward (within ``reward_tol``) and done flag;
* ``invalid_acc``: whether "this action does nothing" (the domain's invalid-action observation) was
  predicted exactly when the real engine rejected the action, or the next state is exact (a valid action
  that leaves a WebShop or WebArena page as it was reads like "does nothing"); ``invalid_recall`` on
  rejected ones;
* ``exact``: next state equal after whitespace normalisation; ``token_f1``: bag-of-words F1;
* ``exact_determined``: exact match on transitions whose next state is fully determined by the
  prompt (the domain's :meth:`~dreamgym_env.domain.Domain.reveals_hidden` is false: no object or
  page content that the context never showed);
* ``element_f1``: for domains with structured states (WebArena's accessibility tree), F1 over elements;
* ``parse_fallback``: replies that stayed unreadable after the repair request;
* ``prompt_shortened``: prompts the model's context could not hold, shortened and asked again.

``env`` metrics are what an agent sees (the guard answers grammar-invalid actions, the domain's
success rule checks claimed rewards); ``model`` metrics are the raw model prediction for every item.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dreamgym_env.domain import Domain, Outcome
from dreamgym_env.model.base import CONTEXT_LENGTH
from dreamgym_env.model.prompt import PromptConfig
from dreamgym_env.types import Task, Transition

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class EvalItem:
    """One held-out step: its context and what the real engine did."""

    task: Task
    history: tuple[Transition, ...]
    truth: Transition


@dataclass(frozen=True)
class Prediction:
    """What a predictor said about one item, raw (``model``) and as the env returns it (``env``)."""

    model: Outcome
    env: Outcome
    parse_fallback: bool = False
    reasoning: str = ""
    completion_tokens: int = 0
    prompt_shortened: bool = False


class Predictor(Protocol):
    """Anything that predicts outcomes for a batch of items."""

    name: str

    def predict(self, items: Sequence[EvalItem]) -> list[Prediction]:
        """Returns one prediction per item."""


@dataclass(frozen=True)
class FidelityConfig:
    """What to evaluate.

    Attributes:
        domain: Domain name.
        limit: Items sampled from the held-out transitions (``None`` = all); the same sample for every predictor.
        seed: Seed of that sample.
        reward_tol: Rewards within this distance agree (graded domains).
        batch: Items sent to a predictor at once (the model sees them concurrently).
    """

    domain: str
    limit: int | None = 200
    seed: int = 0
    reward_tol: float = 0.05
    batch: int = 16


def normalize(text: str) -> str:
    """Collapses whitespace and trims (what "exact" compares)."""
    return _WS.sub(" ", text).strip()


def token_f1(pred: str, truth: str) -> float:
    """Bag-of-words F1 between two texts (lowercased, whitespace tokens)."""
    p, t = normalize(pred).lower().split(), normalize(truth).lower().split()
    if not p and not t:
        return 1.0
    if not p or not t:
        return 0.0
    from collections import Counter

    common = sum((Counter(p) & Counter(t)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(t)
    return 2 * prec * rec / (prec + rec)


def set_f1(pred: frozenset[str], truth: frozenset[str]) -> float:
    """F1 between two sets (1.0 when both are empty)."""
    if not pred and not truth:
        return 1.0
    common = len(pred & truth)
    if common == 0:
        return 0.0
    prec, rec = common / len(pred), common / len(truth)
    return 2 * prec * rec / (prec + rec)


def load_items(domain: Domain, transitions: Sequence[Transition], config: FidelityConfig) -> list[EvalItem]:
    """Turns held-out transitions into items (real history from their own episode), sampled with a seed."""
    from dreamgym_env.training.examples import episodes_of

    tasks = {t.task_id: t for split in ("train", "test") for t in domain.tasks(split)}
    items = []
    for ep in episodes_of(t for t in transitions if t.domain == domain.name):
        for i, t in enumerate(ep):
            task = tasks.get(t.task_id) or Task(t.task_id, domain.name, t.instruction, ep[0].state, {})
            items.append(EvalItem(task, tuple(ep[:i]), t))
    if config.limit is not None and config.limit < len(items):
        items = random.Random(config.seed).sample(items, config.limit)
    return items


def score(domain: Domain, items: Sequence[EvalItem], preds: Sequence[Prediction],
          config: FidelityConfig) -> dict[str, Any]:
    """Aggregates per-item comparisons into the fidelity metrics (see the module docstring)."""
    out: dict[str, Any] = {"items": len(items)}
    for view in ("env", "model"):
        rows = []
        for it, p in zip(items, preds):
            o: Outcome = getattr(p, view)
            t = it.truth
            truth_invalid = t.valid is False
            pred_invalid = normalize(o.next_state) == normalize(domain.invalid_action_observation(t.state))
            exact = normalize(o.next_state) == normalize(t.next_state)
            row = {
                "reward": abs(float(o.reward) - float(t.reward)) <= config.reward_tol,
                "done": bool(o.done) == bool(t.done),
                # An exact next state agrees with the engine: in WebShop and WebArena a valid action can
                # leave the page as it was (an option click, a hover), which reads like "does nothing".
                "invalid": exact or pred_invalid == truth_invalid,
                "exact": exact,
                "f1": token_f1(o.next_state, t.next_state),
                "truth_invalid": truth_invalid, "pred_invalid": pred_invalid,
                "hidden": domain.reveals_hidden(t, it.history),
            }
            el_t = domain.state_elements(t.next_state)
            if el_t is not None:
                row["element_f1"] = set_f1(domain.state_elements(o.next_state) or frozenset(), el_t)
            rows.append(row)
        n = max(1, len(rows))
        inv = [r for r in rows if r["truth_invalid"]]
        det = [r for r in rows if not r["hidden"]]
        m = {
            "reward_agree": sum(r["reward"] for r in rows) / n,
            "done_agree": sum(r["done"] for r in rows) / n,
            "invalid_acc": sum(r["invalid"] for r in rows) / n,
            "invalid_recall": (sum(r["pred_invalid"] for r in inv) / len(inv)) if inv else None,
            "exact": sum(r["exact"] for r in rows) / n,
            "exact_determined": (sum(r["exact"] for r in det) / len(det)) if det else None,
            "token_f1": sum(r["f1"] for r in rows) / n,
            "positives": sum(1 for it in items if it.truth.reward > 0),
            "determined_items": len(det), "invalid_items": len(inv),
        }
        if any("element_f1" in r for r in rows):
            el = [r["element_f1"] for r in rows if "element_f1" in r]
            m["element_f1"] = sum(el) / len(el)
        out[view] = m
    out["parse_fallback"] = sum(p.parse_fallback for p in preds) / max(1, len(preds))
    out["prompt_shortened"] = sum(p.prompt_shortened for p in preds) / max(1, len(preds))
    out["mean_completion_tokens"] = sum(p.completion_tokens for p in preds) / max(1, len(preds))
    return out


def predict_all(items: Sequence[EvalItem], predictor: Predictor, config: FidelityConfig,
                progress: bool = True) -> tuple[list[Prediction], float]:
    """Runs ``predictor`` over ``items`` in batches. Returns the predictions and the wall time."""
    from tqdm.auto import tqdm

    preds: list[Prediction] = []
    t0 = time.perf_counter()
    with tqdm(total=len(items), desc=f"fidelity {predictor.name}", disable=not progress) as bar:
        for lo in range(0, len(items), config.batch):
            chunk = items[lo: lo + config.batch]
            preds.extend(predictor.predict(chunk))
            bar.update(len(chunk))
    return preds, time.perf_counter() - t0


def evaluate(domain: Domain, items: Sequence[EvalItem], predictor: Predictor, config: FidelityConfig,
             progress: bool = True, predictions: list[Prediction] | None = None) -> dict[str, Any]:
    """Runs ``predictor`` over ``items`` and scores it (``predictions``, if a list, receives them)."""
    preds, wall = predict_all(items, predictor, config, progress)
    if predictions is not None:
        predictions.extend(preds)
    res = score(domain, items, preds, config)
    res.update(predictor=predictor.name, wall_s=round(wall, 1), items_per_s=round(len(items) / max(wall, 1e-9), 3))
    res["samples"] = [
        {"state": it.truth.state[-300:], "action": it.truth.action, "truth": it.truth.next_state[:300],
         "pred": p.env.next_state[:300], "reasoning": p.reasoning[:300]}
        for it, p in list(zip(items, preds))[:5]
    ]
    return res


def mismatches(domain: Domain, items: Sequence[EvalItem], preds: Sequence[Prediction],
               predictor: str) -> list[dict[str, Any]]:
    """The items whose env-view next state is not exactly the real engine's, one record each (for reading).

    Each record has the predictor, the task, episode and step, the action, the state, the real and the predicted
    next state (env view and raw model), and ``hidden`` (the real next state shows what the context never
    did, so no predictor could be sure of it); the state and reasoning are cut to 600 characters.
    """
    out = []
    for it, p in zip(items, preds):
        t = it.truth
        if normalize(p.env.next_state) == normalize(t.next_state):
            continue
        out.append({"predictor": predictor, "task_id": t.task_id, "episode_id": t.episode_id, "step": len(it.history),
                    "action": t.action,
                    "hidden": domain.reveals_hidden(t, it.history), "truth": t.next_state,
                    "env": p.env.next_state, "model": p.model.next_state,
                    "model_changed_by_env": normalize(p.env.next_state) != normalize(p.model.next_state),
                    "state": t.state[-600:], "reasoning": p.reasoning[:600]})
    return out


# ----- predictors ---------------------------------------------------------------------------------
@dataclass
class ModelPredictor:
    """An experience model behind the env's own step pipeline (guard, retrieval, prompt, repair, rules).

    Attributes:
        name: Label in the results table.
        domain: The domain.
        model: An :class:`~dreamgym_env.model.base.ExperienceModel`.
        replay: The replay buffer to retrieve from (``None`` = no retrieval).
        prompt: Prompt layout the model was trained with.
        retrieval_k: Retrieved neighbours.
        max_new_tokens: Generation budget (``None`` = the domain's).
    """

    name: str
    domain: Domain
    model: Any
    replay: Any | None = None
    prompt: PromptConfig = field(default_factory=PromptConfig)
    retrieval_k: int = 3
    max_new_tokens: int | None = None

    def __post_init__(self) -> None:
        from dreamgym_env.pipeline import StepPipeline, StepSettings

        settings = StepSettings(retrieval_k=self.retrieval_k if self.replay is not None else 0,
                                max_new_tokens=self.max_new_tokens or self.domain.max_new_tokens,
                                temperature=0.0, resample_retries=0, prompt=self.prompt)
        self._pipe = StepPipeline(self.domain, settings, lambda: self.model, lambda: self.replay)

    def predict(self, items: Sequence[EvalItem]) -> list[Prediction]:
        """Predicts every item with the model (the guard's and the episode's answers are kept only in the
        ``env`` view)."""
        from dreamgym_env.pipeline import Episode

        pipe = self._pipe
        eps = [Episode(it.task, it.truth.state, "eval", list(it.history), len(it.history)) for it in items]
        actions = [it.truth.action for it in items]
        guarded = [pipe.guard(e, a) for e, a in zip(eps, actions)]
        retrieved = pipe.retrieve(eps, [g[0] for g in guarded])
        parsed, replies = pipe.simulate(eps, [g[0] for g in guarded], retrieved, [0] * len(eps))
        out = []
        for e, g, p, reps in zip(eps, guarded, parsed, replies):
            tokens = sum(r.completion_tokens for r in reps)
            if p.error is not None:
                model = Outcome(e.state, 0.0, False)
            else:
                model = Outcome(p.next_state or e.state, p.reward, p.done)
            env = _env_view(pipe, e, g[0], g[1], model)
            short = any(r.finish_reason == CONTEXT_LENGTH for r in reps)
            out.append(Prediction(model, env, p.error is not None, p.reasoning, tokens, short))
        return out


def _env_view(pipe: Any, ep: Any, action: str, error: str | None, model: Outcome) -> Outcome:
    """What the env returns for ``model``'s prediction of ``action`` in ``ep``: the guard's answer, the
    episode's (told) answer, or the prediction after the domain's observation repair and success rule."""
    domain = pipe.domain
    if error is not None:
        return Outcome(domain.invalid_action_observation(ep.state), 0.0, False)
    told = pipe.tell(ep, action)
    if told is not None:
        return told
    seen = Outcome(domain.repair_observation(action, model.next_state, ep.task, ep.history), model.reward, model.done)
    return domain.check_outcome(ep.task, ep.state, action, seen, ep.history)[0]


@dataclass
class NearestNeighbourPredictor:
    """Returns the outcome of the most similar stored transition (the retrieval-only baseline)."""

    name: str
    domain: Domain
    replay: Any

    def predict(self, items: Sequence[EvalItem]) -> list[Prediction]:
        """Predicts every item by its top-1 neighbour."""
        hits = self.replay.retrieve(self.domain.name, [(it.truth.state, it.truth.action) for it in items], 1)
        out = []
        for it, row in zip(items, hits):
            if row:
                n = row[0].transition
                o = Outcome(n.next_state, float(n.reward), bool(n.done))
            else:
                o = Outcome(it.truth.state, 0.0, False)
            out.append(Prediction(o, o, False, "", 0))
        return out


@dataclass
class CopyPredictor:
    """Predicts the state unchanged with reward 0 (the identity baseline); in the ``env`` view behind the
    env's own rules (guard, told outcomes, observation repair, success rule), so its ``env`` row is what
    the rules give without any model."""

    name: str
    domain: Domain

    def __post_init__(self) -> None:
        from dreamgym_env.pipeline import StepPipeline, StepSettings

        self._pipe = StepPipeline(self.domain, StepSettings(retrieval_k=0), lambda: None, lambda: None)

    def predict(self, items: Sequence[EvalItem]) -> list[Prediction]:
        """Predicts every item as "nothing changes"."""
        from dreamgym_env.pipeline import Episode

        out = []
        for it in items:
            e = Episode(it.task, it.truth.state, "eval", list(it.history), len(it.history))
            action, error = self._pipe.guard(e, it.truth.action)
            model = Outcome(e.state, 0.0, False)
            out.append(Prediction(model, _env_view(self._pipe, e, action, error, model), False, "", 0))
        return out


# ----- reporting ----------------------------------------------------------------------------------
COLUMNS = (("reward_agree", "reward"), ("done_agree", "done"), ("invalid_acc", "invalid"),
           ("exact", "exact"), ("exact_determined", "exact (det.)"), ("token_f1", "token F1"),
           ("element_f1", "element F1"))


def table_rows(results: Sequence[dict[str, Any]], view: str = "env") -> list[list[str]]:
    """Rows of the fidelity table: predictor, metrics, fallback rate, items/s."""
    rows = []
    for r in results:
        m = r[view]
        cells = [r["predictor"]]
        for key, _ in COLUMNS:
            v = m.get(key)
            cells.append("-" if v is None else f"{100 * v:.1f}")
        cells += [f"{100 * r['parse_fallback']:.1f}", f"{r['items_per_s']:.2f}"]
        rows.append(cells)
    return rows


def markdown_table(results: Sequence[dict[str, Any]], view: str = "env") -> str:
    """The fidelity table as Markdown (percentages)."""
    head = ["predictor", *(h for _, h in COLUMNS), "fallback", "items/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results, view)]
    return "\n".join(lines)


def plot(results: Sequence[dict[str, Any]], path: str | Path, title: str) -> None:
    """Grouped bars of the main metrics per predictor (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [(k, h) for k, h in COLUMNS if any(r["env"].get(k) is not None for r in results)]
    fig, ax = plt.subplots(figsize=(4.5 + 1.3 * len(keys), 3.6))
    width = 0.8 / max(1, len(results))
    for i, r in enumerate(results):
        vals = [100 * (r["env"].get(k) or 0.0) for k, _ in keys]
        ax.bar([j + i * width for j in range(len(keys))], vals, width, label=r["predictor"])
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(keys))], [h for _, h in keys])
    ax.set_ylabel("% of held-out transitions")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


def write_results(results: Sequence[dict[str, Any]], path: str | Path, meta: dict[str, Any]) -> None:
    """Writes the JSON results file (``meta`` records machine, data and config)."""
    Path(path).write_text(json.dumps({"meta": meta, "results": list(results)}, indent=1, default=str) + "\n")


def config_dict(config: FidelityConfig) -> dict[str, Any]:
    """JSON form of a config."""
    return asdict(config)


# ----- predictors from command-line specs ---------------------------------------------------------
def model_meta(path: str | Path) -> dict[str, Any]:
    """The prompt layout a trained model folder records in ``dreamgym.json`` (empty when absent)."""
    f = Path(path) / "dreamgym.json"
    return json.loads(f.read_text()) if f.exists() else {}


def _served_meta(served: str) -> dict[str, Any]:
    """Prompt layout of a served model whose name is an alias or a local folder (else defaults)."""
    from dreamgym_env.error import InvalidConfigError
    from dreamgym_env.model.assets import resolve_model_path

    if not served:
        return {}
    try:
        return model_meta(resolve_model_path(served))
    except InvalidConfigError:
        return {}


def make_predictor(label: str, spec: str, domain: Domain, replay: Any, api_key: str | None = None) -> Predictor:
    """Builds a predictor from a spec.

    Args:
        label: Name in the results.
        spec: ``nn`` (nearest neighbour), ``copy`` (state unchanged, behind the env's rules), a model alias (``smollm2``, ``default-alfworld``) or folder
            (run in-process), or ``http://HOST:PORT/v1#SERVED_NAME`` (an OpenAI-compatible server; when
            the served name is a local folder, its ``dreamgym.json`` gives the prompt layout).
        domain: The domain.
        replay: The seed replay buffer (retrieval context and the nearest-neighbour store).
        api_key: Server API key.
    """
    if spec == "nn":
        return NearestNeighbourPredictor(label, domain, replay)
    if spec == "copy":
        return CopyPredictor(label, domain)
    if spec.startswith(("http://", "https://")):
        from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig

        url, _, served = spec.partition("#")
        model = OpenAIExperienceModel(OpenAIModelConfig(base_url=url, model=served or None, api_key=api_key))
        meta = _served_meta(served)
    else:
        from dreamgym_env.model.assets import resolve_model_path
        from dreamgym_env.model.transformers_backend import (
            TransformersExperienceModel,
            TransformersModelConfig,
        )

        path = resolve_model_path("default" if spec == "smollm2" else spec)
        model = TransformersExperienceModel(TransformersModelConfig(model_path=str(path)))
        meta = model_meta(path)
    prompt = PromptConfig(**meta["prompt"]) if "prompt" in meta else PromptConfig()
    k = int(meta.get("retrieval_k", 3))
    return ModelPredictor(label, domain, model, replay if k > 0 else None, prompt, k)
