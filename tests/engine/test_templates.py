"""The template engine: FORMAT.md "Expressions and templates", bounds, sandbox escapes."""

from __future__ import annotations

import threading
import time
import timeit
from pathlib import Path
from typing import Any

import pytest

from engine.errors import TemplateError
from engine.templates.engine import TemplateEngine, default_engine


@pytest.fixture
def eng() -> TemplateEngine:
    return TemplateEngine(time_limit_s=0.3)


NAMES: dict[str, Any] = {
    "inputs": {"n": 5, "s": "hi", "none": None, "l": [1, 2], "f": 1.5},
    "value": {"status": 200, "json": {"ok": True, "items": [1, 2, 3]}},
    "ports": {"data": "{{ 7*7 }}", "stmt": "{% if true %}x{% endif %}"},
}


# --- rendering values -----------------------------------------------------------------------


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ inputs.n }}", 5),
    ("{{inputs.n}}", 5),
    ("{{- inputs.n -}}", 5),
    ("{{ inputs.f }}", 1.5),
    ("{{ inputs.l }}", [1, 2]),
    ("{{ [1, 2] }}", [1, 2]),
    ("{{ {'a': inputs.n} }}", {"a": 5}),
    ("{{ none }}", None),
    ("{{ inputs.none }}", None),
    ("{{ value.json.ok }}", True),
    ("{{ value['json']['ok'] }}", True),
    ("{{ inputs.n * 2 }}", 10),
    ("{{ inputs.l|map('string') }}", ["1", "2"]),
    ("{{ range(3) }}", [0, 1, 2]),
    ("{{ 9**9**9 }}", (9**9) ** 9),  # Jinja's ** groups to the left: small, allowed
])
def test_lone_expression_keeps_its_type(eng: TemplateEngine, template: str, expected: Any) -> None:
    result = eng.render_value(template, NAMES)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("template", "expected"), [
    ("n={{ inputs.n }}", "n=5"),
    ("{{ inputs.n }} ", "5 "),
    ("{{ inputs.n }}\n", "5\n"),
    ("{{ inputs.n }}{{ inputs.n }}", "55"),
    ("{{ inputs.l }}!", "[1, 2]!"),
    ("{{ inputs.none }}-", "None-"),
])
def test_other_templates_render_to_strings(eng: TemplateEngine, template: str,
                                           expected: str) -> None:
    assert eng.render_value(template, NAMES) == expected


def test_markup_results_become_plain_str(eng: TemplateEngine) -> None:
    result = eng.render_value("{{ '<a>'|e }}", NAMES)
    assert result == "&lt;a&gt;"
    assert type(result) is str


def test_nested_structures_are_rendered_and_keys_untouched(eng: TemplateEngine) -> None:
    value = {"url": "http://x/{{ inputs.s }}", "{{ key }}": 1,
             "list": ["{{ inputs.n }}", {"deep": ["{{ value.status }}"]}, 3, None],
             "tuple": ("{{ inputs.n }}", "plain"), "plain": "no template"}
    out = eng.render_value(value, NAMES)
    assert out == {"url": "http://x/hi", "{{ key }}": 1,
                   "list": [5, {"deep": [200]}, 3, None],
                   "tuple": (5, "plain"), "plain": "no template"}
    assert value["list"][0] == "{{ inputs.n }}"  # the input is not modified


def test_non_templates_are_returned_unchanged(eng: TemplateEngine) -> None:
    obj = object()
    assert eng.render_value(obj, NAMES) is obj
    assert eng.render_value("plain {% text %} {# x #}", NAMES) == "plain {% text %} {# x #}"
    assert eng.render_value(7, NAMES) == 7


def test_literal_braces(eng: TemplateEngine) -> None:
    assert eng.render_value("{{ '{{' }}", NAMES) == "{{"
    assert eng.render_value("a {{ '{{' }} b }}", NAMES) == "a {{ b }}"


def test_statements_and_comments_are_literal_in_values(eng: TemplateEngine) -> None:
    assert eng.render_value("{% if x %}{{ inputs.n }}{% endif %}", NAMES) == \
        "{% if x %}5{% endif %}"
    assert eng.render_value("{# c #} {{ inputs.s }}", NAMES) == "{# c #} hi"
    assert eng.render_value("{% raw %}{{ inputs.n }}{% endraw %}", NAMES) == \
        "{% raw %}5{% endraw %}"


def test_data_is_never_rendered_again(eng: TemplateEngine) -> None:
    assert eng.render_value("{{ ports.data }}", NAMES) == "{{ 7*7 }}"
    assert eng.render_value("x {{ ports.data }}", NAMES) == "x {{ 7*7 }}"
    assert eng.render_value("{{ '{{ 7*7 }}' }}", NAMES) == "{{ 7*7 }}"
    assert eng.render_text("{{ ports.data }} {{ ports.stmt }}", NAMES) == \
        "{{ 7*7 }} {% if true %}x{% endif %}"
    assert eng.evaluate("ports.data", NAMES) == "{{ 7*7 }}"


@pytest.mark.parametrize("template", ["{{ inputs.nope }}", "x {{ inputs.nope }}",
                                      "{{ nope }}", "{{ value.json.nope.deeper }}",
                                      "{{ [inputs.nope] }}", "{{ {'a': nope} }}",
                                      "{{ nope() }}"])
def test_undefined_names_raise(eng: TemplateEngine, template: str) -> None:
    with pytest.raises(TemplateError, match=r"undefined|has no attribute") as info:
        eng.render_value(template, NAMES, where="config.url")
    assert str(info.value).startswith("config.url: ")


def test_undefined_can_be_tested_and_defaulted(eng: TemplateEngine) -> None:
    assert eng.render_value("{{ inputs.nope is defined }}", NAMES) is False
    assert eng.render_value("{{ inputs.nope|default(3) }}", NAMES) == 3


def test_error_path_names_the_nested_field(eng: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match=r"^config\.headers\.Auth: "):
        eng.render_value({"headers": {"Auth": "{{ nope }}"}}, NAMES, where="config")
    with pytest.raises(TemplateError, match=r"^config\.items\[1\]: "):
        eng.render_value({"items": [1, "{{ nope }}"]}, NAMES, where="config")


def test_tojson_and_fromjson(eng: TemplateEngine) -> None:
    names = {"d": {"b": 1, "a": "<&>'"}}
    assert eng.render_value("{{ d|tojson }}", names) == '{"b":1,"a":"<&>\'"}'
    assert eng.render_value("{{ '{\"x\": [1, 2]}'|fromjson }}", names) == {"x": [1, 2]}
    assert eng.render_value("{{ (d|tojson|fromjson) == d }}", names) is True
    assert eng.render_value("{{ d|tojson(indent=2) }}", names).startswith('{\n  "b": 1')
    with pytest.raises(TemplateError, match="JSONDecodeError"):
        eng.render_value("{{ 'nope'|fromjson }}", names)


def test_standard_filters_and_safe_globals(eng: TemplateEngine) -> None:
    assert eng.render_value("{{ inputs.l|join('-') }}|{{ inputs.s|upper }}", NAMES) == "1-2|HI"
    assert eng.render_value("{{ inputs.l|length }}", NAMES) == 2
    assert eng.render_value("{{ dict(a=1) }}", NAMES) == {"a": 1}
    assert eng.render_value("{{ '{}-{}'.format(1, 2) }} {{ '%d' % 3 }}", NAMES) == "1-2 3"
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        with pytest.raises(TemplateError, match="undefined"):
            eng.render_value(f"{{{{ {name} }}}}", NAMES)


# --- statements (transform.template) and conditions ---------------------------------------


def test_render_text_supports_statements(eng: TemplateEngine) -> None:
    source = ("{% macro m(x) %}<{{ x }}>{% endmacro %}"
              "{% for i in value.json['items'] if i > 1 %}{{ m(i) }}{{ loop.length }}"
              "{% else %}none{% endfor %}{# comment #}{% set y = inputs.n %}"
              "{% if y == 5 %} five{% endif %}{% raw %} {{ raw }}{% endraw %}\n")
    assert eng.render_text(source, NAMES) == "<2>2<3>2 five {{ raw }}\n"


def test_render_text_recursive_loops_and_blocks(eng: TemplateEngine) -> None:
    tree = {"t": [{"n": 1, "c": [{"n": 2, "c": []}]}]}
    text = "{% for x in t recursive %}{{ x.n }}({{ loop(x.c) }}){% endfor %}"
    assert eng.render_text(text, tree) == "1(2())"
    assert eng.render_text("{% filter upper %}ab{% endfilter %}", {}) == "AB"
    assert eng.render_text("{% autoescape true %}{{ '<' ~ 'b' }}{% endautoescape %}", {}) == \
        "&lt;b"


def test_render_text_errors_name_where_and_line(eng: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match=r"^node t: .*line 2"):
        eng.render_text("ok\n{% for %}", NAMES, where="node t")
    with pytest.raises(TemplateError, match=r"undefined at line 3"):
        eng.render_text("a\nb\n{{ nope }}", NAMES)


@pytest.mark.parametrize(("expression", "expected"), [
    ("value.status == 200 and value.json.ok", True),
    ("value['json']['ok'] and value.status != 200", False),
    ("inputs.l|length > 1", True),
    ("inputs.n", 5),
    ("'{% x %}'", "{% x %}"),
    ("inputs.nope is defined", False),
])
def test_evaluate(eng: TemplateEngine, expression: str, expected: Any) -> None:
    assert eng.evaluate(expression, NAMES) == expected


@pytest.mark.parametrize("expression", ["value.nope", "value.status ==", "a b", "", "{{ a }}"])
def test_evaluate_errors(eng: TemplateEngine, expression: str) -> None:
    with pytest.raises(TemplateError, match=r"^control\.if\.condition: "):
        eng.evaluate(expression, NAMES, where="control.if.condition")


# --- checking ---------------------------------------------------------------------------


def test_check_value_reports_every_syntax_error_with_its_path(eng: TemplateEngine) -> None:
    value = {"url": "{{ ok }}", "headers": {"Authorization": "Bearer {{ x "},
             "items": [1, "{{ y }}", "{{ }}"], "f": "{{ x|nosuchfilter }}", "s": "{% if %}"}
    problems = dict(eng.check_value(value))
    assert set(problems) == {"headers.Authorization", "items[2]", "f"}
    assert "line 1" in problems["headers.Authorization"]
    assert "nosuchfilter" in problems["f"]
    assert eng.check_value("{{ ok }}") == []
    assert eng.check_value("{{ bad") and eng.check_value("{{ bad")[0][0] == ""
    assert eng.check_value([1, {"a": None}]) == []


def test_check_text_and_check_expression(eng: TemplateEngine) -> None:
    assert eng.check_text("{% for x in y %}{{ x }}{% endfor %}") is None
    message = eng.check_text("line1\n{% for x in %}")
    assert message is not None and "line 2" in message
    assert eng.check_expression("value.status == 200 and value.json.ok") is None
    assert eng.check_expression("value.status ==") is not None
    assert eng.check_expression("a b") is not None


def test_is_template_and_contains_template() -> None:
    assert TemplateEngine.is_template("a {{ b }}") and not TemplateEngine.is_template("a { b }")
    assert TemplateEngine.contains_template({"a": [1, {"b": ("x", "{{ y }}")}]})
    assert not TemplateEngine.contains_template({"{{ key }}": [1, "plain", None]})


def test_compiled_templates_are_cached(eng: TemplateEngine) -> None:
    for i in range(50):
        assert eng.render_value("{{ inputs.n + 1 }}", NAMES) == 6
        assert eng.render_value("n={{ inputs.n }}", NAMES) == "n=5"
        assert eng.evaluate("inputs.n > 1", NAMES) is True
        assert eng.render_text("{{ inputs.s }}", NAMES) == "hi"
        assert eng.render_value("{{ inputs.l[0] }}", {"inputs": {"l": [i]}}) == i
    assert eng._compile_value.cache_info().misses == 3
    assert eng._compile_expr.cache_info().misses == 1
    assert eng._compile_text.cache_info().misses == 1


def test_simple_render_is_fast() -> None:
    per_call = min(timeit.repeat(lambda: default_engine.render_value("{{ inputs.x }}",
                                                                    {"inputs": {"x": 1}}),
                                 number=2000, repeat=3)) / 2000
    assert per_call < 50e-6  # measured ~1 µs; generous for slow CI machines


def test_errors_do_not_echo_values_from_names(eng: TemplateEngine) -> None:
    names = {"secrets": {"token": "sk-very-secret-1234"}, "d": {}}
    for template in ("{{ [1, 2].index(secrets.token) }}", "{{ d[secrets.token] }}",
                     "{{ secrets.token + 1 }}", "{{ secrets.token|attr(secrets.token) }}",
                     "{{ (secrets.token ~ '{x}').format() }}"):
        with pytest.raises(TemplateError) as info:
            eng.render_value(template, names)
        assert "sk-very-secret" not in str(info.value), str(info.value)


def test_deadline_is_per_render_and_per_thread() -> None:
    slow = TemplateEngine(time_limit_s=0.5)
    bomb = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    errors: list[BaseException] = []

    def run_bomb() -> None:
        try:
            slow.render_text(bomb, {})
        except TemplateError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run_bomb)
    thread.start()
    for _ in range(2000):  # meanwhile, quick renders in this thread are unaffected
        assert slow.render_value("{{ inputs.n }}", NAMES) == 5
    thread.join(5)
    assert len(errors) == 1 and "took longer than 0.5 s" in str(errors[0])
    assert slow.render_text("{% for i in range(3) %}{{ i }}{% endfor %}", {}) == "012"


# --- sandbox escapes and bounds --------------------------------------------------------------


class Sentinel:
    """An object whose every reachable method would leave a trace if it ran."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fired = False

    def fire(self, *args: Any, **kwargs: Any) -> str:
        self.fired = True
        self.path.write_text("pwned")
        return "fired"

    @property
    def application(self) -> Any:
        return self.fire

    def __str__(self) -> str:
        return "sentinel"


def _generator() -> Any:
    yield 1


@pytest.fixture
def trap(tmp_path: Path) -> dict[str, Any]:
    sentinel = Sentinel(tmp_path / "pwned")
    return {"x": sentinel, "request": sentinel, "config": {"debug": True},
            "func": sentinel.fire, "gen": _generator(), "big": list(range(100_000)),
            "sentinel": sentinel}


ESCAPES = [
    "''.__class__.__mro__[1].__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__init__.__globals__",
    "range.__init__.__globals__",
    "range.__globals__",
    "dict.__init__.__globals__",
    "dict.mro()",
    "self.__dict__",
    "self._TemplateReference__context",
    "lipsum.__globals__['os']",
    "cycler.__init__.__globals__.os.popen('id')",
    "joiner.__init__.__globals__",
    "namespace.__init__.__globals__",
    "''|attr('__class__')",
    "(''|attr('__class__')|attr('__mro__'))[1]",
    "[1]|map(attribute='__class__')|list",
    "request.application.__globals__",
    "request.application()",
    "x.fire()",
    "x.path.write_text('pwned')",
    "x.path.open('w')",
    "func()",
    "config.__class__.__init__.__globals__",
    "config['__class__']",
    "'{0.__class__.__mro__}'.format(1)",
    "'%s'|format(''.__class__)",
    "'{a.__globals__}'.format_map({'a': func})",
    "'{0.__self__}'.format(func)",
    "''.__class__.__base__.__subclasses__()[100].__init__.__globals__['__builtins__']['eval']('1')",
    "func.__code__",
    "func.__func__.__code__",
    "gen.gi_frame.f_globals",
    "gen.gi_code",
    "[].append(1)",
    "config.update(debug=False)",
    "config.pop('debug')",
]

BOUNDS = [
    ("range(10**9)", "exceeds the limit of 100000 items"),
    ("range(10**30)", "exceeds the limit of 100000 items"),
    ("'a' * 10**9", "exceeds the limit of 100000 items"),
    ("10**9 * 'a'", "exceeds the limit of 100000 items"),
    ("[0] * 10**9", "exceeds the limit of 100000 items"),
    ("('x'|string) * 10**9", "exceeds the limit of 100000 items"),
    ("'x'|string * 10**9", "exceeds the limit of 100000 items"),
    ("'x'|upper * 100001", "exceeds the limit of 100000 items"),
    ("[[0] * 100000] * 100000", "exceeds the limit of 100000 items"),
    ("['x' * 100000] * 2", "exceeds the limit of 100000 items"),
    ("10**(10**10)", "exceeds the limit of 100000 items"),
    ("9**(9**9)", "exceeds the limit of 100000 items"),
    ("(10**60000) * (10**60000)", "exceeds the limit of 100000 items"),
    ("('a' * 100000) + 'b'", "exceeds the limit of 100000 items"),
    ("'x'.ljust(10**9)", "exceeds the limit of 100000 items"),
    ("'x'|center(10**9)", "exceeds the limit of 100000 items"),
    ("(1).to_bytes(10**9, 'big')", "exceeds the limit of 100000 items"),
    ("'%0*d' % (10**9, 1)", "exceeds the limit of 100000 items"),
    ("'%01000000000d' % 1", "exceeds the limit of 100000 items"),
    ("'{:>1000000000}'.format(1)", "exceeds the limit of 100000 items"),
    ("'{:{}}'.format(1, 10**9)", "exceeds the limit of 100000 items"),
    ("'%s'|format('a' * 100000 ~ 'b')", "exceeds the limit of 100000 items"),
    ("('a' * 100000)|replace('a', 'aa')", "exceeds the limit of 100000 items"),
    ("('a' * 100000).replace('a', 'aa')", "exceeds the limit of 100000 items"),
    ("('x' * 1000).join(range(1000)|map('string'))", "exceeds the limit of 100000 items"),
    ("range(1000)|join('x' * 1000)", "exceeds the limit of 100000 items"),
    ("[1]|batch(10**9, 0)|list", "exceeds the limit of 100000 items"),
    ("[1]|slice(10**9)|list", "exceeds the limit of 100000 items"),
    ("('\\n' * 1000)|indent(1000)", "exceeds the limit of 100000 items"),
    ("'aaaa'.translate({97: 'x' * 100000})", "exceeds the limit of 100000 items"),
    ("('a' * 100000) ~ 'b'", "exceeds the limit of 100000 items"),
    ("([['x' * 1000] * 100] * 100)|tojson", "exceeds the limit of 100000 items"),
    ("big|list|list + [1]", "exceeds the limit of 100000 items"),
]

STATEMENTS = [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "took longer than"),
    ("{% for a in big %}{% for b in big %}{% endfor %}{% endfor %}", "took longer than"),
    ("{% for a in big %}{% for b in big if b < 0 %}{% endfor %}{% endfor %}", "took longer than"),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
     "took longer than"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion too deep"),
    ("{% for i in range(10**6) %}{{ i }}{% endfor %}", "exceeds the limit of 100000 items"),
    ("{% for i in range(100000) %}{{ i }}{% endfor %}", "rendered text exceeds the limit"),
    ("{% for i in big %}{{ i }}{% endfor %}", "rendered text exceeds the limit"),
    ("{% set a = [0] * 50000 %}{% set b = [a, a, a] %}{{ b }}",
     "an output value exceeds the limit of 100000 items"),
    ("{% set a = [0] * 50000 %}{% set b = [a, a, a] %}{{ b ~ '' }}",
     "the result of ~ exceeds the limit of 100000 items"),
    ("{% set a = [0] * 50000 %}{% set b = [a, a, a] %}{{ b|tojson }}",
     r"the input of \|tojson exceeds the limit of 100000 items"),
    ("{% set a = [0] * 50000 %}{% set b = [a, a, a] %}{{ '%s' % (b,) }}",
     "the text being formatted exceeds the limit of 100000 items"),
    ("{% set ns = namespace(x=1) %}", "undefined"),
    ("{% for x in ''.__class__.__mro__ %}{% endfor %}", "not allowed"),
]


def _assert_refused(call: Any, trap: dict[str, Any], match: str | None = None) -> None:
    with pytest.raises(TemplateError, match=match) as info:
        call()
    sentinel: Sentinel = trap["sentinel"]
    assert not sentinel.fired and not sentinel.path.exists()
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize("payload", ESCAPES)
@pytest.mark.parametrize("entry", ["render_value", "render_value_text", "evaluate", "render_text"])
def test_sandbox_escapes_are_refused(eng: TemplateEngine, trap: dict[str, Any], payload: str,
                                     entry: str) -> None:
    names = trap
    calls = {
        "render_value": lambda: eng.render_value(f"{{{{ {payload} }}}}", names),
        "render_value_text": lambda: eng.render_value(f"x{{{{ {payload} }}}}", names),
        "evaluate": lambda: eng.evaluate(payload, names),
        "render_text": lambda: eng.render_text(f"{{{{ {payload} }}}}", names),
    }
    _assert_refused(calls[entry], trap)


@pytest.mark.parametrize(("payload", "message"), BOUNDS, ids=[p for p, _ in BOUNDS])
@pytest.mark.parametrize("entry", ["render_value", "evaluate", "render_text"])
def test_bounds_are_enforced(eng: TemplateEngine, trap: dict[str, Any], payload: str,
                             message: str, entry: str) -> None:
    names = trap
    calls = {
        "render_value": lambda: eng.render_value(f"{{{{ {payload} }}}}", names),
        "evaluate": lambda: eng.evaluate(payload, names),
        "render_text": lambda: eng.render_text(f"{{{{ {payload} }}}}", names),
    }
    started = time.monotonic()
    _assert_refused(calls[entry], trap, message)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("source", "message"), STATEMENTS, ids=[s for s, _ in STATEMENTS])
def test_statement_bombs_are_stopped(eng: TemplateEngine, trap: dict[str, Any], source: str,
                                     message: str) -> None:
    started = time.monotonic()
    _assert_refused(lambda: eng.render_text(source, trap), trap, message)
    assert time.monotonic() - started < 2


def test_time_limit_message_names_the_limit() -> None:
    bomb = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match=r"^node t: evaluation took longer than 1\.0 s"):
        default_engine.render_text(bomb, {}, where="node t")


def test_bounds_allow_values_up_to_the_limit(eng: TemplateEngine) -> None:
    assert len(eng.render_value("{{ 'a' * 100000 }}", {})) == 100_000
    assert len(eng.render_value("{{ range(100000)|list }}", {})) == 100_000
    assert eng.render_value("{{ 2 ** 100 }}", {}) == 2**100
    assert eng.render_value("{{ [0] * 3 }}", {}) == [0, 0, 0]
    assert len(eng.render_value("{{ [0] * 100000 }}", {})) == 100_000
    assert len(eng.render_value("{{ ['ab'] * 50000 }}", {})) == 50_000
    small = TemplateEngine(max_items=10)
    with pytest.raises(TemplateError, match="exceeds the limit of 10 items"):
        small.render_value("{{ 'a' * 11 }}", {})


def test_iterators_passed_as_data_are_not_consumed(eng: TemplateEngine) -> None:
    gen = iter([1, 2])
    assert eng.render_value("{{ it }}", {"it": gen}) is gen
    assert next(gen) == 1


def test_include_import_extends_are_refused(eng: TemplateEngine) -> None:
    for source in ("{% include 'x' %}", "{% import 'x' as y %}", "{% extends 'x' %}"):
        with pytest.raises(TemplateError, match="not available"):
            eng.render_text(source, {})


def test_plain_objects_in_names_are_readable_but_not_callable(eng: TemplateEngine,
                                                              trap: dict[str, Any]) -> None:
    assert eng.render_value("{{ x.path.name }}", trap) == "pwned"
    _assert_refused(lambda: eng.render_value("{{ x.fire() }}", trap), trap, "not allowed")
