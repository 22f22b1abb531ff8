"""The translation catalogues in locale/ are complete, clean and in step with the code.

A catalogue fails when it has an entry without a translation, a fuzzy or an
obsolete (``#~``) entry, a translation whose placeholders differ from its
source (a ``%(name)s`` renamed or dropped crashes or garbles the page), a
plural entry with the wrong number of forms, or when the code holds a string
the catalogue does not know yet (``make messages`` was not run).
"""

import contextlib
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
# How many plural forms each language has (Django's own catalogues agree).
PLURAL_FORMS = {"de": 2, "tr": 2, "zh_Hant": 1}
# Folders makemessages must not walk (the Makefile's `messages` target skips the same).
IGNORED = [".venv", "staticfiles", "var", "node_modules"]

PLACEHOLDER = re.compile(
    r"%%"  # an escaped percent sign: not a placeholder, matched so that it is skipped
    r"|%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgG]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgG]"  # %s, %d, %.1f
    r"|\{\{ ?[A-Za-z_][\w.]* ?\}\}"  # {{ name }} in the editable email templates
    r"|\{[A-Za-z_]\w*\}"  # {name} (str.format)
    r"|</?[a-zA-Z][^>]*>"  # HTML tags: the translation keeps the markup
)


def _placeholders(text: str, python_format: bool) -> Counter:
    found = Counter()
    for match in PLACEHOLDER.findall(text):
        if match == "%%":
            continue
        if match.startswith("%") and not python_format:
            continue  # a literal "100%" in a string that is not %-formatted
        found[re.sub(r"\s+", "", match)] += 1
    return found


def _positional(text: str, python_format: bool) -> list[str]:
    """The unnamed %s/%d in order: their order cannot change in a translation."""
    if not python_format:
        return []
    return [m for m in re.findall(r"%%|%[-#0 +]*\d*(?:\.\d+)?[sdifr]", text) if m != "%%"]


def placeholder_problems(entry: polib.POEntry) -> list[str]:
    """What differs between an entry's placeholders and its translations'."""
    python_format = "python-format" in entry.flags
    problems = []
    if entry.msgid_plural:
        singular = _placeholders(entry.msgid, python_format)
        plural = _placeholders(entry.msgid_plural, python_format)
        for index, text in sorted(entry.msgstr_plural.items()):
            if not text:
                continue
            got = _placeholders(text, python_format)
            # Form 0 may read "one row" where the English has "%(count)s row"
            # only if the English singular already left the number out.
            if got != plural and not (index == 0 and got == singular):
                problems.append(f"msgstr[{index}] has {dict(got)}, msgid_plural {dict(plural)}")
            if _positional(text, python_format) != _positional(
                entry.msgid_plural, python_format
            ) and _positional(text, python_format) != _positional(entry.msgid, python_format):
                problems.append(f"msgstr[{index}] changes the order of %s/%d")
    elif entry.msgstr:
        expected = _placeholders(entry.msgid, python_format)
        got = _placeholders(entry.msgstr, python_format)
        if got != expected:
            problems.append(f"msgstr has {dict(got)}, msgid {dict(expected)}")
        if _positional(entry.msgstr, python_format) != _positional(entry.msgid, python_format):
            problems.append("msgstr changes the order of %s/%d")
    return problems


def _language(path: Path) -> str:
    return path.parent.parent.name


def _catalogue_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _show(entry: polib.POEntry) -> str:
    where = entry.occurrences[0] if entry.occurrences else ("?", "")
    return f"{where[0]}:{where[1]} {entry.msgid[:70]!r}"


def _load(path: Path) -> polib.POFile:
    return polib.pofile(str(path), wrapwidth=0)


# --- The checks prove they notice a broken entry --------------------------------


@pytest.mark.parametrize(
    ("msgid", "msgstr", "broken"),
    [
        ("Hello %(name)s", "Hallo %(name)s", False),
        ("Hello %(name)s", "Hallo %(nmae)s", True),
        ("Hello %(name)s", "Hallo", True),
        ("%s of %s", "%s von %s", False),
        ("%s of %d", "%d von %s", True),
        ("Dear {{ name }},", "Sayın {{ name }},", False),
        ("Dear {{ name }},", "Sayın {{ isim }},", True),
        ("Read <a href='%(url)s'>this</a>", "<a href='%(url)s'>Das</a> lesen", False),
        ("Read <strong>this</strong>", "Das lesen", True),
        ("100% done", "100 % erledigt", False),
    ],
)
def test_the_placeholder_check_notices_a_renamed_or_dropped_placeholder(msgid, msgstr, broken):
    """Given an entry whose translation renames, drops or reorders a placeholder,
    then the check reports it; a faithful translation passes."""
    python_format = "%" in msgid and "100%" not in msgid
    entry = polib.POEntry(
        msgid=msgid, msgstr=msgstr, flags=["python-format"] if python_format else []
    )
    assert bool(placeholder_problems(entry)) is broken


def test_the_placeholder_check_reads_every_plural_form():
    """Given a plural entry whose second form drops the count, then it is reported;
    a first form that reads "one row" is fine only when the English singular does."""
    entry = polib.POEntry(
        msgid="%(count)s row",
        msgid_plural="%(count)s rows",
        flags=["python-format"],
        msgstr_plural={0: "%(count)s Zeile", 1: "Zeilen"},
    )
    assert placeholder_problems(entry) == ["msgstr[1] has {}, msgid_plural {'%(count)s': 1}"]
    singular_without_number = polib.POEntry(
        msgid="one row",
        msgid_plural="%(count)s rows",
        flags=["python-format"],
        msgstr_plural={0: "eine Zeile", 1: "%(count)s Zeilen"},
    )
    assert placeholder_problems(singular_without_number) == []


# --- The catalogues -------------------------------------------------------------


def test_there_is_a_catalogue_for_every_language_the_app_offers(settings):
    """Every language in LANGUAGES but English (the source) has a catalogue."""
    offered = {code for code, _name in settings.LANGUAGES if code != "en"}
    present = {_language(path).lower().replace("_", "-") for path in CATALOGUES}
    assert offered and offered == present


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_the_header_is_clean_and_names_its_plural_rule(path):
    """A fuzzy header is dropped when compiling, and with it the plural rule:
    Turkish and Chinese would then count like English."""
    catalogue = _load(path)
    assert not catalogue.metadata_is_fuzzy, "the header is marked fuzzy"
    assert catalogue.metadata.get("Language") == _language(path)
    forms = re.search(r"nplurals=(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    assert forms and int(forms.group(1)) == PLURAL_FORMS[_language(path)]


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(path):
    """A page shows no English in another language: every entry has its
    translation, none is a guess (fuzzy), none is left over (#~)."""
    catalogue = _load(path)
    untranslated = [_show(e) for e in catalogue.untranslated_entries()]
    fuzzy = [_show(e) for e in catalogue.fuzzy_entries()]
    obsolete = [e.msgid[:70] for e in catalogue.obsolete_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated:\n" + "\n".join(untranslated)
    assert not fuzzy, f"{len(fuzzy)} fuzzy:\n" + "\n".join(fuzzy)
    assert not obsolete, f"{len(obsolete)} obsolete:\n" + "\n".join(obsolete)


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_plural_entry_has_the_languages_number_of_forms(path):
    forms = PLURAL_FORMS[_language(path)]
    wrong = [
        _show(e)
        for e in _load(path)
        if e.msgid_plural and not e.obsolete and sorted(e.msgstr_plural) != list(range(forms))
    ]
    assert not wrong, f"plural entries without {forms} forms:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_translation_keeps_the_placeholders_of_its_source(path):
    problems = [
        f"{_show(e)}: {problem}"
        for e in _load(path)
        if not e.obsolete
        for problem in placeholder_problems(e)
    ]
    assert not problems, f"{len(problems)} placeholder mismatches:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_msgfmt_accepts_the_catalogue(path):
    """What `compilemessages` runs: format strings checked by gettext itself."""
    # compilemessages runs gettext's msgfmt from PATH on our own files, as this does.
    command = ["msgfmt", "--check", "-o", "/dev/null", str(path)]
    result = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
    assert result.returncode == 0, result.stderr


TURKISH_GLUED_SUFFIX = re.compile(r"(?:%\(\w+\)[sd]|\{\{ ?[\w.]+ ?\}\}|\{\w+\}|%[sd])['’]?[^\W\d_]")
# Characters that exist only in Simplified Chinese (their Traditional forms differ).
SIMPLIFIED_ONLY = set(
    "们这个为时设务码发关点积单数问题调选择输邮链页删编辑导报败错误账号语认证规则记录历优兑换"
    "与对从开级风险联话电订阅让请谢评价满荐过还没会员奖励帐户见标签状态类选项称"
)
GERMAN_INFORMAL = re.compile(r"\b(?:du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b")


def _translations(entry: polib.POEntry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def test_the_language_checks_notice_their_mistakes():
    """Given a glued Turkish suffix, a Simplified character or an informal German
    "du", then the checks below find them; correct texts pass."""
    assert TURKISH_GLUED_SUFFIX.search("%(name)s'nin kartı")
    assert TURKISH_GLUED_SUFFIX.search("{{ first_name }}’e")
    assert not TURKISH_GLUED_SUFFIX.search("Müşteri: %(name)s, %(count)s puan")
    assert SIMPLIFIED_ONLY & set("积分兑换")
    assert not SIMPLIFIED_ONLY & set("積分兌換，感謝您的回覆")
    assert GERMAN_INFORMAL.search("Hast du Zeit?")
    assert not GERMAN_INFORMAL.search("Haben Sie Zeit? Dieser Kunde")


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_each_language_reads_as_its_own(path):
    """Turkish never glues a suffix to a placeholder (the name decides the vowel),
    Traditional Chinese uses no Simplified character, German says "Sie"."""
    language = _language(path)
    wrong = []
    for entry in _load(path):
        for text in _translations(entry):
            if language == "tr" and TURKISH_GLUED_SUFFIX.search(text):
                wrong.append(f"{_show(entry)} -> {text[:60]!r}: suffix glued to a placeholder")
            if language == "zh_Hant" and SIMPLIFIED_ONLY & set(text):
                chars = "".join(sorted(SIMPLIFIED_ONLY & set(text)))
                wrong.append(f"{_show(entry)} -> {text[:60]!r}: Simplified {chars}")
            if language == "de" and GERMAN_INFORMAL.search(text):
                wrong.append(f"{_show(entry)} -> {text[:60]!r}: informal 'du'")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[tuple[str | None, str]]:
    """The msgids makemessages finds in the code today.

    makemessages writes next to any locale/ folder above the files it reads,
    whatever LOCALE_PATHS says: it runs on a copy of the code without one, so
    the real catalogues are never touched.
    """
    copy = tmp_path_factory.mktemp("code") / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*IGNORED, "locale", ".*"))
    (copy / "locale").mkdir()
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]), contextlib.chdir(copy):
        call_command("makemessages", locale=["de"], no_obsolete=True, verbosity=0)
    catalogue = polib.pofile(str(copy / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    shutil.rmtree(copy)
    return {(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete}


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_the_catalogue_holds_exactly_the_strings_the_code_uses(path, extracted):
    """A string added to the code and not yet in the catalogue would show in
    English; one removed from the code is dead weight. `make messages` fixes both."""
    known = {(e.msgctxt, e.msgid) for e in _load(path) if not e.obsolete}
    missing = sorted(msgid[:70] for _ctx, msgid in extracted - known)
    unused = sorted(msgid[:70] for _ctx, msgid in known - extracted)
    assert not missing, f"{len(missing)} strings not in the catalogue:\n" + "\n".join(missing)
    assert not unused, f"{len(unused)} entries the code no longer uses:\n" + "\n".join(unused)
