"""Turning a template and a customer into a subject, a text part and an HTML part.

Staff write templates, so no template code of theirs is ever executed: only
`{{ name }}` placeholders from the registry (retention/placeholders.py) are
replaced, by this module, with values escaped for the HTML part. Subjects and
names are single lines: a CR or LF (a header-injection attempt, or a stray
newline from an import) becomes a space.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from accounts import languages, passwords
from customers.languages import FALLBACK_LANGUAGE as FALLBACK
from customers.languages import language_for_texts
from customers.links import make_token
from customers.models import Customer

from . import placeholders
from .models import EmailTemplateTranslation, OutgoingEmail

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Control characters (CR, LF, tab, NUL...) and Unicode line separators.
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
FALLBACK_LANGUAGE = FALLBACK  # every template has an English version (forms.py)


@dataclass(frozen=True)
class RenderedEmail:
    language: str
    subject: str
    text: str
    html: str


def single_line(value: str) -> str:
    """A header-safe value: every line break or control character becomes one space."""
    return LINE_BREAKS.sub(" ", value or "").strip()


def used_placeholders(*texts: str) -> set[str]:
    return {match.group(1) for text in texts for match in PLACEHOLDER.finditer(text or "")}


def unknown_placeholders(*texts: str) -> set[str]:
    return used_placeholders(*texts) - set(placeholders.registered())


def pick_translation(
    translations: Iterable[EmailTemplateTranslation], customer: Customer
) -> EmailTemplateTranslation | None:
    """The version in the customer's language, else the business's, else English
    (customers/languages.py), else whichever exists."""
    by_language = {t.language: t for t in translations}
    if not by_language:
        return None
    language = language_for_texts(customer, set(by_language))
    return by_language.get(language) or next(iter(by_language.values()))


def placeholder_values(customer: Customer, names: set[str]) -> dict[str, str]:
    registry = placeholders.registered()
    return {name: str(registry[name].value(customer) or "") for name in names if name in registry}


def substitute(text: str, values: dict[str, str]) -> str:
    """Plain text: known placeholders replaced, unknown ones removed."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text or "")


def html_skeleton(text: str, *, source_is_html: bool) -> str:
    """The HTML body with placeholders kept as `{{ name }}`: literal text escaped (for a
    plain-text source, which also becomes paragraphs), values filled in by fill_html."""
    text = text or ""
    if source_is_html:
        return text
    parts = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append("{{ %s }}" % match.group(1))  # noqa: UP031 - braces in the format
        position = match.end()
    parts.append(escape(text[position:]))
    html = "".join(parts)
    paragraphs = re.split(r"\n\s*\n", html.replace("\r\n", "\n").strip())
    return "\n".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def fill_html(html: str, values: dict[str, str], *, markup: dict[str, str]) -> str:
    """Placeholders replaced by escaped values (web links made clickable); `markup` holds
    this module's own pieces, already safe HTML."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in markup:
            return markup[name]
        raw = values.get(name, "")
        if raw.startswith(("https://", "http://")) and not any(c.isspace() for c in raw):
            return f'<a href="{escape(raw)}">{escape(raw)}</a>'
        return escape(raw).replace("\n", "<br>")

    return PLACEHOLDER.sub(value, html)


def open_pixel_url(email_id: int) -> str:
    return placeholders.link_url("retention:email_open", make_token("open", email_id))


def one_click_unsubscribe_url(customer_id: int) -> str:
    token = make_token("unsubscribe", customer_id)
    return placeholders.link_url("retention:unsubscribe_one_click", token)


@dataclass(frozen=True)
class PreparedTemplate:
    """One language version wrapped in the layout once, placeholders still in place: what
    every email of a batch in that language shares. Filling it is string work only."""

    language: str
    subject: str
    text: str
    html: str
    names: frozenset[str]


UNSUBSCRIBE_MARK, PIXEL_MARK = "__unsubscribe__", "__pixel__"


def prepare(translation_row: EmailTemplateTranslation) -> PreparedTemplate:
    language = translation_row.language
    with translation.override(language):
        if translation_row.body_html.strip():
            body_html = html_skeleton(translation_row.body_html, source_is_html=True)
        else:
            body_html = html_skeleton(translation_row.body_text, source_is_html=False)
        context = {
            "body": (translation_row.body_text or "").strip(),
            "body_html": body_html,
            "unsubscribe_url": "{{ %s }}" % UNSUBSCRIBE_MARK,  # noqa: UP031
            "pixel": "{{ %s }}" % PIXEL_MARK,  # noqa: UP031
            "business_name": settings.BUSINESS_NAME,
            "language": language,
        }
        text = render_to_string("retention/outreach/follow_up.txt", context)
        html = render_to_string("retention/outreach/follow_up.html", context)
    names = used_placeholders(
        translation_row.subject, translation_row.body_text, translation_row.body_html
    )
    return PreparedTemplate(language, translation_row.subject, text, html, frozenset(names))


def fill(
    prepared: PreparedTemplate,
    customer: Customer,
    *,
    email_id: int | None = None,
    unsubscribe_token: str | None = None,
) -> RenderedEmail:
    """`prepared` personalised for `customer`. `email_id` adds the open-tracking pixel
    (unless EMAIL_OPEN_TRACKING is off); previews pass none."""
    with translation.override(prepared.language):
        values = placeholder_values(customer, prepared.names - {"unsubscribe_link"})
    token = unsubscribe_token or make_token("unsubscribe", customer.pk)
    unsubscribe = placeholders.link_url("retention:unsubscribe", token)
    values["unsubscribe_link"] = unsubscribe
    pixel = ""
    if email_id and settings.EMAIL_OPEN_TRACKING:
        pixel = (
            f'<img src="{escape(open_pixel_url(email_id))}" width="1" height="1" alt="" '
            'style="display:block;border:0;">'
        )
    text = substitute(prepared.text, {**values, UNSUBSCRIBE_MARK: unsubscribe, PIXEL_MARK: ""})
    html = fill_html(
        prepared.html, values, markup={UNSUBSCRIBE_MARK: escape(unsubscribe), PIXEL_MARK: pixel}
    )
    subject = single_line(substitute(prepared.subject, values))
    return RenderedEmail(language=prepared.language, subject=subject, text=text, html=html)


def render_follow_up(
    customer: Customer,
    translation_row: EmailTemplateTranslation,
    *,
    email_id: int | None = None,
) -> RenderedEmail:
    """A follow-up for `customer`, in the language of `translation_row`."""
    return fill(prepare(translation_row), customer, email_id=email_id)


def render_staff_notice(email: OutgoingEmail) -> RenderedEmail:
    """The "your customer's risk rose" email to the account manager (files, not staff-edited),
    in the language they chose for the app, else the site's."""
    customer = email.customer
    risk = getattr(customer, "risk", None)
    recipient = email.recipient_user
    language = (recipient and languages.language_of(recipient)) or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "customer": customer,
            "risk": risk,
            "level": str(risk.get_level_display()).lower() if risk else "",
            "url": placeholders.absolute_url(customer.get_absolute_url()),
            "business_name": settings.BUSINESS_NAME,
            "recipient": email.recipient_user,
        }
        subject = single_line(
            render_to_string("retention/outreach/risk_notice_subject.txt", context)
        )
        text = render_to_string("retention/outreach/risk_notice.txt", context)
        html = render_to_string("retention/outreach/risk_notice.html", context)
    return RenderedEmail(language=language, subject=subject, text=text, html=html)


def render_password_reset(email: OutgoingEmail) -> RenderedEmail:
    """The reset link to a staff member (accounts/ makes the link and the text)."""
    language = email.language or settings.LANGUAGE_CODE
    subject, text, html = passwords.reset_email(email.recipient_user, language=language)
    return RenderedEmail(language=language, subject=single_line(subject), text=text, html=html)


def customers_for_rendering() -> QuerySet:
    """Customers with what the built-in placeholders read, in the same query."""
    return Customer.objects.select_related("company", "owner", "owner__staff_profile")
