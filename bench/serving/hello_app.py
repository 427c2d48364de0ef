"""The ceiling: a raw ASGI app that reads the request body, parses it with orjson and returns a fixed
V2-shaped response. Run by run.py on uvicorn with uvloop + httptools, one worker, like Shipyard.

    uvicorn hello_app:app --app-dir bench/serving --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

from typing import Any

import orjson

RESPONSE = orjson.dumps(
    {
        "model_name": "hello",
        "outputs": [{"name": "predict_proba", "datatype": "FP64", "shape": [1, 2], "data": [0.5, 0.5]}],
    }
)
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(RESPONSE)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if body:
        orjson.loads(body)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": RESPONSE})
