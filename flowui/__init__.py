"""FlowUI's desktop editor (PySide6 + qasync).

It imports the engine and reaches node types only through the registry, never by
importing `nodes` (DESIGN.md's layering rule, checked by import-linter).
"""
