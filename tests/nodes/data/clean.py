# A clean sample for tests/nodes/test_code.py: no issues, so it scores 10.
"""Temperature conversions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    """One temperature reading in degrees Celsius."""

    celsius: float

    def __post_init__(self) -> None:
        if self.celsius < -273.15:
            raise ValueError("below absolute zero")

    def fahrenheit(self) -> float:
        """The reading in degrees Fahrenheit."""
        return self.celsius * 9 / 5 + 32

    @classmethod
    def from_fahrenheit(cls, value: float) -> Reading:
        """A reading from degrees Fahrenheit."""
        return cls(_to_celsius(value))


def _to_celsius(fahrenheit: float) -> float:
    return (fahrenheit - 32) * 5 / 9


def warmest(readings: list[Reading]) -> Reading | None:
    """The warmest reading, or None when there are none."""
    return max(readings, key=lambda r: r.celsius, default=None)


async def stream(readings: list[Reading]):
    """Yields readings one by one, giving other tasks a turn."""
    for reading in readings:
        yield reading
