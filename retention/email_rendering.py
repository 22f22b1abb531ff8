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
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from customers.links import make_token
from customers.models import Customer

from . import placeholders
from .models import EmailTemplateTranslation, OutgoingEmail

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Control characters (CR, LF, tab, NUL...) and Unicode line separators.
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
FALLBACK_LANGUAGE = "en"


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
    translations: Iterable[EmailTemplateTranslation], language: str
) -> EmailTemplateTranslation | None:
    """The customer's language, else English, else whichever exists."""
    by_language = {t.language: t for t in translations}
    return (
        by_language.get(language)
        or by_language.get(FALLBACK_LANGUAGE)
        or next(iter(by_language.values()), None)
    )


def placeholder_values(customer: Customer, names: set[str]) -> dict[str, str]:
    registry = placeholders.registered()
    return {name: str(registry[name].value(customer) or "") for name in names if name in registry}


def substitute(text: str, values: dict[str, str]) -> str:
    """Plain text: known placeholders replaced, unknown ones removed."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text or "")


def substitute_html(text: str, values: dict[str, str], *, source_is_html: bool) -> str:
    """HTML: values escaped (links made clickable); plain-text sources escaped too."""

    def value(match: re.Match) -> str:
        raw = values.get(match.group(1), "")
        if raw.startswith(("https://", "http://")) and not any(c.isspace() for c in raw):
            return f'<a href="{escape(raw)}">{escape(raw)}</a>'
        return escape(raw).replace("\n", "<br>")

    parts = []
    position = 0
    for match in PLACEHOLDER.finditer(text or ""):
        literal = text[position : match.start()]
        parts.append(literal if source_is_html else escape(literal))
        parts.append(value(match))
        position = match.end()
    tail = (text or "")[position:]
    parts.append(tail if source_is_html else escape(tail))
    html = "".join(parts)
    if source_is_html:
        return html
    paragraphs = re.split(r"\n\s*\n", html.replace("\r\n", "\n").strip())
    return "\n".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def open_pixel_url(email_id: int) -> str:
    token = make_token("open", email_id)
    return placeholders.absolute_url(reverse("retention:email_open", args=[token]))


def one_click_unsubscribe_url(customer_id: int) -> str:
    token = make_token("unsubscribe", customer_id)
    return placeholders.absolute_url(reverse("retention:unsubscribe_one_click", args=[token]))


def render_follow_up(
    customer: Customer,
    translation_row: EmailTemplateTranslation,
    *,
    email_id: int | None = None,
) -> RenderedEmail:
    """A follow-up for `customer`, in the language of `translation_row`.

    `email_id` adds the open-tracking pixel (unless EMAIL_OPEN_TRACKING is off);
    previews pass none.
    """
    language = translation_row.language
    with translation.override(language):
        names = used_placeholders(
            translation_row.subject, translation_row.body_text, translation_row.body_html
        )
        values = placeholder_values(customer, names | {"unsubscribe_link"})
        unsubscribe = values["unsubscribe_link"]
        subject = single_line(substitute(translation_row.subject, values))
        body = substitute(translation_row.body_text, values).strip()
        if translation_row.body_html.strip():
            html_body = substitute_html(translation_row.body_html, values, source_is_html=True)
        else:
            html_body = substitute_html(translation_row.body_text, values, source_is_html=False)
        context = {
            "body": body,
            "body_html": html_body,
            "subject": subject,
            "unsubscribe_url": unsubscribe,
            "business_name": settings.BUSINESS_NAME,
            "pixel_url": open_pixel_url(email_id)
            if email_id and settings.EMAIL_OPEN_TRACKING
            else "",
            "language": language,
        }
        text = render_to_string("retention/email/follow_up.txt", context)
        html = render_to_string("retention/email/follow_up.html", context)
    return RenderedEmail(language=language, subject=subject, text=text, html=html)


def render_staff_notice(email: OutgoingEmail) -> RenderedEmail:
    """The "your customer's risk rose" email to the account manager (files, not staff-edited)."""
    customer = email.customer
    risk = getattr(customer, "risk", None)
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "customer": customer,
            "risk": risk,
            "level": str(risk.get_level_display()).lower() if risk else "",
            "url": placeholders.absolute_url(customer.get_absolute_url()),
            "business_name": settings.BUSINESS_NAME,
            "recipient": email.recipient_user,
        }
        subject = single_line(render_to_string("retention/email/risk_notice_subject.txt", context))
        text = render_to_string("retention/email/risk_notice.txt", context)
        html = render_to_string("retention/email/risk_notice.html", context)
    return RenderedEmail(language=language, subject=subject, text=text, html=html)


def customers_for_rendering() -> QuerySet:
    """Customers with what the built-in placeholders read, in the same query."""
    return Customer.objects.select_related("company", "owner", "owner__staff_profile")
