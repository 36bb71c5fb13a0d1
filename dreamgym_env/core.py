"""DreamGymEnv: a Gymnasium env whose dynamics are a reasoning experience model."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
from gymnasium.error import ResetNeeded

from dreamgym_env.config import EnvConfig
from dreamgym_env.curriculum.curriculum import Curriculum, shared_curriculum
from dreamgym_env.domain import Domain, get_domain
from dreamgym_env.model.base import ExperienceModel
from dreamgym_env.model.factory import make_experience_model
from dreamgym_env.pipeline import Episode, StepPipeline, StepResult, StepSettings
from dreamgym_env.replay.buffer import ReplayBuffer, seeded_replay
from dreamgym_env.replay.embedder import get_embedder
from dreamgym_env.spaces import BoundedText
from dreamgym_env.types import Task, stable_id

_replays: dict[tuple[str, str | None, str | None], ReplayBuffer] = {}
_replays_lock = threading.Lock()


def shared_replay(domain: Domain, replay_path: str | None, embedder: str | None) -> ReplayBuffer:
    """Returns the process-wide replay buffer for a domain/store/embedder (seeded on first use)."""
    key = (domain.name, replay_path, embedder)
    with _replays_lock:
        buf = _replays.get(key)
        if buf is None:
            buf = seeded_replay(domain.name, domain.seed_transitions(), domain.seed_data_files(),
                                get_embedder(embedder), replay_path)
            _replays[key] = buf
        return buf


def resolve_task(domain: Domain, task: Any) -> Task:
    """Turns ``options["task"]`` (a Task, its dict, a task id or an instruction) into a Task."""
    if isinstance(task, Task):
        return task
    if isinstance(task, Mapping):
        return Task.from_dict({"domain": domain.name, **task}, "options['task']")
    if isinstance(task, str):
        for split in ("train", "test"):
            for t in domain.tasks(split):
                if t.task_id == task:
                    return t
        return domain.make_task(task)
    raise TypeError(f"options['task'] must be a Task, a dict, a task id or an instruction, got {type(task).__name__}")


class DreamGymEnv(gym.Env[str, str]):
    """A synthetic environment: each step is predicted by a reasoning experience model.

    ## Description
    DreamGym (arXiv 2511.03773) replaces a costly real environment by an LLM that, given the task, the
    episode so far, the current state, the agent's action and similar real transitions retrieved from a
    replay index, first reasons about what the action does and then predicts the next state, the reward
    and whether the episode ended. The domain (WebShop, ALFWorld, WebArena) supplies the rules, the
    action grammar, the tasks and the seed transitions.

    ## Action Space
    `BoundedText(max_action_chars)`: the action text in the domain's grammar (e.g. `go to countertop 1`,
    `click[buy now]`, `click [1254]`). A malformed action never raises: it gets the domain's "nothing
    happens" answer and `info["action_error"]` says why.

    ## Observation Space
    `BoundedText(max_observation_chars)`: the observation in the real environment's text format.

    ## Rewards
    Outcome reward from the model's `<reward>` field only, clipped to the domain's range: 1 (or the
    graded WebShop score) on the step that completes the task, else 0. The domain's success rule
    vetoes impossible rewards (e.g. a WebShop reward without `click[buy now]`).

    ## Termination
    `terminated` when the model predicts `done`; `truncated` by `max_episode_steps` (TimeLimit).

    ## Info
    `task`, `task_id`, `reasoning`, `retrieved` (uids of grounding transitions), `admissible_actions`,
    `action_error`, `parse_error`, `repaired`, `fallback`, `outcome_note`, `latency_s`, `timings`,
    `prompt_tokens`, `completion_tokens`, `parse_fallback_rate`, `repair_rate`.

    ## Registered Configurations
    `DreamGym-WebShop-v0`, `DreamGym-ALFWorld-v0`, `DreamGym-WebArena-v0`. Every field of
    :class:`~dreamgym_env.config.EnvConfig` is a `gymnasium.make` kwarg.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}  # noqa: RUF012 (gymnasium.Env declares it so)

    def __init__(self, domain: str, render_mode: str | None = None, *,
                 experience_model: ExperienceModel | None = None, replay: ReplayBuffer | None = None,
                 **kwargs: Any) -> None:
        """Args:
            domain: Domain name (set by the registered id).
            render_mode: ``"ansi"`` or ``"human"``.
            experience_model: Use this model object instead of building one from the config.
            replay: Use this replay buffer instead of the domain's seeded one.
            **kwargs: Any :class:`~dreamgym_env.config.EnvConfig` field.
        """
        self.domain: Domain = get_domain(domain)
        self.config = EnvConfig.from_kwargs(kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = BoundedText(self.domain.max_observation_chars)
        self.action_space = BoundedText(self.domain.max_action_chars)
        self._model = experience_model
        self._replay = replay
        settings = StepSettings(
            retrieval_k=self.config.retrieval_k,
            max_new_tokens=self.config.max_new_tokens or self.domain.max_new_tokens,
            temperature=self.config.temperature,
            repair_retries=self.config.repair_retries,
            resample_retries=self.config.resample_retries,
            check_outcome=self.config.check_outcome,
            repair_observation=self.config.repair_observation,
            check_in_episode=self.config.check_in_episode,
            tell_from_episode=self.config.tell_from_episode,
            record_transitions=self.config.record_transitions,
            prompt=self.config.prompt_config(self.domain.max_observation_chars),
        )
        self.pipeline = StepPipeline(self.domain, settings, self._get_model, self._get_replay)
        self._episode: Episode | None = None
        self._last: StepResult | None = None
        self._curriculum: Curriculum | None = None
        if self.config.curriculum is not None:
            self._curriculum = shared_curriculum(self.config.curriculum, self.domain, self.config.task_split,
                                                 self.config.curriculum_config())

    @property
    def curriculum(self) -> Curriculum | None:
        """The curriculum reset() draws tasks from (``curriculum=...``), else ``None``."""
        return self._curriculum

    def report_episode_end(self, episode: Episode | None) -> None:
        """Feeds an episode's return to the curriculum (once per episode; no-op without one or without steps).

        Called on ``terminated`` and, for episodes cut short (time limit, early reset), on the next reset.
        """
        if self._curriculum is None or episode is None or not episode.history:
            return
        self._curriculum.record_episode(episode.task.task_id, sum(float(t.reward) for t in episode.history),
                                        episode.episode_id)

    # ----- lazily built heavy parts (make + reset stay fast) ------------------------------------
    def _get_model(self) -> ExperienceModel:
        if self._model is None:
            self._model = make_experience_model(self.config.model_spec(self.domain.name))
        return self._model

    def _get_replay(self) -> ReplayBuffer | None:
        if self.config.retrieval_k == 0 and not self.config.record_transitions:
            return None
        if self._replay is None:
            self._replay = shared_replay(self.domain, self.config.replay_path, self.config.embedder)
        return self._replay

    @property
    def episode(self) -> Episode | None:
        """The running episode (task, state, history), or ``None`` before the first reset."""
        return self._episode

    # ----- Gymnasium API ------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Starts an episode on ``options["task"]`` or on a task drawn from the domain's task split."""
        super().reset(seed=seed)
        options = options or {}
        self.report_episode_end(self._episode)
        if options.get("task") is not None:
            task = resolve_task(self.domain, options["task"])
        elif self._curriculum is not None and options.get("split") is None:
            task = self._curriculum.next_task(self.np_random)
        else:
            tasks = self.domain.tasks(options.get("split", self.config.task_split))
            if not tasks:
                raise ValueError(f"Domain {self.domain.name!r} has no tasks in split "
                                 f"{options.get('split', self.config.task_split)!r}; pass options={{'task': ...}}.")
            task = tasks[int(self.np_random.integers(len(tasks)))]
        obs = task.initial_observation[: self.domain.max_observation_chars]
        eid = stable_id(self.domain.name, task.task_id, seed, int(self.np_random.integers(2**62)))
        self._episode = Episode(task=task, state=obs, episode_id=eid)
        self._last = None
        info = {"task": task.instruction, "task_id": task.task_id,
                "admissible_actions": self.domain.admissible_actions(task, [], obs)}
        if self.render_mode == "human":
            print(f"[{self.domain.name}] task: {task.instruction}\n{obs}")
        return obs, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Simulates one step; see the class docstring for ``info``."""
        if self._episode is None:
            raise ResetNeeded("Call reset() before step().")
        seed = int(self.np_random.integers(2**31))
        result = self.pipeline.step([self._episode], [action], [seed])[0]
        self._last = result
        if result.terminated:
            self.report_episode_end(self._episode)
        if self.render_mode == "human":
            print(self._render_text())
        return result.observation, result.reward, result.terminated, False, result.info

    def _render_text(self) -> str:
        ep = self._episode
        if ep is None:
            return ""
        if not ep.history or self._last is None:
            return f"Task: {ep.task.instruction}\n{ep.state}"
        t = ep.history[-1]
        return (f"> {t.action}\n[reasoning] {t.reasoning}\n{t.next_state}\n"
                f"[reward {t.reward:g}{', done' if t.done else ''}]")

    def render(self) -> str | None:
        """``"ansi"``: returns the last step as text; ``"human"``: prints it (done in reset/step)."""
        if self.render_mode == "ansi":
            return self._render_text()
        return None

    def close(self) -> None:
        """Saves recorded transitions' index. Shared models stay loaded for other envs of this process."""
        if self._replay is not None and self.config.record_transitions:
            self._replay.save()
        if self._curriculum is not None:
            self._curriculum.save()
        super().close()
