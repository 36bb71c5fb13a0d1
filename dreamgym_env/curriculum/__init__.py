"""Curriculum task generation: a persistent task pool, reward-variance task selection, and LLM-written
task variations (DreamGym's third component)."""

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.curriculum import Curriculum, forget_shared_curricula, shared_curriculum
from dreamgym_env.curriculum.generation import REJECTION_REASONS, GenerationReport, TaskGenerator
from dreamgym_env.curriculum.pool import CurriculumPoolError, PoolEntry, TaskPool
from dreamgym_env.curriculum.value import group_variance, task_value, top_k

__all__ = ["REJECTION_REASONS", "Curriculum", "CurriculumConfig", "CurriculumPoolError", "GenerationReport",
           "PoolEntry", "TaskGenerator", "TaskPool", "forget_shared_curricula", "group_variance",
           "shared_curriculum", "task_value", "top_k"]
