"""http.request against a real local HTTP server: outputs, errors and their retry
classification, timeouts, Retry-After, redirects, the size limit, what is sent."""

from __future__ import annotations

import time
from typing import Any

from tests.engine.toy import workflow

FAST_RETRY = {"max_attempts": 3, "backoff": "fixed", "delay_s": 0.01, "jitter": False}


def request(config: dict[str, Any], **node: Any) -> dict[str, Any]:
    return {"id": "r", "type": "http.request", "config": config, **node}


def run_one(builtin, config: dict[str, Any], inputs: dict | None = None, **node: Any):
    wf = workflow([request(config, **node)], inputs={k: {"type": "string"} for k in inputs or {}})
    return builtin.run(wf, inputs)


def started(builtin) -> int:
    return len(builtin.of("node_started"))


def test_get_json_gives_status_headers_body_and_parsed_json(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/json"})
    assert result.status == "completed", result.error
    out = result.outputs["r"]
    assert out["status"] == 200
    assert out["headers"]["content-type"] == "application/json"
    assert out["json"] == {"ok": True, "items": [1, 2, 3], "name": "flowui"}
    assert out["body"] == '{"ok": true, "items": [1, 2, 3], "name": "flowui"}'


def test_text_response_has_null_json(builtin, http_server):
    out = run_one(builtin, {"url": http_server.url + "/text"}).outputs["r"]
    assert out["body"] == "just text, not JSON" and out["json"] is None


def test_4xx_fails_with_status_and_body_excerpt_and_is_not_retried(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/status/404?long=1"}, retry=FAST_RETRY)
    assert result.status == "failed" and result.failed_node == "r"
    message = result.error["message"]
    assert "HTTP 404" in message and "status 404 body: xxx" in message
    assert "check the URL" in message
    assert len(message) < 600  # an excerpt, not the whole 500-character body
    assert http_server.hits["status"] == 1 and started(builtin) == 1
    assert not builtin.of("node_retrying")


def test_raise_for_status_off_returns_the_error_status(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/status/422",
                               "raise_for_status": False})
    assert result.status == "completed"
    assert result.outputs["r"]["status"] == 422
    assert result.outputs["r"]["body"].startswith("status 422 body")


def test_5xx_is_retried_until_success(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/flaky/a?fail=2&status=503"},
                     retry=FAST_RETRY)
    assert result.status == "completed", result.error
    assert result.outputs["r"]["json"] == {"attempt": 3}
    assert http_server.hits["flaky/a"] == 3
    retrying = builtin.of("node_retrying")
    assert [e.attempt for e in retrying] == [2, 3]
    assert "HTTP 503" in retrying[0].error["message"]


def test_408_and_500_are_retryable_but_the_last_failure_stands(builtin, http_server):
    for code in (408, 500):
        result = run_one(builtin, {"url": http_server.url + f"/flaky/c{code}?fail=5&status={code}"},
                         retry={**FAST_RETRY, "max_attempts": 2})
        assert result.status == "failed"
        assert f"HTTP {code}" in result.error["message"]
        assert http_server.hits[f"flaky/c{code}"] == 2


def test_dropped_connection_is_retried(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/flaky/drop?fail=1&status=drop"},
                     retry=FAST_RETRY)
    assert result.status == "completed", result.error
    assert http_server.hits["flaky/drop"] == 2
    assert "connection failed" in builtin.of("node_retrying")[0].error["message"]


def test_connection_refused_is_retryable(builtin, http_server):
    url = http_server.url
    http_server.shutdown()
    http_server.server_close()  # nothing listens on the port any more
    result = run_one(builtin, {"url": url + "/json"}, retry={**FAST_RETRY, "max_attempts": 2})
    assert result.status == "failed"
    assert "connection failed" in result.error["message"] and url in result.error["message"]
    assert len(builtin.of("node_retrying")) == 1


def test_node_timeout_is_retried(builtin, http_server):
    t0 = time.perf_counter()
    result = run_one(builtin, {"url": http_server.url + "/slow?s=5"}, timeout_s=0.2,
                     retry={**FAST_RETRY, "max_attempts": 2})
    assert time.perf_counter() - t0 < 2
    assert result.status == "failed" and result.error["type"] == "timeout"
    assert "timeout_s" in result.error["message"]
    assert [e.error["type"] for e in builtin.of("node_retrying")] == ["timeout"]
    assert http_server.hits["slow"] == 2


def test_config_timeout_is_retried(builtin, http_server):
    t0 = time.perf_counter()
    result = run_one(builtin, {"url": http_server.url + "/slow?s=5", "timeout_s": 0.2},
                     retry={**FAST_RETRY, "max_attempts": 2})
    assert time.perf_counter() - t0 < 2
    assert result.status == "failed" and result.error["type"] == "timeout"
    assert "config timeout_s" in result.error["message"]
    assert len(builtin.of("node_retrying")) == 1 and http_server.hits["slow"] == 2


def test_config_timeout_leaves_time_for_a_slow_but_timely_answer(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/slow?s=0.1", "timeout_s": 2})
    assert result.status == "completed" and result.outputs["r"]["json"] == {"slow": True}


def test_429_retry_after_seconds_replaces_a_shorter_backoff(builtin, http_server):
    t0 = time.perf_counter()
    result = run_one(builtin, {"url": http_server.url + "/ratelimit/k?after=0.4"},
                     retry=FAST_RETRY)
    elapsed = time.perf_counter() - t0
    assert result.status == "completed", result.error
    [retrying] = builtin.of("node_retrying")
    assert retrying.delay_s == 0.4 and "HTTP 429" in retrying.error["message"]
    assert elapsed >= 0.4
    assert http_server.hits["ratelimit/k"] == 2


def test_429_retry_after_as_http_date(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/ratelimit/d?after=1.5&date=1"},
                     retry=FAST_RETRY)
    assert result.status == "completed", result.error
    [retrying] = builtin.of("node_retrying")
    # an HTTP date has whole seconds: now + 1.5 s written down is 0.5 to 1.5 s away
    assert 0.4 <= retrying.delay_s <= 1.5


def test_redirect_is_returned_unless_followed(builtin, http_server):
    url = http_server.url + "/redirect?to=/json"
    out = run_one(builtin, {"url": url}).outputs["r"]
    assert out["status"] == 302 and out["headers"]["location"] == "/json"
    assert http_server.hits["json"] == 0
    out = run_one(builtin, {"url": url, "follow_redirects": True}).outputs["r"]
    assert out["status"] == 200 and out["json"]["ok"] is True


def test_declared_size_over_the_limit_fails_before_reading(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/large?bytes=2000",
                               "max_response_bytes": 1000}, retry=FAST_RETRY)
    assert result.status == "failed"
    assert "max_response_bytes (1000 bytes; Content-Length says 2000)" in result.error["message"]
    assert started(builtin) == 1  # not retried: the answer would be as large again


def test_streamed_body_over_the_limit_stops_reading(builtin, http_server):
    total = 200 * 1024 * 1024
    t0 = time.perf_counter()
    result = run_one(builtin, {"url": http_server.url + f"/large/big?bytes={total}&chunked=1",
                               "max_response_bytes": 100_000})
    assert time.perf_counter() - t0 < 5
    assert result.status == "failed"
    assert "larger than max_response_bytes" in result.error["message"]
    assert "stopped reading after" in result.error["message"]
    for _ in range(100):  # the server notices the hang-up on its next write
        if "big" in http_server.sent:
            break
        time.sleep(0.05)
    assert http_server.sent["big"] < total // 4


def test_body_within_the_limit_is_read_whole(builtin, http_server):
    result = run_one(builtin, {"url": http_server.url + "/large?bytes=300000&chunked=1",
                               "max_response_bytes": 300000})
    assert result.status == "completed" and len(result.outputs["r"]["body"]) == 300000


def test_query_headers_and_json_body_are_sent(builtin, http_server):
    result = run_one(builtin, {
        "method": "POST", "url": http_server.url + "/echo?fixed=1",
        "query": {"q": "a b&c", "n": 2, "flag": True, "many": ["x", "y"], "gone": None},
        "headers": {"X-Test": "yes", "X-Num": 5},
        "body": {"items": [1, 2], "name": "é"}})
    assert result.status == "completed", result.error
    [seen] = http_server.requests
    assert seen["method"] == "POST"
    assert seen["args"] == {"fixed": "1", "q": "a b&c", "n": "2", "flag": "true",
                            "many": ["x", "y"]}
    assert seen["headers"]["X-Test"] == "yes" and seen["headers"]["X-Num"] == "5"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["json"] == {"items": [1, 2], "name": "é"}
    assert result.outputs["r"]["json"]["json"] == seen["json"]


def test_text_body_is_sent_as_text_unless_a_content_type_is_given(builtin, http_server):
    run_one(builtin, {"method": "PUT", "url": http_server.url + "/echo", "body": "plain"})
    run_one(builtin, {"method": "PUT", "url": http_server.url + "/echo", "body": "<a/>",
                      "headers": {"content-type": "application/xml"}})
    first, second = http_server.requests
    assert first["data"] == "plain"
    assert first["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert second["headers"]["content-type"] == "application/xml"
    assert "Content-Type" not in second["headers"]


def test_url_templated_from_inputs(builtin, http_server):
    result = run_one(builtin, {"url": "{{ inputs.base }}/echo?who={{ inputs.who }}"},
                     inputs={"base": http_server.url, "who": "Ada"})
    assert result.status == "completed", result.error
    assert http_server.requests[0]["args"] == {"who": "Ada"}


def test_wired_url_body_and_headers_replace_the_config(builtin, http_server):
    wf = workflow([
        {"id": "u", "type": "flow.constant", "config": {"value": http_server.url + "/echo"}},
        {"id": "b", "type": "flow.constant", "config": {"value": [1, 2, 3]}},
        {"id": "h", "type": "flow.constant", "config": {"value": {"X-Wired": "1"}}},
        request({"method": "POST", "url": "http://127.0.0.1:9/never", "body": "config",
                 "headers": {"X-Config": "1"}}),
    ], [("u.value", "r.url"), ("b.value", "r.body"), ("h.value", "r.headers")])
    result = builtin.run(wf)
    assert result.status == "completed", result.error
    [seen] = http_server.requests
    assert seen["json"] == [1, 2, 3]
    assert seen["headers"]["X-Wired"] == "1" and "X-Config" not in seen["headers"]


def test_bad_urls_fail_at_once_without_retry(builtin, http_server):
    for url, words in (("ftp://example.org/x", "must start with http:// or https://"),
                       ("not a url", "must start with http:// or https://"),
                       ("http://[::1/x", "cannot send")):
        result = run_one(builtin, {"url": url}, retry=FAST_RETRY)
        assert result.status == "failed", url
        assert words in result.error["message"], result.error
        assert started(builtin) == 1, url


def test_missing_url_is_a_validation_problem(builtin):
    # Found before anything runs (it used to fail only when the node ran).
    for config in ({"method": "GET"}, {"url": ""}, {"url": "  "}, {"url": None}):
        result = run_one(builtin, config)
        assert result.status == "failed" and result.error["type"] == "validation", config
        assert "'url' is empty: set it in the config or wire a value" in \
            result.error["message"], config


def test_unknown_method_is_a_validation_problem(builtin, http_server):
    result = run_one(builtin, {"method": "FETCH", "url": http_server.url})
    assert result.error["type"] == "validation" and "method" in result.error["message"]


def test_head_request_has_an_empty_body(builtin, http_server):
    out = run_one(builtin, {"method": "HEAD", "url": http_server.url + "/json"}).outputs["r"]
    assert out["status"] == 200 and out["body"] == "" and out["json"] is None


def test_bad_header_and_query_values_fail_without_retry(builtin, http_server):
    for config, words in (({"headers": {"X-Obj": {"a": 1}}}, "header 'X-Obj' must be text"),
                          ({"query": {"q": {"a": 1}}}, "query parameter 'q' must be text")):
        result = run_one(builtin, {"url": http_server.url + "/echo", **config}, retry=FAST_RETRY)
        assert result.status == "failed" and words in result.error["message"]
        assert started(builtin) == 1
    assert not http_server.requests
