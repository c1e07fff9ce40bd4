"""The inspector's form build time, as the app builds it (the theme applied): the median
of rebuilds of every node's form in resources/examples/parallel_requests.flow.json.

    QT_QPA_PLATFORM=offscreen python bench/inspector_form.py [--app-sheet]

`--app-sheet` adds an application-wide style sheet of one rule, to show what any
such sheet costs (docs/notes.md).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    app = QApplication([])
    from engine.core.registry import Registry
    from engine.workflow import file as workflow_file
    from flowui import theme
    from flowui.canvas.scene import GraphScene
    from flowui.document import WorkflowDocument
    from flowui.editor import Editor
    from flowui.inspector import InspectorWidget

    theme.apply(app)
    if "--app-sheet" in sys.argv:
        app.setStyleSheet("QToolTip { padding: 4px; }")
    workflow = workflow_file.load(ROOT / "resources/examples/parallel_requests.flow.json")
    doc = WorkflowDocument(Registry.discover(plugins=False), workflow)
    inspector = InspectorWidget(Editor(doc, GraphScene(doc)))
    inspector.resize(360, 800)
    inspector.show()
    times: dict[str, list[float]] = {}
    for _ in range(5):
        for node in workflow.nodes:
            started = time.perf_counter()
            inspector.show_node(node.id, force=True)
            app.processEvents()
            times.setdefault(f"{node.id} ({node.type})", []).append(
                (time.perf_counter() - started) * 1000)
    for name, ms in times.items():
        print(f"{name:36s} {statistics.median(ms[1:]):6.1f} ms")  # the first warms up
    medians = [statistics.median(ms[1:]) for ms in times.values()]
    print(f"median form: {statistics.median(medians):.1f} ms")


if __name__ == "__main__":
    main()
