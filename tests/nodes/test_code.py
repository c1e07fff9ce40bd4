"""The code.* nodes on real Python files, run through the installed registry and runner;
complexity checked against radon's own API; the code review example end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from radon.complexity import cc_visit

from engine import Registry
from engine.workflow.file import dumps, load
from nodes import code_analysis
from tests.engine.toy import workflow

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parent / "data"
EXAMPLE = ROOT / "resources" / "examples" / "code_review.flow.json"
FLOWCLI = Path(sys.executable).with_name("flowcli")
CODE_TYPES = ("code.extract_functions", "code.complexity", "code.detect_issues",
              "code.suggest_improvements", "code.quality_score")


def run_on(builtin, node_type: str, code: str, config: dict | None = None):
    """Runs one code node on `code`, which arrives as data (never rendered)."""
    wf = workflow([{"id": "src", "type": "flow.input", "config": {"name": "code"}},
                   {"id": "n", "type": node_type, "config": config or {},
                    "retry": {"max_attempts": 3, "delay_s": 0}}],
                  [("src.value", "n.code")], inputs={"code": {"type": "string"}})
    return builtin.run(wf, {"code": code})


def output(builtin, node_type: str, code: str, config: dict | None = None) -> Any:
    result = run_on(builtin, node_type, code, config)
    assert result.status == "completed", result.error
    (value,) = result.outputs["n"].values()
    return value


def review(builtin, code: str, config: dict | None = None) -> dict[str, Any]:
    """The whole chain: complexity and issues -> suggestions and score."""
    wf = workflow([{"id": "src", "type": "flow.input", "config": {"name": "code"}},
                   {"id": "cc", "type": "code.complexity"},
                   {"id": "issues", "type": "code.detect_issues", "config": config or {}},
                   {"id": "sugg", "type": "code.suggest_improvements"},
                   {"id": "score", "type": "code.quality_score"}],
                  [("src.value", "cc.code"), ("src.value", "issues.code"),
                   ("issues.issues", "sugg.issues"), ("cc.complexity", "score.complexity"),
                   ("issues.issues", "score.issues")], inputs={"code": {"type": "string"}})
    result = builtin.run(wf, {"code": code})
    assert result.status == "completed", result.error
    return {"suggestions": result.outputs["sugg"]["suggestions"],
            "score": result.outputs["score"]["score"]}


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def brief(issues: list[dict]) -> list[tuple]:
    return [(i["line"], i["kind"], i["function"]) for i in issues]


# --- catalog ----------------------------------------------------------------------------------


def test_code_nodes_are_in_the_catalog_under_code():
    reg = Registry.discover(plugins=False)
    for type_id in CODE_TYPES:
        info = reg.get(type_id).describe()
        assert info["category"] == "Code" and info["title"]
        assert (ROOT / "resources" / "icons" / f"{info['icon']}.svg").is_file()
        assert info["description"].endswith(".")
    ports = {t: ([(p["name"], p["type"]) for p in reg.get(t).describe()["inputs"]],
                 [(p["name"], p["type"]) for p in reg.get(t).describe()["outputs"]][:-1])
             for t in CODE_TYPES}
    assert ports == {
        "code.extract_functions": ([("code", "string")], [("functions", "array")]),
        "code.complexity": ([("code", "string")], [("complexity", "object")]),
        "code.detect_issues": ([("code", "string")], [("issues", "array")]),
        "code.suggest_improvements": ([("issues", "array")], [("suggestions", "array")]),
        "code.quality_score": ([("complexity", "object"), ("issues", "array")],
                               [("score", "number")])}


# --- functions --------------------------------------------------------------------------------


def test_extract_functions_from_a_real_module(builtin):
    functions = output(builtin, "code.extract_functions", sample("inventory.py"))
    assert [(f["name"], f["args"], f["lineno"], f["end_lineno"], f["has_docstring"])
            for f in functions] == [
        ("load_items", ["path", "defaults"], 11, 17, True),
        ("Inventory.__init__", ["self", "items"], 23, 24, False),
        ("Inventory.size", ["self"], 27, 29, True),
        ("Inventory.size", ["self", "value"], 32, 33, False),  # the setter
        ("Inventory.add", ["self", "sku", "name", "price", "quantity", "supplier", "warehouse",
                           "tags"], 35, 39, False),
        ("Inventory.parse_sku", ["text"], 42, 45, True),
        ("Inventory.cheapest", ["self", "limit"], 47, 50, True),  # its lambda is not listed
        ("Inventory.report", ["self"], 52, 57, True),
        ("Inventory.report.line", ["sku", "item"], 54, 56, False),
        ("tax_rate", ["country"], 61, 63, True),
        ("sync_prices", ["inventory", "client", "retries", "cache"], 66, 73, True),
        ("export", ["inventory", "path"], 76, 78, False)]
    by_line = {f["lineno"]: f for f in functions}
    assert by_line[66]["async"] and not any(f["async"] for f in functions if f["lineno"] != 66)
    assert by_line[61]["decorators"] == ["functools.lru_cache(maxsize=None)"]
    assert by_line[32]["decorators"] == ["size.setter"]


def test_extract_functions_nesting_async_and_lambdas(builtin):
    code = ("square = lambda x: x * x\n"
            "class Outer:\n"
            "    class Inner:\n"
            "        async def fetch(self, *urls, timeout=3, **kw):\n"
            "            async def one(url, /, retry):\n"
            "                return url\n"
            "            return [await one(u, 1) for u in urls]\n"
            "def factory():\n"
            "    class Local:\n"
            "        def method(self):\n"
            "            return lambda: 1\n"
            "    if True:\n"
            "        def conditional():\n"
            "            pass\n"
            "    return Local\n")
    functions = output(builtin, "code.extract_functions", code)
    assert [(f["name"], f["args"], f["async"]) for f in functions] == [
        ("Outer.Inner.fetch", ["self", "*urls", "timeout", "**kw"], True),
        ("Outer.Inner.fetch.one", ["url", "retry"], True),
        ("factory", [], False),
        ("factory.Local.method", ["self"], False),
        ("factory.conditional", [], False)]


# --- complexity --------------------------------------------------------------------------------


def radon_numbers(code: str) -> dict[int, int]:
    """{def line: complexity} from radon's own API, closures and methods included."""
    out: dict[int, int] = {}

    def add_function(f) -> None:
        out[f.lineno] = f.complexity
        for closure in f.closures:
            add_function(closure)

    def add_class(c) -> None:
        for m in c.methods:
            add_function(m)
        for inner in c.inner_classes:
            add_class(inner)

    for block in cc_visit(code):
        if hasattr(block, "methods"):
            add_class(block)
        else:
            add_function(block)
    return out


def test_complexity_of_a_sample_module(builtin):
    assert output(builtin, "code.complexity", sample("inventory.py")) == {
        "functions": {"load_items": 2, "Inventory.__init__": 2, "Inventory.size": 1,
                      "Inventory.size@32": 1, "Inventory.add": 3, "Inventory.parse_sku": 1,
                      "Inventory.cheapest": 2, "Inventory.report": 2,
                      "Inventory.report.line": 2, "tax_rate": 1, "sync_prices": 3,
                      "export": 1},
        "average": 1.75, "max": 3}


@pytest.mark.parametrize("path", [DATA / "inventory.py", DATA / "legacy_report.py",
                                  DATA / "clean.py", ROOT / "engine" / "core" / "executor.py",
                                  ROOT / "engine" / "core" / "plan.py",
                                  ROOT / "nodes" / "code_analysis.py"],
                         ids=lambda p: p.name)
def test_complexity_agrees_with_radon(builtin, path):
    code = path.read_text(encoding="utf-8")
    complexity = output(builtin, "code.complexity", code)
    functions = output(builtin, "code.extract_functions", code)
    ours = dict(zip([f["lineno"] for f in functions], complexity["functions"].values(),
                    strict=True))
    theirs = radon_numbers(code)
    assert len(theirs) > 3 and ours == theirs
    values = list(theirs.values())
    assert complexity["max"] == max(values)
    assert complexity["average"] == round(sum(values) / len(values), 2)


def test_complexity_of_an_empty_file(builtin):
    assert output(builtin, "code.complexity", "") == {"functions": {}, "average": 0.0, "max": 0}
    assert output(builtin, "code.extract_functions", "# nothing\n") == []
    assert output(builtin, "code.detect_issues", "") == []


# --- issues ------------------------------------------------------------------------------------


def test_issues_in_a_real_module(builtin):
    issues = output(builtin, "code.detect_issues", sample("inventory.py"))
    assert brief(issues) == [(11, "mutable_default", "load_items"),
                             (16, "bare_except", "load_items"),
                             (35, "missing_docstring", "Inventory.add"),
                             (35, "mutable_default", "Inventory.add"),
                             (35, "too_many_arguments", "Inventory.add"),
                             (66, "mutable_default", "sync_prices"),  # keyword-only, dict()
                             (76, "missing_docstring", "export")]
    defaults = [(i["argument"], i["value"]) for i in issues if i["kind"] == "mutable_default"]
    assert defaults == [("defaults", "{}"), ("tags", "[]"), ("cache", "dict()")]
    too_many = next(i for i in issues if i["kind"] == "too_many_arguments")
    assert (too_many["value"], too_many["limit"]) == (7, 5)  # self is not counted
    assert "7 arguments (limit 5)" in too_many["message"]
    assert all(i["message"] for i in issues)


def test_nesting_length_and_complexity_issues(builtin):
    issues = output(builtin, "code.detect_issues", sample("legacy_report.py"))
    # classify (an elif chain) and route (match) are not deep; status_label (else: if) is.
    assert brief(issues) == [(10, "bare_except", None),
                             (21, "deep_nesting", "build_report"),
                             (57, "deep_nesting", "status_label"),
                             (73, "high_complexity", "write_csv"),
                             (73, "long_function", "write_csv")]
    assert [(i["value"], i["limit"]) for i in issues[1:]] == [(6, 4), (5, 4), (11, 10), (52, 50)]
    assert "module level" in issues[0]["message"]


@pytest.mark.parametrize(("file", "config", "expected"), [
    ("inventory.py", {"max_arguments": 7}, {"too_many_arguments": 0, "missing_docstring": 2}),
    ("inventory.py", {"max_arguments": 6}, {"too_many_arguments": 1}),
    ("inventory.py", {"require_docstrings": False}, {"missing_docstring": 0}),
    ("legacy_report.py", {"max_arguments": 3}, {"too_many_arguments": 1}),  # not *args/**kw
    ("legacy_report.py", {"max_arguments": 4}, {"too_many_arguments": 0}),
    ("legacy_report.py", {"max_nesting": 5}, {"deep_nesting": 1}),
    ("legacy_report.py", {"max_nesting": 6}, {"deep_nesting": 0}),
    ("legacy_report.py", {"max_nesting": 1}, {"deep_nesting": 3}),  # not classify, route
    ("legacy_report.py", {"max_nesting": 0}, {"deep_nesting": 5}),
    ("legacy_report.py", {"max_function_lines": 52}, {"long_function": 0}),
    ("legacy_report.py", {"max_function_lines": 11}, {"long_function": 4}),  # not route
    ("legacy_report.py", {"max_complexity": 11}, {"high_complexity": 0}),
    ("legacy_report.py", {"max_complexity": 6}, {"high_complexity": 2}),
])
def test_thresholds_come_from_the_config(builtin, file, config, expected):
    issues = output(builtin, "code.detect_issues", sample(file), config)
    counts = {kind: sum(i["kind"] == kind for i in issues) for kind in expected}
    assert counts == expected


def test_deep_nesting_counts_every_block_kind_but_not_nested_functions(builtin):
    code = ("def f(items):\n"
            "    with open('x') as fh:\n"           # 1
            "        while items:\n"                # 2
            "            try:\n"                    # 3
            "                match items.pop():\n"  # 4
            "                    case 1:\n"
            "                        for c in fh:\n"  # 5
            "                            pass\n"
            "            except OSError:\n"
            "                pass\n"
            "    def g():\n"
            "        if a:\n"
            "            if b:\n"
            "                if c:\n"
            "                    return 1\n")
    issues = output(builtin, "code.detect_issues", code, {"max_nesting": 3,
                                                         "require_docstrings": False})
    assert [(i["line"], i["function"], i["value"]) for i in issues] == [(5, "f", 5)]


def test_docstrings_required_of_public_functions_only(builtin):
    code = ("from typing import overload\n"
            "def public(): pass\n"
            "def _private(): pass\n"
            "class Api:\n"
            "    def __init__(self): pass\n"
            "    def get(self): pass\n"
            "    @overload\n"
            "    def put(self, x: int) -> int: ...\n"
            "    def put(self, x):\n"
            "        '''Stores x.'''\n"
            "        def helper(): pass\n"
            "    async def stream(self): pass\n")
    issues = output(builtin, "code.detect_issues", code)
    assert brief(issues) == [(2, "missing_docstring", "public"),
                             (6, "missing_docstring", "Api.get"),
                             (12, "missing_docstring", "Api.stream")]


def test_argument_counting_and_mutable_defaults(builtin):
    code = ("import collections\n"
            "class C:\n"
            "    def five(self, a, b, c, d, e): ...\n"
            "    @staticmethod\n"
            "    def six(a, b, c, d, e, f): ...\n"
            "    @classmethod\n"
            "    def five_too(cls, a, b, /, c, *, d, e): ...\n"
            "def immutable(a=(), b=None, c=frozenset()): ...\n"
            "def mutable(d=collections.defaultdict(list), *, e={1}, f=[x for x in 'ab']): ...\n")
    issues = output(builtin, "code.detect_issues", code, {"require_docstrings": False})
    assert [(i["kind"], i["function"], i.get("argument")) for i in issues] == [
        ("too_many_arguments", "C.six", None),
        ("mutable_default", "mutable", "d"), ("mutable_default", "mutable", "e"),
        ("mutable_default", "mutable", "f")]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("node_type", CODE_TYPES[:3])
def test_syntax_error_names_line_column_and_text_and_is_not_retried(builtin, node_type):
    code = "def ok():\n    return 1\n\ndef broken(:\n    pass\n"
    result = run_on(builtin, node_type, code)
    assert result.status == "failed" and result.failed_node == "n"
    assert result.error["type"] == "NodeError"
    message = result.error["message"]
    assert "syntax error at line 4, column 12" in message and "'def broken(:'" in message
    assert builtin.of("node_retrying") == []


def test_code_with_a_null_byte_fails_without_a_bogus_place(builtin):
    result = run_on(builtin, "code.detect_issues", "x = 1\0\n")
    assert result.error["message"] == ("the code cannot be parsed: source code string "
                                       "cannot contain null bytes")


def test_absurdly_nested_code_fails_cleanly(builtin):
    # Deep enough for radon's recursive visitor, not for Python's parser.
    code = "def f():\n    return " + " + ".join(["1"] * 1500) + "\n"
    result = run_on(builtin, "code.complexity", code)
    assert result.error["type"] == "NodeError"
    assert "function 'f' at line 1 nests expressions too deeply" in result.error["message"]
    assert output(builtin, "code.extract_functions", code)[0]["name"] == "f"
    code = "x = " + " + ".join(["1"] * 5000) + "\n"
    result = run_on(builtin, "code.extract_functions", code)
    assert "the code nests too deeply to be parsed" in result.error["message"]


def test_analysis_runs_off_the_event_loop(builtin, monkeypatch):
    threads: list[threading.Thread] = []
    real_parse = code_analysis.parse

    def spying_parse(code: str):
        threads.append(threading.current_thread())
        return real_parse(code)

    monkeypatch.setattr(code_analysis, "parse", spying_parse)
    output(builtin, "code.detect_issues", "x = 1\n")
    assert len(threads) == 1 and threads[0] is not threading.main_thread()


def test_suggestions_and_score_refuse_things_that_are_not_issues(builtin):
    wf = workflow([{"id": "c", "type": "flow.constant", "config": {"value": ["oops"]}},
                   {"id": "s", "type": "code.suggest_improvements"}], [("c.value", "s.issues")])
    result = builtin.run(wf)
    assert result.error["type"] == "NodeError"
    assert "issues[0] is not an issue object" in result.error["message"]
    wf = workflow([{"id": "q", "type": "code.quality_score",
                    "config": {"complexity": {"average": "high"}, "issues": []}}])
    assert "complexity.average must be a number" in builtin.run(wf).error["message"]


# --- suggestions and score ---------------------------------------------------------------------


@pytest.mark.parametrize("file", ["inventory.py", "legacy_report.py"])
def test_one_concrete_suggestion_per_issue(builtin, file):
    issues = output(builtin, "code.detect_issues", sample(file))
    suggestions = review(builtin, sample(file))["suggestions"]
    assert [(s["kind"], s["function"], s["line"]) for s in suggestions] == \
        [(i["kind"], i["function"], i["line"]) for i in issues]
    for issue, s in zip(issues, suggestions, strict=True):
        text = s["suggestion"]
        assert (f"`{issue['function']}`" if issue["function"] else "module-level") in text
        if "limit" in issue:
            assert f"({issue['value']}, limit {issue['limit']})" in text
    texts = {(s["kind"], s["function"]): s["suggestion"] for s in suggestions}
    if file == "inventory.py":
        assert "`tags=[]` to `tags=None`" in texts["mutable_default", "Inventory.add"]
        assert "`if cache is None: cache = dict()`" in texts["mutable_default", "sync_prices"]
        assert "`except (ValueError, KeyError)" in texts["bare_except", "load_items"]
        assert "keyword-only" in texts["too_many_arguments", "Inventory.add"]
        assert "Add a docstring to `export`" in texts["missing_docstring", "export"]
    else:
        assert "guard clauses" in texts["deep_nesting", "status_label"]
        assert "helper functions" in texts["long_function", "write_csv"]
        assert "dict lookup" in texts["high_complexity", "write_csv"]


def test_suggestion_for_an_issue_from_elsewhere():
    text = code_analysis.suggest({"kind": "shadowed_builtin", "function": "f", "line": 3,
                                  "message": "`list` shadows a builtin"})
    assert text == "Review `f` at line 3: `list` shadows a builtin."
    assert "`x=None`" not in code_analysis.suggest({"kind": "mutable_default"})


def test_scores_of_real_files(builtin):
    assert review(builtin, sample("clean.py"))["score"] == 10.0
    assert review(builtin, "")["score"] == 10.0
    # inventory: 3 mutable defaults, 1 bare except (1.5 each), 1 too many arguments (0.5),
    # 2 missing docstrings (0.25 each): penalty 7, complexity within bounds
    assert review(builtin, sample("inventory.py"))["score"] == round(10 * math.exp(-0.7), 2)
    assert 0 < review(builtin, sample("legacy_report.py"))["score"] < 10


def test_score_reaches_zero_for_hopeless_code():
    assert code_analysis.quality_score(40.0, 120.0, ["bare_except"] * 50) == 0.0


KINDS = st.sampled_from([*code_analysis.WEIGHTS, "something_else"])
FIGURES = st.floats(min_value=0, max_value=500, allow_nan=False)


@given(kinds=st.lists(KINDS, max_size=80), extra=KINDS, average=FIGURES, maximum=FIGURES,
       more=st.floats(min_value=0, max_value=100))
def test_score_is_bounded_and_nothing_bad_raises_it(kinds, extra, average, maximum, more):
    score = code_analysis.quality_score(average, maximum, kinds)
    assert 0.0 <= score <= 10.0
    assert code_analysis.quality_score(average, maximum, [*kinds, extra]) <= score
    assert code_analysis.quality_score(average + more, maximum, kinds) <= score
    assert code_analysis.quality_score(average, maximum + more, kinds) <= score
    if not kinds and average <= 5 and maximum <= 10:
        assert score == 10.0


def test_score_accepts_complexity_without_summary_figures(builtin):
    wf = workflow([{"id": "q", "type": "code.quality_score",
                    "config": {"complexity": {"functions": {"f": 15, "g": 5}}, "issues": []}}])
    # average 10 -> 0.5 * 5, max 15 -> 0.25 * 5
    assert builtin.run(wf).outputs["q"]["score"] == round(10 * math.exp(-0.375), 2)


# --- the example ------------------------------------------------------------------------------


def test_example_is_saved_deterministically():
    assert dumps(load(EXAMPLE)) == EXAMPLE.read_text(encoding="utf-8")
    assert load(EXAMPLE).description


def needs_file_read() -> None:
    if "file.read" not in Registry.discover(plugins=False).type_ids():
        pytest.skip("the example reads its input with file.read, which is not registered yet")


def test_example_reviews_its_sample_file_with_flowcli(tmp_path):
    needs_file_read()
    out = tmp_path / "result.json"
    r = subprocess.run([str(FLOWCLI), "run", str(EXAMPLE), "--events", "none", "--output",
                        str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    outputs = result["outputs"]
    assert [f["name"] for f in outputs["functions"]] == [
        "Order.__init__", "Order.total", "Order.add_line", "load_orders", "shipping_cost"]
    assert outputs["complexity"]["max"] == 9
    assert brief(outputs["issues"]) == [(14, "mutable_default", "Order.__init__"),
                                        (23, "missing_docstring", "Order.add_line"),
                                        (23, "too_many_arguments", "Order.add_line"),
                                        (35, "bare_except", "load_orders"),
                                        (47, "deep_nesting", "shipping_cost")]
    assert len(outputs["suggestions"]) == 5
    assert outputs["score"] == 6.22
    assert "Quality score: 6.22 / 10" in r.stderr


def test_example_reviews_another_file(builtin):
    needs_file_read()
    result = builtin.run(load(EXAMPLE), {"path": str(DATA / "clean.py")})
    assert result.status == "completed", result.error
    assert result.outputs["issues"] == [] and result.outputs["suggestions"] == []
    assert result.outputs["score"] == 10.0
    assert len(result.outputs["functions"]) == 6
