"""Every string a user reads is marked for translation, in templates and in Python.

The scans live in tests/i18n_scan.py; the first tests here prove that they
find what they must (a scan that finds nothing proves nothing), the last ones
run them over the project.
"""

import re

import pytest

from .i18n_scan import (
    ROOT,
    python_files,
    template_files,
    unmarked_python_strings,
    unmarked_template_text,
)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A file inside the project's tree (findings name paths relative to it)."""
    folder = ROOT / "var" / "i18n-scan-selftest"
    folder.mkdir(parents=True, exist_ok=True)
    made = []

    def write(name: str, text: str):
        path = folder / name
        path.write_text(text)
        made.append(path)
        return path

    yield write
    for path in made:
        path.unlink()
    folder.rmdir()


def test_the_template_scan_finds_typed_text_and_visible_attributes(scratch):
    """Given a template with English typed outside the translate tags,
    when it is scanned, then each text node and visible attribute is reported."""
    path = scratch(
        "bad.html",
        "{% load i18n %}<h1>Customers</h1>\n"
        '<button title="Remove it" aria-label="Close">{% translate "Save" %}</button>\n'
        '<input type="submit" value="Send now"><img alt="Logo" src="x.png">\n'
        "<p>{{ count }} answers</p>\n"
        '<span{% if x %} class="a"{% endif %}>Open</span>\n',
    )
    texts = [finding.text for finding in unmarked_template_text(path)]
    assert texts == [
        "Customers",
        "title=Remove it",
        "aria-label=Close",
        "value=Send now",
        "alt=Logo",
        "… answers",
        "Open",
    ]


def test_the_template_scan_accepts_marked_text_symbols_and_the_brand(scratch):
    """Given a template whose words are all in translate / blocktranslate tags,
    variables, comments or the allow-list, then the scan reports nothing."""
    path = scratch(
        "good.html",
        '{% load i18n %}<title>CRM · {% translate "Customers" %}</title>\n'
        "{% blocktranslate count n=items|length %}{{ n }} item{% plural %}{{ n }} items"
        "{% endblocktranslate %}\n"
        "{# a note for developers #}{% comment %}Old layout{% endcomment %}\n"
        '<a href="/x" class="btn" title="{% translate "Open" %}">&times; {{ name }}</a>\n'
        '<input type="hidden" value="open"><input name="q" value="{{ q }}"> 12 % — NPS\n',
    )
    assert unmarked_template_text(path) == []


def test_the_template_scan_reads_plain_text_emails_line_by_line(scratch):
    """Given a text email with a typed greeting, then that line is reported."""
    path = scratch("mail.txt", "{% load i18n %}Hello {{ name }},\n{% translate 'Thanks' %}\n")
    assert [(f.line, f.text) for f in unmarked_template_text(path)] == [(1, "…Hello …,")]


def test_the_python_scan_finds_unmarked_labels_messages_and_errors(scratch):
    """Given Python with literal labels, messages, errors, choices and verbose
    names, then each is reported, and the marked ones are not."""
    path = scratch(
        "bad_module.py",
        "from django import forms\n"
        "from django.contrib import messages\n"
        "from django.db import models\n"
        "from django.utils.translation import gettext_lazy as _\n"
        "class Kind(models.TextChoices):\n"
        '    CALL = "call", "Call"\n'
        '    MAIL = "mail", _("Email")\n'
        '    VISIT = "visit"\n'
        "class F(forms.Form):\n"
        '    name = forms.CharField(label="Name", help_text=_("Full name"))\n'
        '    kind = forms.ChoiceField(choices=[("a", "Alpha"), ("b", _("Beta"))])\n'
        "    def clean(self):\n"
        '        raise forms.ValidationError(f"Bad {self}")\n'
        "class M(models.Model):\n"
        '    title = models.CharField("title", max_length=3)\n'
        "    class Meta:\n"
        '        verbose_name = "thing"\n'
        "def view(request):\n"
        '    messages.success(request, "Saved.")\n'
        '    messages.error(request, _("Not saved."))\n',
    )
    texts = [finding.text for finding in unmarked_python_strings(path)]
    assert texts == [
        "Call",
        "VISIT has no label",
        "Name",
        "Alpha",
        "Bad \x00",
        "title",
        "thing",
        "Saved.",
    ]


def test_no_template_holds_unmarked_text():
    """Every word a template shows goes through {% translate %} or
    {% blocktranslate %}: a page never mixes English into another language."""
    findings = [f for path in template_files() for f in unmarked_template_text(path)]
    assert not findings, "Unmarked text in templates:\n" + "\n".join(map(str, findings))


def test_no_python_module_holds_unmarked_user_strings():
    """Form labels, help texts, errors, flash messages, choice labels and
    verbose names are all wrapped in a gettext call."""
    findings = [f for path in python_files() for f in unmarked_python_strings(path)]
    assert not findings, "Unmarked strings in Python:\n" + "\n".join(map(str, findings))


def test_no_marked_string_counts_with_a_bracketed_plural():
    """ "complaint(s)", "year(s)": where a number meets a noun the string is an
    ngettext / {% blocktranslate count %} with both forms, which every language
    can then inflect its own way."""
    import polib

    from .i18n_scan import ROOT as project

    catalogue = polib.pofile(str(project / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    crude = [
        f"{entry.occurrences[0][0] if entry.occurrences else '?'}: {entry.msgid[:70]!r}"
        for entry in catalogue
        if not entry.obsolete and re.search(r"[a-z]\((s|es)\)", entry.msgid)
    ]
    assert not crude, "\n".join(crude)
