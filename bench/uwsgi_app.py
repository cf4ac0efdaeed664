"""Baseline: the benchmark's no-op Python handler served directly by uWSGI (WSGI)."""
import json


def handler(event, context):
    return {"ok": True}


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    event = json.loads(environ["wsgi.input"].read(length) or b"{}")
    body = json.dumps(handler(event, None)).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
