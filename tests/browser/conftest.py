from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--book", default="_build/html", help="folder of the built HTML book")
