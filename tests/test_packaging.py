"""What `pip install` gives: every package and the resources inside the wheel, found
by the one resolver once installed; `flowui` and `flowcli` answering --version; and
`flowui` saying what is missing, never a traceback, when Qt cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from flowui import start

ROOT = Path(__file__).parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_listed_packages_are_the_tree():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    code = {str(p.parent.relative_to(ROOT)).replace(os.sep, ".")
            for top in ("engine", "nodes", "flowui") for p in (ROOT / top).rglob("__init__.py")}
    data = {"flowui._resources"} | {f"flowui._resources.{d.name}"
                                    for d in (ROOT / "resources").iterdir() if d.is_dir()}
    assert listed == code | data


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_both_commands_say_their_version():
    version = _pyproject()["project"]["version"]
    assert _run("-m", "flowui.start", "--version").stdout.strip() == f"flowui {version}"
    assert version in _run("-m", "engine.cli", "--version").stdout


def test_without_a_display_flowui_says_so_and_how_to_go_on():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "flowui.start"], capture_output=True,
                          text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)})
    if sys.platform.startswith("linux"):
        assert done.returncode == 1
        assert "no display" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr
        assert "Traceback" not in done.stderr


def test_missing_x_libraries_are_named_by_their_package(monkeypatch):
    monkeypatch.setattr(start.ctypes.util, "find_library",
                        lambda name: None if name in ("xcb-cursor", "xkbcommon-x11") else "x")
    problem = start.qt_problem({"DISPLAY": ":0"}, "linux")
    assert problem is not None
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in problem
    assert start.qt_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert start.qt_problem({}, "win32") is None


def test_unexpected_arguments_are_a_usage_error():
    done = _run("-m", "flowui.start", "a.flow.json", "b.flow.json")
    assert done.returncode == 2 and "usage: flowui" in done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("flowui-*.whl")
    return found


def test_the_wheel_holds_the_resources_and_the_installed_program_finds_them(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    for file in (ROOT / "resources").rglob("*"):
        if file.is_file():
            assert f"flowui/_resources/{file.relative_to(ROOT / 'resources').as_posix()}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # what pip install puts in site-packages
    probe = ("import sys; from flowui import resources; r = resources.root(); "
             "print(r); print((r / 'icons' / 'app.svg').is_file()); "
             "print(len(list(resources.examples_dir().glob('*.flow.json'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site),
                                                         "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    where, icon, examples = done.stdout.split()
    assert Path(where) == site / "flowui" / "_resources"
    assert icon == "True" and int(examples) == len(list((ROOT / "resources" / "examples")
                                                        .glob("*.flow.json")))
    example = site / "flowui" / "_resources" / "examples" / "for_each.flow.json"
    checked = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(example)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": str(site)})
    assert checked.returncode == 0, checked.stderr


def test_the_self_test_opens_runs_and_draws_an_example():
    done = _run("-m", "flowui.start", "--self-test", env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert "self-test passed" in done.stdout
    assert "every node completed" in done.stdout and "frame" in done.stdout


def test_the_self_test_fails_loudly_when_the_result_is_wrong():
    script = ("import sys; import flowui.self_test as t; t.EXPECTED = {'squares': [0]}; "
              "from flowui.start import main; sys.exit(main(['flowui', '--self-test']))")
    done = _run("-c", script, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 1
    assert "self-test failed" in done.stderr and "expected {'squares': [0]}" in done.stderr
