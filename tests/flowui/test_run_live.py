"""Running in the editor, as a person does it: F5 in the real main window, the engine on
the Qt loop (qasync), live node states from the engine's events, values in the Run
tab, cancel, failures, retries, edits during a run, loop bodies, the log and the
problems, the run dialog. Real HTTP goes to a local server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine import Registry, Runner
from engine.workflow import file as workflow_file
from flowui import theme
from tests.engine.toy import ATTEMPTS, toy_registry

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def write(tmp_path: Path, name: str, nodes: list[dict[str, Any]],
          wires: list[tuple[str, str]] = (), **extra: Any) -> Path:
    path = tmp_path / f"{name}.flow.json"
    data = {"format": "flowui-workflow", "version": 1, "name": name, "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in wires], **extra}
    path.write_text(json.dumps(data))
    return path


def open_file(window, path: Path) -> None:
    assert window.files.open_path(path, ask=False)


def run_to_end(qtbot, window, inputs: dict[str, Any] | None = None, *, timeout: int = 15000,
               **options: Any):
    session = window.runs.start(inputs or {}, **options)
    assert session is not None
    qtbot.waitUntil(lambda: not window.runs.running, timeout=timeout)
    return session


def select(qtbot, window, node_ids: list[str]) -> None:
    """Select as a click does; the panels follow on the loop's next turn."""
    window.editor.select(node_ids)
    qtbot.waitUntil(lambda: not window.selection_pending, timeout=2000)


def item_states(window) -> dict[str, str | None]:
    return {node_id: item.status for node_id, item in window.scene.nodes.items()}


def test_the_hello_example_lights_every_node_and_the_run_tab_shows_its_values(
        qtbot, make_window, qloop, http_server):
    window = make_window()
    open_file(window, EXAMPLES / "hello.flow.json")
    seen: dict[str, list[str]] = {}

    def record(_dirty: set[str]) -> None:  # the items' states after every frame
        for node_id, status in item_states(window).items():
            if status and (not seen.get(node_id) or seen[node_id][-1] != status):
                seen.setdefault(node_id, []).append(status)

    window.runs.updated.connect(record)
    url = http_server.url + "/json"
    session = run_to_end(qtbot, window, {"url": url})
    assert session.status == "completed", session.result
    assert set(item_states(window).values()) == {"completed"}
    for node_id, states in seen.items():
        assert states[-1] == "completed", (node_id, states)
        assert states == sorted(states, key=["queued", "running", "completed"].index)
    assert "running" in {s for states in seen.values() for s in states}
    # The Run tab holds the full values: the same as a headless run of the same file.
    wf = workflow_file.load(EXAMPLES / "hello.flow.json")
    full: dict[str, Any] = {}
    headless = _headless(wf, {"url": url}, full)
    assert session.result["outputs"] == headless.outputs
    full["fetch"]["headers"].pop("date")  # two requests, maybe a second apart
    for node_id in window.scene.nodes:
        select(qtbot, window, [node_id])
        view = window.run_panels.node_view
        assert view.path == node_id
        shown = view.outputs.value
        if node_id == "fetch":
            shown = {**shown, "headers": {k: v for k, v in shown["headers"].items()
                                          if k != "date"}}
        assert shown == (full[node_id] or None), node_id  # no outputs: a placeholder
    footer = window.scene.nodes["fetch"].status_text
    assert footer.endswith(("ms", "µs", " s")), footer  # a duration
    assert "completed" in window.runs.label.text() or "Run completed" in \
        window.runs.label.text()
    assert window.stack.isClean() and window.stack.count() == 0  # never an edit


def _headless(wf, inputs, full: dict[str, Any]):
    """The same workflow run headless on a loop of its own, in a thread (the test's
    own loop is Qt's)."""
    import threading

    out: list[Any] = []

    def go() -> None:
        runner = Runner(Registry.discover(plugins=False))
        out.append(asyncio.run(runner.run(
            wf, inputs, on_outputs=lambda r: full.__setitem__(r.node_id, r.outputs))))

    thread = threading.Thread(target=go)
    thread.start()
    thread.join(30)
    return out[0]


def test_cancel_mid_run_with_esc_ends_within_a_second_and_leaves_no_task(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "long", [
        {"id": "quick", "type": "toy.source", "config": {"value": 1}},
        {"id": "hang", "type": "toy.sleep", "config": {"seconds": 3600}},
        {"id": "after", "type": "toy.text"}], [("hang.value", "after.text")]))
    window.runs.start({})
    qtbot.waitUntil(lambda: window.scene.nodes["hang"].status == "running", timeout=5000)
    assert window.runs.actions["cancel"].isEnabled()
    window.view.setFocus()
    started = asyncio.get_event_loop().time()
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.runs.running, timeout=1000)
    assert asyncio.get_event_loop().time() - started < 1.0
    assert window.runs.session.status == "cancelled"
    assert item_states(window) == {"quick": "completed", "hang": "cancelled",
                                   "after": "skipped"}
    assert "cancelled" in window.runs.label.text()
    assert not window.runs.actions["cancel"].isEnabled()
    # the qloop fixture fails the test if a task is left running


def test_a_failing_node_shows_red_with_its_error_in_the_tooltip_run_tab_and_problems(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "fails", [
        {"id": "src", "type": "toy.source", "config": {"value": 7}},
        {"id": "boom", "type": "toy.crash"}], [("src.value", "boom.value")]))
    session = run_to_end(qtbot, window)
    assert session.status == "failed"
    boom = window.scene.nodes["boom"]
    assert boom.status == "failed" and boom.status_text == "failed: ValueError"
    assert "unclassified failure" in boom.toolTip()
    select(qtbot, window, ["boom"])
    view = window.run_panels.node_view
    assert view.error.isVisibleTo(view) and "unclassified failure" in view.error.text()
    assert "Traceback" in view.traceback.toPlainText()
    assert view.inputs.value == {"value": 7}  # what it ran with
    problems = window.run_panels.problems
    assert problems.run.childCount() == 1 and "unclassified" in problems.run.child(0).text(2)
    select(qtbot, window, [])
    problems.tree.itemActivated.emit(problems.run.child(0), 0)  # takes you to the node
    assert window.scene.selected_node_ids() == ["boom"]
    assert "failed" in window.runs.label.text()


def test_a_retrying_node_shows_its_attempt_and_wait(qtbot, make_window, qloop, tmp_path):
    ATTEMPTS.clear()
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "flaky", [
        {"id": "f", "type": "toy.flaky", "config": {"fail_times": 1},
         "retry": {"max_attempts": 3, "delay_s": 0.4, "jitter": False}}]))
    window.runs.start({})
    item = window.scene.nodes["f"]
    qtbot.waitUntil(lambda: item.status == "retrying", timeout=3000)
    assert item.status_text == "attempt 2 of 3 in 0.4 s"
    assert "boom" in item.toolTip()  # the last error
    qtbot.waitUntil(lambda: not window.runs.running, timeout=5000)
    assert item.status == "completed"
    select(qtbot, window, ["f"])
    assert "attempt 2 of 3" in window.run_panels.node_view.header.text()


def test_edits_during_a_run_leave_the_run_unchanged_and_mark_the_edited_nodes(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "edit", [
        {"id": "wait", "type": "toy.sleep", "config": {"seconds": 0.4}},
        {"id": "src", "type": "toy.source", "config": {"value": "before"}},
        {"id": "t", "type": "toy.text"}], [("src.value", "wait.value"),
                                          ("wait.value", "t.text")]))
    window.runs.start({})
    qtbot.waitUntil(lambda: window.scene.nodes["wait"].status == "running", timeout=3000)
    window.editor.set_node_field(None, "src", "config.value", "after")
    window.editor.add_node("toy.source", window.view.mapToScene(10, 10))
    session = window.runs.session
    qtbot.waitUntil(lambda: not window.runs.running, timeout=5000)
    assert session.result["outputs"] == {"t": {"text": "before", "length": 6}}
    assert window.scene.nodes["src"].edited and not window.scene.nodes["t"].edited
    added = next(n for n in window.scene.nodes if n not in ("wait", "src", "t"))
    assert window.scene.nodes[added].edited and window.scene.nodes[added].status is None
    # the edits are in the undo history; the run never was
    assert window.stack.count() == 2
    window.stack.undo()
    window.stack.undo()
    assert window.stack.isClean()
    # a new run forgets the marks
    run_to_end(qtbot, window)
    assert not window.scene.nodes["src"].edited


def test_run_and_cancel_actions_keys_and_menu(make_window, qloop):
    window = make_window()
    a = window.actions_by_name
    assert [k.toString() for k in a["run"].shortcuts()] == ["F5", "Ctrl+Return"]
    assert a["cancel"].shortcuts()[0].toString() == "Shift+F5"
    assert a["clear_run"].shortcuts()[0].toString() == "Ctrl+Shift+Backspace"
    run_menu = next(m for m in window.menuBar().actions() if m.text() == "&Run").menu()
    assert {"&Run", "&Cancel Run", "C&lear Run"} <= {x.text() for x in run_menu.actions()}
    toolbar = window.findChild(type(window.addToolBar("probe")), "toolbar_main")
    assert a["run"] in toolbar.actions() and not a["run"].icon().isNull()


def test_f5_on_a_workflow_with_inputs_opens_the_run_dialog_and_remembers_values(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    path = write(tmp_path, "inputs", [
        {"id": "src", "type": "toy.source", "config": {"value": "{{ inputs.word }}"}}],
        inputs={"word": {"type": "string", "default": "hello", "description": "A word"},
                "times": {"type": "integer", "default": 2}})
    open_file(window, path)
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus)
    qtbot.keyClick(window.view, Qt.Key.Key_F5)  # the shortcut works from the canvas
    dialog = window.runs.dialog
    assert dialog.isVisible() and not window.runs.running
    assert dialog.values() == {"word": "hello", "times": 2}
    dialog.run_requested.emit({"word": "bonjour", "times": 3}, False)
    dialog.close()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=5000)
    assert window.runs.session.result["outputs"] == {"src": {"value": "bonjour"}}
    window.actions_by_name["run"].trigger()
    assert window.runs.dialog is not dialog
    assert window.runs.dialog.values() == {"word": "bonjour", "times": 3}  # remembered
    window.runs.dialog.close()


def test_an_invalid_workflow_does_not_start_and_says_why(qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "bad", [{"id": "t", "type": "toy.text"}]))
    messages: list[str] = []
    window.runs.message.connect(messages.append)
    window.actions_by_name["run"].trigger()
    assert window.runs.session is None and not window.runs.running
    assert messages and messages[-1].startswith("Cannot run: the workflow has 1 problem")
    problems = window.run_panels.problems
    assert problems.validation.childCount() == 1
    assert window.scene.nodes["t"].problems  # the badge


def test_a_second_run_asks_to_restart_or_keep(qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "slow", [
        {"id": "s", "type": "toy.sleep", "config": {"seconds": 3600}}]))
    window.runs.start({})
    first = window.runs.session
    window.answers.append(QMessageBox.StandardButton.No)
    window.actions_by_name["run"].trigger()
    assert window.runs.session is first and window.runs.running  # kept
    window.answers.append(QMessageBox.StandardButton.Yes)
    window.actions_by_name["run"].trigger()
    qtbot.waitUntil(lambda: window.runs.session is not first, timeout=3000)
    assert first.status == "cancelled" and window.runs.running
    assert window.asked[-2:] == [window.asked[-1]] * 2
    window.runs.cancel()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=3000)


def test_closing_the_window_during_a_run_asks_then_cancels_cleanly(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "slow", [
        {"id": "s", "type": "toy.sleep", "config": {"seconds": 3600}}]))
    window.runs.start({})
    window.answers.append(QMessageBox.StandardButton.No)
    window.close()
    assert window.isVisible() and window.runs.running
    window.answers.append(QMessageBox.StandardButton.Yes)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert window.runs.session.status == "cancelled"


def test_the_for_each_body_shows_each_iterations_states(qtbot, make_window, qloop):
    window = make_window()
    open_file(window, EXAMPLES / "for_each.flow.json")
    session = run_to_end(qtbot, window, {"numbers": [1, 2, 3, 4]})
    assert session.status == "completed", session.result
    each = window.scene.nodes["each"]
    assert each.status == "completed" and "4 of 4" in each.status_text
    window.editor.open_body("each")
    assert window.editor.current_graph == "square"
    body_items = window.scene.nodes
    assert {i.status for i in body_items.values()} == {"completed"}
    selector = window.iteration_selector
    assert selector.action.isVisible()
    assert [selector.itemData(i) for i in range(selector.count())] == [None, 0, 1, 2, 3]
    # the wires inside the body passed one value per item
    assert {e.flow for e in window.scene.edges.values()} == {4}
    inner = next(n for n, i in body_items.items() if i.type_id != "flow.input"
                 and i.type_id != "flow.output")
    select(qtbot, window, [inner])
    selector.choose(1)
    view = window.run_panels.node_view
    assert "iteration 1" in view.header.text()
    assert view.path == f"each/{inner}"
    assert view.inputs.value is not None
    assert {e.flow for e in window.scene.edges.values()} == {1}  # one iteration's
    window.editor.show_graph(None)
    assert not selector.action.isVisible()


def test_the_log_dock_collects_lines_and_filters_them(qtbot, make_window, qloop):
    window = make_window()
    open_file(window, EXAMPLES / "if_else.flow.json")
    run_to_end(qtbot, window, {"name": "Ada Lovelace"})
    log = window.run_panels.log
    assert log.model.rowCount() >= 3
    texts = [log.model.index(r, 3).data() for r in range(log.model.rowCount())]
    assert any(t.startswith("Run ") and "started" in t for t in texts)
    assert any("Ada Lovelace" in t for t in texts)


def test_the_timing_view_colours_nodes_and_lists_the_slowest(qtbot, make_window, qloop,
                                                              tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "timed", [
        {"id": "fast", "type": "toy.source", "config": {"value": 1}},
        {"id": "slow", "type": "toy.sleep", "config": {"seconds": 0.2}},
        {"id": "mid", "type": "toy.sleep", "config": {"seconds": 0.02}}]))
    run_to_end(qtbot, window)
    window.actions_by_name["timing"].trigger()
    slow, fast = window.scene.nodes["slow"], window.scene.nodes["fast"]
    assert slow.heat is not None and fast.heat is not None
    assert slow.heat.hue() < fast.heat.hue()  # red end vs blue end
    panel = window.run_panels.timing
    assert panel.list.topLevelItem(0).text(0) == "slow"
    window.actions_by_name["timing"].trigger()
    assert slow.heat is None


def test_hovering_a_wire_previews_the_value_that_passed(qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "wire", [
        {"id": "src", "type": "toy.source", "config": {"value": {"deep": [1, 2, 3]}}},
        {"id": "t", "type": "toy.gather"}], [("src.value", "t.items")]))
    edge = window.scene.edges[("src.value", "t.items")]
    run_to_end(qtbot, window)
    assert edge.flow == 1
    text = edge.describe(edge)
    assert text.startswith("last value: dict") and '{"deep": [1, 2, 3]}' in text
    window.actions_by_name["clear_run"].trigger()
    assert edge.flow == 0 and window.scene.nodes["src"].status is None


def test_huge_log_lines_and_values_are_kept_bounded(qtbot, make_window, qloop, tmp_path):
    window = make_window()
    open_file(window, write(tmp_path, "big", [
        {"id": "make", "type": "flow.constant", "config": {"value": "0123456789," * 200_000}},
        {"id": "log", "type": "debug.log"}], [("make.value", "log.message")]))
    session = run_to_end(qtbot, window, timeout=30000)
    assert session.status == "completed", session.result
    kept = session.nodes["make"].outputs
    assert kept is not None and kept.cut and "limit" in kept.note  # ~2 MB > 1 MB
    select(qtbot, window, ["make"])
    view = window.run_panels.node_view
    assert "limit" in view.outputs.note_text()
    log = window.run_panels.log
    rows = [log.model.index(r, 3).data() for r in range(log.model.rowCount())]
    assert max(len(r) for r in rows) <= 20_000  # a 2 MB line is stored cut


def test_a_fault_in_a_view_never_stops_the_run_or_the_window(qtbot, make_window, qloop,
                                                             tmp_path, monkeypatch, caplog):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "ok", [
        {"id": "a", "type": "toy.source", "config": {"value": 1}},
        {"id": "s", "type": "toy.sleep", "config": {"seconds": 0.1}}], [("a.value", "s.value")]))

    def broken(paths):
        raise RuntimeError("a view bug")

    monkeypatch.setattr(window.runs.overlay, "update_paths", broken)
    session = run_to_end(qtbot, window)
    assert session.status == "completed"
    assert "Run completed" in window.runs.label.text()
    assert "the live view failed" in caplog.text
    monkeypatch.undo()
    run_to_end(qtbot, window)  # and the next run shows normally: unchanged, so reused
    assert window.scene.nodes["s"].status == "cached"


def test_zoomed_far_out_the_overview_shows_each_nodes_state(qtbot, make_window, qloop,
                                                            tmp_path):
    from PySide6.QtWidgets import QGraphicsItem

    window = make_window(toy_registry())
    nodes = [{"id": f"n{i}", "type": "toy.source", "config": {"value": i},
              "position": [(i % 10) * 260, (i // 10) * 120]} for i in range(60)]
    nodes.append({"id": "hang", "type": "toy.sleep", "config": {"seconds": 3600},
                  "position": [0, 900]})
    open_file(window, write(tmp_path, "far", nodes))
    qtbot.wait(20)  # the opening frame (a zero-time timer) first, then our zoom
    window.view.set_zoom(0.1)
    assert window.scene.far
    no_contents = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
    assert all(i.flags() & no_contents for i in window.scene.nodes.values())

    def pixel(node_id: str) -> str:
        item = window.scene.nodes[node_id]
        window.view.centerOn(item)
        at = window.view.mapFromScene(item.scene_body_rect().center())
        return window.view.grab().toImage().pixelColor(at).name()

    category = pixel("n5")
    window.runs.start({})
    qtbot.waitUntil(lambda: window.scene.nodes["hang"].status == "running", timeout=3000)
    qtbot.wait(100)  # a frame
    assert pixel("n5") == theme.STATUS_COLORS["completed"] != category
    assert pixel("hang") == theme.STATUS_COLORS["running"]
    window.runs.cancel()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=3000)
    window.view.set_zoom(1.0)  # close up, items paint themselves again
    assert not window.scene.far and not window.scene.nodes["n5"].flags() & no_contents
