"""The desktop bundle (`make dist`) against the same program run from source: its
size, what takes the space, and how long a user waits, each as a ratio measured in
the same run (alternating, medians of --repeat).

    make dist && .venv/bin/python bench/bundle.py [--repeat 5]

- first window: `flowui` from start until its main window has painted once
  (FLOWUI_BENCH_FIRST_FRAME quits there), under QT_QPA_PLATFORM=offscreen;
- `flowcli run` of the for_each example to completion, run store included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "FlowUI"
EXAMPLE = ROOT / "resources" / "examples" / "for_each.flow.json"


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (BUNDLE / "flowcli").exists():
        print("no bundle: run `make dist` first", file=sys.stderr)
        return 2
    total = size(BUNDLE)
    print(f"bundle: {total / 1e6:.0f} MB unpacked (target at most 150 MB)")
    parts = {p.name: size(p) if p.is_dir() else p.stat().st_size
             for p in (BUNDLE / "_internal").iterdir() if not p.is_symlink()}
    parts["executables (flowcli links to flowui on Linux)"] = sum(
        (BUNDLE / n).stat().st_size for n in ("flowui", "flowcli")
        if (BUNDLE / n).exists() and not (BUNDLE / n).is_symlink())
    qt = BUNDLE / "_internal" / "PySide6" / "Qt" / "lib"
    for lib in sorted(qt.iterdir(), key=lambda p: -p.stat().st_size)[:3]:
        parts[f"  of which Qt/lib/{lib.name}"] = lib.stat().st_size
    for name, n in sorted(parts.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {name:40} {n / 1e6:6.1f} MB")
    wheels = sorted((ROOT / "dist").glob("flowui-*.whl"))
    if wheels:
        print(f"wheel: {wheels[-1].stat().st_size / 1e3:.0f} kB")

    data = tempfile.mkdtemp(prefix="flowui-bench-")
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
           "FLOWUI_DATA_DIR": data, "QT_QPA_PLATFORM": "offscreen"}
    py = sys.executable
    cases = {
        "first window": ([py, "-m", "flowui.start"], [str(BUNDLE / "flowui")],
                         {"FLOWUI_BENCH_FIRST_FRAME": "1"}),
        "flowcli run for_each": ([py, "-m", "engine.cli", "run", str(EXAMPLE), "--events",
                                  "none"],
                                 [str(BUNDLE / "flowcli"), "run", str(EXAMPLE), "--events",
                                  "none"], {}),
    }
    for name, (source, frozen, extra) in cases.items():
        times: dict[str, list[float]] = {"source": [], "bundle": []}
        timed(source, {**env, **extra, "PYTHONPATH": str(ROOT)})  # warm the disk cache
        timed(frozen, {**env, **extra})
        for _ in range(args.repeat):
            times["source"].append(timed(source, {**env, **extra, "PYTHONPATH": str(ROOT)}))
            times["bundle"].append(timed(frozen, {**env, **extra}))
        s, b = statistics.median(times["source"]), statistics.median(times["bundle"])
        print(f"{name}: from source {s * 1000:.0f} ms, bundle {b * 1000:.0f} ms, "
              f"ratio {b / s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
