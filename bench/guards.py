"""What the hostile-input guards cost (docs/limits.md), each against the unguarded way
of doing the same work, measured in the same run:

    .venv/bin/python bench/guards.py            # best of 7
    .venv/bin/python bench/guards.py --quick    # best of 3

1. Loading a 10,000-node workflow from its text (bounded JSON, then the model)
   against `json.loads` then the model. Target: at most 2x: the pure-Python walk
   that checks depth and numbers costs ~1.3 µs a node and counting the values
   ~0.4 (a whole `flowcli validate` of the file, a process of ~0.6 s, did not
   change measurably).
2. Rendering the config templates a run renders (a look-up, a filter chain, a
   built value, a `transform.template` loop) in FlowUI's bounded sandbox against
   Jinja's own immutable sandbox. Target: at most 2.5x (the time limit is checked at
   every attribute, item, call, filter, output and loop step, and every value built
   is weighed).
3. Masking one event (a node's outputs, the size of a real one) with 1 and 10
   secrets (every spelling of each: JSON, URL, repr, base64...) against turning
   the same event into its JSON line, which every event costs anyway. Target: at
   most 3x with 10 secrets.
4. A synchronous node body in a daemon worker (`in_thread`) against
   `asyncio.to_thread`. Target: at most 1.0x.
5. Confining a file path (resolve, links followed, roots checked) against
   `Path.resolve()` alone. Target: at most 2x.

Machines are noisy: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.secrets.redactor import Redactor  # noqa: E402
from engine.support.file_roots import confine  # noqa: E402
from engine.support.gcpause import gc_paused  # noqa: E402
from engine.support.threads import in_thread  # noqa: E402
from engine.templates.engine import TemplateEngine  # noqa: E402
from engine.workflow.file import loads  # noqa: E402
from engine.workflow.model import Workflow  # noqa: E402

TARGETS = {"load": 2.0, "templates": 2.5, "mask": 3.0, "thread": 1.0, "confine": 2.0}


def best(fn: Callable[[], Any], reps: int, inner: int = 1) -> float:
    """Seconds per call of `fn`: the best of `reps` rounds of `inner` calls."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return min(times)


def workflow_text(n: int) -> str:
    nodes = [{"id": f"n{i}", "type": "transform.template", "title": f"Step {i}",
              "position": [i % 100 * 250, i // 100 * 150],
              "config": {"template": "Hello {{ value.name }}", "extra": [1, 2.5, None]}}
             for i in range(n)]
    wires = [{"from": f"n{i}.text", "to": f"n{i + 1}.value"} for i in range(n - 1)]
    return json.dumps({"format": "flowui-workflow", "version": 1, "name": "bench",
                       "nodes": nodes, "connections": wires}, indent=2)


def bench_load(reps: int) -> tuple[float, float]:
    text = workflow_text(10_000)
    guarded = best(lambda: loads(text), reps)
    def bare() -> None:  # what loading did before the limits (the GC paused the same way)
        with gc_paused():
            Workflow.model_validate(json.loads(text))

    return guarded, best(bare, reps)


TEMPLATES = [
    ("{{ inputs.user.name }}", False),
    ("{{ ports.value | map(attribute='id') | list | tojson }}", False),
    ("{{ {'id': inputs.user.id, 'tags': inputs.tags | sort} }}", False),
    ("{% for row in ports.value %}{{ loop.index }}. {{ row.id }} {{ row.title | upper }}\n"
     "{% endfor %}", True),
]
NAMES = {"inputs": {"user": {"name": "Ada", "id": 7}, "tags": ["b", "a", "c"]},
         "ports": {"value": [{"id": i, "title": f"item {i}"} for i in range(50)]}}


def bench_templates(reps: int) -> tuple[float, float]:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    ours = TemplateEngine()
    plain = ImmutableSandboxedEnvironment()
    compiled = [plain.from_string(src) for src, _ in TEMPLATES]

    def guarded() -> None:
        for src, text in TEMPLATES:
            if text:
                ours.render_text(src, NAMES)
            else:
                ours.render_value(src, NAMES)

    def bare() -> None:
        for template in compiled:
            template.render(NAMES)

    return best(guarded, reps, 200), best(bare, reps, 200)


def bench_mask(reps: int) -> tuple[float, float, float]:
    event = {"event": "node_completed", "node_id": "fetch", "outputs": {
        "status": 200, "headers": {f"x-h{i}": f"value {i}" for i in range(12)},
        "body": "lorem ipsum dolor sit amet " * 30,
        "json": {"items": [{"id": i, "name": f"name {i}", "tags": ["a", "b"]}
                           for i in range(20)]}}}
    one = Redactor(["sk-live-4f9a8b7c6d5e4f3a2b1c"])
    ten = Redactor([f"secret-{i}-q\"w\\e%r+t/y" for i in range(10)])
    return (best(lambda: one.scrub(event), reps, 200), best(lambda: ten.scrub(event), reps, 200),
            best(lambda: json.dumps(event), reps, 200))


def bench_thread(reps: int) -> tuple[float, float]:
    def body() -> int:
        return 1

    async def many(hop: Callable[..., Any]) -> None:
        for _ in range(500):
            await hop(body)

    ours, bare = [], []
    for _ in range(max(reps, 7)):  # alternated: a thread hop is at the mercy of the machine
        for hop, times in ((in_thread, ours), (asyncio.to_thread, bare)):
            t = time.perf_counter()
            asyncio.run(many(hop))
            times.append((time.perf_counter() - t) / 500)
    return min(ours), min(bare)


def bench_confine(reps: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "data").mkdir()
        (base / "data" / "in.txt").write_text("x")
        return (best(lambda: confine("data/in.txt", base), reps, 500),
                best(lambda: (base / "data/in.txt").resolve(), reps, 500))


def line(name: str, ours: float, bare: float, unit: str, target: float) -> None:
    ratio = ours / bare
    ok = "ok" if ratio <= target else "OVER"
    print(f"{name:<44}{ours * unit[1]:>10.2f}{bare * unit[1]:>10.2f} {unit[0]:<3}"
          f"{ratio:>7.2f}x  (target <= {target}x: {ok})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    reps = 3 if parser.parse_args().quick else 7
    ms, us = ("ms", 1e3), ("µs", 1e6)
    print(f"Python {sys.version.split()[0]}; best of {reps}; guarded vs unguarded")
    print(f"{'':<44}{'guarded':>10}{'bare':>10}{'':4}{'ratio':>7}")
    line("1. load a 10,000-node workflow", *bench_load(reps), ms, TARGETS["load"])
    line("2. render 4 config/text templates", *bench_templates(reps), us, TARGETS["templates"])
    one, ten, none = bench_mask(reps)
    line("3. mask an event, 1 secret", one, none, us, TARGETS["mask"])
    line("   mask an event, 10 awkward secrets", ten, none, us, TARGETS["mask"])
    line("4. a sync node body in a worker thread", *bench_thread(reps), us, TARGETS["thread"])
    line("5. confine a file path", *bench_confine(reps), us, TARGETS["confine"])


if __name__ == "__main__":
    main()
