from __future__ import annotations

from tests.support import RunningServer, payloads


def test_fixture_roundtrip(server: RunningServer) -> None:
    for payload in payloads("writefile-http-json"):
        assert server.post(payload.signal, payload.read(), payload.content_type).status_code == 200
    assert server.summary()["cost_usd"] == 0.0176
