"""Open every page of the built book in headless Chromium, offline, and check what a reader sees.

Run after a book build (``make test`` runs it after the strict build):

    pytest tests/browser --book _build/strict/_build/html

Per page: it loads with no console error, no failed request and no request leaving this machine;
every image loads; math is typeset by the MathJax the site serves itself; every instrument's
default view is visible; and the page with everything it loads weighs under 3 MiB as stored,
uncompressed (a web server that gzips text sends less; that size is reported too). Across the
site: every internal link and anchor resolves, quizzes grade right and wrong answers, and a few
screenshots are saved as build artifacts. Without Chromium the tests are skipped, loudly.
"""

from __future__ import annotations

import gzip
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM = next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), shutil.which("chromium"))
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MAX_PAGE_BYTES = 3 * 1024 * 1024
WEIGHTS: dict[str, tuple[int, int]] = {}
SCREENSHOTS = ("intro.html", "chapters/02_convolution.html", "docs/references.html")

if CHROMIUM is None:  # pragma: no cover - depends on the machine
    print("\n" + "!" * 78 + "\nBROWSER TEST SKIPPED: no Chromium found (looked for "
          + ", ".join(CHROMIUM_CANDIDATES) + ").\nInstall Debian's chromium "
          "(apt-get install chromium) to run it; .ci/run does.\n" + "!" * 78)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def pages(root: Path) -> list[Path]:
    skip = {"genindex.html", "search.html"}
    return sorted(p for p in root.rglob("*.html")
                  if p.name not in skip
                  and not p.relative_to(root).parts[0].startswith(("_", ".", "vendor")))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if d.get("id"):
            self.ids.add(d["id"] or "")
        if tag == "a" and d.get("href"):
            self.hrefs.append(d["href"] or "")


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_internal_links_resolve(book: Path) -> None:
    broken = []
    parsed: dict[Path, _Links] = {}
    for page in pages(book):
        for href in _parse(page).hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(book)} -> {href}")
                continue
            if url.fragment and target.suffix == ".html":
                ids = parsed.setdefault(target, _parse(target)).ids
                if url.fragment not in ids:
                    broken.append(f"{page.relative_to(book)} -> {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _check_page(browser: object, server: str, book: Path, page: Path) -> list[str]:
    rel = page.relative_to(book).as_posix()
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    loaded_bytes = [0, 0]  # as stored, and as a compressing web server would send them

    def on_route(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if not url.startswith(server) and not url.startswith(("data:", "blob:")):
            problems.append(f"request leaves the site: {url}")
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]

    def on_response(response: object) -> None:
        status = response.status  # type: ignore[attr-defined]
        if status >= 400:
            problems.append(f"HTTP {status}: {response.url}")  # type: ignore[attr-defined]
        else:
            try:
                body = response.body()  # type: ignore[attr-defined]
            except Exception:  # redirects and aborted bodies have none
                return
            loaded_bytes[0] += len(body)
            loaded_bytes[1] += len(gzip.compress(body, compresslevel=6))

    context.route("**/*", on_route)  # type: ignore[attr-defined]
    tab = context.new_page()  # type: ignore[attr-defined]
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
           if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
    tab.on("response", on_response)
    tab.goto(f"{server}/{rel}", wait_until="load")
    tab.wait_for_load_state("networkidle")

    broken_images = tab.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)")
    problems += [f"image did not load: {src}" for src in broken_images]

    if tab.locator("div.math, span.math").count():
        try:
            tab.wait_for_function("document.querySelectorAll('mjx-container').length > 0",
                                  timeout=15000)
        except Exception:
            problems.append("math present but not typeset by MathJax")
        if tab.locator("mjx-merror").count():
            problems.append("MathJax reported an error in an equation")

    for i in range(tab.locator(".cnnlab-instrument").count()):
        instrument = tab.locator(".cnnlab-instrument").nth(i)
        if not instrument.is_visible() or not instrument.locator("img").count():
            problems.append(f"instrument {i} shows no default view")

    problems += _exercise_quizzes(tab)

    # Page weight: the page and everything it loads, counted as stored (uncompressed), the
    # strictest reading. A static host that compresses text (GitHub Pages, Netlify, nginx with
    # gzip) sends less; that figure is reported beside it.
    WEIGHTS[rel] = (loaded_bytes[0], loaded_bytes[1])
    if loaded_bytes[0] > MAX_PAGE_BYTES:
        problems.append(f"page weighs {loaded_bytes[0] / 2**20:.2f} MiB with what it loads, "
                        f"uncompressed (> 3 MiB)")
    if rel in SCREENSHOTS:
        shots = book.parent.parent / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(shots / (rel.replace("/", "__").replace(".html", ".png"))),
                       full_page=False)
    context.close()  # type: ignore[attr-defined]
    return [f"{rel}: {p}" for p in problems]


def _verdict(question: object) -> str:
    return question.locator(".cq-verdict").get_attribute("class") or ""  # type: ignore[attr-defined]


def _exercise_quizzes(tab: object) -> list[str]:
    """Answer every quiz question wrongly, then rightly, and read the feedback."""
    problems = []
    questions = tab.locator(".cq-quiz .cq-q")  # type: ignore[attr-defined]
    for i in range(questions.count()):
        q = questions.nth(i)
        kind = q.get_attribute("data-type")
        q.scroll_into_view_if_needed()
        if q.locator(".cq-opt").count():
            q.locator('.cq-opt[data-correct="0"]').first.click()
            wrong = _verdict(q)
            q.locator('.cq-opt[data-correct="1"]').first.click()
        elif q.locator(".cq-input").count():
            answer = float(q.locator(".cq-num-row").get_attribute("data-answer"))
            q.locator(".cq-input").fill(str(answer * 3 + 17))
            q.locator(".cq-check").click()
            wrong = _verdict(q)
            q.locator(".cq-input").fill(repr(answer))
            q.locator(".cq-check").click()
        else:
            pairs = q.locator(".cq-pair")
            n = pairs.count()
            for j in range(n):
                right = int(pairs.nth(j).get_attribute("data-correct"))
                pairs.nth(j).locator("select").select_option(str((right + 1) % n))
            wrong = _verdict(q)
            for j in range(n):
                pairs.nth(j).locator("select").select_option(pairs.nth(j).get_attribute("data-correct"))
        right = _verdict(q)
        if "cq-wrong" not in wrong or "cq-right" not in right:
            problems.append(
                f"quiz question {i + 1} ({kind}) graded wrong={wrong!r} right={right!r}")
    return problems


def test_every_page_loads_offline_and_renders(browser: object, server: str, book: Path) -> None:
    problems: list[str] = []
    for page in pages(book):
        problems += _check_page(browser, server, book, page)
    size = sum(f.stat().st_size for f in book.rglob("*") if f.is_file())
    print(f"\nsite: {len(pages(book))} pages, {size / 1e6:.1f} MB in all")
    heaviest = sorted(WEIGHTS.items(), key=lambda kv: -kv[1][0])[:5]
    for rel, (raw, sent) in heaviest:
        print(f"  {rel}: {raw / 1e6:.2f} MB uncompressed with what it loads, "
              f"{sent / 1e6:.2f} MB sent gzipped")
    assert not problems, "\n".join(problems)


def test_math_is_typeset_on_the_convolution_chapter(browser: object, server: str) -> None:
    tab = browser.new_page()  # type: ignore[attr-defined]
    tab.goto(f"{server}/chapters/02_convolution.html", wait_until="networkidle")
    tab.wait_for_function("document.querySelectorAll('mjx-container').length > 5", timeout=15000)
    labels = tab.locator("span.eqno").all_inner_texts()
    tab.close()
    assert any(re.search(r"\d", t) for t in labels), f"numbered equations expected, got {labels}"
