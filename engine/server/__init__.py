"""Long-running shells over the core: serve mode (a workflow's triggers over HTTP and
timers)."""
