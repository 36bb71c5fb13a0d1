"""Child process of the RSS soak test: a fresh interpreter, so earlier tests' memory does not blur RSS.

    python soak_child.py BASE_URL STORE_PATH STEPS EVERY   -> prints a JSON line of samples as its last line

Every ``EVERY`` vector steps it samples the process RSS, then asks glibc to hand its free pages back
(``malloc_trim(0)``) and samples RSS again, and reads glibc's live heap (``mallinfo2``: bytes in use,
not bytes kept free for reuse). RSS alone mixes a leak with memory glibc keeps after ``free``.
"""

from __future__ import annotations

import ctypes
import json
import sys

import gymnasium as gym
import numpy as np
import psutil

import dreamgym_env  # noqa: F401  (registers the ids)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]


def main() -> None:
    base_url, store, steps, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    proc = psutil.Process()
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=8, max_episode_steps=10, base_url=base_url,
                        model="default-alfworld", replay_path=store, record_transitions=True,
                        check_in_episode=False)  # every verb reaches the model and the store, as measured before
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    verbs = ["look", "inventory", "go to countertop 1", "open drawer 1", "take mug 1 from countertop 1", "x!"]
    out: dict[str, list[float]] = {"rss_mib": [], "trimmed_rss_mib": [], "heap_mib": [], "free_kept_mib": []}
    for t in range(steps):
        envs.step([verbs[i] for i in rng.integers(0, len(verbs), 8)])
        if t % every == every - 1:
            out["rss_mib"].append(proc.memory_info().rss / 2**20)
            libc.malloc_trim(0)
            out["trimmed_rss_mib"].append(proc.memory_info().rss / 2**20)
            m = libc.mallinfo2()
            out["heap_mib"].append((m.uordblks + m.hblkhd) / 2**20)
            out["free_kept_mib"].append(m.fordblks / 2**20)
    envs.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
