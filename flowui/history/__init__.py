"""Runs kept in the run store, in the editor: the runs panel, a stored run shown on
the canvas, replay, comparison."""
