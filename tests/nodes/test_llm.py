"""llm.chat against a fake OpenAI-compatible server on 127.0.0.1: the request it sends,
its outputs, test-run capping, rate limits and the errors users meet."""

from __future__ import annotations

import asyncio
from typing import Any

from engine import Registry, Runner
from engine.secrets.store import MappingSecrets
from tests.engine.toy import workflow

FAST_RETRY = {"max_attempts": 3, "backoff": "fixed", "delay_s": 0.01, "jitter": False}


def chat(config: dict[str, Any], **node: Any) -> dict[str, Any]:
    return {"id": "chat", "type": "llm.chat", "config": config, **node}


def base(server: Any, mode: str = "") -> str:
    return f"{server.url}{mode}/v1"


def test_request_shape_and_outputs(builtin, http_server):
    wf = workflow([chat({"base_url": base(http_server) + "/", "api_key": "sk-local",
                         "model": "test-model", "system": "Be brief.", "temperature": 0.5,
                         "max_tokens": 50, "prompt": "Hello there"})])
    result = builtin.run(wf)
    assert result.status == "completed", result.error
    [seen] = http_server.requests
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["Authorization"] == "Bearer sk-local"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["json"] == {
        "model": "test-model", "temperature": 0.5, "max_tokens": 50,
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Hello there"}]}
    out = result.outputs["chat"]
    assert out["text"] == "Summary: Hello there"
    assert out["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert out["raw"]["id"] == "chatcmpl-test" and out["raw"]["model"] == "test-model"


def test_optional_fields_are_left_out_and_wired_messages_come_before_the_prompt(
        builtin, http_server):
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    wf = workflow([{"id": "h", "type": "flow.constant", "config": {"value": history}},
                   {"id": "p", "type": "flow.constant", "config": {"value": "And now?"}},
                   chat({"base_url": base(http_server), "api_key": "k"})],
                  [("h.value", "chat.messages"), ("p.value", "chat.prompt")])
    result = builtin.run(wf)
    assert result.status == "completed", result.error
    sent = http_server.requests[0]["json"]
    assert set(sent) == {"model", "messages"}
    assert sent["messages"] == [*history, {"role": "user", "content": "And now?"}]


def test_prompt_is_required(builtin):
    result = builtin.run(workflow([chat({"api_key": "k"})]))
    assert result.error["type"] == "validation"
    assert "required input 'prompt'" in result.error["message"]


def test_bad_messages_fail_without_a_request(builtin, http_server):
    wf = workflow([chat({"base_url": base(http_server), "api_key": "k", "prompt": "",
                         "messages": [{"content": "no role"}]})])
    result = builtin.run(wf)
    assert result.status == "failed"
    assert "messages[0] must be an object with 'role' and 'content'" in result.error["message"]
    empty = builtin.run(workflow([chat({"base_url": base(http_server), "api_key": "k",
                                        "prompt": ""})]))
    assert "nothing to send" in empty.error["message"]
    assert not http_server.requests


def test_api_key_defaults_to_the_openai_secret(http_server):
    registry = Registry.discover(plugins=False)
    wf = workflow([chat({"base_url": base(http_server), "prompt": "hi"})])
    runner = Runner(registry, secrets=MappingSecrets({"OPENAI_API_KEY": "sk-from-secret"}))
    result = asyncio.run(runner.run(wf))
    assert result.status == "completed", result.error
    assert http_server.requests[0]["headers"]["Authorization"] == "Bearer sk-from-secret"

    missing = asyncio.run(Runner(registry, secrets=MappingSecrets({})).run(wf))
    assert missing.error["type"] == "validation"
    assert "secret 'OPENAI_API_KEY' is not set" in missing.error["message"]
    assert "FLOWUI_SECRET_OPENAI_API_KEY" in missing.error["message"]
    assert len(http_server.requests) == 1


def test_an_explicit_empty_key_sends_no_authorization(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server), "api_key": "",
                                         "prompt": "hi"}, retry=FAST_RETRY)]))
    assert result.status == "failed"
    assert "Authorization" not in http_server.requests[0]["headers"]
    message = result.error["message"]
    assert "HTTP 401" in message and "check the credentials" in message
    assert "missing Authorization" in message  # the API's own explanation, excerpted
    assert http_server.hits["chat"] == 1  # a 401 is not retried


def test_test_run_caps_max_tokens_and_shows_in_metadata(builtin, http_server):
    for max_tokens in (500, None):
        config = {"base_url": base(http_server), "api_key": "k", "prompt": "hi"}
        if max_tokens:
            config["max_tokens"] = max_tokens
        result = builtin.run(workflow([chat(config)]), options={"test_run": True})
        assert result.status == "completed", result.error
        assert http_server.requests[-1]["json"]["max_tokens"] == 16
        assert result.metadata == {"test_run": True}
        assert any("max_tokens capped at 16" in e.message for e in builtin.of("node_log"))
    small = builtin.run(workflow([chat({"base_url": base(http_server), "api_key": "k",
                                        "prompt": "hi", "max_tokens": 5})]),
                        options={"test_run": True})
    assert small.status == "completed"
    assert http_server.requests[-1]["json"]["max_tokens"] == 5


def test_normal_run_sends_max_tokens_as_configured(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server), "api_key": "k",
                                         "prompt": "hi", "max_tokens": 500})]))
    assert result.status == "completed" and result.metadata == {}
    assert http_server.requests[0]["json"]["max_tokens"] == 500


def test_rate_limit_is_retried_after_the_servers_delay(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/ratelimited"),
                                         "api_key": "k", "prompt": "hi"},
                                        retry=FAST_RETRY)]))
    assert result.status == "completed", result.error
    [retrying] = builtin.of("node_retrying")
    assert retrying.delay_s == 0.2 and "HTTP 429" in retrying.error["message"]
    assert http_server.hits["chat/ratelimited"] == 2
    assert result.outputs["chat"]["text"] == "Summary: hi"


def test_rate_limit_is_retried_by_default_with_exponential_backoff(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/ratelimited"),
                                         "api_key": "k", "prompt": "hi"})]))
    assert result.status == "completed", result.error
    [retrying] = builtin.of("node_retrying")
    assert retrying.attempt == 2 and 0.2 <= retrying.delay_s <= 1.0  # 1 s jittered, >= Retry-After
    assert http_server.hits["chat/ratelimited"] == 2


def test_a_retry_of_one_attempt_turns_retries_off(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/ratelimited"),
                                         "api_key": "k", "prompt": "hi"},
                                        retry={"max_attempts": 1})]))
    assert result.status == "failed" and "HTTP 429" in result.error["message"]
    assert "Rate limit reached" in result.error["message"]


def test_answer_without_choices_is_a_clear_error(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/nochoices"),
                                         "api_key": "k", "prompt": "hi"},
                                        retry=FAST_RETRY)]))
    assert result.status == "failed"
    assert "the model's answer has no choices" in result.error["message"]
    assert http_server.hits["chat/nochoices"] == 1


def test_timeouts_are_retried(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/slow"),
                                         "api_key": "k", "prompt": "hi", "timeout_s": 0.2},
                                        retry={**FAST_RETRY, "max_attempts": 2})]))
    assert result.error["type"] == "timeout"
    assert len(builtin.of("node_retrying")) == 1 and http_server.hits["chat/slow"] == 2


def test_a_non_json_answer_is_a_clear_error(builtin, http_server):
    result = builtin.run(workflow([chat({"base_url": base(http_server, "/notjson"),
                                         "api_key": "k", "prompt": "hi"})]))
    assert result.status == "failed"
    assert "did not answer with a JSON object" in result.error["message"]
    assert "plain text, not an answer" in result.error["message"]
