"""The two ways to install (pip via pyproject.toml, conda via environment.yml) must agree."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str, str]:
    req = Requirement(spec)
    return (req.name.lower().replace("_", "-"), ",".join(sorted(str(s) for s in req.specifier)), ",".join(sorted(req.extras)))


def _pyproject_requirements() -> set[tuple[str, str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {_normalise(s) for s in specs}


def _conda_pip_requirements() -> set[tuple[str, str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip: section"
    return {_normalise(s) for s in pip_sections[0]}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject, conda = _pyproject_requirements(), _conda_pip_requirements()
    assert pyproject - conda == set(), f"in pyproject.toml but not environment.yml: {sorted(pyproject - conda)}"
    assert conda - pyproject == set(), f"in environment.yml but not pyproject.toml: {sorted(conda - pyproject)}"


def test_environment_yml_pins_the_same_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"].startswith(">=3.11")


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    # Any other torch spec makes pip download several GB of CUDA wheels (DEVELOPERS.md).
    assert ("torch", "==2.13.0", "") in _pyproject_requirements()
