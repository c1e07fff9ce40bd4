"""Auto-layout's geometry alone (flowui.layout, no Qt): no overlaps on random graphs
with and without cycles, every wire left to right but those closing a loop, fewer
crossings than a tangled input, the selection laid out without touching or
overlapping the other nodes."""

from __future__ import annotations

import random

import pytest

from flowui.layout import Box, Wire, layout, layout_selection, overlaps

PORT_Y = 40.0


def random_graph(n: int, m: int, seed: int, *, cycles: bool = False,
                 local: int = 0) -> tuple[dict[str, Box], list[Wire]]:
    """`n` nodes of differing heights scattered at random, `m` wires; without `cycles`
    every wire goes from a lower to a higher index (a DAG); `local`: wires reach at
    most that many indices back (a workflow-like graph)."""
    rnd = random.Random(seed)
    boxes = {f"n{i}": (rnd.uniform(-500, 3000), rnd.uniform(-500, 3000),
                       rnd.choice([200.0, 240.0]), rnd.choice([70.0, 92.0, 114.0, 158.0]))
             for i in range(n)}
    wires: list[Wire] = []
    for _ in range(m):
        b = rnd.randrange(1, n)
        a = rnd.randrange(max(0, b - local) if local else 0, b)
        if cycles and rnd.random() < 0.15:
            a, b = b, a
        wires.append((f"n{a}", f"n{b}", PORT_Y, rnd.choice([PORT_Y, PORT_Y + 22])))
    return boxes, wires


def sizes(boxes: dict[str, Box]) -> dict[str, tuple[float, float]]:
    return {k: (b[2], b[3]) for k, b in boxes.items()}


def crossings(placed, boxes, wires) -> int:
    """Pairs of wires that cross, each drawn as the straight line between its ports."""
    segs = [((placed[a][0] + boxes[a][2], placed[a][1] + ya), (placed[b][0], placed[b][1] + yb))
            for a, b, ya, yb in wires]

    def side(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (v > 1e-9) - (v < -1e-9)

    count = 0
    for i, (p1, p2) in enumerate(segs):
        for q1, q2 in segs[i + 1:]:
            if {p1, p2} & {q1, q2}:
                continue  # wires sharing a port do not cross
            if side(p1, p2, q1) * side(p1, p2, q2) < 0 and side(q1, q2, p1) * side(q1, q2, p2) < 0:
                count += 1
    return count


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cycles", [False, True])
def test_random_graphs_come_out_without_overlaps(seed, cycles):
    boxes, wires = random_graph(120, 170, seed, cycles=cycles)
    placed = layout(boxes, wires)
    assert set(placed) == set(boxes)
    assert overlaps(placed, sizes(boxes)) == []
    assert overlaps({k: (b[0], b[1]) for k, b in boxes.items()}, sizes(boxes)), \
        "the input itself should overlap somewhere, or this proves little"


@pytest.mark.parametrize("seed", range(4))
def test_every_wire_of_an_acyclic_graph_goes_left_to_right(seed):
    boxes, wires = random_graph(200, 300, seed, local=15)
    placed = layout(boxes, wires)
    for a, b, _, _ in wires:
        assert placed[b][0] >= placed[a][0] + boxes[a][2] + 50, (a, b)


def test_a_loop_is_laid_out_along_its_wires_and_only_the_back_wire_turns():
    boxes = {k: (x, 0.0, 200.0, 80.0) for k, x in
             (("start", 900.0), ("body", 0.0), ("check", 300.0), ("end", 600.0))}
    wires = [("start", "body", PORT_Y, PORT_Y), ("body", "check", PORT_Y, PORT_Y),
             ("check", "body", PORT_Y, PORT_Y), ("check", "end", PORT_Y, PORT_Y)]
    placed = layout(boxes, wires)
    xs = [placed[k][0] for k in ("start", "body", "check", "end")]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert overlaps(placed, sizes(boxes)) == []


def test_a_tangled_graph_comes_out_with_fewer_crossings():
    # three sources each wired to the mirror sink, placed so that every wire crosses
    boxes = {f"a{i}": (0.0, i * 150.0, 200.0, 80.0) for i in range(4)}
    boxes |= {f"b{i}": (500.0, (3 - i) * 150.0, 200.0, 80.0) for i in range(4)}
    boxes |= {f"c{i}": (1000.0, i * 150.0, 200.0, 80.0) for i in range(4)}
    wires = [(f"a{i}", f"b{i}", PORT_Y, PORT_Y) for i in range(4)]
    wires += [(f"b{i}", f"c{i}", PORT_Y, PORT_Y) for i in range(4)]
    before = crossings({k: b[:2] for k, b in boxes.items()}, boxes, wires)
    assert before == 12
    assert crossings(layout(boxes, wires), boxes, wires) == 0

    boxes, wires = random_graph(40, 55, 3, local=6)
    before = crossings({k: b[:2] for k, b in boxes.items()}, boxes, wires)
    after = crossings(layout(boxes, wires), boxes, wires)
    assert after < before / 3, (before, after)


def test_long_wires_come_out_straight_and_chains_in_line():
    # a chain of five and a wire from its first to its last: one straight row, the long
    # wire in a lane of its own beside the chain
    boxes = {f"n{i}": (random.Random(i).uniform(0, 900), i * 37.0, 200.0, 80.0)
             for i in range(5)}
    wires = [(f"n{i}", f"n{i + 1}", PORT_Y, PORT_Y) for i in range(4)]
    wires.append(("n0", "n4", PORT_Y + 22, PORT_Y + 22))
    placed = layout(boxes, wires)
    assert len({placed[f"n{i}"][1] for i in range(5)}) == 1


def test_components_are_stacked_and_the_whole_stays_where_the_nodes_were():
    boxes, wires = random_graph(60, 30, 5)  # many components, single nodes among them
    placed = layout(boxes, wires)
    assert overlaps(placed, sizes(boxes)) == []
    assert min(p[0] for p in placed.values()) == pytest.approx(
        min(b[0] for b in boxes.values()), abs=0.05)  # (positions are rounded to 0.1)
    assert min(p[1] for p in placed.values()) == pytest.approx(
        min(b[1] for b in boxes.values()), abs=0.05)


@pytest.mark.parametrize("seed", range(5))
def test_the_selection_is_laid_out_alone_and_overlaps_none_of_the_others(seed):
    boxes, wires = random_graph(80, 110, seed, local=10)
    rnd = random.Random(seed)
    chosen = set(rnd.sample(sorted(boxes), 25))
    own = {k: b for k, b in boxes.items() if k in chosen}
    others = {k: b for k, b in boxes.items() if k not in chosen}
    among = [w for w in wires if w[0] in chosen and w[1] in chosen]
    placed = layout_selection(own, wires, others)
    assert set(placed) == chosen  # nothing else moves
    everything = {**{k: b[:2] for k, b in others.items()}, **placed}
    found = [pair for pair in overlaps(everything, sizes(boxes))
             if pair[0] in chosen or pair[1] in chosen]
    assert found == []
    alone = layout(own, among)  # the same layout, only shifted clear of the others
    dy = {round(placed[k][1] - alone[k][1], 1) for k in chosen}
    assert len(dy) == 1 and {placed[k][0] - alone[k][0] for k in chosen} == {0.0}


def test_an_empty_or_single_graph():
    assert layout({}, []) == {}
    assert layout({"a": (10.0, 20.0, 200.0, 80.0)}, []) == {"a": (10.0, 20.0)}
