"""CurriculumConfig: the knobs of task selection and generation."""

from __future__ import annotations

from dataclasses import dataclass, field

from dreamgym_env.error import InvalidConfigError


@dataclass(frozen=True)
class CurriculumConfig:
    """Settings of a :class:`~dreamgym_env.curriculum.Curriculum`."""

    group_size: int = field(default=8, metadata={"help": "rollouts per task per group (the variance's n)"})
    tasks_per_round: int = field(default=8, metadata={"help": "distinct tasks in one round's plan"})
    exploration_bonus: float = field(default=0.1, metadata={"help": "value of a task with no complete group "
                                                            "(0.25 = the maximum variance of 0/1 rewards)"})
    stale_after_rounds: int = field(default=5, metadata={"help": "a task whose last group is this many rounds "
                                                         "old gets the exploration bonus again (0 = never)"})
    lambda_generated: float = field(default=0.5, metadata={"help": "max share of generated tasks per round"})
    seeds_per_round: int = field(default=4, metadata={"help": "top-valued tasks that seed generation"})
    variations_per_seed: int = field(default=4, metadata={"help": "variations the model proposes per seed"})
    max_instruction_chars: int = field(default=300, metadata={"help": "longer generated tasks are rejected"})
    max_new_tokens: int = field(default=400, metadata={"help": "generation budget of one model call"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature of task generation"})
    selection: bool = field(default=True, metadata={"help": "run the SELECTION/REASONING step"})

    def __post_init__(self) -> None:
        if self.group_size < 1 or self.tasks_per_round < 1:
            raise InvalidConfigError("group_size and tasks_per_round must be >= 1.")
        if not 0.0 <= self.lambda_generated <= 1.0:
            raise InvalidConfigError(f"lambda_generated must be in [0, 1], got {self.lambda_generated}.")
        if self.exploration_bonus < 0 or self.stale_after_rounds < 0:
            raise InvalidConfigError("exploration_bonus and stale_after_rounds must be >= 0.")
