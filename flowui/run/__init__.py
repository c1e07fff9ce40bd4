"""Running the workflow in the editor: the run controller, the live state of a run fed
by engine events, and the views that show it (canvas states, Run tab, log, problems,
timing)."""
