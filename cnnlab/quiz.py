"""Quizzes with instant feedback that work in Jupyter, Colab and the static book alike.

Questions are data: one YAML file per chapter in ``cnnlab/quizzes/`` (``02_convolution.yml``,
...). Four kinds of question are supported:

- ``numeric``: type a number; right when it is within ``tolerance`` (default 0) of ``answer``.
- ``true_false``: ``answer`` is true or false.
- ``multiple_choice``: ``options`` is a list of strings and ``answer`` the text of the right
  one; ``feedback`` may map a wrong option to a hint shown when it is picked.
- ``matching``: ``pairs`` is a list of ``{term, definition}``; the reader picks a definition
  for every term from a drop-down list.

Every question has an ``id``, the ``question`` text and an ``explanation`` shown once the
reader has answered. Text may use ``**bold**`` and ```code```; everything else is shown as
written (use Unicode such as ×, ⊛, ² rather than LaTeX).

A quiz renders as one self-contained block of HTML, CSS and JavaScript: nothing is fetched
from a network at view time, so it grades answers on a static book page with no kernel as well
as in a notebook. Where scripts do not run (a notebook opened untrusted, GitHub's viewer), each
question still shows a "Show the answer" box.

    >>> from cnnlab import quiz
    >>> q = quiz.load("02_convolution")
    >>> q.questions[0].type
    'numeric'
    >>> q.questions[0].check(28)
    True
    >>> quiz.show("02_convolution")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import itertools
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Question", "Quiz", "QuizError", "TYPES", "available", "load", "show"]

#: The question types a quiz file may use.
TYPES = ("numeric", "true_false", "multiple_choice", "matching")

_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # type -> (required, optional)
    "numeric": ({"id", "type", "question", "answer", "explanation"}, {"tolerance"}),
    "true_false": ({"id", "type", "question", "answer", "explanation"}, set()),
    "multiple_choice": ({"id", "type", "question", "options", "answer", "explanation"},
                        {"feedback"}),
    "matching": ({"id", "type", "question", "pairs", "explanation"}, set()),
}


class QuizError(ValueError):
    """A quiz file that cannot be used; the message names the file and the question."""


@dataclass(frozen=True)
class Question:
    """One question of a quiz.

    ``answer`` is a float (numeric), a bool (true_false), the text of the right option
    (multiple_choice) or None (matching, where ``pairs`` holds (term, definition) tuples).
    """

    id: str
    type: str
    question: str
    explanation: str
    answer: float | bool | str | None = None
    options: tuple[str, ...] = ()
    tolerance: float = 0.0
    feedback: Mapping[str, str] = field(default_factory=dict)
    pairs: tuple[tuple[str, str], ...] = ()

    def check(self, response: Any) -> bool:
        """Grade a response as the page does: a number, a bool, an option text, or a dict
        mapping every term to a definition (matching).

        >>> Question("q", "numeric", "2 + 2?", "Four.", answer=4.0).check("4")
        True
        """
        if self.type == "numeric":
            try:
                value = float(str(response).replace(",", "").strip())
            except ValueError:
                return False
            assert isinstance(self.answer, float)
            return abs(value - self.answer) <= self.tolerance + 1e-9 * max(1.0, abs(self.answer))
        if self.type == "true_false":
            return isinstance(response, bool) and response == self.answer
        if self.type == "multiple_choice":
            return response == self.answer
        if not isinstance(response, Mapping):
            return False
        return all(response.get(term) == definition for term, definition in self.pairs)


@dataclass(frozen=True)
class Quiz(Sequence[Question]):
    """A titled list of questions, displayed as an interactive quiz (``_repr_html_``)."""

    name: str
    title: str
    questions: tuple[Question, ...]

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: Any) -> Any:
        return self.questions[index]

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def select(self, ids: Iterable[str]) -> Quiz:
        """The quiz restricted to the questions with these ids, in the order given."""
        by_id = {q.id: q for q in self.questions}
        wanted = list(ids)
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise KeyError(f"quiz {self.name!r} has no question {missing[0]!r}; "
                           f"its ids are {list(by_id)}")
        return Quiz(self.name, self.title, tuple(by_id[i] for i in wanted))

    def to_html(self) -> str:
        """Self-contained HTML + CSS + JavaScript for the quiz (no external resources)."""
        root = f"cq-{re.sub(r'[^A-Za-z0-9_-]', '-', self.name)}-{next(_counter)}"
        body = "".join(_question_html(q, n, root) for n, q in enumerate(self.questions, 1))
        title = f'<div class="cq-title">{_inline(self.title)}</div>' if self.title else ""
        return (f'<div class="cq-quiz" id="{root}">{_STYLE}{title}{body}'
                f"<script>{_SCRIPT.replace('__ROOT__', root)}</script></div>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        lines = [f"Quiz {self.name!r}: {self.title} ({len(self)} questions)"]
        lines += [f"  {n}. [{q.type}] {q.question}" for n, q in enumerate(self.questions, 1)]
        return "\n".join(lines)


_counter = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def _quiz_dir() -> Path:
    return Path(str(resources.files("cnnlab").joinpath("quizzes")))


def available() -> list[str]:
    """Names of the quizzes shipped with cnnlab, e.g. ``['02_convolution', ...]``."""
    return sorted(p.stem for p in _quiz_dir().glob("*.yml"))


def _resolve(name: str | Path) -> Path:
    if not isinstance(name, str | Path):
        raise TypeError(f"name must be a quiz name or a path, got {type(name).__name__}")
    path = Path(name)
    if path.suffix in (".yml", ".yaml") and path.exists():
        return path
    stem = path.name.removesuffix(".yml").removesuffix(".yaml")
    candidate = _quiz_dir() / f"{stem}.yml"
    if candidate.exists():
        return candidate
    raise FileNotFoundError(f"no quiz named {str(name)!r}; available: {available()}")


def _text(raw: Any, where: str, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise QuizError(f"{where}: field {key!r} must be non-empty text, got {raw!r}")
    return raw.strip()


def _parse_question(raw: Any, n: int, fname: str) -> Question:
    if not isinstance(raw, dict):
        raise QuizError(f"{fname}: question {n} must be a mapping of fields, got {raw!r}")
    qid = raw.get("id")
    where = f"{fname}, question {n}" + (f" ({qid!r})" if qid is not None else "")
    kind = raw.get("type")
    if kind not in TYPES:
        raise QuizError(f"{where}: field 'type' must be one of {list(TYPES)}, got {kind!r}")
    required, optional = _FIELDS[kind]
    for key in sorted(required):
        if key not in raw:
            raise QuizError(f"{where}: missing field {key!r} (a {kind} question needs "
                            f"{sorted(required)})")
    unknown = set(raw) - required - optional
    if unknown:
        raise QuizError(f"{where}: unknown field {sorted(unknown)[0]!r}; a {kind} question "
                        f"takes {sorted(required | optional)}")
    common = {"id": _text(raw["id"], where, "id"), "type": kind,
              "question": _text(raw["question"], where, "question"),
              "explanation": _text(raw["explanation"], where, "explanation")}
    answer = raw.get("answer")
    if kind == "numeric":
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise QuizError(f"{where}: a numeric answer must be a number, got {answer!r}")
        tol = raw.get("tolerance", 0)
        if isinstance(tol, bool) or not isinstance(tol, int | float) or tol < 0:
            raise QuizError(f"{where}: tolerance must be a number >= 0, got {tol!r}")
        return Question(**common, answer=float(answer), tolerance=float(tol))
    if kind == "true_false":
        if not isinstance(answer, bool):
            raise QuizError(f"{where}: a true_false answer must be true or false, got {answer!r}")
        return Question(**common, answer=answer)
    if kind == "multiple_choice":
        options = raw["options"]
        if (not isinstance(options, list) or len(options) < 2
                or not all(isinstance(o, str) and o.strip() for o in options)):
            raise QuizError(f"{where}: options must be a list of at least two texts, "
                            f"got {options!r}")
        opts = tuple(o.strip() for o in options)
        if len(set(opts)) != len(opts):
            raise QuizError(f"{where}: two options have the same text")
        if not isinstance(answer, str) or answer.strip() not in opts:
            raise QuizError(f"{where}: the answer {answer!r} is not among the options {list(opts)}")
        feedback = raw.get("feedback", {}) or {}
        if not isinstance(feedback, dict):
            raise QuizError(f"{where}: feedback must map option texts to hints")
        fb: dict[str, str] = {}
        for key, hint in feedback.items():
            if not isinstance(key, str) or key.strip() not in opts:
                raise QuizError(f"{where}: feedback is given for {key!r}, which is not among "
                                f"the options {list(opts)}")
            fb[key.strip()] = _text(hint, where, f"feedback[{key!r}]")
        return Question(**common, answer=answer.strip(), options=opts, feedback=fb)
    pairs = raw["pairs"]
    if not isinstance(pairs, list) or len(pairs) < 2:
        raise QuizError(f"{where}: pairs must be a list of at least two {{term, definition}}")
    parsed: list[tuple[str, str]] = []
    for m, pair in enumerate(pairs, 1):
        if not isinstance(pair, dict) or set(pair) != {"term", "definition"}:
            raise QuizError(f"{where}: pair {m} must have exactly the fields 'term' and "
                            f"'definition', got {pair!r}")
        parsed.append((_text(pair["term"], where, f"pairs[{m}].term"),
                       _text(pair["definition"], where, f"pairs[{m}].definition")))
    for idx, what in ((0, "term"), (1, "definition")):
        seen = [p[idx] for p in parsed]
        if len(set(seen)) != len(seen):
            raise QuizError(f"{where}: two pairs have the same {what}")
    return Question(**common, pairs=tuple(parsed))


def load(name: str | Path) -> Quiz:
    """Read and validate a quiz: a name from :func:`available` or a path to a YAML file.

    The file holds ``title`` and ``questions`` (a list). Raises :class:`QuizError` (a
    ValueError) naming the file and the question when a field is missing or wrong, an answer
    is not among the options, or two questions share an id.

    >>> quiz = load("06_building_a_cnn")
    >>> [q.type for q in quiz][:1]
    ['matching']
    """
    path = _resolve(name)
    fname = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuizError(f"{fname}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or "questions" not in data:
        raise QuizError(f"{fname}: expected a mapping with 'title' and 'questions'")
    unknown = set(data) - {"title", "questions"}
    if unknown:
        raise QuizError(f"{fname}: unknown top-level field {sorted(unknown)[0]!r}")
    raw_qs = data["questions"]
    if not isinstance(raw_qs, list) or not raw_qs:
        raise QuizError(f"{fname}: 'questions' must be a non-empty list")
    questions = tuple(_parse_question(raw, n, fname) for n, raw in enumerate(raw_qs, 1))
    ids = [q.id for q in questions]
    for n, qid in enumerate(ids, 1):
        if ids.index(qid) != n - 1:
            raise QuizError(f"{fname}, question {n}: id {qid!r} is already used by question "
                            f"{ids.index(qid) + 1}")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise QuizError(f"{fname}: title must be text, got {title!r}")
    return Quiz(name=path.stem, title=title.strip(), questions=questions)


def show(name: str | Path, ids: Sequence[str] | None = None) -> None:
    """Display a quiz (or the questions with the given ids) in the notebook or book page."""
    from IPython.display import display

    quiz = load(name)
    display(quiz if ids is None else quiz.select(ids))


# ---------------------------------------------------------------------------------------------
# Rendering: markup written by Python, behaviour by a small inline script
# ---------------------------------------------------------------------------------------------


def _inline(text: str) -> str:
    """Escape text, then allow **bold** and `code`; blank lines become paragraph breaks."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return out.replace("\n\n", "<br><br>")


def _shuffled(items: Sequence[str], seed: str) -> list[str]:
    """The items in a fixed order (seeded by the question id) that differs from the given one."""
    order = list(items)
    rng = random.Random(seed)
    for _ in range(10):
        rng.shuffle(order)
        if order != list(items):
            break
    if order == list(items):
        order = order[1:] + order[:1]
    return order


def _answer_text(q: Question) -> str:
    if q.type == "numeric":
        assert isinstance(q.answer, float)
        val = f"{q.answer:g}" if abs(q.answer) < 1e6 else f"{q.answer:,.0f}"
        return val + (f" (± {q.tolerance:g})" if q.tolerance else "")
    if q.type == "true_false":
        return "True" if q.answer else "False"
    if q.type == "multiple_choice":
        return _inline(str(q.answer))
    return "<br>".join(f"<b>{_inline(t)}</b>: {_inline(d)}" for t, d in q.pairs)


def _question_html(q: Question, n: int, root: str) -> str:
    qid = f"{root}-q{n}"
    head = (f'<div class="cq-q" id="{qid}" data-type="{q.type}">'
            f'<div class="cq-text"><span class="cq-num">{n}.</span> {_inline(q.question)}</div>')
    if q.type in ("true_false", "multiple_choice"):
        opts = ["True", "False"] if q.type == "true_false" else _shuffled(q.options, q.id)
        right = ("True" if q.answer else "False") if q.type == "true_false" else q.answer
        buttons = "".join(
            f'<button type="button" class="cq-opt" data-correct="{int(o == right)}"'
            f' data-feedback="{html.escape(q.feedback.get(o, ""))}">{_inline(o)}</button>'
            for o in opts)
        control = f'<div class="cq-opts">{buttons}</div>'
    elif q.type == "numeric":
        assert isinstance(q.answer, float)
        control = (f'<div class="cq-num-row" data-answer="{q.answer!r}" data-tol="{q.tolerance!r}">'
                   f'<input type="text" inputmode="decimal" class="cq-input" '
                   f'aria-label="your answer to question {n}" placeholder="your answer">'
                   '<button type="button" class="cq-check">Check</button></div>')
    else:
        defs = _shuffled([d for _, d in q.pairs], q.id)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        listing = "".join(f"<li><b>{letters[i]}.</b> {_inline(d)}</li>" for i, d in enumerate(defs))
        rows = ""
        for term, definition in q.pairs:
            right = defs.index(definition)
            options = '<option value="">choose…</option>' + "".join(
                f'<option value="{i}">{letters[i]}</option>' for i in range(len(defs)))
            rows += (f'<tr class="cq-pair" data-correct="{right}"><td class="cq-term">'
                     f"{_inline(term)}</td><td><select class=\"cq-select\" aria-label=\"definition "
                     f'for {html.escape(term)}">{options}</select></td>'
                     '<td class="cq-mark"></td></tr>')
        control = (f'<ol class="cq-defs" type="A">{listing}</ol>'
                   f'<table class="cq-match">{rows}</table>')
    reveal = (f'<details class="cq-reveal"><summary>Show the answer</summary>'
              f'<div class="cq-answer"><b>Answer:</b> {_answer_text(q)}</div>'
              f'<div class="cq-expl">{_inline(q.explanation)}</div></details>')
    return (f'{head}{control}<div class="cq-verdict" aria-live="polite"></div>'
            f'<div class="cq-hint"></div>{reveal}</div>')


_STYLE = """<style>
.cq-quiz{border:1px solid #d0d7de;border-radius:8px;padding:0.6em 1em;margin:0.8em 0;
  font-family:inherit;max-width:46em;background:#fbfcfd;color:#1f2328}
.cq-title{font-weight:600;font-size:1.05em;margin-bottom:0.4em}
.cq-q{padding:0.6em 0;border-top:1px solid #e6e9ec}
.cq-q:first-of-type{border-top:none}
.cq-num{font-weight:600;color:#57606a}
.cq-opts{display:flex;flex-wrap:wrap;gap:0.4em;margin:0.5em 0}
.cq-opt,.cq-check{font:inherit;padding:0.35em 0.8em;border:1px solid #afb8c1;border-radius:6px;
  background:#fff;cursor:pointer;text-align:left;color:inherit}
.cq-opt:hover,.cq-check:hover{background:#f0f3f6}
.cq-opt.cq-right{background:#dafbe1;border-color:#1a7f37}
.cq-opt.cq-wrong{background:#ffebe9;border-color:#cf222e}
.cq-num-row{margin:0.5em 0;display:flex;gap:0.5em}
.cq-input{font:inherit;padding:0.3em 0.5em;width:10em;border:1px solid #afb8c1;border-radius:6px}
.cq-input.cq-right{border-color:#1a7f37;background:#dafbe1}
.cq-input.cq-wrong{border-color:#cf222e;background:#ffebe9}
.cq-defs{margin:0.4em 0 0.4em 1.2em;padding:0}
.cq-defs li{list-style:none;margin:0.15em 0}
.cq-match td{padding:0.2em 0.6em 0.2em 0;border:none}
.cq-term{font-weight:600}
.cq-select{font:inherit}
.cq-mark{min-width:1.5em;font-weight:700}
.cq-pair.cq-right .cq-mark{color:#1a7f37}
.cq-pair.cq-wrong .cq-mark{color:#cf222e}
.cq-verdict{font-weight:600;min-height:0}
.cq-verdict.cq-right{color:#1a7f37}
.cq-verdict.cq-wrong{color:#cf222e}
.cq-hint{color:#57606a}
.cq-reveal{margin-top:0.3em}
.cq-reveal summary{cursor:pointer;color:#0969da}
.cq-answer{margin:0.3em 0}
.cq-live .cq-reveal{display:none}
.cq-live .cq-answered .cq-reveal{display:block}
</style>"""

# The script finds its quiz (the element that contains it, else by id), then wires the
# controls. It mirrors Question.check: numeric answers within the tolerance, the option marked
# data-correct, and every term matched to its definition.
_SCRIPT = r"""
(function () {
  var me = document.currentScript;
  function start(root) {
    if (!root || root.getAttribute('data-ready')) { return; }
    root.setAttribute('data-ready', '1');
    root.classList.add('cq-live');
    function verdict(q, ok, text) {
      var v = q.querySelector('.cq-verdict');
      v.textContent = text;
      v.className = 'cq-verdict ' + (ok ? 'cq-right' : 'cq-wrong');
      q.classList.add('cq-answered');
      var d = q.querySelector('.cq-reveal');
      d.querySelector('summary').textContent = ok ? 'Why' : 'Show the answer and why';
      if (ok) { d.open = true; }
    }
    var right = 'Correct.';
    var wrong = 'Not quite. Try again, or open the answer below.';
    root.querySelectorAll('.cq-q').forEach(function (q) {
      var kind = q.getAttribute('data-type');
      var hint = q.querySelector('.cq-hint');
      if (kind === 'true_false' || kind === 'multiple_choice') {
        var opts = q.querySelectorAll('.cq-opt');
        opts.forEach(function (b) {
          b.addEventListener('click', function () {
            opts.forEach(function (o) { o.classList.remove('cq-right', 'cq-wrong'); });
            var ok = b.getAttribute('data-correct') === '1';
            b.classList.add(ok ? 'cq-right' : 'cq-wrong');
            hint.textContent = ok ? '' : (b.getAttribute('data-feedback') || '');
            verdict(q, ok, ok ? right : wrong);
          });
        });
      } else if (kind === 'numeric') {
        var row = q.querySelector('.cq-num-row');
        var input = q.querySelector('.cq-input');
        var grade = function () {
          var text = input.value.replace(/,/g, '').trim();
          var x = Number(text);
          input.classList.remove('cq-right', 'cq-wrong');
          if (text === '' || isNaN(x)) {
            hint.textContent = 'Type a number, for example 12 or 0.5.';
            return;
          }
          var ans = Number(row.getAttribute('data-answer'));
          var tol = Number(row.getAttribute('data-tol'));
          var ok = Math.abs(x - ans) <= tol + 1e-9 * Math.max(1, Math.abs(ans));
          input.classList.add(ok ? 'cq-right' : 'cq-wrong');
          hint.textContent = '';
          verdict(q, ok, ok ? right : wrong);
        };
        q.querySelector('.cq-check').addEventListener('click', grade);
        input.addEventListener('keydown', function (e) {
          if (e.key === 'Enter') { e.preventDefault(); grade(); }
        });
      } else if (kind === 'matching') {
        var pairs = q.querySelectorAll('.cq-pair');
        pairs.forEach(function (p) {
          p.querySelector('.cq-select').addEventListener('change', function () {
            var chosen = 0, good = 0;
            pairs.forEach(function (r) {
              var s = r.querySelector('.cq-select');
              var mark = r.querySelector('.cq-mark');
              r.classList.remove('cq-right', 'cq-wrong');
              mark.textContent = '';
              if (s.value === '') { return; }
              chosen += 1;
              var ok = s.value === r.getAttribute('data-correct');
              if (ok) { good += 1; }
              r.classList.add(ok ? 'cq-right' : 'cq-wrong');
              mark.textContent = ok ? '\u2713' : '\u2717';
            });
            if (chosen === pairs.length) {
              var all = good === pairs.length;
              verdict(q, all, all ? 'All ' + good + ' matched. Correct.'
                                  : good + ' of ' + pairs.length + ' matched. Try again.');
            }
          });
        });
      }
    });
  }
  var root = me && me.parentNode && me.parentNode.id === '__ROOT__' ? me.parentNode : null;
  if (root) { start(root); return; }
  var tries = 0;
  (function poll() {
    var el = document.getElementById('__ROOT__');
    if (el) { start(el); } else if (tries++ < 50) { setTimeout(poll, 100); }
  })();
})();
"""
