"""Package discovery: ``envs/`` is installed as ``dreamgym_env.envs`` (see pyproject's package-dir)."""

from setuptools import find_packages, setup

packages = find_packages(include=["dreamgym_env", "dreamgym_env.*"])
packages += ["dreamgym_env.envs"] + [f"dreamgym_env.envs.{p}" for p in find_packages("envs")]
setup(packages=packages)
