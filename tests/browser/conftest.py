from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--book", default="_build/html", help="folder of the built HTML book")


@pytest.fixture(scope="session")
def book(request: pytest.FixtureRequest) -> Path:
    root = Path(request.config.getoption("--book")).resolve()
    if not (root / "index.html").exists():
        pytest.fail(f"no built book at {root}: run `make book` (or the strict build) first")
    return root


@pytest.fixture(scope="session")
def server(book: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    import test_book
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=test_book.CHROMIUM, args=test_book.CHROMIUM_FLAGS)
        yield b
        b.close()
