"""The dashboard on the emulator's port: `/`, its assets and `/config.json`, with the cache
rules CloudFront applies deployed (the entry page and config.json never cached, hashed
assets immutable), security headers, and nothing else of the emulator changed."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from local.runner.dashboard import DEFAULT_DIST, DIST_ENVIRONMENT_VARIABLE
from tests.e2e.support import bearer, token
from tests.local_deployment import ObservedDeployment

ASSET = "index-Bq3xY1z9.js"


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A build as Vite lays it out, served instead of clients/dashboard/dist."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        f'<!doctype html><html><head><script type="module" src="./assets/{ASSET}"></script></head>'
        '<body><div id="root"></div></body></html>'
    )
    (tmp_path / "assets" / ASSET).write_text("console.log('dashboard')\n")
    (tmp_path / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / ".env").write_text("SECRET=1\n")
    monkeypatch.setenv(DIST_ENVIRONMENT_VARIABLE, str(tmp_path))
    return tmp_path


def get(stack: ObservedDeployment, path: str, **options: object) -> httpx.Response:
    return httpx.get(f"{stack.base_url}{path}", timeout=5, **options)  # type: ignore[arg-type]


def test_config_json_points_the_page_at_this_stack_and_is_never_cached(stack: ObservedDeployment) -> None:
    response = get(stack, "/config.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"wsUrl": stack.ws_url, "restUrl": stack.rest_url, "auth": {"mode": "token"}}


def test_the_entry_page_is_never_cached_and_carries_the_security_headers(
    stack: ObservedDeployment, build: Path
) -> None:
    for path in ("/", "/index.html", "/?code=abc&state=xyz"):
        response = get(stack, path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.text == (build / "index.html").read_text()
    headers = get(stack, "/").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    policy = dict(directive.strip().split(" ", 1) for directive in headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == f"'self' {stack.base_url} ws://{stack.host}:{stack.port}"
    head = httpx.head(f"{stack.base_url}/", timeout=5)
    assert head.status_code == 200
    assert head.content == b""


def test_hashed_assets_are_immutable_other_files_revalidated(stack: ObservedDeployment, build: Path) -> None:
    asset = get(stack, f"/assets/{ASSET}")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["x-content-type-options"] == "nosniff"
    assert asset.headers["etag"]
    assert asset.text == "console.log('dashboard')\n"
    favicon = get(stack, "/favicon.svg")
    assert favicon.status_code == 200
    assert favicon.headers["content-type"] == "image/svg+xml"
    assert favicon.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing-0000.js",
        "/assets/",
        "/.env",
        "/assets/%2e%2e/index.html",
        "/assets/..%2f..%2fpyproject.toml",
        "/%2e%2e%2fpyproject.toml",
        "/nothing-here.txt",
    ],
)
def test_nothing_but_the_build_is_served(stack: ObservedDeployment, build: Path, path: str) -> None:
    response = get(stack, path)
    assert response.status_code == 404, path
    # (a path decoding to several segments matches no route: Starlette's own 404)
    assert response.headers.get("cache-control", "no-store") == "no-store"


def test_without_a_build_the_page_says_how_to_make_one(
    stack: ObservedDeployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DIST_ENVIRONMENT_VARIABLE, str(tmp_path / "not-built"))
    response = get(stack, "/")
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    assert "make dashboard" in response.text
    assert get(stack, "/config.json").status_code == 200  # the APIs and config work meanwhile


def test_the_emulators_other_routes_answer_as_before(stack: ObservedDeployment, build: Path) -> None:
    assert get(stack, "/api/admin/realtime/health").json() == {"status": "healthy"}
    assert get(stack, "/api/admin/realtime/nope", headers=bearer(token("ops"))).status_code == 404
    assert get(stack, "/_aws/events").status_code == 405  # PutEvents is POST only, still
    assert get(stack, "/_local/events").status_code == 401
    assert httpx.post(f"{stack.base_url}/config.json", timeout=5).status_code == 405


@pytest.mark.skipif(not (DEFAULT_DIST / "index.html").is_file(), reason="clients/dashboard is not built")
def test_the_real_build_is_served_with_its_hashed_assets(stack: ObservedDeployment) -> None:
    page = get(stack, "/")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="\.?/(assets/[^"]+)"', page.text)
    assert any(asset.endswith(".js") for asset in assets), page.text
    assert any(asset.endswith(".css") for asset in assets), page.text
    for asset in assets:
        response = get(stack, f"/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        # Content-hashed: the name changes with the content.
        assert re.search(r"-[A-Za-z0-9_-]{8,}\.(js|css)$", asset), asset
