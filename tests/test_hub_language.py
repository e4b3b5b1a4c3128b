"""The hub's refusals in the asker's language: the exact Spanish and English ``error`` texts.

Real ``signage serve`` subprocesses on loopback: one whose content root says
``language: es`` (and no ``SIGNAGE_LANGUAGE``), one told ``SIGNAGE_LANGUAGE=en``. A request's
``Accept-Language`` (es/en) wins over both for its own answer; without one the hub's
language speaks. Keys and status codes never change with the language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from signage.hub.errors import json_error
from signage.hub.language import request_language
from signage.i18n import language_from_accept
from tests.helpers_hub import RunningHub, make_content_root, run_hub

ES = {"Accept-Language": "es-CO,es;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def spanish_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHub]:
    """A hub whose root's settings say ``language: es`` (the test suite's override removed)."""
    monkeypatch.delenv("SIGNAGE_LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # the settings beat the environment
    root = make_content_root(tmp_path / "root")
    (root / "playlists" / "settings.yaml").write_text("language: es\n", encoding="utf-8")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        yield hub


def _error(response: requests.Response) -> str:
    body = response.json()
    assert set(body) >= {"error"}, body
    text = body["error"]
    assert isinstance(text, str)
    return text


def _get(hub: RunningHub, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(hub.url + path, headers=headers or {}, timeout=10)


def test_without_accept_language_the_hub_speaks_its_settings_language(spanish_hub):
    hub = spanish_hub
    r = _get(hub, "/api/v1/screen-tokens")
    assert r.status_code == 401
    assert _error(r) == "falta el token (Authorization: Bearer ...)"
    r = _get(hub, "/api/v1/screen-tokens", {"Authorization": "Bearer nada"})
    assert (r.status_code, _error(r)) == (401, "token equivocado")
    r = _get(hub, "/assets/zzz")
    assert (r.status_code, _error(r)) == (
        404,
        "el nombre de un archivo son los 64 dígitos hexadecimales en minúscula de su sha256",
    )


def test_accept_language_picks_the_answers_language(spanish_hub):
    hub = spanish_hub
    cases = [
        ("/api/v1/screen-tokens", {}, 401),
        ("/api/v1/screens?limit=0", hub.auth, 400),
        ("/api/v1/screens?online_window=abc", hub.auth, 400),
        ("/api/v1/screens/pantalla-9/screenshot", hub.auth, 404),
        ("/assets/zzz", {}, 404),
    ]
    english = [
        "missing bearer token (Authorization: Bearer ...)",
        "'limit' must be a whole number from 1 to 1000",
        "'online_window' must be a number of seconds, got 'abc'",
        "no screenshot from screen 'pantalla-9' yet",
        "an asset name is the 64 lowercase hex digits of its sha256",
    ]
    spanish = [
        "falta el token (Authorization: Bearer ...)",
        "'limit' debe ser un número entero de 1 a 1000",
        "'online_window' debe ser un número de segundos; llegó 'abc'",
        "todavía no hay captura de la pantalla 'pantalla-9'",
        "el nombre de un archivo son los 64 dígitos hexadecimales en minúscula de su sha256",
    ]
    for (path, auth, status), en, es in zip(cases, english, spanish, strict=True):
        r_en = _get(hub, path, {**auth, **EN})
        r_es = _get(hub, path, {**auth, **ES})
        assert (r_en.status_code, _error(r_en)) == (status, en), path
        assert (r_es.status_code, _error(r_es)) == (status, es), path
        assert set(r_en.json()) == set(r_es.json())  # keys never change with the language
    # the first of ours by q wins; an unknown language alone leaves the hub's
    r = _get(hub, "/api/v1/screen-tokens", {"Accept-Language": "fr-FR, en;q=0.4, es;q=0.3"})
    assert _error(r) == "missing bearer token (Authorization: Bearer ...)"
    r = _get(hub, "/api/v1/screen-tokens", {"Accept-Language": "fr-FR, de"})
    assert _error(r) == "falta el token (Authorization: Bearer ...)"


def test_writes_refused_in_both_languages(spanish_hub):
    hub = spanish_hub
    url = hub.url

    def post(path: str, body: bytes, lang: dict[str, str]) -> requests.Response:
        headers = {**hub.auth, **lang, "Content-Type": "application/json"}
        return requests.post(url + path, data=body, headers=headers, timeout=10)

    expected = [
        (
            "/api/v1/screen-tokens",
            b'{"screen": 5}',
            400,
            'the body must be JSON {"screen": ID, "rotate": false}',
            'el cuerpo debe ser JSON {"screen": ID, "rotate": false}',
        ),
        (
            "/api/v1/heartbeat",
            b"{nope",
            400,
            "bad heartbeat: not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
            "latido inválido: no es JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        (
            "/api/v1/heartbeat",
            b"[1]",
            400,
            "bad heartbeat: the heartbeat must be a JSON object",
            "latido inválido: el latido debe ser un objeto JSON",
        ),
        (
            "/api/v1/events",
            b'{"events": 5}',
            400,
            'the body must be JSON: {"events": [...]}',
            'el cuerpo debe ser JSON: {"events": [...]}',
        ),
        (
            "/api/v1/alerts",
            b'["\xc3\x28"]',
            400,
            "the request body: the body is not UTF-8 text",
            "el cuerpo del pedido: el cuerpo no es texto UTF-8",
        ),
    ]
    for path, body, status, en, es in expected:
        r_en, r_es = post(path, body, EN), post(path, body, ES)
        assert (r_en.status_code, _error(r_en)) == (status, en), path
        assert (r_es.status_code, _error(r_es)) == (status, es), path
    # a proof-of-play item refused: its reason, in the asker's language
    r = post("/api/v1/events", b'{"events": [5]}', ES)
    assert r.status_code == 200
    assert r.json()["rejected"] == [{"index": 0, "reason": "no es un objeto"}]
    r = post("/api/v1/events", b'{"events": [5]}', EN)
    assert r.json()["rejected"] == [{"index": 0, "reason": "not an object"}]
    # a body over the route's cap, refused by the middleware before any route runs
    big = b"x" * (16 * 1024 + 1)
    r_en, r_es = post("/api/v1/republish", big, EN), post("/api/v1/republish", big, ES)
    assert (r_en.status_code, _error(r_en)) == (
        413,
        "request body over the 16384 byte limit of this endpoint",
    )
    assert (r_es.status_code, _error(r_es)) == (
        413,
        "el cuerpo del pedido pasa el límite de 16384 bytes de esta dirección",
    )
    # enrolment: unknown screen, and an id taken (409, decided by the register)
    r = requests.delete(url + "/api/v1/screen-tokens/nadie", headers={**hub.auth, **ES}, timeout=5)
    assert (r.status_code, _error(r)) == (404, "la pantalla 'nadie' no está inscrita")
    r = requests.delete(url + "/api/v1/screen-tokens/nadie", headers={**hub.auth, **EN}, timeout=5)
    assert (r.status_code, _error(r)) == (404, "screen 'nadie' is not enrolled")
    first = post("/api/v1/screen-tokens", b'{"screen": "pantalla-1"}', ES)
    assert first.status_code == 201
    again = post("/api/v1/screen-tokens", b'{"screen": "pantalla-1"}', ES)
    assert again.status_code == 409
    bad_id = post("/api/v1/screen-tokens", b'{"screen": ".oculta"}', ES)
    assert bad_id.status_code == 400


def test_the_scan_page_speaks_the_phones_language(spanish_hub):
    hub = spanish_hub
    code = "a" * 10
    r = requests.get(f"{hub.url}/q/{code}", headers=EN, timeout=5, allow_redirects=False)
    assert r.status_code == 404 and '<html lang="en">' in r.text
    assert "<h1>Code not recognised</h1>" in r.text
    assert "This QR code does not belong to any active screen." in r.text
    r = requests.get(f"{hub.url}/q/{code}", timeout=5, allow_redirects=False)
    assert r.status_code == 404 and '<html lang="es">' in r.text
    assert "<h1>Código no reconocido</h1>" in r.text
    assert "Este código QR no corresponde a ninguna pantalla activa." in r.text


def test_concurrent_requests_keep_their_own_language(spanish_hub):
    """The language is per request (a context variable), also on the thread pool."""
    hub = spanish_hub

    def ask(n: int) -> tuple[str, str]:
        lang = EN if n % 2 else ES
        r = requests.post(
            hub.url + "/api/v1/heartbeat",
            data=b"[1]",
            headers={**hub.auth, **lang},
            timeout=10,
        )
        return lang["Accept-Language"], _error(r)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(48)))
    for lang, text in answers:
        if lang.startswith("en"):
            assert text == "bad heartbeat: the heartbeat must be a JSON object"
        else:
            assert text == "latido inválido: el latido debe ser un objeto JSON"


def test_signage_language_sets_the_default_and_accept_language_still_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNAGE_LANGUAGE", "en")
    root = make_content_root(tmp_path / "root")
    (root / "playlists" / "settings.yaml").write_text("language: es\n", encoding="utf-8")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        r = _get(hub, "/api/v1/screen-tokens")
        assert _error(r) == "missing bearer token (Authorization: Bearer ...)"
        r = _get(hub, "/api/v1/screen-tokens", ES)
        assert _error(r) == "falta el token (Authorization: Bearer ...)"


def test_language_from_accept() -> None:
    assert language_from_accept(None) is None
    assert language_from_accept("") is None
    assert language_from_accept("es-CO") == "es"
    assert language_from_accept("en-GB,en;q=0.8") == "en"
    assert language_from_accept("fr, es;q=0.2, en;q=0.1") == "es"
    assert language_from_accept("es;q=0.5, en;q=0.9") == "en"
    assert language_from_accept("en;q=0, es;q=0.1") == "es"  # q=0: not acceptable
    assert language_from_accept("*") is None
    assert language_from_accept("es;q=abc, en") == "en"  # a broken q counts as 0
    assert language_from_accept("de," * 5000 + "es") is None  # only the head is read
    assert language_from_accept("es_CO") == "es"


def test_console_pages_keep_the_hubs_language() -> None:
    assert request_language("/console/listas", "en") is None
    assert request_language("/console", "en") is None
    assert request_language("/consolex", "en") == "en"
    assert request_language("/api/v1/playlists/lobby", "en") == "en"


def test_json_error_shape() -> None:
    r = json_error(412, "stale", headers={"ETag": '"abc"'}, etag='"abc"')
    assert r.status_code == 412
    assert json.loads(bytes(r.body)) == {"error": "stale", "etag": '"abc"'}
    assert r.headers["etag"] == '"abc"'
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("en", "the hub holds all the connections it can now; retry later"),
        (
            "es",
            "el hub tiene todas las conexiones que puede atender ahora; "
            "vuelve a intentarlo más tarde",
        ),
    ],
)
def test_the_connection_budgets_503_in_the_hubs_language(language, code: str, text: str) -> None:
    """Written before any request is read, so in the hub's language; same JSON shape."""
    from signage.hub.connections import busy_answer

    language(code)
    head, _sep, body = busy_answer().partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"error": text}
