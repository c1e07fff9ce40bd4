"""`flowserver`: the HTTP API (FastAPI on uvicorn) over the runner, the run store and
the registry, on one asyncio loop. `app.create_app` assembles it; `serve.serve` runs it."""
