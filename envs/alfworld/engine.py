"""The real ALFWorld engine: TextWorld's PDDL environment over ALFRED's ``alfred.pddl``/``alfred.twl2``.

This module imports ``textworld`` (and its ``fast_downward`` planner) only when an
:class:`ALFWorldEngine` is built, and raises :class:`~dreamgym_env.error.MissingDependencyError`
naming the ``alfworld`` extra when they are missing.

Two command dialects, one per engine:

* ``"move"``: alfworld 0.4's grammar as shipped: ``move O to R`` -> "You move the O to the R.",
  ``go to R`` -> "You arrive at R. On the R, you see ...", plus a ``help`` command.
* ``"put"``: the grammar of the game files behind the public datasets (ALFWorld <= 0.3, ReAct,
  AgentInstruct, ETO): ``put O in/on R`` -> "You put the O in/on the R.", ``go to R`` ->
  "You arrive at loc N. On the R, ..." of which harnesses keep only "On the R, you see ..." (so
  does this engine), and no ``help``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import zlib
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamgym_env.error import MissingDependencyError

from .alfred import AlfredFacts, load_facts
from .problem import InvalidProblemError, Problem, to_pddl

DIALECTS = ("put", "move")
NOTHING_HAPPENS = "Nothing happens."
_WELCOME = "-= Welcome to TextWorld, ALFRED! =-\n\n"
_ARRIVE_LOC = re.compile(r"^You arrive at loc \d+\. ")


def _textworld() -> Any:
    try:
        import fast_downward  # noqa: F401
        import textworld
        from textworld.envs.pddl import PddlEnv
        from textworld.envs.pddl import logic as pddl_logic
    except ImportError as e:
        raise MissingDependencyError("alfworld", "alfworld", "the real ALFWorld engine (textworld + fast-downward)") from e
    _speed_up_textgen()
    return textworld, PddlEnv, pddl_logic


@functools.lru_cache(maxsize=1)
def _speed_up_textgen() -> None:
    """Memoizes TextWorld's text-grammar and query parsers and lightens its context copies.

    Same text out, several times faster steps.

    Every step re-parses the same few dozen rule strings with TatSu to render admissible commands
    and feedback; parsing, not the game logic, dominates a step. Parsed derivations are mutated by
    the caller, so the cache hands out deep copies; parsed queries are only read.
    """
    import copy

    import textworld.logic as tw_logic
    from textworld.envs.pddl import textgen

    parse = textgen._parse_and_convert
    cache: dict[tuple, Any] = {}

    def cached_parse(text: str, rule_name: str = "symbols", **kwargs: Any) -> Any:
        key = (text, rule_name)
        if key not in cache:
            cache[key] = parse(text, rule_name=rule_name, **kwargs)
        return copy.deepcopy(cache[key])

    def copy_context(context: dict) -> dict:
        # Upstream deep-copies the entity infos on every symbol; derivation only rebinds keys of
        # these two dicts (never mutates the values), so a copy of the dicts is equivalent.
        return {"state": context["state"], "facts": context["facts"], "variables": dict(context["variables"]),
                "mapping": dict(context["mapping"]), "entity_infos": context["entity_infos"]}

    textgen._parse_and_convert = cached_parse
    textgen.copy_context = copy_context
    query = tw_logic.Rule.parse_conjunctive_query.__func__
    tw_logic.Rule.parse_conjunctive_query = classmethod(functools.lru_cache(maxsize=4096)(query))


def dialect_logic(dialect: str, facts: AlfredFacts) -> tuple[str, str]:
    """Returns the ``(pddl_domain, grammar)`` texts of a dialect.

    Raises:
        ValueError: unknown dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown ALFWorld dialect {dialect!r}; choose one of {DIALECTS}")
    domain, grammar = facts.pddl_domain, facts.grammar
    if dialect == "put":
        grammar = (grammar.replace('"move {o} to {r}"', '"put {o} in/on {r}"')
                   .replace("You move the {o.name} to the {r.name}.", "You put the {o.name} in/on the {r.name}.")
                   .replace("You arrive at {r.name}.", "You arrive at {lend.name}."))
        grammar = re.sub(r"\naction help \{.*?\n\}\n", "\n", grammar, flags=re.DOTALL)
        domain = re.sub(r"\(:action help.*?\n\)\n", "", domain, flags=re.DOTALL)
    return domain, grammar


@functools.lru_cache(maxsize=4)
def _game_logic(dialect: str) -> Any:
    _, _, pddl_logic = _textworld()
    domain, grammar = dialect_logic(dialect, load_facts())
    return pddl_logic.GameLogic(domain=domain, grammar=grammar)


def entity_names(ids: Sequence[str]) -> dict[str, str]:
    """Names engine entities as ALFWorld does (``cabinet_bar_...`` -> ``cabinet 3``).

    Ids are grouped by the class before the first ``_bar_`` (``sink..._bar_sinkbasin`` -> ``sinkbasin``);
    within a class, the sorted ids are numbered from the count down to 1, as upstream's demangler does.
    """
    counts: Counter[str] = Counter()
    for i in ids:
        if "_bar_" in i:
            counts[_class_of(i)] += 1
    left = {name: list(range(1, n + 1)) for name, n in counts.items()}
    names = {}
    for i in sorted(ids):
        if "_bar_" in i:
            cls = _class_of(i)
            names[i] = f"{cls} {left[cls].pop()}"
        else:
            names[i] = i
    return names


def _class_of(entity_id: str) -> str:
    name = entity_id.split("_bar_", 1)[0]
    return name + "basin" if "basin" in entity_id else name


@dataclass(frozen=True)
class Fact:
    """One true PDDL predicate with human-readable arguments, e.g. ``Fact("inreceptacle", ("mug 1", "cabinet 2"))``."""

    name: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})"


class ALFWorldEngine:
    """One real ALFWorld game at a time, played by TextWorld's PDDL engine.

    Args:
        dialect: ``"put"`` (the public datasets' grammar) or ``"move"`` (alfworld 0.4's).
        cache_size: How many problems' PDDL translations to keep in memory (translating takes 0.3-1.5 s).
        disk_cache: Also keep translations on disk (~0.1 MB each, read in ~5 ms), keyed by the PDDL
            texts and the engine versions.
        cache_dir: Folder of the disk cache; default ``$DREAMGYM_CACHE/alfworld`` or
            ``~/.cache/dreamgym_env/alfworld``.

    Raises:
        MissingDependencyError: textworld/fast-downward are not installed.
    """

    def __init__(self, dialect: str = "put", cache_size: int = 16, disk_cache: bool = True,
                 cache_dir: str | Path | None = None) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown ALFWorld dialect {dialect!r}; choose one of {DIALECTS}")
        textworld, pddl_env_cls, _ = _textworld()
        self.dialect = dialect
        self.facts_db = load_facts()
        self._env = pddl_env_cls(textworld.EnvInfos(admissible_commands=True, won=True))
        self._problem: Problem | None = None
        self._pddl: str = ""
        self._names: dict[str, str] = {}
        self._state: Any = None
        self._translated: Any = None
        self._replan_sas: str | None = None
        self._fresh = False
        self._cache: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._disk = Path(cache_dir) if cache_dir is not None else default_cache_dir() if disk_cache else None
        self.instruction = ""

    # ----- loading -------------------------------------------------------------------------------
    def load(self, problem: Problem) -> None:
        """Loads a problem (translating its PDDL once); the next :meth:`reset` starts it.

        Raises:
            InvalidProblemError: the engine cannot translate the problem.
        """
        logic = _game_logic(self.dialect)
        pid = problem.problem_id
        if self._problem is not None and self._problem == problem:
            self._fresh = False  # same problem: reset() rebuilds its initial state
            return
        if pid in self._cache:
            self._cache.move_to_end(pid)
            self._pddl, self._translated = self._cache[pid]
        else:
            self._pddl = to_pddl(problem, self.facts_db)
            self._translated = self._translate_cached(pid, logic.domain, self._pddl)
            if self._cache_size > 0:
                self._cache[pid] = (self._pddl, self._translated)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        self._replan_sas = None
        env = self._env
        env._game_data = {"pddl_problem": self._pddl}
        env._game_file = None
        env.walkthrough = None
        env._logic = logic
        env._pddl_state = self._new_state()
        env._entity_infos = env._get_entity_infos()
        self._names = entity_names(list(env._entity_infos))
        for key, info in env._entity_infos.items():
            info.name = self._names[key]
        self._problem = problem
        self.instruction = problem.instruction
        self._fresh = True

    def _translate_cached(self, pid: str, domain: str, pddl: str) -> tuple[Any, str]:
        path = None
        if self._disk is not None:
            path = self._disk / f"{_translation_key(domain, pddl)}.pkl.z"
            cached = _read_cached(path)
            if cached is not None:
                return cached
        try:
            translated = _translate(domain, pddl, optimize=False)
        except Exception as e:  # the PDDL translator raises plain exceptions on malformed input
            raise InvalidProblemError(pid, f"the engine cannot translate it ({type(e).__name__}: {e})") from e
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(zlib.compress(pickle.dumps(translated, protocol=pickle.HIGHEST_PROTOCOL), 1))
                tmp.replace(path)  # atomic: concurrent envs never read a partial file
            except OSError:
                pass  # a read-only or full disk only costs speed
        return translated

    def _new_state(self) -> Any:
        return _make_state(self._env.downward_lib, self._pddl, self._env._logic, self._translated)

    @property
    def problem(self) -> Problem:
        """The loaded problem."""
        if self._problem is None:
            raise RuntimeError("no problem loaded: call load(problem) first")
        return self._problem

    # ----- playing -------------------------------------------------------------------------------
    def reset(self) -> str:
        """Starts the loaded problem; returns the first observation (room overview + task)."""
        if self._problem is None:
            raise RuntimeError("no problem loaded: call load(problem) first")
        textworld, _, _ = _textworld()
        env = self._env
        if not self._fresh:  # replaying: rebuild the initial state from the cached translation
            env._pddl_state = self._new_state()
            self._replan_sas = None
        self._fresh = False
        # What PddlEnv.reset does, minus re-translating the PDDL problem.
        env.prev_state = None
        env.state = textworld.core.GameState()
        env._last_action = None
        env._moves = 0
        context = {"state": env._pddl_state, "facts": list(env._pddl_state.facts), "variables": {},
                   "mapping": {}, "entity_infos": env._entity_infos}
        env.state.feedback = env._logic.grammar.derive("#intro#", context)
        env.state.raw = env.state.feedback
        env._gather_infos()
        self._state = env.state
        text = self._state.feedback.replace("UNKNOWN GOAL.", self.instruction)
        return text.removeprefix(_WELCOME)

    def step(self, command: str) -> tuple[str, bool, bool]:
        """Plays one command. Returns ``(observation, admissible, won)``.

        A command that is not admissible changes nothing and yields "Nothing happens.".
        """
        admissible = command in self._state["admissible_commands"]
        self._state, _, _ = self._env.step(command)
        text = self._state.feedback
        if self.dialect == "put":
            text = _ARRIVE_LOC.sub("", text)
        return text, admissible, bool(self._state["won"])

    @property
    def admissible_commands(self) -> list[str]:
        """The admissible commands now (sorted, unique: as upstream)."""
        return list(self._state["admissible_commands"])

    @property
    def won(self) -> bool:
        """Whether the goal holds now."""
        return bool(self._state["won"])

    def facts(self) -> frozenset[Fact]:
        """The true PDDL facts now, with human-readable arguments (static type facts left out)."""
        out = set()
        for p in self._env._pddl_state.facts:
            if p.name in _STATIC_NOISE:
                continue
            out.add(Fact(p.name, tuple(self._names.get(v.name, v.name) for v in p.arguments)))
        return frozenset(out)

    def plan(self) -> list[str]:
        """The engine planner's (fast-downward) plan from the current state; ``[]`` if none exists.

        Slow on big rooms (seconds): used to certify generated problems, not to act every step.
        """
        state = self._env._pddl_state
        if self._replan_sas is None:
            _, self._replan_sas = _translate(self._env._logic.domain, self._pddl, optimize=True)
            state.downward_lib.load_sas_replan(self._replan_sas.encode("utf-8"))
        return list(state.replan(self._env._entity_infos))

    def entity_name(self, pddl_id: str) -> str:
        """The display name of a PDDL constant."""
        return self._names.get(pddl_id.lower(), pddl_id)

    @property
    def pddl_problem(self) -> str:
        """The PDDL text of the loaded problem."""
        return self._pddl

    def close(self) -> None:
        """Releases the engine."""
        self._state = None


#: Facts that never change and only bloat annotations.
_STATIC_NOISE = frozenset({"cancontain"})


def check_solvable(engine: ALFWorldEngine, problem: Problem) -> list[str]:
    """Checks with the real engine that ``problem`` is solvable: the planner finds a plan and playing
    it makes the goal hold. Returns the plan.

    Raises:
        InvalidProblemError: with the reason when it is not.
    """
    engine.load(problem)
    engine.reset()
    if engine.won:
        raise InvalidProblemError(problem.problem_id, "the goal already holds at the start")
    plan = engine.plan()
    if not plan:
        raise InvalidProblemError(problem.problem_id, "the engine's planner finds no plan (unsolvable)")
    for i, cmd in enumerate(plan):
        obs, admissible, won = engine.step(cmd)
        if not admissible:
            raise InvalidProblemError(problem.problem_id, f"plan step {i} {cmd!r} is not admissible ({obs!r})")
        if won and i < len(plan) - 1:
            break
    if not engine.won:
        raise InvalidProblemError(problem.problem_id, "playing the planner's plan does not reach the goal")
    return plan


def default_cache_dir() -> Path:
    """The project's cache folder (``$DREAMGYM_CACHE``, see :func:`dreamgym_env.model.assets.cache_dir`) / alfworld."""
    from dreamgym_env.model.assets import cache_dir

    return cache_dir() / "alfworld"


@functools.lru_cache(maxsize=1)
def _engine_versions() -> str:
    import sys
    from importlib.metadata import version

    return f"{sys.version_info[:2]}/{version('textworld')}/{version('fast-downward-textworld')}"


def _read_cached(path: Path) -> tuple[Any, str] | None:
    """A cached translation, or ``None`` when absent or unreadable (then it is translated again)."""
    try:
        return pickle.loads(zlib.decompress(path.read_bytes()))
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
        return None


def _translation_key(domain: str, pddl: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (_engine_versions(), domain, pddl):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _translate(domain: str, problem: str, optimize: bool) -> tuple[Any, str]:
    """fast-downward's PDDL -> SAS translation (it overwrites ``sys.argv``: restored here)."""
    import sys

    import fast_downward

    argv = list(sys.argv)
    try:
        return fast_downward.pddl2sas(domain, problem, optimize=optimize)
    finally:
        sys.argv = argv


def _make_state(downward_lib: Any, pddl_problem: str, logic: Any, translated: tuple[Any, str]) -> Any:
    """Builds TextWorld's ``PddlState`` from an already translated task.

    Upstream's constructor translates the problem twice (once more for its planner) on every reset;
    translation is most of the cost of a reset, so it is done once per problem here and the planner's
    own translation is made only when a plan is asked for (:meth:`ALFWorldEngine.plan`).
    """
    from collections import Counter as _Counter
    from collections import defaultdict

    import fast_downward
    import textworld.logic
    from textworld.envs.pddl import logic as pddl_logic
    from textworld.logic import Proposition, Variable

    state = pddl_logic.PddlState.__new__(pddl_logic.PddlState)
    state._facts = defaultdict(set)
    state._vars_by_name = {}
    state._vars_by_type = defaultdict(set)
    state._var_counts = _Counter()
    state._logic = logic
    state.downward_lib = downward_lib
    state.pddl_problem = pddl_problem
    state.task, state.sas = translated
    state.sas_replan = None
    state._actions = {a.name: a for a in state.task.actions}
    for type_ in state.task.types:
        try:
            logic.types.add(textworld.logic.Type(type_.name, type_.supertype_names))
        except ValueError:
            pass
    downward_lib.load_sas(state.sas.encode("utf-8"))
    state.name2type = {o.name: o.type_name for o in state.task.objects}
    init = []
    for atom in state.task.init:
        if isinstance(atom, fast_downward.translate.pddl.conditions.Atom) and atom.predicate != "=":
            init.append(Proposition(atom.predicate, [Variable(a, state.name2type[a]) for a in atom.args]))
    state.add_facts(init)
    atoms = (pddl_logic.Atom * downward_lib.get_state_size())()
    downward_lib.get_state(atoms)
    state.add_facts([f for f in (a.get_fact(state.name2type) for a in atoms) if not f.is_negation])
    return state
