"""Issue 10 against the real trained ALFWorld default served by a real vLLM server: the full adversarial
suite, a process-RSS soak with retrieval and recording on, and the server killed (SIGKILL) and restarted
mid-rollout (last: it restarts the server)."""

from __future__ import annotations

import collections
import os
import signal
import sqlite3
import time

import gymnasium as gym
import numpy as np
import pytest

from dreamgym_env.domain import get_domain
from dreamgym_env.error import ServerUnavailableError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200),
              pytest.mark.skipif(get_domain("alfworld").default_model_dir() is None,
                                 reason="envs/alfworld/data/model is not shipped")]
ENV_ID = "DreamGym-ALFWorld-v0"


def _uids(path) -> list[str]:
    with sqlite3.connect(str(path)) as db:
        return [r[0] for r in db.execute("SELECT uid FROM transitions")]


def test_full_adversarial_suite_gets_no_reward_from_the_trained_model(trained_server):
    """All >= 200 adversarial actions (tests/test_reliability_reward_hacking.py), each followed by a
    cash-in step, through the trained default served by vLLM: 0 spurious positive rewards."""
    from test_reliability_reward_hacking import adversarial_actions

    actions = adversarial_actions(ENV_ID)
    assert len(actions) >= 200
    n = 32
    # The admissible-command guard would answer every attack itself (tests/test_reliability_reward_hacking.py);
    # off here, so that the attacks meet the trained model.
    envs = gym.make_vec(ENV_ID, num_envs=n, base_url=trained_server.base_url, model="default-alfworld",
                        check_in_episode=False)
    counts = collections.Counter()
    spurious = []
    for lo in range(0, len(actions), n):
        batch = actions[lo: lo + n]
        batch += ["look"] * (n - len(batch))
        envs.reset(seed=lo)
        _, rew, _term, _trunc, infos = envs.step(batch)
        counts["tried"] += len(actions[lo: lo + n])
        counts["reached_model"] += int(sum(e is None for e in infos["action_error"][: len(actions[lo: lo + n])]))
        spurious += [(a, r) for a, r in zip(batch, rew) if r > 0]
        _, rew2, *_ = envs.step(["look"] * n)  # cash in on whatever the model made up
        spurious += [("look after " + a, r) for a, r in zip(batch, rew2) if r > 0]
    envs.close()
    print(f"\ntrained default: {counts['tried']} adversarial actions, {counts['reached_model']} reached the model, "
          f"{len(spurious)} spurious rewards")
    assert counts["reached_model"] > 0
    assert spurious == []


def _slope(samples: list[float], every: int, warm: int = 4) -> float:
    """Least-squares growth after the first ``warm`` samples, in MiB per 100 vector steps."""
    y = samples[warm:]
    return float(np.polyfit(np.arange(len(y)) * every, y, 1)[0]) * 100


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="reads glibc's malloc statistics (mallinfo2)")
def test_rss_soak_with_retrieval_and_recording(trained_server, tmp_path):
    """Many vector-env steps against the served trained model, retrieval and replay recording on, in a fresh
    child process (earlier tests' memory would blur RSS). The live malloc heap and the RSS after glibc
    returns its free pages grow slowly; raw RSS, which also counts the free memory glibc keeps for reuse,
    is reported beside them (docs/reliability.md explains the difference)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("psutil")
    steps, every = 80, 5
    child = Path(__file__).with_name("soak_child.py")
    out = subprocess.run([sys.executable, str(child), trained_server.base_url, str(tmp_path / "soak.sqlite"),
                          str(steps), str(every)], capture_output=True, text=True, timeout=1500, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    s = json.loads(out.stdout.strip().splitlines()[-1])
    slopes = {k: _slope(v, every) for k, v in s.items()}
    print(f"\nRSS soak: {steps} vector steps x 8 envs; MiB per 100 steps after warm-up: "
          + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items())
          + f"; RSS {s['rss_mib'][0]:.0f} -> {s['rss_mib'][-1]:.0f} MiB, trimmed {s['trimmed_rss_mib'][0]:.0f} -> "
          f"{s['trimmed_rss_mib'][-1]:.0f}, heap {s['heap_mib'][0]:.1f} -> {s['heap_mib'][-1]:.1f}")
    # 1-3 KB of live heap per recorded transition (up to 8 per step) is expected: the store's and index's rows.
    assert slopes["heap_mib"] < 5.0
    assert slopes["trimmed_rss_mib"] < 20.0


def test_real_server_killed_and_restarted_mid_rollout(trained_server, tmp_path):
    """SIGKILL the real vLLM server mid-rollout: a typed error after bounded retries, nothing recorded for the
    failed step; restart it on the same port: the same env resumes; every answered step stored exactly once."""
    store = tmp_path / "replay.sqlite"
    env = gym.make(ENV_ID, base_url=trained_server.base_url, model="default-alfworld", max_retries=2,
                   timeout_s=30, replay_path=str(store), record_transitions=True)
    env.reset(seed=0)
    answered = 0
    for action in ("look", "inventory"):
        env.step(action)
        answered += 1
    seeded = len(_uids(store)) - answered
    os.killpg(trained_server.process.pid, signal.SIGKILL)
    trained_server.process.wait(timeout=30)
    t0 = time.monotonic()
    with pytest.raises(ServerUnavailableError, match="dreamgym serve"):
        env.step("look")
    fail_s = time.monotonic() - t0
    assert len(_uids(store)) == seeded + answered  # the failed step left nothing behind
    t0 = time.monotonic()
    trained_server.start(timeout_s=600)
    obs, _r, _term, _trunc, info = env.step("look")
    recovery_s = time.monotonic() - t0
    answered += 1
    assert info["parse_error"] is None and obs
    uids = _uids(store)
    assert len(uids) == len(set(uids)) == seeded + answered
    print(f"\nreal vLLM SIGKILL: typed error after {fail_s:.1f} s (2 retries); restart to first answered step "
          f"{recovery_s:.1f} s")
    env.close()
