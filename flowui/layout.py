"""Auto-layout (Edit ▸ Arrange ▸ Auto-Layout): where every node goes so the graph reads
left to right along its wires, worked out from the nodes' boxes and wires alone (no Qt).
The editor applies it as one undoable move.

Sugiyama's layered method, each step kept simple and near linear so 5,000 nodes take
well under a second or two:

1. each connected component on its own; wires that close a loop (found by a depth-first
   search) are turned round, so what is left is acyclic;
2. layers by longest path from the sources, then each source pulled up next to what it
   feeds (an input node sits beside its first use, not in column 0) and every node
   moved, within what its wires allow, to where its wires are shortest;
3. wires spanning several layers get a chain of small dummy nodes, one per layer they
   cross, so they reserve a lane and take part in the next steps;
4. the order within each layer by barycenter sweeps, down and up, keeping the order
   with the fewest crossings counted;
5. heights by a priority method: sweeps that move every node towards where its wires
   would be straight (its neighbours' ports), solved per layer as an isotonic
   regression (pool adjacent violators) so nodes never overlap; a lane keeps in line
   with the next but gives way to nodes, so chains of nodes come out in line;
6. components stacked top to bottom, nodes wired to nothing in rows below them, the
   whole anchored where the nodes were.

`layout_selection` lays out some nodes and then shifts the result down until it
overlaps none of the others."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x, y, width, height (the node's position is x, y)
Position = tuple[float, float]
# source id, target id, the source port's height in its box, the target port's in its box
Wire = tuple[str, str, float, float]

LAYER_GAP = 100.0  # room between two layers for the wires' curves
NODE_GAP = 36.0  # between two nodes of a layer
LANE_H = 14.0  # the height a long wire reserves in each layer it crosses
LANE_GAP = 14.0  # around a lane
COMPONENT_GAP = 90.0  # between two stacked components
SWEEPS = 4  # crossing reduction passes (each down and up)
STRAIGHTEN = 8  # coordinate passes (alternately down and up)
LANE_PULL = 4.0  # how much more a lane keeps in line with the next than with a node
NODE_WEIGHT = 1000.0  # how much more a node keeps its place than a lane pressing on it
REFINE = 4  # layering passes shortening the wires
LANES_PER_NODE = 3  # at most this many lanes per node: the longest wires go without


@dataclass
class _Graph:
    """One component, layered: real nodes are their ids, dummies are ints."""

    height: dict[object, float] = field(default_factory=dict)
    width: dict[object, float] = field(default_factory=dict)
    layer: dict[object, int] = field(default_factory=dict)
    # segments between adjacent layers: (upper node, lower node, upper y, lower y, weight)
    segments: list[tuple[object, object, float, float, float]] = field(default_factory=list)
    layers: list[list[object]] = field(default_factory=list)


def layout(boxes: Mapping[str, Box], wires: Iterable[Wire]) -> dict[str, Position]:
    """New positions for every node of `boxes`: layered left to right along `wires`
    (those between nodes of `boxes`; others are ignored), anchored at the top-left
    corner of the boxes' bounding box."""
    if not boxes:
        return {}
    wires = [w for w in wires if w[0] in boxes and w[1] in boxes and w[0] != w[1]]
    placed: dict[str, Position] = {}
    top = width = 0.0
    components = _components(boxes, wires)
    which = {node_id: i for i, component in enumerate(components) for node_id in component}
    wires_of: dict[int, list[Wire]] = {}
    for w in wires:
        wires_of.setdefault(which[w[0]], []).append(w)
    for i, component in enumerate(components):
        if len(component) == 1:
            continue
        spots = _layout_component(component, boxes, wires_of[i])
        for node_id, (x, y) in spots.items():
            placed[node_id] = (x, y + top)
            width = max(width, x + boxes[node_id][2])
        top += max(y + boxes[k][3] for k, (_, y) in spots.items()) + COMPONENT_GAP
    # Nodes wired to nothing: in rows below, as wide as the rest (or a few nodes)
    width = max(width, 4 * 240.0)
    x = row = 0.0
    for component in components:
        if len(component) == 1:
            (node_id,) = component
            box = boxes[node_id]
            if x and x + box[2] > width:
                x, top, row = 0.0, top + row + NODE_GAP, 0.0
            placed[node_id] = (x, top)
            x += box[2] + NODE_GAP
            row = max(row, box[3])
    left = min(b[0] for b in boxes.values())
    upper = min(b[1] for b in boxes.values())
    return {k: (round(x + left, 1), round(y + upper, 1)) for k, (x, y) in placed.items()}


def layout_selection(boxes: Mapping[str, Box], wires: Iterable[Wire],
                     others: Mapping[str, Box]) -> dict[str, Position]:
    """`layout` of some nodes, then moved down (as little as needed) until no laid-out
    node overlaps any of `others`, which stay where they are."""
    placed = layout(boxes, wires)
    rects = [(x, y, boxes[k][2], boxes[k][3]) for k, (x, y) in placed.items()]
    obstacles = sorted(others.values(), key=lambda b: b[1])
    dy = 0.0
    while True:
        hit = _first_overlap(rects, obstacles, dy)
        if hit is None:
            break
        rect, obstacle = hit
        dy = obstacle[1] + obstacle[3] + NODE_GAP - rect[1]  # just below what it hit
    return {k: (x, round(y + dy, 1)) for k, (x, y) in placed.items()}


def _first_overlap(rects: Sequence[Box], obstacles: Sequence[Box],
                   dy: float) -> tuple[Box, Box] | None:
    gap = NODE_GAP / 2
    for r in rects:
        top, bottom = r[1] + dy - gap, r[1] + dy + r[3] + gap
        for o in obstacles:
            if o[1] >= bottom:
                break  # sorted by top: none further down can overlap
            if o[1] + o[3] > top and o[0] < r[0] + r[2] + gap and o[0] + o[2] > r[0] - gap:
                return r, o
    return None


def overlaps(placed: Mapping[str, Position], sizes: Mapping[str, tuple[float, float]]
             ) -> list[tuple[str, str]]:
    """The pairs of nodes whose boxes overlap (a check for tests and callers)."""
    items = sorted(placed, key=lambda k: placed[k][0])
    found = []
    for i, a in enumerate(items):
        ax, ay = placed[a]
        aw, ah = sizes[a]
        for b in items[i + 1:]:
            bx, by = placed[b]
            if bx >= ax + aw:
                break
            bh = sizes[b][1]
            if by < ay + ah and ay < by + bh:
                found.append((a, b))
    return found


# --- components -------------------------------------------------------------------------------


def _components(boxes: Mapping[str, Box], wires: Sequence[Wire]) -> list[list[str]]:
    """Weakly connected components, each in its nodes' reading order, the components
    in the order of their top-left node (so a layout keeps their order)."""
    parent = {k: k for k in boxes}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b, _, _ in wires:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[str, list[str]] = {}
    for k in sorted(boxes, key=lambda k: (boxes[k][1], boxes[k][0], k)):
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


# --- one component ------------------------------------------------------------------------


def _layout_component(nodes: list[str], boxes: Mapping[str, Box],
                      wires: Sequence[Wire]) -> dict[str, Position]:
    if len(nodes) == 1:
        return {nodes[0]: (0.0, 0.0)}
    forward = _acyclic(nodes, boxes, wires)
    layer = _layers(nodes, forward)
    graph = _with_dummies(nodes, boxes, forward, layer)
    _order(graph, boxes)
    ys = _heights(graph)
    xs, x = [], 0.0
    for members in graph.layers:
        xs.append(x)
        x += max((graph.width[n] for n in members), default=0.0) + LAYER_GAP
    top = min(ys[n] for n in nodes)
    return {n: (xs[layer[n]], ys[n] - top) for n in nodes}


def _acyclic(nodes: list[str], boxes: Mapping[str, Box],
             wires: Sequence[Wire]) -> list[Wire]:
    """The wires with those that close a cycle turned round (ports swapped with them),
    found by an iterative depth-first search from the nodes in reading order (left
    to right), so a loop's back wire is the one turned."""
    out: dict[str, list[int]] = {n: [] for n in nodes}
    for i, w in enumerate(wires):
        out[w[0]].append(i)
    state = dict.fromkeys(nodes, 0)  # 0 new, 1 on the stack, 2 done
    back: set[int] = set()
    for start in sorted(nodes, key=lambda k: (boxes[k][0], boxes[k][1], k)):
        if state[start]:
            continue
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            node, edges = stack[-1]
            for i in edges:
                nxt = wires[i][1]
                if state[nxt] == 1:
                    back.add(i)
                elif state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(out[nxt])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return [(w[1], w[0], w[3], w[2]) if i in back else w for i, w in enumerate(wires)]


def _layers(nodes: list[str], wires: Sequence[Wire]) -> dict[str, int]:
    """Longest path from the sources; then every node whose inputs all come from
    further left than needed (a source, above all) moves right, next to the first
    node it feeds, so its wires stay short."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b, _, _ in wires:
        succs[a].append(b)
        preds[b].append(a)
    indegree = {n: len(preds[n]) for n in nodes}
    order = [n for n in nodes if indegree[n] == 0]
    for n in order:  # grows while read: Kahn's topological order
        for s in succs[n]:
            indegree[s] -= 1
            if indegree[s] == 0:
                order.append(s)
    layer = dict.fromkeys(nodes, 0)
    for n in order:
        for s in succs[n]:
            if layer[s] < layer[n] + 1:
                layer[s] = layer[n] + 1
    for n in reversed(order):
        if succs[n] and not preds[n]:
            layer[n] = min(layer[s] for s in succs[n]) - 1
    # Then each node, within what its wires allow, to the median of where its wires
    # would be one layer long: the total length of the wires shrinks (fewer lanes).
    for _ in range(REFINE):
        moved = False
        for n in order:
            lo = max((layer[p] + 1 for p in preds[n]), default=None)
            hi = min((layer[s] - 1 for s in succs[n]), default=None)
            if lo is None or hi is None or lo == hi:
                continue
            wishes = sorted([layer[p] + 1 for p in preds[n]] + [layer[s] - 1 for s in succs[n]])
            best = min(max(wishes[(len(wishes) - 1) // 2], lo), hi)
            if best != layer[n]:
                layer[n], moved = best, True
        if not moved:
            break
    low = min(layer.values())
    return {n: v - low for n, v in layer.items()}


def _with_dummies(nodes: list[str], boxes: Mapping[str, Box], wires: Sequence[Wire],
                  layer: dict[str, int]) -> _Graph:
    g = _Graph()
    for n in nodes:
        g.height[n], g.width[n], g.layer[n] = boxes[n][3], boxes[n][2], layer[n]
    dummy = 0
    # A random graph's wires can cross dozens of layers each: the shortest get lanes
    # first, and the longest none once the budget is spent (they are drawn over the
    # nodes they cross, see flowui.canvas.crossings), so the cost stays linear.
    budget = LANES_PER_NODE * len(nodes)
    for a, b, ya, yb in sorted(wires, key=lambda w: layer[w[1]] - layer[w[0]]):
        span = layer[b] - layer[a] - 1
        if span > budget:
            continue
        budget -= span
        prev: object = a
        prev_y = ya
        for lay in range(layer[a] + 1, layer[b]):
            g.height[dummy], g.width[dummy], g.layer[dummy] = LANE_H, 0.0, lay
            # a lane keeps in line with the next: long wires come out straight
            g.segments.append((prev, dummy, prev_y, LANE_H / 2,
                               1.0 if isinstance(prev, str) else LANE_PULL))
            prev, prev_y = dummy, LANE_H / 2
            dummy += 1
        g.segments.append((prev, b, prev_y, yb, 1.0))
    g.layers = [[] for _ in range(max(g.layer.values()) + 1)]
    return g


# --- order within layers --------------------------------------------------------------------


def _order(g: _Graph, boxes: Mapping[str, Box]) -> None:
    """Barycenter sweeps; the best order seen (fewest crossings) is kept."""
    up: dict[object, list[tuple[object, float]]] = {n: [] for n in g.layer}
    down: dict[object, list[tuple[object, float]]] = {n: [] for n in g.layer}
    for a, b, ya, yb, _ in g.segments:
        down[a].append((b, yb))
        up[b].append((a, ya))
    # first guess: where the nodes were (a dummy: where its wire came from)
    guess: dict[object, float] = {}
    for n in g.layer:
        if isinstance(n, str):
            guess[n] = boxes[n][1]
    for a, b, _, _, _ in g.segments:  # segments of a chain are in order
        if not isinstance(b, str):
            guess[b] = guess[a]
    for n in sorted(g.layer, key=lambda n: guess[n]):
        g.layers[g.layer[n]].append(n)
    best = [list(members) for members in g.layers]
    best_crossings = _crossings(g, down)
    for _ in range(SWEEPS):
        for layers, neighbours in ((range(1, len(g.layers)), up),
                                   (range(len(g.layers) - 2, -1, -1), down)):
            for i in layers:
                _sort_by_barycenter(g, i, neighbours)
            found = _crossings(g, down)
            if found <= best_crossings:  # (ties: the later, more settled order)
                best_crossings, best = found, [list(members) for members in g.layers]
        if best_crossings == 0:
            break
    g.layers = best


def _sort_by_barycenter(g: _Graph, i: int,
                        neighbours: Mapping[object, list[tuple[object, float]]]) -> None:
    """Sort layer i by the mean place of each node's neighbours in the layer swept from
    (a port lower on its node counts a little lower); a node without any keeps its place."""
    members = g.layers[i]
    place: dict[object, float] = {}
    for members_other in (g.layers[i - 1] if i > 0 else [], g.layers[i + 1]
                          if i + 1 < len(g.layers) else []):
        for k, n in enumerate(members_other):
            place[n] = float(k)
    keys = {}
    for k, n in enumerate(members):
        total, count = 0.0, 0
        for other, y in neighbours[n]:
            p = place.get(other)
            if p is not None:
                total += p + min(y / 1000.0, 0.5)
                count += 1
        keys[n] = total / count if count else float(k)
    members.sort(key=lambda n: keys[n])


def _crossings(g: _Graph, down: Mapping[object, list[tuple[object, float]]]) -> int:
    """Crossings between every two adjacent layers: inversions of the lower ends when the
    segments are sorted by their upper ends (a Fenwick tree, O(E log V) a layer)."""
    total = 0
    for i in range(len(g.layers) - 1):
        lower = {n: k for k, n in enumerate(g.layers[i + 1])}
        ends = []
        for n in g.layers[i]:
            ends.extend(sorted(lower[b] for b, _ in down[n]))
        size = len(g.layers[i + 1])
        tree = [0] * (size + 1)
        for seen, e in enumerate(ends):
            # count earlier ends greater than e: seen - (earlier ends <= e)
            j, le = e + 1, 0
            while j > 0:
                le += tree[j]
                j -= j & -j
            total += seen - le
            j = e + 1
            while j <= size:
                tree[j] += 1
                j += j & -j
    return total


# --- heights --------------------------------------------------------------------------------


def _heights(g: _Graph) -> dict[object, float]:
    """Each node's y. First a priority method: sweeps pulling every node towards
    straight wires to the nodes it is wired to (a long wire's lanes towards a straight
    line), each layer placed by isotonic regression so the order is kept and nodes
    keep their gap. (Moving nodes off the curves the canvas draws for long wires was
    tried: it stretched dense graphs 2-6 times taller for few fewer crossings; a wire
    that passes through a node is drawn over it instead, see flowui.canvas.crossings.)"""
    up: dict[object, list[tuple[object, float, float, float]]] = {n: [] for n in g.layer}
    down: dict[object, list[tuple[object, float, float, float]]] = {n: [] for n in g.layer}
    for a, b, ya, yb, w in g.segments:
        down[a].append((b, yb, ya, w))  # neighbour, its port, my port, weight
        up[b].append((a, ya, yb, w))
    # A node follows the nodes it is wired to, not the lanes of its long wires (when it
    # has both): chains of nodes come out in line and the lanes bend at their ends.
    for table in (up, down):
        for n, found in table.items():
            if isinstance(n, str):
                direct = [e for e in found if isinstance(e[0], str)]
                if direct and len(direct) < len(found):
                    table[n] = direct
    ys: dict[object, float] = {}
    for members in g.layers:  # packed from the top to start with
        y = 0.0
        for n in members:
            ys[n] = y
            y += g.height[n] + _gap(n)
    passes = []
    for p in range(STRAIGHTEN):
        sweep = list(range(1, len(g.layers))) if p % 2 == 0 else \
            list(range(len(g.layers) - 2, -1, -1))
        passes.append((sweep, up if p % 2 == 0 else down))
    both = {n: up[n] + down[n] for n in g.layer}
    passes.append((list(range(len(g.layers))), both))  # a last balancing pass
    for sweep, neighbours in passes:
        for i in sweep:
            _place_layer(g.layers[i], g, ys, neighbours)
    return ys


def _place_layer(members: list[object], g: _Graph, ys: dict[object, float],
                 neighbours: Mapping[object, list[tuple[object, float, float, float]]]) -> None:
    """Pool adjacent violators: the y closest (weighted least squares) to each node's
    wish with the order kept and each node at least its height plus a gap below the
    one before it. A lane pressing on a node hardly moves it: the lane gives way."""
    offset = 0.0
    blocks: list[list[float]] = []  # [sum of weight * target, sum of weight, count]
    offsets = []
    for n in members:
        total = weight = 0.0
        for other, their_port, my_port, w in neighbours[n]:
            total += w * (ys[other] + their_port - my_port)
            weight += w
        wish, w = (total / weight, weight) if weight else (ys[n], 0.05)
        if isinstance(n, str):
            w *= NODE_WEIGHT
        offsets.append(offset)
        block = [w * (wish - offset), w, 1]
        while blocks and blocks[-1][0] / blocks[-1][1] >= block[0] / block[1]:
            last = blocks.pop()
            block = [last[0] + block[0], last[1] + block[1], last[2] + block[2]]
        blocks.append(block)
        offset += g.height[n] + _gap(n)
    k = 0
    for total, weight, count in blocks:
        z = total / weight
        for _ in range(int(count)):
            ys[members[k]] = z + offsets[k]
            k += 1


def _gap(n: object) -> float:
    return NODE_GAP if isinstance(n, str) else LANE_GAP
