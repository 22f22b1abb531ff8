"""Finders for user-visible text that is not marked for translation.

Two scans, shared by tests/test_i18n_marking.py:

* templates: Django's own lexer splits a template into text, variable, block
  and comment tokens; everything a tag or variable produces (and everything
  inside ``{% blocktranslate %}`` or ``{% comment %}``) is replaced by a
  placeholder, and what is left is parsed as HTML. A text node or a visible
  attribute (title, placeholder, aria-label, alt, a button's value) that
  still holds a letter was typed in English by hand.
* Python: an AST walk over the apps for string literals in the places users
  read them (form labels and help texts, error messages, ``messages.*`` calls,
  ``ValidationError``, model verbose names and choice labels).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
# The apps whose Python reaches users. Tests, migrations (Django writes lazy
# strings into them as plain literals) and the virtualenv are not scanned.
PYTHON_APPS = [
    "accounts",
    "api",
    "audit",
    "backups",
    "crm",
    "customers",
    "dashboard",
    "privacy",
    "retention",
    "surveys",
]

# Text that is not a word in any language: the brand, units and symbols.
ALLOWED_TEXT = {"CRM", "NPS", "CSV", "API", "JSON", "ID", "OK", "×", "·", "…", "—", "–"}
# Whole texts that are names, not words: a mail header keeps its name in every language.
ALLOWED_PHRASES = {"Message-ID"}
# A placeholder that stands for one rendered tag, variable or translated block.
HOLE = "\x00"
LETTER = re.compile(r"[^\W\d_]")
# data-confirm and data-copied are texts static/js/ui.js shows (a confirm box, a button).
VISIBLE_ATTRIBUTES = {
    "title",
    "placeholder",
    "aria-label",
    "alt",
    "aria-description",
    "data-confirm",
    "data-copied",
}


@dataclass(frozen=True)
class Finding:
    where: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.text!r}"


def _is_words(text: str) -> bool:
    """Whether what is left of a text (placeholders removed) reads as words."""
    leftover = text.replace(HOLE, " ").strip()
    if leftover in ALLOWED_PHRASES or not LETTER.search(leftover):
        return False
    words = [w for w in re.split(r"[\s()\[\]{}:;,./|!?+%#*=\"'-]+", leftover) if w]
    return any(w not in ALLOWED_TEXT and LETTER.search(w) for w in words)


def _template_source_without_marked_text(source: str) -> str:
    """The template with every tag, variable, comment and translated block holed."""
    out: list[str] = []
    skipping: str | None = None  # the end tag we wait for
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            # Keep the line count so findings point at the right line.
            out.append(token.contents if skipping is None else "\n" * token.contents.count("\n"))
            continue
        contents = token.contents.split()
        name = contents[0] if contents else ""
        if token.token_type == TokenType.BLOCK:
            if skipping is not None:
                if name == skipping:
                    skipping = None
            elif name in {"blocktranslate", "blocktrans"}:
                skipping = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
            elif name == "comment":
                skipping = "endcomment"
        out.append(HOLE)
    return "".join(out)


class _VisibleText(HTMLParser):
    """Collects text nodes and visible attributes with their line numbers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            shown = name in VISIBLE_ATTRIBUTES or (
                name == "value"
                and (tag == "button" or values.get("type") in {"submit", "button", "reset"})
            )
            if shown and _is_words(value):
                self.found.append((self.getpos()[0], f"{name}={value}"))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth and _is_words(data):
            self.found.append((self.getpos()[0], data.strip()))


def unmarked_template_text(path: Path) -> list[Finding]:
    source = path.read_text()
    holed = _template_source_without_marked_text(source)
    where = str(path.relative_to(ROOT))
    if path.suffix == ".txt":
        return [
            Finding(where, number, line.replace(HOLE, "…").strip())
            for number, line in enumerate(holed.splitlines(), start=1)
            if _is_words(line)
        ]
    # A tag right after a tag's name (<strong{% if %} class=..{% endif %}>)
    # would glue itself to the name: keep it apart as an attribute of its own.
    holed = re.sub(r"(<[a-zA-Z][\w-]*)" + HOLE, "\\1 " + HOLE, holed)
    parser = _VisibleText()
    parser.feed(holed)
    parser.close()
    return [Finding(where, line, text.replace(HOLE, "…")) for line, text in parser.found]


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


# --- Python --------------------------------------------------------------------

GETTEXT_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
    "format_lazy",
}
USER_KEYWORDS = {
    "label",
    "help_text",
    "verbose_name",
    "verbose_name_plural",
    "empty_label",
    "message",
    "placeholder",
    "title",
}
MESSAGE_FUNCTIONS = {"success", "error", "warning", "info", "debug", "add_message"}
VALIDATION_ERRORS = {"ValidationError", "PermissionDenied", "forms.ValidationError"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _literal_words(node: ast.AST | None) -> str | None:
    """A string literal (or f-string) that reads as words, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _is_words(node.value) else None
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else HOLE for v in node.values)
        return text if _is_words(text) else None
    if isinstance(node, ast.BinOp):  # "a" + "b", "%s" % x
        return _literal_words(node.left)
    return None


class _PythonScan(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.found: list[Finding] = []
        self._choices_class_depth = 0

    def _report(self, node: ast.AST, text: str) -> None:
        self.found.append(Finding(self.where, getattr(node, "lineno", 0), text))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = {_name(b).rsplit(".", 1)[-1] for b in node.bases}
        is_choices = bool(bases & {"TextChoices", "IntegerChoices", "Choices"})
        is_meta = node.name == "Meta"
        for statement in node.body:
            if is_choices and isinstance(statement, ast.Assign):
                # MEMBER = "value", "Label": the label is the second element.
                value = statement.value
                if isinstance(value, ast.Tuple) and len(value.elts) >= 2:
                    text = _literal_words(value.elts[-1])
                    if text:
                        self._report(statement, text)
                elif isinstance(value, ast.Constant) and not _name(statement.targets[0]).startswith(
                    "_"
                ):
                    # No label: Django makes one from the member's name, in English only.
                    self._report(statement, f"{_name(statement.targets[0])} has no label")
            if is_meta and isinstance(statement, ast.Assign):
                targets = {_name(t) for t in statement.targets}
                if targets & {"verbose_name", "verbose_name_plural"}:
                    text = _literal_words(statement.value)
                    if text:
                        self._report(statement, text)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = _name(node.func)
        short = function.rsplit(".", 1)[-1]
        if short in GETTEXT_NAMES:
            return  # marked: nothing inside needs a look
        if function.startswith("messages.") and short in MESSAGE_FUNCTIONS:
            for argument in node.args[1:3]:
                text = _literal_words(argument)
                if text:
                    self._report(node, text)
        if short in {"ValidationError", "PermissionDenied"} and node.args:
            text = _literal_words(node.args[0])
            if text:
                self._report(node, text)
        for keyword in node.keywords:
            if keyword.arg == "help_text" and self.where.startswith("api/"):
                # The API's field descriptions are its OpenAPI reference, for
                # developers, in English like the field names they describe.
                continue
            if keyword.arg in USER_KEYWORDS:
                text = _literal_words(keyword.value)
                if text:
                    self._report(keyword.value, text)
            if keyword.arg == "choices" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                for pair in keyword.value.elts:
                    if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                        text = _literal_words(pair.elts[1])
                        if text:
                            self._report(pair, text)
            if keyword.arg == "error_messages" and isinstance(keyword.value, ast.Dict):
                for value in keyword.value.values:
                    text = _literal_words(value)
                    if text:
                        self._report(value, text)
        # Model and form fields: the first positional argument is the verbose name.
        if short.endswith("Field") and node.args:
            text = _literal_words(node.args[0])
            if text:
                self._report(node, text)
        self.generic_visit(node)


def python_files() -> list[Path]:
    files: list[Path] = []
    for app in PYTHON_APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            files.append(path)
    return sorted(files)


def unmarked_python_strings(path: Path) -> list[Finding]:
    scan = _PythonScan(str(path.relative_to(ROOT)))
    scan.visit(ast.parse(path.read_text(), filename=str(path)))
    return scan.found
