"""DreamGymVectorEnv: N episodes stepped together by one pipeline.

Per step: one batched embedding and one batched k-NN query for all sub-envs, and all model
requests sent at once (concurrently), so a vLLM server batches them. Sub-envs share the model and
the replay buffer; each has its own episode, RNG and step counter.

A vector env that talks to a server owns its HTTP client (connection pool and request threads):
``close()`` releases them, so closing leaves no thread or socket behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from dreamgym_env.config import EnvConfig
from dreamgym_env.core import DreamGymEnv
from dreamgym_env.model.base import ExperienceModel
from dreamgym_env.model.factory import ModelSpec
from dreamgym_env.pipeline import Episode
from dreamgym_env.replay.buffer import ReplayBuffer


class DreamGymVectorEnv(VectorEnv):
    """A native batched vector env over a DreamGym domain.

    ## Autoreset
    ``autoreset_mode="NextStep"`` (default, Gymnasium 1.x's default): the step after an episode ends
    resets that sub-env (its action is ignored; reward 0). ``"SameStep"``: the sub-env is reset in the
    same step; the final observation/info are in ``info["final_obs"]`` / ``info["final_info"]``.

    ## Observations and actions
    Tuples of ``num_envs`` strings; ``single_observation_space`` / ``single_action_space`` are the
    single env's :class:`~dreamgym_env.spaces.BoundedText` spaces.
    """

    def __init__(self, num_envs: int, domain: str, max_episode_steps: int | None = None,
                 render_mode: str | None = None, autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
                 *, experience_model: ExperienceModel | None = None, replay: ReplayBuffer | None = None,
                 **kwargs: Any) -> None:
        """Args:
            num_envs: Number of sub-envs.
            domain: Domain name (set by the registered id).
            max_episode_steps: Per-episode step limit (truncation); ``None`` = the domain's.
            render_mode: ``"ansi"`` renders sub-env 0.
            autoreset_mode: ``"NextStep"`` or ``"SameStep"``.
            experience_model: Use this model object.
            replay: Use this replay buffer.
            **kwargs: Any :class:`~dreamgym_env.config.EnvConfig` field.
        """
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self._owned_model: ExperienceModel | None = None
        if experience_model is None:
            experience_model = self._owned_model = _private_http_model(EnvConfig.from_kwargs(kwargs).model_spec())
        self._env = DreamGymEnv(domain, render_mode=render_mode, experience_model=experience_model,
                                replay=replay, **kwargs)
        self.domain = self._env.domain
        self.config = self._env.config
        self.pipeline = self._env.pipeline
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps or self.domain.max_episode_steps
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode must be NextStep or SameStep")
        self.metadata = {"render_modes": ["ansi"], "autoreset_mode": self.autoreset_mode}
        self.single_observation_space = self._env.observation_space
        self.single_action_space = self._env.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rngs = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._episodes: list[Episode | None] = [None] * num_envs
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    # ----- helpers --------------------------------------------------------------------------------
    def _reset_one(self, i: int, seed: int | None, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        if seed is not None:
            self._rngs[i] = seeding.np_random(seed)[0]
        # Reuse the single env's task logic with this sub-env's RNG; its reset reports this sub-env's
        # episode to the curriculum if it was cut short (ended ones were reported already, once).
        self._env._np_random = self._rngs[i]
        self._env._episode = self._episodes[i]
        obs, info = self._env.reset(options=options)
        self._rngs[i] = self._env.np_random
        self._episodes[i] = self._env.episode
        self._needs_reset[i] = False
        return obs, info

    # ----- Gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Resets all sub-envs (or those in ``options["reset_mask"]``)."""
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
            seeds = list(seed)
        options = dict(options or {})
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, dtype=bool)), dtype=bool)
        obs = [ep.state if ep is not None else "" for ep in self._episodes]
        infos: dict[str, Any] = {}
        for i in range(self.num_envs):
            if mask[i]:
                obs[i], info = self._reset_one(i, seeds[i], options)
                infos = self._add_info(infos, info, i)
        return tuple(obs), infos

    def step(self, actions: Any) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Steps every sub-env; sub-envs whose episode ended last step are reset instead (NextStep)."""
        actions = list(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"got {len(actions)} actions for {self.num_envs} envs")
        if any(ep is None for ep in self._episodes):
            from gymnasium.error import ResetNeeded

            raise ResetNeeded("Call reset() before step().")
        obs: list[str] = [""] * self.num_envs
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}

        active = [i for i in range(self.num_envs) if not self._needs_reset[i]]
        for i in range(self.num_envs):
            if self._needs_reset[i]:
                obs[i], info = self._reset_one(i, None, None)
                infos = self._add_info(infos, info, i)
        seeds = [int(self._rngs[i].integers(2**31)) for i in active]
        results = self.pipeline.step([self._episodes[i] for i in active], [actions[i] for i in active], seeds)
        for i, res in zip(active, results):
            ep = self._episodes[i]
            assert ep is not None
            obs[i], rewards[i], terminated[i] = res.observation, res.reward, res.terminated
            truncated[i] = not res.terminated and ep.t >= self.max_episode_steps
            info = res.info
            if terminated[i] or truncated[i]:
                self._env.report_episode_end(ep)
                if self.autoreset_mode == AutoresetMode.SAME_STEP:
                    final_obs, final_info = obs[i], info
                    obs[i], info = self._reset_one(i, None, None)
                    info = {**info, "final_obs": final_obs, "final_info": final_info}
                else:
                    self._needs_reset[i] = True
            infos = self._add_info(infos, info, i)
        return tuple(obs), rewards, terminated, truncated, infos

    def render(self) -> str | None:
        """Renders sub-env 0's last step as text."""
        if self.render_mode != "ansi":
            return None
        ep = self._episodes[0]
        if ep is None or not ep.history:
            return ep.state if ep else None
        t = ep.history[-1]
        return f"> {t.action}\n[reasoning] {t.reasoning}\n{t.next_state}\n[reward {t.reward:g}]"

    def close_extras(self, **kwargs: Any) -> None:
        """Saves recorded transitions and releases this env's HTTP connections and request threads."""
        self._env.close()
        if self._owned_model is not None:
            self._owned_model.close()
            self._owned_model = None


def _private_http_model(spec: ModelSpec) -> ExperienceModel | None:
    """An HTTP model owned by one vector env (closed with it), or ``None`` for an in-process backend.

    Single envs share one HTTP client per process; a vector env already shares one client among its
    sub-envs and must leave nothing running after ``close()``. In-process models stay shared: they
    hold no sockets or threads, and loading one costs seconds and hundreds of MB.
    """
    if spec.resolved_backend() != "openai" or not spec.base_url_or_env():
        return None  # a missing base_url still fails with the factory's message at the first step
    from dreamgym_env.model.factory import build_http_model

    return build_http_model(spec)
