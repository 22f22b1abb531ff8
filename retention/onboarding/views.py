"""Onboarding screens: the overview, checklist templates, step actions, and the
customer's own progress page (reached through a signed link, no login)."""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View

from customers import access, links
from customers.forms import staff_users
from customers.languages import customer_language, in_language
from customers.models import Customer
from customers.params import parse_id
from customers.views import StaffRequiredMixin

from . import checklists
from .forms import (
    ChecklistTemplateForm,
    OnboardingFilterForm,
    SkipStepForm,
    StartChecklistForm,
    TemplateStepFormSet,
)
from .models import Actor, Checklist, ChecklistStep, ChecklistTemplate
from .panels import onboarding_panel

FIGURES_DAYS = 365


def get_step_for_user(user, pk: int) -> ChecklistStep:
    """The step `pk` if `user` may tick it: the same rule as changing its customer."""
    step = get_object_or_404(ChecklistStep.objects.select_related("checklist__customer"), pk=pk)
    access.get_customer_for_user(user, step.checklist.customer_id, action="change")
    return step


def _panel_response(request: HttpRequest, customer: Customer, *, error: str = "") -> HttpResponse:
    """htmx gets the re-rendered card; a plain form post goes back to the customer page."""
    if request.htmx:
        html = onboarding_panel(request, customer, error=error)
        return HttpResponse(html, status=422 if error else 200)
    if error:
        messages.error(request, error)
    return redirect(customer.get_absolute_url() + "#onboarding-card")


class OnboardingOverviewView(StaffRequiredMixin, View):
    """Every customer with a running checklist: progress, what is overdue, what stalled."""

    permission_required = "retention.view_checklist"

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        stall_days = checklists.stall_days()
        owner_choices = [
            (user.pk, user.get_full_name() or user.get_username()) for user in staff_users()
        ]
        form = OnboardingFilterForm(request.GET or None, owner_choices=owner_choices)
        data = form.cleaned_data if form.is_bound and form.is_valid() else {}
        running = _overview_rows(data, user=request.user, today=today, stall_days=stall_days)
        # Deferred join: the page's ids come from the narrow (next_due_on, id) index,
        # then only those 25 rows are fetched with their customer and owner.
        page = Paginator(running.values_list("pk", flat=True), settings.CUSTOMERS_PER_PAGE)
        page = page.get_page(request.GET.get("page"))
        ids = list(page.object_list)
        by_id = Checklist.objects.select_related("customer__owner").in_bulk(ids)
        rows = [by_id[pk] for pk in ids if pk in by_id]
        # The overdue steps of the whole page in one query, not one per row.
        overdue = defaultdict(list)
        for step in ChecklistStep.objects.filter(
            checklist__in=rows, status=ChecklistStep.Status.OPEN, due_on__lt=today, required=True
        ).order_by("due_on", "position"):
            overdue[step.checklist_id].append(step)
        for checklist in rows:
            checklist.overdue_steps = overdue[checklist.pk]
            checklist.days_overdue = (
                (today - checklist.next_due_on).days
                if checklists.is_overdue(checklist, today)
                else 0
            )
            checklist.stalled = checklists.is_stalled(checklist, today, stall_days)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "stall_days": stall_days,
            "all_checklists": data.get("state") in ("started", "completed"),
            "figures": checklists.cached_completion_figures(
                since=today - timedelta(days=FIGURES_DAYS)
            ),
            "can_edit_templates": request.user.has_perm("retention.change_checklisttemplate"),
        }
        return render(request, "retention/onboarding/overview.html", context)


def _overview_rows(data: dict, *, user, today, stall_days: int):
    """The overview's checklists for its filters: running ones by default, most overdue
    first; `from`/`to` are the start day, or the completion day for completed ones."""
    state = data.get("state", "")
    first, last = data.get("from"), data.get("to")
    if state == "completed":
        rows = checklists.counted_checklists().filter(status=Checklist.Status.COMPLETED)
        rows = rows.order_by("-completed_at", "-id")
        if first:
            rows = rows.filter(completed_at__gte=_day_start(first))
        if last:
            rows = rows.filter(completed_at__lt=_day_start(last + timedelta(days=1)))
    else:
        if state == "started":
            rows = checklists.counted_checklists().order_by("-started_on", "-id")
        else:
            rows = Checklist.objects.filter(status=Checklist.Status.IN_PROGRESS).order_by(
                F("next_due_on").asc(nulls_last=True), "id"
            )
        if first:
            rows = rows.filter(started_on__gte=first)
        if last:
            rows = rows.filter(started_on__lte=last)
    if data.get("q"):
        rows = rows.filter(customer__search_text__icontains=data["q"].lower())
    if data.get("owner") == "me":
        rows = rows.filter(customer__owner=user)
    elif data.get("owner") == "none":
        rows = rows.filter(customer__owner__isnull=True)
    elif data.get("owner"):
        rows = rows.filter(customer__owner_id=data["owner"])
    if data.get("template"):
        rows = rows.filter(template=data["template"])
    if state == "overdue":
        rows = rows.filter(next_due_on__lt=today)
    elif state == "stalled":
        rows = rows.filter(checklists.stalled_q(today, stall_days))
    return rows


def _day_start(day):
    """Midnight at the start of `day` in the business's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class TemplateListView(StaffRequiredMixin, View):
    permission_required = "retention.view_checklisttemplate"

    def get(self, request: HttpRequest) -> HttpResponse:
        templates = ChecklistTemplate.objects.all()
        query = request.GET.get("q", "").strip()
        if query:
            templates = templates.filter(name__icontains=query)
        templates = templates.prefetch_related("steps")
        page = Paginator(templates, settings.CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "q": query,
            "query": f"q={query}" if query else "",
            "can_edit": request.user.has_perm("retention.change_checklisttemplate"),
        }
        return render(request, "retention/onboarding/template_list.html", context)


class TemplateEditView(StaffRequiredMixin, View):
    """Create (pk None) or edit a template and its steps on one page.

    Running checklists hold their own copy of the steps, so saving here never
    changes what a customer is already working through.
    """

    permission_required = "retention.change_checklisttemplate"

    def get_object(self, pk: int | None) -> ChecklistTemplate:
        if pk is None:
            if not self.request.user.has_perm("retention.add_checklisttemplate"):
                raise PermissionDenied(_("Your role does not allow this."))
            return ChecklistTemplate()
        return get_object_or_404(ChecklistTemplate, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = self.get_object(pk)
        form = ChecklistTemplateForm(instance=template)
        formset = TemplateStepFormSet(instance=template, prefix="steps")
        return self.render(template, form, formset)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = self.get_object(pk)
        form = ChecklistTemplateForm(request.POST, instance=template)
        formset = TemplateStepFormSet(request.POST, instance=template, prefix="steps")
        if form.is_valid() and formset.is_valid():
            with transaction.atomic():
                template = form.save()
                if template.is_default:
                    ChecklistTemplate.objects.exclude(pk=template.pk).update(is_default=False)
                formset.instance = template
                formset.save()
            messages.success(request, _("Checklist “%(name)s” saved.") % {"name": template.name})
            return redirect("retention:template_list")
        return self.render(template, form, formset, status=422)

    def render(self, template, form, formset, status: int = 200) -> HttpResponse:
        context = {"template": template, "form": form, "formset": formset}
        return render(
            self.request, "retention/onboarding/template_form.html", context, status=status
        )


class TemplateDeleteView(StaffRequiredMixin, View):
    permission_required = "retention.delete_checklisttemplate"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = get_object_or_404(ChecklistTemplate, pk=pk)
        template.delete()  # running checklists keep their copies (template set to NULL)
        messages.success(request, _("Checklist “%(name)s” deleted.") % {"name": template.name})
        return redirect("retention:template_list")


class ChecklistStartView(StaffRequiredMixin, View):
    def post(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, customer_id, action="change")
        form = StartChecklistForm(request.POST)
        if not form.is_valid():
            return _panel_response(request, customer, error=_("Choose a checklist to start."))
        try:
            checklists.checklist_start(
                customer=customer, template=form.cleaned_data["template"], started_by=request.user
            )
        except ValidationError as error:
            return _panel_response(request, customer, error=error.messages[0])
        customer.refresh_from_db()
        return _panel_response(request, customer)


class ChecklistCancelView(StaffRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        checklist = get_object_or_404(Checklist, pk=pk, status=Checklist.Status.IN_PROGRESS)
        customer = access.get_customer_for_user(
            request.user, checklist.customer_id, action="change"
        )
        checklists.checklist_cancel(checklist=checklist)
        customer.refresh_from_db()
        return _panel_response(request, customer)


class StepActionView(StaffRequiredMixin, View):
    """Done / skip (with a reason) / reopen one step of a customer's checklist."""

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        step = get_step_for_user(request.user, pk)
        if step.checklist.status == Checklist.Status.CANCELLED:
            raise Http404
        customer = step.checklist.customer
        try:
            if action == "done":
                checklists.step_complete(step=step, user=request.user)
            elif action == "skip":
                form = SkipStepForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_("Say why the step is skipped."))
                checklists.step_skip(
                    step=step, user=request.user, reason=form.cleaned_data["reason"]
                )
            elif action == "reopen":
                checklists.step_reopen(step=step, user=request.user)
            else:
                raise Http404
        except ValidationError as error:
            return _panel_response(request, customer, error=error.messages[0])
        customer.refresh_from_db()
        return _panel_response(request, customer)


def onboarding_public(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's own progress page: their steps, and a button for the ones they do."""
    try:
        customer_id = links.read_token(checklists.LINK_PURPOSE, token)
    except links.BadLink as error:
        return links.bad_link_response(request, error)
    customer = Customer.objects.filter(pk=customer_id, archived_at__isnull=True).first()
    if customer is None:
        return links.bad_link_response(request, links.BadLink())
    language = customer_language(customer)
    with translation.override(language):
        checklist = checklists.latest_checklist(customer)
        if request.method == "POST":
            step = None
            step_pk = parse_id(request.POST.get("step", ""))
            if checklist and step_pk is not None:
                step = checklist.steps.filter(pk=step_pk, actor=Actor.CUSTOMER).first()
            if step is None or checklist.status == Checklist.Status.CANCELLED:
                return links.bad_link_response(request, links.BadLink())
            checklists.step_complete(step=step, by_customer=True)
            return redirect(reverse("onboarding_public", args=[token]) + f"?done={step.pk}")
        steps = list(checklist.steps.all()) if checklist else []
        done = request.GET.get("done", "")
        context = {
            "business_name": settings.BUSINESS_NAME,
            "customer": customer,
            "checklist": checklist,
            "steps": steps,
            "today": timezone.localdate(),
            "just_done": next((s for s in steps if str(s.pk) == done), None),
        }
        return in_language(render(request, "public/onboarding.html", context), language)
