"""The workflow file (FORMAT.md section 1): its pydantic model, loading with every
problem named, migrations of older versions, deterministic saving, port types."""
