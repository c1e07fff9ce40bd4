"""`flowui [WORKFLOW]`, `flowui --version`: the editor's command, which says what is
missing instead of ending in a traceback when Qt cannot start.

Nothing here imports Qt before the checks: a missing PySide6, a Linux machine
without the X libraries Qt's xcb plugin needs (Qt aborts the process, no exception
to catch), or no display at all are each told in words with the fix."""

from __future__ import annotations

import ctypes.util
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The libraries Qt's xcb platform plugin loads, by the Debian/Ubuntu package that holds each.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-image": "libxcb-image0",
    "xcb-keysyms": "libxcb-keysyms1", "xcb-randr": "libxcb-randr0",
    "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0",
    "xcb-xinerama": "libxcb-xinerama0", "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}
USAGE = ("usage: flowui [WORKFLOW.flow.json]\n       flowui --version\n"
         "       flowui --self-test   (open, run and draw an example; exit 0 when all is well)")


def flowui_version() -> str:
    try:
        return version("flowui")
    except PackageNotFoundError:  # a checkout run without installing
        return "unknown (not installed)"


def qt_problem(environ: os._Environ[str] | dict[str, str] = os.environ,
               platform: str = sys.platform) -> str | None:
    """Why Qt cannot open a window here, with the fix; None when it should."""
    try:
        import PySide6  # noqa: F401  (the package only: cheap, no Qt library loaded)
    except ImportError:
        return ("FlowUI's editor needs Qt for Python (PySide6), which is not installed.\n"
                "Install FlowUI with its dependencies: pip install flowui")
    if not platform.startswith("linux"):
        return None
    wanted = environ.get("QT_QPA_PLATFORM", "")
    if wanted and not wanted.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: Qt says for itself
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return ("There is no display to open the editor's window on (DISPLAY is not set).\n"
                "Run FlowUI in a desktop session, or without a window with "
                "QT_QPA_PLATFORM=offscreen.")
    missing = [pkg for lib, pkg in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]
    if missing:
        return ("Qt cannot open a window: system libraries it needs are missing.\n"
                f"On Debian or Ubuntu: sudo apt install {' '.join(missing)}\n"
                "(other systems: the same X11 xcb libraries from your package manager)")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if Path(argv[0]).name.startswith("flowcli"):  # the bundle's flowcli: a link to flowui
        from engine.cli import main as command_line

        command_line()
        return 0
    args = argv[1:]
    if args[:1] in (["--version"], ["-V"]):
        print(f"flowui {flowui_version()}")
        return 0
    if args[:1] in (["--help"], ["-h"]):
        print(USAGE)
        return 0
    if args == ["--self-test"]:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
        problem = qt_problem()
        if problem is not None:
            print(f"flowui: {problem}", file=sys.stderr)
            return 1
        from flowui.app import main as run_editor

        return run_editor(argv[:1], self_test=True)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(f"flowui: unexpected arguments: {' '.join(args)}\n{USAGE}", file=sys.stderr)
        return 2
    problem = qt_problem()
    if problem is not None:
        print(f"flowui: {problem}", file=sys.stderr)
        return 1
    from flowui.app import main as run_editor

    return run_editor(argv)


if __name__ == "__main__":
    sys.exit(main())
