"""Keeping secret values out of everything a run emits: events, logs, results, files.

A secret leaves a run in more spellings than its own: JSON-escaped (once or twice),
as a Python repr (of the text or of its UTF-8 bytes, as `default=str` serialisers
write them), URL-quoted, HTML-escaped, as bytes, as base64 or hex of the whole. The
Redactor computes every such spelling once and masks them all with one compiled
regex, so masking a string costs one scan whatever the number of secrets and forms.

Not covered, by nature: a secret the workflow itself cuts into pieces, reorders or
encodes some other way (`secrets.X[:4]`, `secrets.X|reverse`, a hand-written
escape); base64 or hex of a value that holds the secret with other text around it is
masked in its middle only (the few characters at each end that mix in neighbouring
bytes stay). See `forms` for the exact list.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_BMASK = MASK.encode()
_SCALARS = (bool, type(None))
_PLAIN = (bool, type(None), int, float)  # scalars never masked unless a secret is a number
_HEX = re.compile(r"%[0-9A-F]{2}")
# Shortest base64 or hex core worth masking: below it, chance matches in other data
# would be masked too.
_MIN_CORE = 8
# Up to this length the regex costs less (~150 ns) than looking for the anchors first.
_SHORT = 64
_NEST = 24  # see _alternation


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")  # os.environ's own decoding
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _reprs(text: str) -> set[str]:
    """The inside of repr(text) and ascii(text), alone and next to both quote
    characters: repr escapes `'` only when the whole string also holds a `"`."""
    return {repr(text)[1:-1], repr("\"'" + text)[4:-1], ascii(text)[1:-1],
            ascii("\"'" + text)[4:-1]}


def _breprs(text: str) -> set[str]:
    data = _utf8(text)
    return {repr(data)[2:-1], repr(b"\"'" + data)[5:-1]}


def _quotes(text: str) -> set[str]:
    """URL-quoted with the safe sets of urllib, Jinja's |urlencode and httpx (paths),
    `+` for spaces or not, and the hex digits in either case."""
    data = _utf8(text)
    out = {quote(data, safe=""), quote(data, safe="/"), quote(data, safe="!$&'()*+,;=:@/~"),
           quote_plus(data, safe=""), quote_plus(data, safe="/")}
    return out | {_HEX.sub(lambda m: m.group().lower(), q) for q in out}


def _markup(text: str) -> str:
    """MarkupSafe's (Jinja's |e) escaping: numeric quotes, unlike html.escape."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


def _jsons(text: str) -> set[str]:
    """JSON strings as Python writes them (ensure_ascii on and off), and as encoders
    that also escape `/` or, to be safe in HTML, `<>&'` (Jinja's own tojson) do."""
    out = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    safe = {e.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027") for e in out}
    return out | safe | {e.replace("/", "\\/") for e in out}


# One level of encoding: each returns the spellings of `text` it produces.
_ENCODERS: tuple[Callable[[str], set[str]], ...] = (
    _jsons, _reprs, _breprs, _quotes,
    lambda t: {html.escape(t), html.escape(t, quote=False), _markup(t)},
    lambda t: {_utf8(t).decode("latin-1")},  # UTF-8 bytes read as Latin-1 (mojibake)
)


def _whole(secret: str) -> set[str]:
    """Base64 (standard and URL-safe) and hex of the secret's UTF-8 bytes. Inside a
    longer encoded value the secret can start at any of three byte offsets: for each,
    the characters that encode only the secret's bits (the core) are masked."""
    data = _utf8(secret)
    whole = base64.b64encode(data).decode()  # the secret alone: masked to its padding
    out = {whole} if len(whole) >= _MIN_CORE else set()
    for k in range(3):
        enc = base64.b64encode(bytes(k) + data).decode()
        core = enc[-(-k * 8 // 6):(k + len(data)) * 8 // 6]
        if len(core) >= _MIN_CORE:
            out.add(core)
    out |= {f.replace("+", "-").replace("/", "_") for f in out}  # URL-safe base64
    if len(data) * 2 >= _MIN_CORE:
        out |= {data.hex(), data.hex().upper()}
    return out


def forms(secret: str) -> set[str]:
    """Every spelling of `secret` masked: itself; one level of JSON (ensure_ascii on
    and off, `/` or `<>&'` escaped or not), repr or ascii (of the text) and repr (of
    its UTF-8 bytes), URL quoting, HTML escaping or Latin-1 mojibake;
    two levels of any of these (JSON inside JSON, JSON in a URL, a repr of JSON…);
    three levels of JSON; base64 and hex of the whole."""
    one = {f for enc in _ENCODERS for f in enc(secret)}
    two = {f for s in one for enc in _ENCODERS for f in enc(s)}
    # JSON in JSON in JSON (a JSON event holding json_stringify of a JSON string)
    three = {f for s in _jsons(secret) for t in _jsons(s) for f in _jsons(t)}
    return ({secret} | one | two | three | _whole(secret)) - {""}


def _anchors(spellings: Iterable[str], n: int = 6) -> set[str]:
    """A few substrings such that every spelling holds one of them. A text holding
    none holds no spelling, and `in` (C speed, no regex) tells that 10-50 times
    faster than the regex scan: most texts hold no secret. Chosen greedily: the
    n-gram shared by the most spellings not yet covered, until all are."""
    # (n-grams of each spelling's start only: any substring will do, and a long secret's
    # spellings run to kilobytes)
    grams = {f: {f[i:i + n] for i in range(max(1, min(len(f), 64) - n + 1))}
             for f in spellings}
    left, out = set(grams), set()
    while left:
        counts = Counter(g for f in left for g in grams[f])
        best = max(counts, key=lambda g: (counts[g], g))
        out.add(best)
        left = {f for f in left if best not in f}
    return out


def _alternation(items: set[str]) -> str:
    """A regex matching any of `items`, the longest where one is a prefix of another.
    Written as a trie, `ab(?:c|d(?:e)?)`: a flat `abc|abde|…` makes the regex engine
    try every item at every position (1 ms per kB with 10 awkward secrets' 2,500
    spellings); the trie tries one branch per character. Past _NEST nested branchings
    the rest is a flat alternation: few items share such a long start, and nesting
    costs Python stack in the regex compiler (a PEM key's spellings run to kilobytes)."""
    trie: dict[str, Any] = {}
    for item in items:
        node = trie
        for ch in item:
            node = node.setdefault(ch, {})
        node[""] = {}  # an item ends here

    def regex(node: dict[str, Any], nest: int) -> str:
        chain = []
        while len(node) == 1 and "" not in node:  # one way on: literal text, no group
            ch, node = next(iter(node.items()))
            chain.append(re.escape(ch))
        if "" in node and len(node) == 1:
            return "".join(chain)
        if nest >= _NEST:
            rest = sorted(_suffixes(node), key=len, reverse=True)
            return "".join(chain) + "(?:" + "|".join(map(re.escape, rest)) + ")"
        group = "(?:" + "|".join(re.escape(ch) + regex(sub, nest + 1)
                                 for ch, sub in node.items() if ch) + ")"
        # Optional where an item ends here: greedy, so the longer item is tried first.
        return "".join(chain) + group + ("?" if "" in node else "")

    return regex(trie, 0)


def _suffixes(node: dict[str, Any]) -> list[str]:
    """Every item's rest below a trie node (without recursion: they can be long)."""
    out, stack = [], [(node, "")]
    while stack:
        node, prefix = stack.pop()
        for ch, sub in node.items():
            if ch:
                stack.append((sub, prefix + ch))
            else:
                out.append(prefix)
    return out


class _Compiled:
    """What a set of secrets is masked with, text and bytes: built once per set."""

    def __init__(self, values: tuple[str, ...]) -> None:
        each = [forms(v) for v in values]
        spellings = set().union(*each)
        self.longest = max(map(len, spellings))  # how far past a cut to look
        self.shortest = min(map(len, spellings))  # shorter text cannot hold one
        self.text = re.compile(_alternation(spellings))
        self.anchors = tuple(set().union(*map(_anchors, each)))
        # Bytes hold the forms' UTF-8, or Latin-1 where a secret is Latin-1 text.
        # (Built as text with one character per byte, Latin-1, then compiled as bytes.)
        data = {_utf8(f).decode("latin-1") for f in spellings} | {
            v for v in values if v.isprintable() and max(v) <= "\xff"}
        self.data = re.compile(_alternation(data).encode("latin-1"))
        self.data_anchors = tuple({_utf8(a) for a in self.anchors} | {
            a.encode("latin-1") for v in values if v.isprintable() and max(v) <= "\xff"
            for a in _anchors([v])})
        # A secret that reads as a number is also masked in numbers (`|int` of it).
        self.numbers = any(_is_number(v) for v in values)


# Serve mode makes a run, so a Redactor, per request: the same secrets, built once.
_compiled = lru_cache(maxsize=32)(_Compiled)


class Redactor:
    """Replaces secret values, in every spelling `forms` lists, in strings and bytes at
    any depth of dicts, lists, tuples and sets (keys too)."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = sorted({v for v in values if v}, key=len, reverse=True)
        # None without secrets: nothing is computed, and masking costs nothing
        self._c = _compiled(tuple(self.values)) if self.values else None

    def __bool__(self) -> bool:
        return self._c is not None

    def text(self, text: str) -> str:
        c = self._c
        if c is None or len(text) < c.shortest:  # most strings of an event: ids, names
            return text
        if len(text) > _SHORT:  # see _anchors
            for anchor in c.anchors:
                if anchor in text:
                    break
            else:
                return text
        return c.text.sub(MASK, text)

    def data(self, data: bytes) -> bytes:
        c = self._c
        if c is not None:
            for anchor in c.data_anchors:
                if anchor in data:
                    return c.data.sub(_BMASK, data)
        return data

    def cut(self, text: str, limit: int) -> str:
        """The first `limit` characters of `text`, masked as the whole text would be:
        a secret that crosses the cut is masked whole, never left as a prefix."""
        c = self._c
        if c is None:
            return text[:limit]
        out: list[str] = []
        pos = 0
        for m in c.text.finditer(text, 0, limit + c.longest):
            if m.start() >= limit:
                break
            out += (text[pos:m.start()], MASK)
            pos = m.end()
        if pos < limit:
            out.append(text[pos:limit])
        return "".join(out)

    def scrub(self, value: Any) -> Any:
        """`value` with every secret masked; containers are copied, other values are
        returned as they are unless their text (str or repr) holds a secret, when the
        masked text replaces them (serialisers write such objects as text anyway)."""
        c = self._c
        if c is None:
            return value
        t = type(value)
        if t is str:
            return self.text(value)
        if t in _SCALARS:
            return value
        if t is int or t is float:
            if c.numbers and self.text(repr(value)) != repr(value):
                return MASK
            return value
        # Strings and plain scalars, most of any value, without a call of scrub each
        # (an event's dicts and lists cost half as much).
        text, scrub = self.text, self.scrub
        plain = _SCALARS if c.numbers else _PLAIN
        if t is dict:
            return {(text(k) if type(k) is str else scrub(k)):
                    (text(v) if type(v) is str else v if type(v) in plain else scrub(v))
                    for k, v in value.items()}
        if t is list:
            return [text(v) if type(v) is str else v if type(v) in plain else scrub(v)
                    for v in value]
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, tuple):
            items = [self.scrub(v) for v in value]
            return t._make(items) if hasattr(t, "_fields") else tuple(items)
        if isinstance(value, set | frozenset):
            return t(self.scrub(v) for v in value) if t in (set, frozenset) \
                else {self.scrub(v) for v in value}
        if isinstance(value, bytes | bytearray | memoryview):
            masked = self.data(bytes(value))
            return bytearray(masked) if t is bytearray else masked
        if isinstance(value, str):  # a subclass (e.g. Markup): plain text once masked
            masked_text = self.text(value)
            return value if masked_text == value else masked_text
        return self._other(value)

    def _other(self, value: Any) -> Any:
        """An exception, a model, any object: masked text if its str or repr (which
        `default=str` serialisers and error messages use) holds a secret."""
        try:
            shown = str(value)
            if self.text(shown) != shown or self.text(repr(value)) != repr(value):
                return self.text(shown)
        except Exception:  # a broken __str__ or __repr__ must not break the run
            return MASK
        return value


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True
