"""A wire's shape without Qt: a cubic curve out of its output port to the right and
into its input port from the left, and whether it passes through a box; the canvas
draws it and checks it against the nodes it crosses with these same numbers."""

from __future__ import annotations

from itertools import pairwise

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y, width, height

MIN_BEND = 40.0  # how far the curve goes straight out of a port, at least
SAMPLES = 24  # straight pieces the curve is cut into for the check


def bend(x0: float, x1: float) -> float:
    """The horizontal distance from a port to its control point."""
    return max(abs(x1 - x0) * 0.5, MIN_BEND)


def controls(start: Point, end: Point) -> tuple[Point, Point, Point, Point]:
    dx = bend(start[0], end[0])
    return start, (start[0] + dx, start[1]), (end[0] - dx, end[1]), end


def polyline(start: Point, end: Point, samples: int = SAMPLES) -> list[Point]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = controls(start, end)
    points = []
    for i in range(samples + 1):
        t = i / samples
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        points.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return points


def passes_through(points: list[Point], rect: Rect) -> bool:
    """Whether the polyline enters the rectangle (touching its edge does not count)."""
    left, top = rect[0], rect[1]
    right, bottom = left + rect[2], top + rect[3]
    for (ax, ay), (bx, by) in pairwise(points):
        if max(ax, bx) <= left or min(ax, bx) >= right or max(ay, by) <= top or \
                min(ay, by) >= bottom:
            continue  # the piece's box misses the rectangle
        if segment_enters(ax, ay, bx, by, left, top, right, bottom):
            return True
    return False


def segment_enters(ax: float, ay: float, bx: float, by: float, left: float, top: float,
                    right: float, bottom: float) -> bool:
    """Liang-Barsky: does the segment keep a piece of positive length inside?"""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax - left), (dx, right - ax), (-dy, ay - top), (dy, bottom - ay)):
        if p == 0:
            if q <= 0:
                return False
        else:
            r = q / p
            if p < 0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
            if t0 >= t1:
                return False
    return True
