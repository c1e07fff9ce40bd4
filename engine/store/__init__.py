"""The run store: every run's record, events and node outputs in one SQLite file,
shared by the command line, serve mode and the editor (docs/architecture.md)."""
