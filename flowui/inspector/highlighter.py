"""`{{ }}` highlighting for config strings, full templates and bare expressions.

A tag may span lines (a template's `{% for %}` written over several), so the
state at the end of each block says which tag, if any, is still open.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from flowui import theme

VALUE, TEXT, EXPRESSION = "value", "text", "expression"  # what the whole text is

_OUTSIDE, _IN_EXPR, _IN_STATEMENT, _IN_COMMENT = 0, 1, 2, 3
_CLOSERS = {_IN_EXPR: "}}", _IN_STATEMENT: "%}", _IN_COMMENT: "#}"}
_OPENERS = {"{": _IN_EXPR, "%": _IN_STATEMENT, "#": _IN_COMMENT}
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?")
_KEYWORD = re.compile(r"\b(and|or|not|in|is|if|else|for|endfor|endif|elif|set|true|false|"
                      r"none|True|False|None)\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _format(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


_SYNTAX = theme.current().syntax
DELIMITER = _format(_SYNTAX["delimiter"], bold=True)
EXPR = _format(_SYNTAX["expr"])
STRING_LITERAL = _format(_SYNTAX["string"])
KEYWORD = _format(_SYNTAX["keyword"])
NUMBER_LITERAL = _format(_SYNTAX["number"])
STATEMENT = _format(_SYNTAX["statement"])
COMMENT = _format(_SYNTAX["comment"], italic=True)
_FORMATS = {"delimiter": DELIMITER, "expr": EXPR, "string": STRING_LITERAL,
            "keyword": KEYWORD, "number": NUMBER_LITERAL, "statement": STATEMENT,
            "comment": COMMENT}
_shown_in = [theme.current().name]


def _follow_theme() -> None:
    """Recolour the formats in place when the theme changed (setFormat copies them)."""
    look = theme.current()
    if _shown_in[0] != look.name:
        _shown_in[0] = look.name
        for key, fmt in _FORMATS.items():
            fmt.setForeground(QColor(look.syntax[key]))


class TemplateHighlighter(QSyntaxHighlighter):
    """Colours `{{ expr }}` in a value (VALUE), also `{% %}` and `{# #}` in a full
    template (TEXT), or the whole text as one expression (EXPRESSION)."""

    def __init__(self, document: QTextDocument, mode: str = VALUE) -> None:
        super().__init__(document)
        self.mode = mode

    def highlightBlock(self, text: str) -> None:
        _follow_theme()
        if self.mode == EXPRESSION:
            self._expression(text, 0, len(text))
            return
        state = max(self.previousBlockState(), _OUTSIDE)
        i, n = 0, len(text)
        while i < n:
            if state == _OUTSIDE:
                j = self._next_opener(text, i)
                if j < 0:
                    break
                state = _OPENERS[text[j + 1]]
                self.setFormat(j, 2, COMMENT if state == _IN_COMMENT else DELIMITER)
                i = j + 2
                continue
            k = text.find(_CLOSERS[state], i)
            end = n if k < 0 else k
            if state == _IN_COMMENT:
                self.setFormat(i, end - i, COMMENT)
            else:
                self._expression(text, i, end, STATEMENT if state == _IN_STATEMENT else EXPR)
            if k < 0:
                break
            self.setFormat(k, 2, COMMENT if state == _IN_COMMENT else DELIMITER)
            i, state = k + 2, _OUTSIDE
        self.setCurrentBlockState(state)

    def _next_opener(self, text: str, start: int) -> int:
        if self.mode != TEXT:  # only `{{` is special outside full templates
            return text.find("{{", start)
        hits = [j for j in (text.find(o, start) for o in ("{{", "{%", "{#")) if j >= 0]
        return min(hits, default=-1)

    def _expression(self, text: str, start: int, end: int,
                    base: QTextCharFormat = EXPR) -> None:
        if end <= start:
            return
        self.setFormat(start, end - start, base)
        part = text[start:end]
        for pattern, fmt in ((_NUMBER, NUMBER_LITERAL), (_KEYWORD, KEYWORD),
                             (_STRING, STRING_LITERAL)):
            for m in pattern.finditer(part):
                self.setFormat(start + m.start(), m.end() - m.start(), fmt)
