"""Tests of cnnlab.quiz: the shipped quizzes load and their computable answers agree with cnnlab,
validation names the file and the question, the rendered HTML is self-contained, and (where
Chromium is installed) a saved page grades right and wrong answers offline."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import ops, quiz, receptive
from cnnlab.quiz import Question, QuizError

REQUIRED = ("02_convolution", "06_building_a_cnn", "14_limits", "15_review")


# ---------------------------------------------------------------------------------------------
# The shipped quizzes
# ---------------------------------------------------------------------------------------------


def test_every_shipped_quiz_loads() -> None:
    names = quiz.available()
    assert set(REQUIRED) <= set(names)
    for name in names:
        q = quiz.load(name)
        assert q.name == name and q.title and len(q) >= (4 if name in REQUIRED else 1)
        for question in q:
            assert question.explanation and question.question


def _by_id(name: str) -> dict[str, Question]:
    return {q.id: q for q in quiz.load(name)}


def _computed_answers() -> dict[tuple[str, str], float]:
    """Answers that cnnlab can compute, by (quiz, question id)."""
    x = np.arange(1, 26, dtype=np.float64).reshape(1, 1, 5, 5)
    k = np.tile([-1.0, 0.0, 1.0], (3, 1))[None, None]
    conv, pool, rf = receptive.conv, receptive.pool, receptive.receptive_field
    return {
        ("02_convolution", "output-size-32-5"): ops.conv_output_size(32, 5),
        ("02_convolution", "worked-example-first-output"): float(ops.conv2d(x, k)[0, 0, 0, 0]),
        ("02_convolution", "weight-reuse-9x9"): ops.conv_output_size(9, 3) ** 2,
        ("02_convolution", "dense-vs-conv-weights"): (32 * 32) ** 2,
        ("04_channels_stride_padding", "params-256-256"): ops.conv_params(256, 256, 3),
        ("04_channels_stride_padding", "stride-2-size"): ops.conv_output_size(224, 7, 2, 3),
        ("05_receptive_fields", "two-3x3"): rf([conv(3), conv(3)]).final.rf,
        ("05_receptive_fields", "conv-pool-rf"): rf(
            [conv(3), pool(2), conv(3), pool(2), conv(3)]).final.rf,
        ("05_receptive_fields", "three-3x3-weights"): 3 * ops.conv_params(1, 1, 3, bias=False),
        ("06_building_a_cnn", "relu-value"): float(F.relu(torch.tensor(-2.5))),
        ("15_review", "params-3x3-rgb-64"): ops.conv_params(3, 64, 3),
        ("15_review", "output-size-review"): ops.conv_output_size(
            ops.conv_output_size(28, 5), 2, 2),
    }


def test_numeric_answers_agree_with_cnnlab() -> None:
    """Every question in the table exists and its stored answer is the computed one: a quiz
    rewritten so that a listed question disappears fails here (update the table with it)."""
    available = set(quiz.available())
    problems = []
    for (name, qid), expected in _computed_answers().items():
        if name not in available:
            problems.append(f"quiz {name} is gone (it holds the computed question {qid})")
            continue
        questions = _by_id(name)
        if qid not in questions:
            problems.append(f"{name}: question {qid} is gone; remove it from _computed_answers "
                            "or restore it")
        elif questions[qid].answer != expected:
            problems.append(f"{name}/{qid}: stored answer {questions[qid].answer!r}, "
                            f"cnnlab computes {expected!r}")
    assert not problems, "\n".join(problems)
    # Every required quiz with a computable answer is covered (14_limits has none).
    assert set(REQUIRED) - {"14_limits"} <= {name for name, _ in _computed_answers()}


def test_required_questions_are_there() -> None:
    match = _by_id("06_building_a_cnn")["match-terms"]
    assert match.type == "matching"
    assert [t for t, _ in match.pairs] == ["Filter (kernel)", "Feature map", "Weight sharing",
                                           "Max pooling", "ReLU"]
    night = _by_id("14_limits")["day-to-night"]
    assert night.type == "multiple_choice" and "infrared" in night.question
    assert night.check(night.answer) and not night.check(night.options[-1])
    assert any(q.type == "matching" for q in quiz.load("15_review"))


# ---------------------------------------------------------------------------------------------
# Grading in Python (the page's script mirrors it)
# ---------------------------------------------------------------------------------------------


def test_check_grades_every_type() -> None:
    qs = _by_id("02_convolution")
    num = qs["output-size-32-5"]
    assert num.check(28) and num.check("28") and num.check(" 28.0 ")
    assert not num.check(27) and not num.check("twenty-eight")
    big = qs["dense-vs-conv-weights"]
    assert big.check("1,048,576") and not big.check(1048575)
    tf = qs["libraries-flip-kernel"]
    assert tf.check(False) and not tf.check(True) and not tf.check("False")
    mc = qs["weight-sharing-why"]
    assert mc.check(mc.answer) and not any(mc.check(o) for o in mc.options if o != mc.answer)
    match = _by_id("06_building_a_cnn")["match-terms"]
    right = dict(match.pairs)
    assert match.check(right)
    swapped = dict(right)
    swapped["ReLU"], swapped["Max pooling"] = right["Max pooling"], right["ReLU"]
    assert not match.check(swapped) and not match.check("ReLU")
    tol = Question("t", "numeric", "pi?", "About 3.14.", answer=3.14, tolerance=0.01)
    assert tol.check(3.149) and not tol.check(3.2)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

GOOD = """\
title: A test quiz
questions:
  - id: first
    type: numeric
    question: "1 + 1?"
    answer: 2
    explanation: "Two."
  - id: second
    type: multiple_choice
    question: "Pick b."
    options: [a, b, c]
    answer: b
    explanation: "It is b."
"""


def _write(tmp_path: Path, text: str, name: str = "bad_quiz.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_accepts_a_good_file_by_path(tmp_path: Path) -> None:
    q = quiz.load(_write(tmp_path, GOOD, "good.yml"))
    assert q.name == "good" and [x.id for x in q] == ["first", "second"]
    assert q.select(["second"])[0].answer == "b"
    with pytest.raises(KeyError, match="no question 'third'"):
        q.select(["third"])


@pytest.mark.parametrize("old, new, message", [
    ('    answer: 2\n', '', r"bad_quiz\.yml, question 1 \('first'\): missing field 'answer'"),
    ('    answer: b\n', '    answer: d\n',
     r"bad_quiz\.yml, question 2 \('second'\): the answer 'd' is not among the options"),
    ('    type: numeric\n', '    type: essay\n', r"question 1 \('first'\): field 'type' must be"),
    ('  - id: second\n', '  - id: first\n', r"question 2: id 'first' is already used"),
    ('    explanation: "Two."\n', '    explanation: "Two."\n    explaination: "typo"\n',
     r"question 1 \('first'\): unknown field 'explaination'"),
    ('    answer: 2\n', '    answer: "two"\n', r"numeric answer must be a number"),
    ('    options: [a, b, c]\n', '    options: [a]\n', r"at least two texts"),
    ('    options: [a, b, c]\n', '    options: [a, b, b]\n', r"two options have the same text"),
    ('    explanation: "It is b."\n', '    explanation: "It is b."\n    feedback: {z: "no"}\n',
     r"feedback is given for 'z', which is not among the options"),
    ('    question: "1 + 1?"\n', '    question: ""\n', r"field 'question' must be non-empty"),
    ('  - id: first\n', '  - id_: first\n', r"question 1: missing field 'id'"),
])
def test_load_names_file_and_question(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(QuizError, match=message):
        quiz.load(path)


@pytest.mark.parametrize("body, message", [
    ("questions:\n  - id: t\n    type: true_false\n    question: q\n    answer: 'yes'\n"
     "    explanation: e\n", "must be true or false"),
    ("questions:\n  - id: m\n    type: matching\n    question: q\n    explanation: e\n"
     "    pairs:\n      - {term: a, definition: x}\n      - {term: a, definition: y}\n",
     "two pairs have the same term"),
    ("questions:\n  - id: m\n    type: matching\n    question: q\n    explanation: e\n"
     "    pairs:\n      - {term: a}\n      - {term: b, definition: y}\n",
     "pair 1 must have exactly the fields"),
    ("questions: []\n", "non-empty list"),
    ("title: x\nquestion: []\n", "expected a mapping"),
    ("questions: [\n", "not valid YAML"),
])
def test_load_rejects_other_defects(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(QuizError, match=message) as err:
        quiz.load(_write(tmp_path, body))
    assert "bad_quiz.yml" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_load_unknown_name() -> None:
    with pytest.raises(FileNotFoundError, match="available: .*02_convolution"):
        quiz.load("99_nothing")
    with pytest.raises(TypeError, match="name must be"):
        quiz.load(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Rendering: self-contained, deterministic, every answer embedded for the script
# ---------------------------------------------------------------------------------------------


def test_show_displays_self_contained_html(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    quiz.show("06_building_a_cnn")
    quiz.show("02_convolution", ids=["output-size-32-5", "equivariance"])
    assert [len(q) for q in shown] == [4, 2]
    for q in shown:
        page = q._repr_html_()
        assert page.count("<script>") == 1 and "<script src" not in page
        for pattern in (r"https?://", r"<link\b", r"@import", r"url\(", r"\bfetch\(",
                        r"XMLHttpRequest", r"\bimport\(", r"<iframe", r"src="):
            assert not re.search(pattern, page), pattern
        for question in q:
            assert question.question.split()[0] in page
            assert "Show the answer" in page


def test_html_embeds_the_answers_for_the_script() -> None:
    q = quiz.load("02_convolution")
    page = q.to_html()
    assert 'data-answer="28.0"' in page
    mc = _by_id("02_convolution")["weight-sharing-why"]
    correct = re.findall(r'data-correct="1"[^>]*>([^<]*)</button>', page)
    assert mc.answer in correct
    match = quiz.load("06_building_a_cnn").to_html()
    assert match.count('class="cq-pair"') == 5 and match.count("<select") == 5


def test_rendering_is_deterministic_apart_from_the_counter() -> None:
    a = quiz.load("15_review").to_html()
    b = quiz.load("15_review").to_html()
    strip = re.compile(r"cq-15_review-\d+")
    assert a != b and strip.sub("ID", a) == strip.sub("ID", b)


def test_matching_definitions_are_shuffled() -> None:
    q = _by_id("06_building_a_cnn")["match-terms"]
    page = quiz.load("06_building_a_cnn").to_html()
    listed = re.findall(r"<li><b>[A-E]\.</b> ([^<]*)</li>", page)
    assert sorted(listed) == sorted(d for _, d in q.pairs)
    assert listed != [d for _, d in q.pairs]


# ---------------------------------------------------------------------------------------------
# In a real browser, offline: a saved page grades right and wrong answers
# ---------------------------------------------------------------------------------------------

CHROMIUM = next((c for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
                 if Path(c).exists()), shutil.which("chromium"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _offline_context(browser: Any, requests: list[str], **kw: Any) -> Any:
    """A browser context that lets file:// through and blocks (and records) anything else."""
    context = browser.new_context(**kw)

    def route(r: Any) -> None:
        requests.append(r.request.url)
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    return context


@pytest.fixture(scope="module")
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    body = "".join(quiz.load(name).to_html() for name in quiz.available())
    path = tmp_path_factory.mktemp("quiz") / "quiz.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}"
                    "</body></html>", encoding="utf-8")
    requests: list[str] = []
    context = _offline_context(browser, requests)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.goto(path.as_uri())
    yield tab
    context.close()
    assert not errors, errors
    assert requests and all(u.startswith("file:") for u in requests), requests


def _question(page: Any, quiz_name: str, qid: str) -> Any:
    q = quiz.load(quiz_name)
    n = [x.id for x in q].index(qid) + 1
    return page.locator(f".cq-quiz[id^='cq-{quiz_name}-'] .cq-q").nth(n - 1)


def test_browser_hides_answers_until_answered(page: Any) -> None:
    assert page.locator(".cq-quiz.cq-live").count() == len(quiz.available())
    first = _question(page, "02_convolution", "equivariance")
    assert not first.locator(".cq-reveal").is_visible()


def test_browser_grades_numeric(page: Any) -> None:
    q = _question(page, "02_convolution", "output-size-32-5")
    q.locator(".cq-input").fill("27")
    q.locator(".cq-check").click()
    assert "Not quite" in q.locator(".cq-verdict").inner_text()
    assert q.locator(".cq-reveal").is_visible()
    assert q.locator(".cq-reveal").get_attribute("open") is None  # closed: answer not spoiled
    q.locator(".cq-input").fill("abc")
    q.locator(".cq-check").click()
    assert "Type a number" in q.locator(".cq-hint").inner_text()
    q.locator(".cq-input").fill("28")
    q.locator(".cq-input").press("Enter")
    assert q.locator(".cq-verdict").inner_text() == "Correct."
    assert q.locator(".cq-reveal").get_attribute("open") is not None
    assert "32 − 5 + 1 = 28" in q.locator(".cq-expl").inner_text()
    big = _question(page, "02_convolution", "dense-vs-conv-weights")
    big.locator(".cq-input").fill("1,048,576")
    big.locator(".cq-check").click()
    assert big.locator(".cq-verdict").inner_text() == "Correct."


def test_browser_grades_true_false_and_multiple_choice(page: Any) -> None:
    tf = _question(page, "02_convolution", "libraries-flip-kernel")
    tf.get_by_role("button", name="True").click()
    assert "Not quite" in tf.locator(".cq-verdict").inner_text()
    tf.get_by_role("button", name="False").click()
    assert tf.locator(".cq-verdict").inner_text() == "Correct."
    assert "cross-correlation" in tf.locator(".cq-expl").inner_text()
    night = _by_id("14_limits")["day-to-night"]
    mc = _question(page, "14_limits", "day-to-night")
    wrong = night.options[1]
    mc.locator(".cq-opt", has_text=wrong).click()
    assert "Not quite" in mc.locator(".cq-verdict").inner_text()
    assert "Invariance to where things are" in mc.locator(".cq-hint").inner_text()
    mc.locator(".cq-opt", has_text=str(night.answer)[:40]).click()
    assert mc.locator(".cq-verdict").inner_text() == "Correct."
    assert mc.locator(".cq-hint").inner_text() == ""
    assert "distribution shift" in mc.locator(".cq-expl").inner_text()


def test_browser_grades_matching(page: Any) -> None:
    q = _question(page, "06_building_a_cnn", "match-terms")
    letters = [li.split(".", 1)[0] for li in q.locator(".cq-defs li").all_inner_texts()]
    listed = [li.split(". ", 1)[1] for li in q.locator(".cq-defs li").all_inner_texts()]
    pairs = _by_id("06_building_a_cnn")["match-terms"].pairs
    rows = q.locator(".cq-pair")
    # all but the last two right, those two swapped: marks per row, no final verdict yet
    for i, (_, definition) in enumerate(pairs[:3]):
        rows.nth(i).locator("select").select_option(str(listed.index(definition)))
        assert rows.nth(i).locator(".cq-mark").inner_text() == "✓"
    assert q.locator(".cq-verdict").inner_text() == ""
    rows.nth(3).locator("select").select_option(str(listed.index(pairs[4][1])))
    rows.nth(4).locator("select").select_option(str(listed.index(pairs[3][1])))
    assert rows.nth(3).locator(".cq-mark").inner_text() == "✗"
    assert q.locator(".cq-verdict").inner_text() == "3 of 5 matched. Try again."
    rows.nth(3).locator("select").select_option(str(listed.index(pairs[3][1])))
    rows.nth(4).locator("select").select_option(str(listed.index(pairs[4][1])))
    assert q.locator(".cq-verdict").inner_text() == "All 5 matched. Correct."
    assert q.locator(".cq-reveal").get_attribute("open") is not None
    assert len(letters) == 5


def test_browser_without_javascript_shows_the_answers(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "nojs.html"
    n = len(quiz.load("02_convolution"))
    path.write_text(f"<!doctype html><meta charset='utf-8'>"
                    f"{quiz.load('02_convolution').to_html()}", encoding="utf-8")
    context = _offline_context(browser, [], java_script_enabled=False)
    tab = context.new_page()
    tab.goto(path.as_uri())
    reveals = tab.locator(".cq-reveal")
    assert reveals.count() == n
    assert all(reveals.nth(i).is_visible() for i in range(n))
    reveals.nth(0).locator("summary").click()
    assert "28" in reveals.nth(0).locator(".cq-answer").inner_text()
    context.close()
