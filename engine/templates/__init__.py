"""Templates and conditions in Jinja2's immutable sandbox, bounded in size and time."""
