"""Groups and sticky notes at scale: frames of a 2,000-node workflow without and with
60 groups and 60 Markdown notes, at fit view (the far overview) and at 100%.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/decor.py [--reps N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QPointF, QSettings
from PySide6.QtWidgets import QApplication

from bench.editor import FRAME, generate

NOTE = "# Step\n\nFetches **the data**, then:\n\n- parses it\n- logs it\n\n`retry: 3`"


def frame_ms(app: QApplication, window, reps: int, *, pan: bool) -> float:
    """Best time of a full viewport repaint; `pan` scrolls a pixel first (so the far
    overview's kept picture is drawn again, as while panning)."""
    times = []
    for i in range(reps):
        if pan:
            window.view.scroll_by(QPointF(1 if i % 2 else -1, 0))
        app.processEvents()
        t0 = time.perf_counter()
        window.view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times)


def measure(app: QApplication, window, reps: int) -> dict[str, float]:
    view = window.view
    view.fit_all()
    app.processEvents()
    out = {"fit_pan_ms": frame_ms(app, window, reps, pan=True),
           "fit_still_ms": frame_ms(app, window, reps, pan=False)}
    view.set_zoom(1.0)
    view.centerOn(window.scene.nodes["n1000"].sceneBoundingRect().center())
    out["zoom100_pan_ms"] = frame_ms(app, window, reps, pan=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--bare-only", action="store_true",
                        help="only the graph without groups (runs on a tree without them)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    from engine.core.registry import Registry
    from flowui import theme
    from flowui.mainwindow import MainWindow

    theme.apply(app)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLOWUI_DATA_DIR"] = tmp
        path = Path(tmp) / "big.flow.json"
        path.write_text(json.dumps(generate(2000)))
        window = MainWindow(Registry.discover(plugins=False),
                            settings=QSettings(str(Path(tmp) / "s.ini"),
                                               QSettings.Format.IniFormat))
        window.resize(*FRAME)
        window.show()
        app.processEvents()
        assert window.files.open_path(path, ask=False)
        app.processEvents()
        bare = measure(app, window, args.reps)
        if args.bare_only:
            print(bare)
            return
        from flowui import decor

        ui = window.doc.ui(None)
        nodes = list(window.scene.nodes.values())
        for i in range(60):  # a group around every ~33 nodes, a note beside it
            r = nodes[i * 33].scene_body_rect()
            ui = decor.added(ui, decor.Decor("groups", f"g{i}", f"Group {i}",
                                             list(decor.PALETTE.values())[i % 8],
                                             (r.x() - 30, r.y() - 70, 700, 500)))
            ui = decor.added(ui, decor.Decor("notes", f"n{i}", NOTE, decor.PALETTE["Yellow"],
                                             (r.x() + 720, r.y(), 260, 180)))
        window.editor._edit_decor(ui, "bench")
        app.processEvents()
        dressed = measure(app, window, args.reps)
        window.stack.setClean()
        window.close()
    print(f"2,000 nodes, {FRAME[0]}x{FRAME[1]} viewport repaints, best of {args.reps}")
    print(f"{'frame':<16}{'bare ms':>9}{'+60 groups +60 notes':>22}{'ratio':>7}")
    for key in bare:
        print(f"{key:<16}{bare[key]:>9.1f}{dressed[key]:>22.1f}"
              f"{dressed[key] / bare[key]:>7.2f}")


if __name__ == "__main__":
    main()
