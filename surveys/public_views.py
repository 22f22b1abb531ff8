"""The page customers answer a survey on: no login, only the link's token.

Rendered in the customer's preferred language. Every request is rate-limited per
address and per token; a bad, expired or unknown link gets the one friendly
bad-link page; a used link says "thank you, already answered".
"""

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from customers.languages import customer_language, in_language
from customers.links import BadLink, bad_link_response

from . import ratelimit
from .forms import AnswerForm
from .invitations import find_invitation
from .models import Choice, SurveyInvitation
from .responses import AlreadyAnswered, response_submit

RATE_WINDOW_SECONDS = 60
TOKEN_RATE_WINDOW_SECONDS = 600


def _retry_after(request: HttpRequest, token: str) -> int:
    """0 if the request may go on; else the seconds until every window that refused it
    ends (the per-link window is 10 minutes: "60" would send a client back too soon)."""
    address = request.META.get("REMOTE_ADDR", "")
    by_address = ratelimit.hit(
        "survey-ip",
        address,
        limit=settings.SURVEY_RATE_LIMIT_PER_IP,
        window_seconds=RATE_WINDOW_SECONDS,
    )
    by_token = ratelimit.hit(
        "survey-token",
        token,
        limit=settings.SURVEY_RATE_LIMIT_PER_TOKEN,
        window_seconds=TOKEN_RATE_WINDOW_SECONDS,
    )
    refused = [
        seconds
        for allowed, seconds in (
            (by_address, RATE_WINDOW_SECONDS),
            (by_token, TOKEN_RATE_WINDOW_SECONDS),
        )
        if not allowed
    ]
    return max((ratelimit.seconds_left(seconds) for seconds in refused), default=0)


def _context(invitation: SurveyInvitation, language: str, **extra) -> dict:
    survey = invitation.survey
    return {
        "business_name": settings.BUSINESS_NAME,
        "survey": survey,
        "title": survey.translated("title", language),
        "intro": survey.translated("intro", language),
        "thank_you": survey.translated("thank_you", language),
        **extra,
    }


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def answer_view(request: HttpRequest, token: str) -> HttpResponse:
    if retry_after := _retry_after(request, token):
        response = render(
            request,
            "public/rate_limited.html",
            {"business_name": settings.BUSINESS_NAME},
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    try:
        invitation = find_invitation(token)
    except BadLink as error:
        return bad_link_response(request, error)
    language = customer_language(invitation.customer)
    with translation.override(language):
        return in_language(_answer(request, invitation, language), language)


def _answer(request: HttpRequest, invitation: SurveyInvitation, language: str) -> HttpResponse:
    """The page itself, in the language already active (answer_view chose it)."""
    if invitation.used_at is not None:
        return _thanks(request, invitation, language)
    questions = list(
        invitation.survey.questions.prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))
        )
    )
    if request.method == "POST":
        form = AnswerForm(request.POST, questions=questions, language=language)
        if form.is_valid():
            try:
                response_submit(invitation=invitation, answers=form.answers(), language=language)
            except AlreadyAnswered:
                return _thanks(request, invitation, language)
            except BadLink as error:
                return bad_link_response(request, error)
            return redirect(f"{request.path}?done=1")
        status = 422
    else:
        form = AnswerForm(questions=questions, language=language)
        status = 200
    context = _context(invitation, language, form=form, fields=form.fields_by_question())
    return render(request, "surveys/public/answer.html", context, status=status)


def _thanks(request: HttpRequest, invitation: SurveyInvitation, language: str) -> HttpResponse:
    just_answered = request.GET.get("done") == "1"
    context = _context(invitation, language, just_answered=just_answered)
    return render(request, "surveys/public/thanks.html", context)
