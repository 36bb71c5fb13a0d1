"""Multi-turn chat rollouts of any text policy, G at a time, in any text env.

A policy here is a callable ``messages -> action text`` (what an LLM chat endpoint is). A *group*
is G rollouts of the same task, each in its own env, stepped together: each turn every unfinished
env's step runs in its own thread, so G DreamGym envs that share a served model send G concurrent
requests (vLLM batches them). The result is what GRPO-style trainers need: per-turn messages and
rewards, and the episode return per trajectory (see :mod:`dreamgym_env.wrappers.trl` for TRL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

Message = dict[str, str]
#: A chat policy: the conversation so far (system, user, assistant, ... , user) -> the next action text.
ChatPolicy = Callable[[list[Message]], str]

DEFAULT_SYSTEM_PROMPT = ("You are an agent acting in a text environment. Each user message is what you observe. "
                         "Reply with exactly one action and nothing else.")
_ACTION_PREFIX = re.compile(r"^\s*(?:action\s*:|>)\s*", re.IGNORECASE)
#: ``info`` keys copied into each :class:`Turn` (the rest can be large: retrieved ids, timings, ...).
TURN_INFO_KEYS = ("task_id", "valid", "action_error", "won", "parse_error", "fallback")


@dataclass(frozen=True)
class ChatFormat:
    """How observations become chat messages and replies become actions.

    Attributes:
        system_prompt: The system message of every conversation.
        show_admissible: Append the env's ``info["admissible_actions"]`` to each user message (as
            AgentInstruct's ALFWorld turns do) when the env gives them.
        max_admissible: At most this many listed actions (the rest are elided with a count).
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    show_admissible: bool = True
    max_admissible: int = 60

    def user_message(self, observation: str, info: Mapping[str, Any]) -> str:
        """The user turn for one observation."""
        acts = info.get("admissible_actions") if self.show_admissible else None
        if not acts:
            return observation
        shown = [a for a in acts if isinstance(a, str)][:self.max_admissible]
        more = len(acts) - len(shown)
        listing = ", ".join(shown) + (f", ... ({more} more)" if more > 0 else "")
        return f"{observation}\nAVAILABLE ACTIONS: {listing}"

    def parse_action(self, reply: Any) -> Any:
        """The action in a reply: its first non-empty line without an ``Action:`` / ``>`` prefix.

        Non-strings are returned unchanged, so the env answers them as bad actions.
        """
        if not isinstance(reply, str):
            return reply
        for line in reply.splitlines():
            if line.strip():
                return _ACTION_PREFIX.sub("", line).strip()
        return ""


@dataclass
class Turn:
    """One step of a rollout."""

    action: Any
    reply: str
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trajectory:
    """One rollout: the conversation, its turns, and the task it played."""

    task_id: str
    instruction: str
    messages: list[Message]
    turns: list[Turn] = field(default_factory=list)

    @property
    def total_reward(self) -> float:
        """Sum of the turns' rewards (the episode return)."""
        return float(sum(t.reward for t in self.turns))

    @property
    def done(self) -> bool:
        """Whether the episode ended (terminated or truncated)."""
        return bool(self.turns) and (self.turns[-1].terminated or self.turns[-1].truncated)

    @property
    def valid_rate(self) -> float:
        """Share of turns whose action the env accepted (no ``info["action_error"]``); 0 with no turns."""
        if not self.turns:
            return 0.0
        return sum(not t.info.get("action_error") for t in self.turns) / len(self.turns)

    @property
    def success(self) -> bool:
        """Terminated with a positive reward."""
        return bool(self.turns) and self.turns[-1].terminated and self.total_reward > 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (messages, per-turn actions, rewards and flags)."""
        return {"task_id": self.task_id, "instruction": self.instruction, "messages": self.messages,
                "total_reward": self.total_reward, "success": self.success,
                "turns": [{"action": str(t.action), "reward": t.reward, "terminated": t.terminated,
                           "truncated": t.truncated, **t.info} for t in self.turns]}


class GroupRollout:
    """G envs played turn by turn; the caller supplies each turn's replies.

    ``reset(tasks)``, then while :attr:`active` is not empty: read :meth:`messages` of the active
    envs, produce a reply for each, :meth:`step` them. :func:`rollout_group` is this loop for a
    per-conversation policy; the TRL rollout function drives it with batched generation.

    Args:
        envs: Text envs (``str`` actions), one per rollout; any Gymnasium env works.
        fmt: Message format.
        max_turns: Stop (truncate) after this many turns even if the env would go on.
        concurrent: Step the envs from threads (one per active env). Turn it off for envs that are
            not thread-safe, e.g. the real ALFWorld engine (textworld's parser).
    """

    def __init__(self, envs: Sequence[gym.Env], fmt: ChatFormat | None = None, max_turns: int | None = None,
                 concurrent: bool = True) -> None:
        if not envs:
            raise ValueError("GroupRollout needs at least one env")
        if max_turns is not None and max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {max_turns}")
        self.envs = list(envs)
        self.fmt = fmt or ChatFormat()
        self.max_turns = max_turns
        self.concurrent = concurrent
        self._trajs: list[Trajectory] = []
        self._done: list[bool] = []

    def reset(self, tasks: Sequence[Any] | None = None, seeds: Sequence[int | None] | None = None) -> None:
        """Starts one episode per env: ``tasks[i]`` goes to ``reset(options={"task": ...})`` (``None`` = the env's draw)."""
        n = len(self.envs)
        tasks = list(tasks) if tasks is not None else [None] * n
        seeds = list(seeds) if seeds is not None else [None] * n
        if len(tasks) != n or len(seeds) != n:
            raise ValueError(f"got {len(tasks)} tasks and {len(seeds)} seeds for {n} envs")
        self._trajs, self._done = [], []
        for env, task, seed in zip(self.envs, tasks, seeds):
            obs, info = env.reset(seed=seed, options={"task": task} if task is not None else None)
            instruction = info.get("task") if isinstance(info.get("task"), str) else getattr(task, "instruction", "")
            messages = [{"role": "system", "content": self.fmt.system_prompt},
                        {"role": "user", "content": self.fmt.user_message(obs, info)}]
            task_id = str(info.get("task_id") or getattr(task, "task_id", "") or "")
            self._trajs.append(Trajectory(task_id=task_id, instruction=str(instruction or ""), messages=messages))
            self._done.append(False)

    @property
    def active(self) -> list[int]:
        """Indices of the envs whose episode is still running."""
        return [i for i, d in enumerate(self._done) if not d]

    def messages(self, i: int) -> list[Message]:
        """The conversation of env ``i`` so far (a copy), ending with a user message."""
        return [dict(m) for m in self._trajs[i].messages]

    def step(self, replies: Mapping[int, Any]) -> None:
        """Plays one reply per active env (all of them concurrently).

        Args:
            replies: Env index -> the policy's reply (parsed with :meth:`ChatFormat.parse_action`).
        """
        missing = set(self.active) - set(replies)
        if missing:
            raise ValueError(f"no reply for active envs {sorted(missing)}")
        order = [i for i in self.active]

        def play(i: int) -> tuple[int, Any, str, tuple[Any, ...]]:
            action = self.fmt.parse_action(replies[i])
            return i, action, replies[i], self.envs[i].step(action)

        if len(order) == 1 or not self.concurrent:
            results = [play(i) for i in order]
        else:
            with ThreadPoolExecutor(max_workers=len(order), thread_name_prefix="dreamgym-rollout") as pool:
                results = list(pool.map(play, order))
        for i, action, reply, (obs, reward, terminated, truncated, info) in results:
            traj = self._trajs[i]
            truncated = bool(truncated) or (self.max_turns is not None and len(traj.turns) + 1 >= self.max_turns
                                            and not terminated)
            reply_text = reply if isinstance(reply, str) else repr(reply)
            traj.messages.append({"role": "assistant", "content": reply_text})
            traj.turns.append(Turn(action=action, reply=reply_text, observation=obs, reward=float(reward),
                                   terminated=bool(terminated), truncated=truncated,
                                   info={k: info[k] for k in TURN_INFO_KEYS if k in info}))
            if terminated or truncated:
                self._done[i] = True
            else:
                traj.messages.append({"role": "user", "content": self.fmt.user_message(obs, info)})

    def stop(self, i: int) -> None:
        """Ends env ``i``'s rollout now (marks its last turn truncated), e.g. when its context is full."""
        self._done[i] = True
        if self._trajs[i].turns:
            self._trajs[i].turns[-1].truncated = True

    def trajectories(self) -> list[Trajectory]:
        """The rollouts so far, in env order."""
        return list(self._trajs)


def rollout_group(envs: Sequence[gym.Env], policy: ChatPolicy, *, task: Any = None,
                  tasks: Sequence[Any] | None = None, seeds: Sequence[int | None] | None = None,
                  max_turns: int | None = None, fmt: ChatFormat | None = None,
                  concurrent: bool = True) -> list[Trajectory]:
    """Plays one episode in each env with ``policy`` and returns the trajectories.

    Args:
        envs: One env per rollout (G envs = a group of G).
        policy: ``messages -> reply``; called once per active env per turn (from the caller's thread).
        task: The task every env plays (a GRPO group); ``None`` = each env draws its own.
        tasks: One task per env instead of ``task``.
        seeds: One reset seed per env.
        max_turns: Stop after this many turns.
        fmt: Message format.
        concurrent: Step the envs from threads (see :class:`GroupRollout`).

    Returns:
        ``len(envs)`` trajectories with per-turn messages, actions and rewards.
    """
    group = GroupRollout(envs, fmt=fmt, max_turns=max_turns, concurrent=concurrent)
    if tasks is None:
        tasks = [task] * len(envs)
    group.reset(tasks, seeds)
    while group.active:
        group.step({i: policy(group.messages(i)) for i in group.active})
    return group.trajectories()
