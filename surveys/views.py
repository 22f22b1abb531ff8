"""Staff pages: surveys list, editor, translations, sending, results, answers, export."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from audit.log import parameter_names, record
from audit.models import AuditEntry
from customers import access as customer_access
from customers.filters import CustomerFilter
from customers.forms import staff_users
from customers.models import Customer
from customers.params import parse_id
from customers.views import StaffRequiredMixin

from . import access, editing, exporting, invitations, nps, selectors
from .forms import (
    AnswerSearchForm,
    InvitationFilterForm,
    PeriodForm,
    QuestionFormSet,
    SendToCustomerForm,
    SurveyForm,
    TranslationForm,
    translation_language_choices,
)
from .models import Question, Survey, SurveyInvitation, SurveyResponse

PER_PAGE = 25


class SurveyListView(StaffRequiredMixin, View):
    permission_required = access.VIEW_RESULTS

    def get(self, request: HttpRequest) -> HttpResponse:
        # Counted in subqueries: two joins in one GROUP BY would multiply the rows.
        surveys = Survey.objects.annotate(
            invited=_count_of(SurveyInvitation), answered=_count_of(SurveyResponse)
        ).order_by("name", "id")
        search = request.GET.get("q", "").strip()
        kind = request.GET.get("kind", "")
        if search:
            surveys = surveys.filter(Q(name__icontains=search) | Q(title__icontains=search))
        if kind in Survey.Kind.values:
            surveys = surveys.filter(kind=kind)
        page = Paginator(surveys, PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "search": search,
            "kind": kind,
            "kinds": Survey.Kind.choices,
            "query": query.urlencode(),
            "can_create": request.user.has_perm(access.CREATE),
        }
        return render(request, "surveys/survey_list.html", context)


def _count_of(model) -> Coalesce:
    rows = model.objects.filter(survey=OuterRef("pk")).order_by().values("survey")
    return Coalesce(Subquery(rows.annotate(n=Count("id")).values("n")), 0)


class SurveyEditView(StaffRequiredMixin, View):
    """Create (no pk) or edit a survey with its questions inline."""

    permission_required = access.EDIT
    template_name = "surveys/survey_form.html"

    def _survey(self, pk: int | None) -> Survey:
        if pk is None:
            if not self.request.user.has_perm(access.CREATE):
                raise PermissionDenied(_("Your role does not allow this."))
            return Survey()
        return get_object_or_404(Survey, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        survey = self._survey(pk)
        formset = QuestionFormSet(
            instance=survey, prefix="questions", queryset=self._questions(survey)
        )
        return self._render(survey, SurveyForm(instance=survey), formset)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        survey = self._survey(pk)
        form = SurveyForm(request.POST, instance=survey)
        formset = QuestionFormSet(
            request.POST, instance=survey, prefix="questions", queryset=self._questions(survey)
        )
        # The formset's NPS rule needs the kind chosen in this very submission.
        if form.is_valid():
            formset.instance = form.instance
        if not (form.is_valid() and formset.is_valid()):
            return self._render(survey, form, formset, status=422)
        survey = editing.survey_save(survey_form=form, question_formset=formset)
        messages.success(request, _("Survey “%(name)s” saved.") % {"name": survey.name})
        return redirect("surveys:edit", pk=survey.pk)

    def _questions(self, survey: Survey):
        # Each question form shows its choices: loaded in one query, not one per form.
        if survey.pk is None:
            return Question.objects.none()
        return Question.objects.filter(survey=survey).prefetch_related("choices")

    def _render(self, survey, form, formset, status: int = 200) -> HttpResponse:
        context = {
            "survey": survey,
            "form": form,
            "formset": formset,
            "languages": translation_language_choices(),
        }
        return render(self.request, self.template_name, context, status=status)


class SurveyTranslateView(StaffRequiredMixin, View):
    permission_required = access.EDIT
    template_name = "surveys/survey_translate.html"

    def _setup(self, pk: int, language: str):
        if language not in dict(translation_language_choices()):
            raise Http404
        survey = get_object_or_404(Survey, pk=pk)
        return survey, selectors.questions_with_choices(survey)

    def get(self, request: HttpRequest, pk: int, language: str) -> HttpResponse:
        survey, questions = self._setup(pk, language)
        form = TranslationForm(survey=survey, questions=questions, language=language)
        return self._render(survey, form, language)

    def post(self, request: HttpRequest, pk: int, language: str) -> HttpResponse:
        survey, questions = self._setup(pk, language)
        form = TranslationForm(request.POST, survey=survey, questions=questions, language=language)
        if not form.is_valid():
            return self._render(survey, form, language, status=422)
        editing.survey_translations_save(form=form)
        messages.success(request, _("Translations saved."))
        return redirect("surveys:translate", pk=survey.pk, language=language)

    def _render(self, survey, form, language, status: int = 200) -> HttpResponse:
        context = {
            "survey": survey,
            "form": form,
            "language": language,
            "language_name": dict(settings.LANGUAGES)[language],
            "languages": translation_language_choices(),
        }
        return render(self.request, self.template_name, context, status=status)


class SurveyResultsView(StaffRequiredMixin, View):
    permission_required = access.VIEW_RESULTS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        period_form = PeriodForm(request.GET)
        period = (period_form.is_valid() and period_form.cleaned_data["period"]) or "month"
        questions = selectors.questions_with_choices(survey)
        rankings = selectors.choice_rankings(survey, questions)
        numbers = selectors.number_summaries(survey)
        context = {
            "survey": survey,
            "counts": selectors.invitation_counts(survey),
            "period_form": period_form,
            "rankings": rankings,
            "number_rows": [
                (question, numbers.get(question.pk))
                for question in questions
                if question.kind in Question.NUMBER_KINDS
            ],
            "latest_texts": list(selectors.text_answers(questions)[:5]),
            "has_text_questions": any(q.kind == Question.Kind.TEXT for q in questions),
            "can_export": request.user.has_perm(access.EXPORT),
            "can_edit": request.user.has_perm(access.EDIT),
            "can_send_segment": request.user.has_perm(access.SEND_SEGMENT),
        }
        charts = {
            "rankings": [
                {
                    "title": ranking.question.text,
                    "labels": [label for label, _count in ranking.rows],
                    "counts": [count for _label, count in ranking.rows],
                }
                for ranking in rankings
            ]
        }
        if survey.kind == Survey.Kind.NPS:
            figures = nps.by_period(survey.responses.all(), period)
            context["overall"] = nps.combined(figures)
            context["figures"] = [
                (_period_label(figure.period, period), figure) for figure in figures
            ]
            charts["nps"] = {
                "labels": [_period_label(figure.period, period) for figure in figures],
                "scores": [figure.score for figure in figures],
                "promoters": [figure.promoters for figure in figures],
                "passives": [figure.passives for figure in figures],
                "detractors": [figure.detractors for figure in figures],
            }
            context["period"] = period
        context["charts"] = charts
        return render(request, "surveys/results.html", context)


def _period_label(moment, period: str) -> str:
    if period == "quarter":
        return f"{moment.year} Q{(moment.month - 1) // 3 + 1}"
    if period == "week":
        return moment.strftime("%G-W%V")
    return moment.strftime("%Y-%m")


class SurveyAnswersView(StaffRequiredMixin, View):
    """Free-text answers: searchable, filterable by question, paginated."""

    permission_required = access.VIEW_RESULTS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        text_questions = list(survey.questions.filter(kind=Question.Kind.TEXT))
        form = AnswerSearchForm(request.GET, questions=text_questions)
        search, question_id = "", None
        if form.is_valid():
            search = form.cleaned_data["q"].strip()
            question_id = form.cleaned_data["question"]
        answers = selectors.text_answers(text_questions, search=search, question_id=question_id)
        # Deep pages: skip the offset over ids only, then load just this page's rows.
        page = Paginator(answers.values_list("pk", flat=True), PER_PAGE).get_page(
            request.GET.get("page")
        )
        page.object_list = list(answers.filter(pk__in=list(page.object_list)))
        query = request.GET.copy()
        query.pop("page", None)
        context = {"survey": survey, "form": form, "page": page, "query": query.urlencode()}
        return render(request, "surveys/answers.html", context)


class SurveyExportView(StaffRequiredMixin, View):
    permission_required = access.EXPORT

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        details = {"export": "survey_answers"}
        record(
            AuditEntry.Action.CUSTOMERS_EXPORTED, request=request, target=survey, details=details
        )
        response = StreamingHttpResponse(
            exporting.response_csv_lines(survey), content_type="text/csv; charset=utf-8"
        )
        filename = f"survey-{survey.pk}-answers.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class SurveyInvitationsView(StaffRequiredMixin, View):
    """Who was invited to a survey, and where each invitation stands."""

    permission_required = access.VIEW_RESULTS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        owner_choices = [(u.pk, u.get_full_name() or u.get_username()) for u in staff_users()]
        form = InvitationFilterForm(
            request.GET,
            survey=survey,
            choices=selectors.filterable_choices(survey),
            owner_choices=owner_choices,
        )
        rows = survey.invitations.select_related("customer").order_by("-created_at", "-id")
        if form.is_valid():
            rows = selectors.invitations_filtered(rows, form.cleaned_data, user=request.user)
        else:  # a date typed by hand: nothing rather than everything, with the error shown
            rows = rows.none()
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {"survey": survey, "form": form, "page": page, "query": query.urlencode()}
        return render(request, "surveys/invitations.html", context)


class SendToSegmentView(StaffRequiredMixin, View):
    """Pick customers with the customer list's filters, see the counts, confirm."""

    permission_required = access.SEND_SEGMENT

    def _filter(self, request: HttpRequest, data) -> CustomerFilter:
        return CustomerFilter(data, queryset=Customer.objects.all(), user=request.user)

    def _filtered(self, customer_filter: CustomerFilter) -> bool:
        data = customer_filter.form.cleaned_data
        return any(value not in (None, "", []) for name, value in data.items() if name != "sort")

    def _page(self, request, survey, customer_filter, plan) -> HttpResponse:
        filtered = self._filtered(customer_filter) if plan else True
        context = {
            "survey": survey,
            "filter": customer_filter,
            "plan": plan,
            "filtered": filtered,
            "confirm": plan and invitations.segment_needs_confirmation(plan, filtered=filtered),
            "query": request.GET.urlencode(),
        }
        return render(request, "surveys/send_segment.html", context)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk, is_active=True)
        customer_filter = self._filter(request, request.GET)
        plan = None
        if request.GET.get("preview") and customer_filter.is_valid():
            plan = invitations.segment_plan(survey=survey, customers=customer_filter.qs)
        return self._page(request, survey, customer_filter, plan)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk, is_active=True)
        customer_filter = self._filter(request, request.POST)
        if not customer_filter.is_valid():
            messages.error(request, _("The filters are not valid; nothing was sent."))
            return redirect("surveys:send_segment", pk=survey.pk)
        plan = invitations.segment_plan(survey=survey, customers=customer_filter.qs)
        filtered = self._filtered(customer_filter)
        confirmed = parse_id(request.POST.get("confirm", ""))
        if invitations.segment_needs_confirmation(
            plan, filtered=filtered
        ) and not invitations.segment_confirmed(plan, confirmed):
            if confirmed is not None:
                messages.warning(request, _("The number of customers changed: confirm again."))
            return self._page(request, survey, customer_filter, plan)
        with transaction.atomic():
            count = invitations.invitations_create_for_segment(
                survey=survey, customers=customer_filter.qs, created_by=request.user
            )
            details = {"invitations": count, "filters": parameter_names(request.POST)}
            record(
                AuditEntry.Action.SURVEY_SENT_TO_SEGMENT,
                request=request,
                target=survey,
                details=details,
            )
        messages.success(
            request,
            _("%(count)s invitations created; the emails are on their way.") % {"count": count},
        )
        return redirect("surveys:invitations", pk=survey.pk)


class SendToCustomerView(StaffRequiredMixin, View):
    """From the customer page: email a survey, or make a link to copy (shown once)."""

    permission_required = access.SEND

    def post(self, request: HttpRequest, customer_id: int, mode: str) -> HttpResponse:
        if mode not in ("email", "link"):
            raise Http404
        customer = customer_access.get_customer_for_user(request.user, customer_id)
        if not access.can_send_to(request.user, customer):
            raise PermissionDenied(
                _("Only this customer's account manager or an admin can send them surveys.")
            )
        form = SendToCustomerForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose an active survey."))
            return redirect(customer)
        survey = form.cleaned_data["survey"]
        if mode == "link":
            invitation, url = invitations.invitation_link_create(
                survey=survey, customer=customer, created_by=request.user
            )
            context = {"customer": customer, "survey": survey, "invitation": invitation, "url": url}
            return render(request, "surveys/copy_link.html", context)
        if not customer.email:
            messages.error(request, _("%(name)s has no email address.") % {"name": customer.name})
            return redirect(customer)
        invitations.invitation_create(
            survey=survey,
            customer=customer,
            trigger=SurveyInvitation.Trigger.MANUAL,
            created_by=request.user,
        )
        messages.success(
            request,
            _("“%(survey)s” is on its way to %(email)s.")
            % {"survey": survey.name, "email": customer.email},
        )
        return redirect(customer)
