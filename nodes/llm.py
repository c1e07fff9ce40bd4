"""Language models: `llm.chat` against any OpenAI-compatible chat completions API."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, NodeError, Port, RetryPolicy
from nodes.http import check_url, classify, excerpt, fetch, status_error

DEFAULT_SECRET = "OPENAI_API_KEY"
DEFAULT_API_KEY = "{{ secrets." + DEFAULT_SECRET + " }}"
TEST_RUN_MAX_TOKENS = 16  # a test run checks the wiring, not the prose: keep it cheap


class Chat(Node):
    type = "llm.chat"
    cacheable = False  # a model answers differently each time, and each answer costs
    summary_fields = ("model", "prompt")
    title = "LLM chat"
    category = "AI"
    icon = "llm"
    default_retry = RetryPolicy(max_attempts=4, backoff="exponential", delay_s=1.0,
                                max_delay_s=30.0, jitter=True)
    description = (
        "Asks a chat model (OpenAI or any compatible API: set base_url) and outputs the "
        "answer's text, the token usage and the raw response. The messages sent are the "
        "system message (if set), then the wired messages, then the prompt as a user "
        "message (an empty prompt is left out). The API key defaults to the secret "
        "OPENAI_API_KEY. Rate limits (429), timeouts and 5xx are retried: 4 attempts with "
        "exponential backoff unless the node sets its own retry. A test run caps max_tokens at "
        f"{TEST_RUN_MAX_TOKENS}.")
    inputs = (Port("prompt", "string", description="The user's message"),
              Port("messages", "array", required=False,
                   description="Earlier messages: [{role, content}, ...]"))
    outputs = (Port("text", "string", description="The first choice's message content"),
               Port("usage", "object", description="Token counts, as the API returned them"),
               Port("raw", "object", description="The whole response"))

    class Config(NodeConfig):
        prompt: str | None = Field(None, description="Used when nothing is wired to prompt")
        messages: list[dict[str, Any]] | None = None
        base_url: str = Field("https://api.openai.com/v1",
                              description="The API root; /chat/completions is added")
        model: str = Field("gpt-4o-mini", min_length=1)
        system: str | None = Field(None, description="A system message sent first")
        temperature: float | None = Field(None, ge=0, le=2)
        max_tokens: int | None = Field(None, ge=1)
        api_key: str = Field(DEFAULT_API_KEY, description=(
            "Sent as 'Authorization: Bearer <key>'; keep it in a secret. An empty key sends "
            "no Authorization header (local servers)"))
        timeout_s: float = Field(120, gt=0, le=3600, description="Limit for one request")

    @classmethod
    def is_retryable(cls, error: BaseException) -> bool | None:
        return classify(error)

    async def run(self, ctx: NodeContext, prompt: str | None = None,
                  messages: list[Any] | None = None) -> dict[str, Any]:
        c = self.config
        url = check_url(ctx, c.base_url.rstrip("/") + "/chat/completions")
        request: dict[str, Any] = {"model": c.model,
                                   "messages": self._messages(prompt, messages)}
        if c.temperature is not None:
            request["temperature"] = c.temperature
        max_tokens = c.max_tokens
        if ctx.options.get("test_run"):
            max_tokens = min(max_tokens or TEST_RUN_MAX_TOKENS, TEST_RUN_MAX_TOKENS)
            ctx.info(f"test run: max_tokens capped at {max_tokens}")
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._api_key(ctx)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        answer = await fetch(ctx, "POST", url, headers=headers,
                             content=json.dumps(request, ensure_ascii=False).encode("utf-8"),
                             timeout_s=c.timeout_s)
        if answer.status >= 400:
            raise status_error(ctx, "POST", url, answer)
        raw = answer.json
        if not isinstance(raw, dict):
            raise NodeError(ctx.redact(f"POST {url} did not answer with a JSON object: "
                                       f"{excerpt(answer.text, ctx=ctx) or '(empty body)'}"),
                            retryable=False)
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise NodeError(ctx.redact(f"the model's answer has no choices: "
                                       f"{excerpt(answer.text, ctx=ctx)}"), retryable=False)
        first = choices[0]
        message = first.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if first.get("finish_reason") == "length":
            ctx.warning("the answer was cut off at max_tokens")
        usage = raw.get("usage")
        return {"text": content if isinstance(content, str) else "",
                "usage": usage if isinstance(usage, dict) else {}, "raw": raw}

    def _messages(self, prompt: str | None, history: list[Any] | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.config.system:
            out.append({"role": "system", "content": self.config.system})
        for n, m in enumerate(history or []):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) \
                    or "content" not in m:
                raise NodeError(f"messages[{n}] must be an object with 'role' and 'content', "
                                f"e.g. {{\"role\": \"user\", \"content\": \"Hi\"}}",
                                retryable=False)
            out.append(m)
        if prompt:
            out.append({"role": "user", "content": prompt})
        if not any(m["role"] != "system" for m in out):
            raise NodeError("nothing to send: give a prompt or wire messages", retryable=False)
        return out

    def _api_key(self, ctx: NodeContext) -> str:
        if "api_key" in self.config.model_fields_set:
            return str(self.config.api_key)
        # The default `{{ secrets.OPENAI_API_KEY }}`: the runner resolved the secret for it
        # (defaults are not rendered by the engine, only file values are).
        key = ctx.secrets.get(DEFAULT_SECRET)
        if key is None:
            raise NodeError(f"no API key: set the secret {DEFAULT_SECRET} (`flowcli secrets set "
                            f"{DEFAULT_SECRET}` or the environment variable "
                            f"FLOWUI_SECRET_{DEFAULT_SECRET}), or set api_key",
                            retryable=False)
        return key
