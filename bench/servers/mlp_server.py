"""A real CPU model server for the `llm` scenario's second table: a numpy MLP behind http.server.

Usage: python3 mlp_server.py <slowdown> [seed]
Prints one line: {"port": <port>} once listening on 127.0.0.1 (port chosen by the OS).

The model: 256 inputs -> 3072 -> 3072 -> 16 with ReLU (~2 ms a pass on one core, batch of one), float32 weights from a fixed seed. A request runs
`slowdown` forward passes (3 = a replica three times slower: an older CPU, a noisy neighbour), one request at a
time per replica, as a model server with one model instance does: the rest wait on the lock, and that wait is
the server's queue.

Endpoints: POST /predict {"inputs": [256 floats]} -> {"outputs": [...], "replica": port}; GET /health; GET
/metrics with the queue in vLLM's gauge names (vllm:num_requests_running = requests computing now,
vllm:num_requests_waiting = requests waiting for the model) and labels, so that infergate's vLLM adapter reads
it; the format follows vLLM's v1 Prometheus logger (vllm-project/vllm, vllm/v1/metrics/loggers.py).
ThreadingHTTPServer with HTTP/1.1 keep-alive; numpy runs single-threaded (OPENBLAS_NUM_THREADS=1, set by
the bench) so three replicas and the proxies share the machine's two cores without oversubscribing them.
"""
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

SLOWDOWN = max(1, int(sys.argv[1]) if len(sys.argv) > 1 else 1)
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 7
MODEL = "bench-mlp"

rng = np.random.default_rng(SEED)
W1 = rng.standard_normal((256, 3072), dtype=np.float32) / 16
W2 = rng.standard_normal((3072, 3072), dtype=np.float32) / 55
W3 = rng.standard_normal((3072, 16), dtype=np.float32) / 55

model_lock = threading.Lock()
state_lock = threading.Lock()
state = {"waiting": 0, "running": 0, "served": 0}


def forward(x):
    h = np.maximum(x @ W1, 0)
    h = np.maximum(h @ W2, 0)
    return h @ W3


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, delayed ACK holds the second for ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # no access log: it would cost more than the model
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self._send(200, '{"status":"ok"}')
        if self.path == "/metrics":
            with state_lock:
                running, waiting = state["running"], state["waiting"]
            labels = '{model_name="%s",engine="0"}' % MODEL
            text = (
                "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
                "# TYPE vllm:num_requests_running gauge\n"
                f"vllm:num_requests_running{labels} {float(running)}\n"
                "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                "# TYPE vllm:num_requests_waiting gauge\n"
                f"vllm:num_requests_waiting{labels} {float(waiting)}\n"
                "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
                "# TYPE vllm:kv_cache_usage_perc gauge\n"
                f"vllm:kv_cache_usage_perc{labels} 0.0\n"
            )
            return self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
        self._send(404, '{"error":"not found"}')

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b"{}"
        try:
            inputs = json.loads(raw).get("inputs")
            x = np.asarray(inputs, dtype=np.float32).reshape(1, 256)
        except Exception:
            return self._send(400, '{"error":"inputs must be 256 numbers"}')
        with state_lock:
            state["waiting"] += 1
        with model_lock:
            with state_lock:
                state["waiting"] -= 1
                state["running"] += 1
            try:
                for _ in range(SLOWDOWN):
                    y = forward(x)
            finally:
                with state_lock:
                    state["running"] -= 1
                    state["served"] += 1
        body = json.dumps({"model": MODEL, "outputs": [round(float(v), 4) for v in y[0]], "replica": self.server.server_port})
        self._send(200, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def exit_with_stdin():
    # The bench holds our stdin open; when it goes away, so do we.
    sys.stdin.read()
    os._exit(0)


server = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=exit_with_stdin, daemon=True).start()
print(json.dumps({"port": server.server_port}), flush=True)
server.serve_forever()
