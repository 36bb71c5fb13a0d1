"""A stub OpenAI-compatible chat server on loopback, for tests of the client code *around* the model.

It plays a misbehaving or key-protected or restarting server; the real model path is tested against
a real vLLM server in tests/integration.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dreamgym_env.serving import free_port

REPLY = "<think>t</think>\n<state>s</state>\n<reward>0</reward>\n<done>false</done>"


class StubServer:
    """Answers ``GET /v1/models`` and ``POST /v1/chat/completions``.

    Args:
        script: Status codes returned (in order) before answering normally.
        reject_structured: Answer 400 to requests carrying ``structured_outputs``.
        api_key: Demand ``Authorization: Bearer <api_key>`` (401 otherwise, as vLLM does).
        reply: The assistant text of every normal answer.
        start: Start serving now (``stop()``/``start()`` restart it on the same port).
        context_chars: Answer vLLM's 400 for a prompt over its context to requests whose messages
            hold more characters than this (``None`` = no limit).
    """

    def __init__(self, script: Sequence[int] = (), reject_structured: bool = False, api_key: str | None = None,
                 reply: str = REPLY, start: bool = True, context_chars: int | None = None) -> None:
        self.context_chars = context_chars
        self.script = list(script)
        self.reject_structured = reject_structured
        self.api_key = api_key
        self.reply = reply
        self.bodies: list[dict] = []
        self.auth_headers: list[str | None] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.server: ThreadingHTTPServer | None = None
        if start:
            self.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                stub.auth_headers.append(self.headers.get("Authorization"))
                if stub.api_key is not None and self.headers.get("Authorization") != f"Bearer {stub.api_key}":
                    self._send(401, {"error": {"message": "Unauthorized"}})
                    return False
                return True

            def do_GET(self) -> None:
                if self._authorized():
                    self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self._authorized():
                    return
                stub.bodies.append(body)
                if stub.script:
                    code = stub.script.pop(0)
                    return self._send(code, {"error": {"message": f"scripted {code}"}})
                chars = sum(len(m["content"]) for m in body["messages"])
                if stub.context_chars is not None and chars > stub.context_chars:
                    return self._send(400, {"error": {"message": (
                        "This model's maximum context length is 2048 tokens. However, your prompt contains at "
                        f"least 2049 input tokens ({chars} chars), which exceeds this limit even without any output "
                        "tokens. Please reduce the length of the input prompt."), "type": "BadRequestError",
                        "param": "input_tokens", "code": 400}})
                if stub.reject_structured and "structured_outputs" in body:
                    return self._send(400, {"error": {"message": "structured_outputs is not supported"}})
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": stub.reply}}],
                                 "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}})

        return Handler

    def start(self) -> None:
        """Serves on ``self.port`` (again, after ``stop()``)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stops serving; the port is free until ``start()``."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    close = stop
