"""The engine's core: node types (SDK, registry), validation and compilation into a
plan, the executor and what a running node sees, runs, events and their bus."""
