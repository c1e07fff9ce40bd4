"""File > Compare with File… / Compare with Last Commit: the other version is loaded,
diffed against the open document, listed in the "Differences" dock and drawn over the
canvas until Escape or "Close comparison".

An edit made while comparing recomputes the comparison (the undo stack's index moves on
every edit, undo and redo): the overlay always shows the document as it is now, so a
user can fix a difference and watch it disappear.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.workflow.diff import GraphDiff, NodeDiff, diff_workflows
from engine.workflow.file import WorkflowFileError, load, loads
from engine.workflow.model import Graph, Workflow
from flowui.actions import make_action
from flowui.compare.git_version import GitVersionError, committed_text
from flowui.compare.overlay import CompareOverlay, colors

if TYPE_CHECKING:
    from flowui.mainwindow import MainWindow

MINUS = "\u2212"  # typographic, the width of "+"
NODE_ROLE = Qt.ItemDataRole.UserRole  # (graph key, node id) of an entry


class CompareController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.overlay = CompareOverlay(window.scene)
        self.other: Workflow | None = None  # the version compared with
        self.label = ""  # what it is, for the dock ("orders.flow.json", "HEAD")
        self.diff: GraphDiff | None = None
        self.panel = DifferencesPanel()
        self.panel.close_button.clicked.connect(self.close)
        self.panel.tree.itemClicked.connect(self._on_item_clicked)
        self.dock = QDockWidget("Differences", window)
        self.dock.setObjectName("dock_differences")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # A tab beside the inspector: the list gets the panel's full height.
        inspector = window.findChild(QDockWidget, "dock_inspector")
        if inspector is not None:
            window.tabifyDockWidget(inspector, self.dock)
        self.dock.hide()
        self.actions: dict[str, QAction] = {
            "compare_file": make_action(window, "Compare with &File…", self.compare_dialog,
                                        "Ctrl+Alt+D", None,
                                        "Show how another .flow.json differs from this one"),
            "compare_commit": make_action(window, "Compare with &Last Commit",
                                          self.compare_last_commit, None, None,
                                          "Show what changed since the file's last git commit"),
        }
        window.stack.indexChanged.connect(self._on_edit)
        window.editor.graph_shown.connect(self._on_edit)
        window.doc.reset.connect(self.close)  # another workflow opened: the old diff is moot
        window.view.escape_pressed.connect(self.close)

    @property
    def active(self) -> bool:
        return self.other is not None

    # --- starting -------------------------------------------------------------------------

    def compare_dialog(self) -> None:
        start = str(self.window.doc.path.parent if self.window.doc.path else Path.cwd())
        name, _ = QFileDialog.getOpenFileName(self.window, "Compare with File", start,
                                              "Workflows (*.flow.json *.json)")
        if name:
            self.compare_with_file(Path(name))

    def compare_with_file(self, path: Path) -> bool:
        try:
            other = load(path)
        except WorkflowFileError as e:
            return self._fail(f"Cannot compare with {path.name}", "\n".join(e.problems))
        except Exception as e:
            return self._fail(f"Cannot compare with {path.name}", str(e))
        self.start(other, path.name)
        return True

    def compare_last_commit(self) -> bool:
        path = self.window.doc.path
        if path is None:
            return self._fail("Cannot compare with the last commit",
                              "The workflow has not been saved to a file yet.")
        try:
            text = committed_text(path)
            other = loads(text, source=f"{path.name} (last commit)")
        except GitVersionError as e:
            return self._fail("Cannot compare with the last commit", str(e))
        except WorkflowFileError as e:
            return self._fail(f"Cannot compare with the committed {path.name}",
                              "\n".join(e.problems))
        self.start(other, f"{path.name} at the last commit")
        return True

    def start(self, other: Workflow, label: str) -> None:
        self.other, self.label = other, label
        self.refresh()
        self.dock.show()
        self.dock.raise_()

    def close(self) -> None:
        if not self.active:
            return
        self.other, self.diff = None, None
        self.overlay.clear()
        self.panel.tree.clear()
        self.dock.hide()

    # --- keeping up -----------------------------------------------------------------------

    def _on_edit(self, *_: object) -> None:
        if self.active:
            self.refresh()

    def refresh(self) -> None:
        assert self.other is not None
        self.diff = diff = diff_workflows(self.other, self.window.doc.workflow)
        shown = self.window.scene.graph_key
        graph_diff, old_graph = self._shown_diff(diff, shown)
        self.overlay.show(graph_diff, old_graph)
        self.panel.fill(diff, self.label)

    def _shown_diff(self, diff: GraphDiff, key: str | None) -> tuple[GraphDiff, Graph | None]:
        assert self.other is not None
        if key is None:
            return diff, self.other
        sub = diff.subgraphs.get(key)
        return (sub.body if sub else GraphDiff()), self.other.subgraphs.get(key)

    def _on_item_clicked(self, item: QTreeWidgetItem) -> None:
        target = item.data(0, NODE_ROLE)
        if not target:
            return
        graph, node_id = target
        if self.window.doc.has_node(graph, node_id):
            self.window.reveal_node(graph, node_id)
            self.window.view.centerOn(self.window.scene.nodes[node_id])
        else:  # removed: its ghost, at its old place
            self.window.editor.show_graph(graph)
            old: Graph | None = self.other
            if graph is not None and self.other is not None:
                old = self.other.subgraphs.get(graph)
            spec = old.node(node_id) if old is not None else None
            if spec is not None:
                self.window.view.centerOn(spec.position[0] + 100, spec.position[1] + 40)

    def _fail(self, title: str, text: str) -> bool:
        # The title names the file too: some platforms show no title bar text on a box.
        QMessageBox.warning(self.window, title, f"{title}.\n\n{text}")
        self.window.statusBar().showMessage(title, 8000)
        return False


class DifferencesPanel(QWidget):
    """The list: per node, field by field `old → new`; workflow fields; subgraphs."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.close_button = QPushButton("Close comparison")
        self.close_button.setToolTip("End the comparison (Esc on the canvas)")
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)

    def fill(self, diff: GraphDiff, label: str) -> None:
        self.tree.clear()
        if diff.empty:
            self.summary.setText(f"No differences from <b>{label}</b>.")
            return
        counts = _counts(diff)
        self.summary.setText(f"Compared with <b>{label}</b> (old → this one):<br>{counts}")
        self._fill_graph(self.tree.invisibleRootItem(), diff, None)
        for name, sub in diff.subgraphs.items():
            top = QTreeWidgetItem([f"Subgraph {name}: {sub.kind}"])
            top.setForeground(0, colors()[sub.kind])
            self.tree.addTopLevelItem(top)
            self._fill_graph(top, sub.body, name)
            top.setExpanded(True)

    def _fill_graph(self, parent: QTreeWidgetItem, diff: GraphDiff, key: str | None) -> None:
        c = colors()
        # The edits first; nodes that only moved (a layout) under one folded entry, so
        # an auto-layout's hundreds of moves do not bury the one config change.
        moved = [nd for nd in diff.nodes if nd.minor]
        moved_parent = parent
        if moved:
            moved_parent = QTreeWidgetItem([f"Moved only ({len(moved)} nodes)"])
            moved_parent.setForeground(0, c["changed"])
        for nd in [*(nd for nd in diff.nodes if not nd.minor), *moved]:
            item = QTreeWidgetItem([_node_line(nd)])
            item.setForeground(0, c["changed" if nd.kind == "changed" else nd.kind])
            item.setData(0, NODE_ROLE, (key, nd.node_id))
            for change in nd.changes:
                child = QTreeWidgetItem([change.describe()])
                child.setData(0, NODE_ROLE, (key, nd.node_id))
                child.setToolTip(0, f"{change.path}\nold: {change.old!r}\nnew: {change.new!r}")
                item.addChild(child)
            (moved_parent if nd.minor else parent).addChild(item)
            item.setExpanded(not nd.minor)
        for w in diff.wires:
            item = QTreeWidgetItem([f"{'+' if w.kind == 'added' else MINUS} wire "
                                    f"{w.source} → {w.target}"])
            item.setForeground(0, c[w.kind])
            parent.addChild(item)
        if moved:
            parent.addChild(moved_parent)  # after the edits and wires, folded
        if diff.fields:
            item = QTreeWidgetItem(["Workflow" if key is None else "Subgraph fields"])
            item.setForeground(0, c["changed"])
            for change in diff.fields:
                item.addChild(QTreeWidgetItem([change.describe()]))
            parent.addChild(item)
            item.setExpanded(True)


def _node_line(nd: NodeDiff) -> str:
    if nd.kind == "added":
        return f"+ {nd.node_id} (added)"
    if nd.kind == "removed":
        return f"{MINUS} {nd.node_id} (removed)"
    return f"~ {nd.node_id} ({'moved' if nd.minor else 'changed'})"


def _counts(diff: GraphDiff) -> str:
    kinds = [n.kind if not n.minor else "moved" for n in diff.nodes]
    parts = [f"{kinds.count(k)} {k}" for k in ("added", "removed", "changed", "moved")
             if kinds.count(k)]
    if diff.wires:
        parts.append(f"{len(diff.wires)} wire{'s' if len(diff.wires) != 1 else ''}")
    if diff.fields:
        parts.append(f"{len(diff.fields)} workflow field{'s' if len(diff.fields) != 1 else ''}")
    if diff.subgraphs:
        parts.append(f"{len(diff.subgraphs)} subgraph{'s' if len(diff.subgraphs) != 1 else ''}")
    return " · ".join(parts)
