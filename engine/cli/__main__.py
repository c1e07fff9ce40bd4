"""`python -m engine.cli`: flowcli from a source tree (tests run a worktree's code so)."""

from engine.cli import main

main()
