"""The package's shape: an installed distribution, one subpackage per pipeline, pipelines that meet
only through each other's package face, and DAG tasks that are one call of a pipeline's steps."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "plugins" / "gospublic"
PIPELINES = ("registry", "vk", "ok", "max", "telegram", "incidents", "marts", "rating", "ops")
FOUNDATIONS = ("infra", "orchestration")
FACES = {"__init__.py", "cli.py"}


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, as (line, dotted name); ``from a import b`` gives ``a.b``
    when ``a.b`` is a module of the package, else ``a``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (PROJECT / "plugins" / Path(*candidate.split("."))).with_suffix(".py").exists()
                found.append((node.lineno, candidate if is_module else node.module))
    return found


def test_the_top_level_holds_only_subpackages_and_package_faces() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == FACES, f"modules at the top of plugins/gospublic: {sorted(files - FACES)}"
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert subpackages == set(PIPELINES) | set(FOUNDATIONS)
    for name in subpackages:
        assert (PACKAGE / name / "__init__.py").exists(), name


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_pipeline_has_steps_and_results(pipeline: str) -> None:
    for module in ("steps", "results"):
        assert (PACKAGE / pipeline / f"{module}.py").exists(), f"gospublic.{pipeline}.{module}"


def test_pipelines_meet_only_through_package_faces() -> None:
    """A pipeline may use the foundations and another pipeline's face (its ``__init__``), never
    another pipeline's modules; the foundations use no pipeline at all."""
    wrong: list[str] = []
    for path in modules(PACKAGE):
        parts = path.relative_to(PACKAGE).parts
        home = parts[0] if len(parts) > 1 else None
        for line, name in imported_modules(path):
            segments = name.split(".")
            if segments[0] != "gospublic" or len(segments) < 2 or segments[1] not in PIPELINES:
                continue
            other = segments[1]
            if home in FOUNDATIONS:
                wrong.append(f"{path.relative_to(PROJECT)}:{line} foundation imports pipeline {name}")
            elif home in PIPELINES and other != home and len(segments) > 2:
                wrong.append(f"{path.relative_to(PROJECT)}:{line} reaches into {name}")
    assert not wrong, "\n".join(wrong)


def _task_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    def is_task(decorator: ast.expr) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        while isinstance(target, ast.Attribute):
            if isinstance(target.value, ast.Name) and target.value.id == "task":
                return True
            target = target.value
        return isinstance(target, ast.Name) and target.id == "task"

    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any(is_task(d) for d in node.decorator_list)
    ]


def _steps_calls(function: ast.FunctionDef) -> tuple[int, list[str]]:
    """How many calls of a pipeline's steps the task makes, and what else of gospublic it imports."""
    step_modules: set[str] = set()  # local names bound to a steps module
    step_functions: set[str] = set()  # local names bound to a function of a steps module
    other_imports: list[str] = []
    for node in ast.walk(function):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gospublic"):
            module = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name == "steps":
                    step_modules.add(local)
                elif module.endswith(".steps"):
                    step_functions.add(local)
                else:
                    other_imports.append(f"{module}.{alias.name}")

    def is_step_call(func: ast.expr) -> bool:
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.value.id in step_modules
        return isinstance(func, ast.Name) and func.id in step_functions

    calls = sum(1 for node in ast.walk(function) if isinstance(node, ast.Call) and is_step_call(node.func))
    return calls, other_imports


@pytest.mark.parametrize("dag_file", sorted((PROJECT / "dags").glob("*.py")), ids=lambda p: p.stem)
def test_every_task_is_one_call_of_a_pipelines_steps(dag_file: Path) -> None:
    tasks = _task_functions(ast.parse(dag_file.read_text(), str(dag_file)))
    assert tasks, f"{dag_file.name} has no @task"
    for function in tasks:
        calls, others = _steps_calls(function)
        assert calls == 1, f"{dag_file.name}:{function.name} calls steps {calls} times"
        assert not others, f"{dag_file.name}:{function.name} imports {others} besides a steps module"


def _clean_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the venv's interpreter from a folder outside the project, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONSTARTUP"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_gospublic_imports_from_the_installed_distribution_alone() -> None:
    probe = _clean_python(
        "import importlib.metadata as m, importlib.util as u, gospublic, transforms, gospublic.vk.steps;"
        "print(m.distribution('gospublic').metadata['Name']);"
        "print(*[n for n in ('sandbox', 'tests', 'bench', 'dags', 'plugins') if u.find_spec(n)], sep=',')"
    )
    assert probe.returncode == 0, probe.stderr
    name, leaked = probe.stdout.splitlines()
    assert name == "gospublic"
    assert leaked == "", f"development folders importable in production: {leaked}"


def test_no_path_file_puts_project_folders_on_sys_path() -> None:
    site = Path(_clean_python("import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    for pth in site.glob("*.pth"):
        for line in pth.read_text().splitlines():
            if line and not line.startswith(("#", "import ")):
                assert not Path(line).resolve().is_relative_to(PROJECT), f"{pth.name} adds {line}"


@pytest.mark.slow
def test_the_wheel_holds_exactly_the_two_packages(tmp_path: Path) -> None:
    """Built as the Dockerfile builds it: from a copy of pyproject.toml and the two source folders."""
    source = tmp_path / "src"
    for part in ("plugins/gospublic", "transforms"):
        shutil.copytree(PROJECT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "pyproject.toml", source / "pyproject.toml")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    command += ["-w", str(tmp_path), str(source)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("gospublic-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "gospublic",
        "transforms",
    }
    packaged = {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    expected = {
        f"gospublic/{p.parent.relative_to(PACKAGE)}".rstrip("/.") for p in PACKAGE.rglob("__init__.py")
    }
    expected |= {"transforms"}
    assert expected <= packaged, sorted(expected - packaged)
    sources = {n for n in names if n.endswith(".py")}
    for path in modules(PACKAGE):
        assert f"gospublic/{path.relative_to(PACKAGE)}" in sources, path


@pytest.mark.airflow
def test_airflows_plugin_scan_imports_no_module_of_the_package() -> None:
    """Airflow imports each file of its plugins folder under its bare name; the package must be
    skipped (plugins/.airflowignore) or ``vk/session.py`` and friends would load twice."""
    probe = _clean_python(
        "import os, sys;"
        f"os.environ['AIRFLOW__CORE__PLUGINS_FOLDER'] = {str(PROJECT / 'plugins')!r};"
        "from airflow import plugins_manager;"
        "plugins_manager.ensure_plugins_loaded();"
        f"root = {str(PACKAGE)!r};"
        "print('LOADED:', *sorted(n for n, m in list(sys.modules.items()) if not n.startswith('gospublic') "
        "and str(getattr(m, '__file__', '') or '').startswith(root)), sep=',')"
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    (loaded,) = [line for line in probe.stdout.splitlines() if line.startswith("LOADED:")]
    assert loaded == "LOADED:", f"imported by Airflow's plugin scan: {loaded}"


def test_the_project_home_defaults_to_the_checkout_the_package_runs_from() -> None:
    env_free = "import os; os.environ.pop('GOSPUBLIC_HOME', None);"
    probe = _clean_python(env_free + "from gospublic.infra import settings; print(settings.project_home())")
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert Path(probe.stdout.strip()) == PROJECT
