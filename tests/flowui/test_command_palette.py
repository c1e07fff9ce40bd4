"""Help ▸ Command Palette: every action found by a few letters, with its shortcut,
ranked like the node search; Enter runs the first, arrows choose another; actions
that cannot run now are listed dimmed and cannot be run."""

from __future__ import annotations

from PySide6.QtCore import Qt


def _rows(palette) -> list[tuple[str, str]]:
    return [(palette.list.topLevelItem(i).text(0), palette.list.topLevelItem(i).text(1))
            for i in range(palette.list.topLevelItemCount())]


def test_typing_finds_commands_and_enter_runs_the_chosen_one(window, qtbot):
    window.actions_by_name["command_palette"].trigger()
    palette = window.command_palette
    qtbot.waitExposed(palette)
    names = [name for name, _keys in _rows(palette)]
    assert {"Undo", "Fit All", "Export Image", "Serve Triggers", "Run"} <= set(names)
    qtbot.keyClicks(palette.input, "zoom in")
    assert _rows(palette)[0] == ("Zoom In", "Ctrl++")
    before = window.view.zoom()
    qtbot.keyClick(palette.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.view.zoom() > before, timeout=2000)
    assert not palette.isVisible()


def test_arrows_choose_and_disabled_commands_cannot_run(window, qtbot):
    window.actions_by_name["command_palette"].trigger()
    palette = window.command_palette
    qtbot.keyClicks(palette.input, "zoom")
    first = palette.list.currentItem().text(0)
    qtbot.keyClick(palette.input, Qt.Key.Key_Down)
    assert palette.list.currentItem().text(0) != first
    palette.input.clear()
    qtbot.keyClicks(palette.input, "cancel")  # Run > Cancel: nothing is running
    item = palette.list.topLevelItem(0)
    assert item.text(0) == "Cancel Run" and item.isDisabled()
    palette.run(item)
    assert not palette.isVisible() and "Cancelling" not in window.statusBar().currentMessage()


def test_panels_are_found_by_name_and_nothing_found_says_so(window, qtbot):
    runs = window.panel_actions()[-1]  # the Runs dock, last of the docks
    dock = runs.parent()
    window._docks["log"].raise_()  # the Runs panel behind the Log
    qtbot.waitUntil(lambda: dock.visibleRegion().isEmpty(), timeout=2000)
    window.actions_by_name["command_palette"].trigger()
    palette = window.command_palette
    qtbot.keyClicks(palette.input, "runs")
    assert palette.list.topLevelItem(0).text(0) == "Show Runs panel"
    qtbot.keyClick(palette.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=2000)
    assert runs.isChecked()  # shown, never hidden from here
    window.actions_by_name["command_palette"].trigger()
    palette = window.command_palette
    qtbot.keyClicks(palette.input, "zzqx")
    item = palette.list.topLevelItem(0)
    assert item.text(0) == "No command matches 'zzqx'" and item.isDisabled()
