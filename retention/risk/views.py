"""The at-risk queue, its row actions (htmx, or plain forms), notifications, recompute."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View

from customers import access
from customers.forms import staff_users
from customers.params import safe_next
from customers.views import StaffRequiredMixin

from . import cases, queue
from .forms import (
    AssignForm,
    CasesFilterForm,
    OutreachForm,
    QueueFilterForm,
    ResolveForm,
    SnoozeForm,
)
from .models import CustomerRisk, Notification, RiskEvent, RiskLevel, RiskRun
from .panels import describe_flags
from .runs import start_run


class QueueWorkerMixin(StaffRequiredMixin):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_authenticated and access.has_role(user) and not queue.can_work_queue(user):
            raise PermissionDenied(_("The at-risk queue is for account managers and admins."))
        return super().dispatch(request, *args, **kwargs)


def _owner_choices() -> list[tuple[int, str]]:
    """Assignable people, fetched once per page rather than once per row."""
    return [(user.pk, user.get_full_name() or user.get_username()) for user in staff_users()]


class CaseActions:
    """Each row's action forms, rendered once per page and stamped with the row's id.

    Only the customer id in the forms' URLs differs from row to row (and whether
    "Claim" shows), yet rendering the forms 25 times was half of the queue page's
    time. So they are rendered twice, for a placeholder id, and copied per row.
    """

    PLACEHOLDER = 987654321987654321  # a customer id that never occurs

    def __init__(self, request: HttpRequest, *, is_admin: bool) -> None:
        option = '<option value="{}">{}</option>'
        context = {
            # No request context: the page already ran the context processors.
            "csrf_token": get_token(request),
            "customer_pk": self.PLACEHOLDER,
            "is_admin": is_admin,
            "owner_options": format_html_join("", option, _owner_choices()) if is_admin else "",
            "kind_options": format_html_join("", option, OutreachForm.base_fields["kind"].choices),
            "outcome_options": format_html_join(
                "", option, ResolveForm.base_fields["outcome"].choices
            ),
            "snooze_until": SnoozeForm().fields["until"].initial,
            "can_send_followup": request.user.has_perm("retention.add_outgoingemail"),
            "queue_url": reverse("retention:queue"),
        }
        self.html = {
            show_claim: render_to_string(
                "retention/risk/_queue_actions.html",
                {**context, "show_claim": show_claim},
            )
            for show_claim in (True, False)
        }

    def for_case(self, risk) -> str:
        html = self.html[risk.customer.owner_id is None]
        # Only inside URL paths ("/<id>/"), and the rest was escaped when rendered.
        return mark_safe(  # noqa: S308
            html.replace(f"/{self.PLACEHOLDER}/", f"/{risk.customer_id}/")
        )


QUEUE_REASONS = 2  # the "Why" column: the strongest reasons for risk, on one line


def queue_reasons(flags: list[dict]) -> list[dict]:
    """The reasons that add the most risk (positive contribution), largest first, described.

    Reasons that lower the risk are on the customer page; the queue says why to call.
    """
    adding = [flag for flag in flags if flag.get("contribution", 0) > 0]
    adding.sort(key=lambda flag: flag["contribution"], reverse=True)
    return describe_flags(adding[:QUEUE_REASONS])


def _row_context(risk, today, actions: CaseActions) -> dict:
    return {
        "risk": risk,
        "customer": risk.customer,
        "flags": queue_reasons(risk.flags),
        "days_at_risk": (today - risk.level_since).days,
        "today": today,
        "actions": actions.for_case(risk),
    }


class CountedPaginator(Paginator):
    """A paginator whose total comes from a cheaper query for the same rows."""

    def __init__(self, object_list, per_page: int, *, counted: QuerySet) -> None:
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def count(self) -> int:
        return self.counted.count()


def _owner_q(owner: str, user) -> Q:
    if owner == "me":
        return Q(customer__owner=user)
    if owner == "none":
        return Q(customer__owner__isnull=True)
    return Q(customer__owner_id=owner) if owner else Q()


class QueueView(QueueWorkerMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        is_admin = access.is_admin(request.user)
        data = request.GET.copy()
        if not is_admin and data.get("owner", str(request.user.pk)) == str(request.user.pk):
            data["owner"] = "me"  # a manager's own id (a dashboard link) is "me"
        if "cases" in data:
            return self.cases(request, data, is_admin)
        form = QueueFilterForm(data, user=request.user, is_admin=is_admin)
        narrowed = Q()
        if form.is_valid():
            narrowed &= _owner_q(form.cleaned_data["owner"], request.user)
            if form.cleaned_data["level"] == RiskLevel.HIGH:
                narrowed &= Q(level=RiskLevel.HIGH)
            cases = queue.open_cases().filter(narrowed)
            counted = queue.open_cases_to_count().filter(narrowed)
        else:
            cases = counted = CustomerRisk.objects.none()
        paginator = CountedPaginator(cases, settings.CUSTOMERS_PER_PAGE, counted=counted)
        with queue.serial_plans():
            page = paginator.get_page(request.GET.get("page"))
            risks = list(page.object_list)
        today = timezone.localdate()
        actions = CaseActions(request, is_admin=is_admin)
        rows = [_row_context(risk, today, actions) for risk in risks]
        query = data.copy()
        query.pop("page", None)
        last_run = RiskRun.objects.first() if is_admin else None
        context = {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "last_run": last_run,
            "is_admin": is_admin,
        }
        return render(request, "retention/risk/queue.html", context)

    def cases(self, request: HttpRequest, data, is_admin: bool) -> HttpResponse:
        """The cases opened, saved or lost between two days: the dashboard's links."""
        form = CasesFilterForm(data, user=request.user, is_admin=is_admin)
        events = RiskEvent.objects.none()
        if form.is_valid():
            found = form.cleaned_data
            events = (
                cases.case_events(found["cases"], found["from"], found["to"])
                .filter(_owner_q(found["owner"], request.user))
                .select_related("customer__owner", "customer__company", "customer__risk", "actor")
                .order_by("-occurred_at", "-id")
            )
        page = Paginator(events, settings.CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        query = data.copy()
        query.pop("page", None)
        context = {"form": form, "page": page, "query": query.urlencode()}
        return render(request, "retention/risk/cases.html", context)


class CaseActionView(QueueWorkerMixin, View):
    """POST one action on one customer's case; htmx gets the row back, others a redirect."""

    def post(self, request: HttpRequest, customer_id: int, action: str) -> HttpResponse:
        risk = queue.get_case_for_user(request.user, customer_id)
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            return HttpResponse(status=404)
        try:
            message = handler(request, risk)
        except ValidationError as error:
            return self._respond(request, risk, error=" ".join(error.messages))
        return self._respond(request, risk, message=message)

    def do_claim(self, request, risk) -> str:
        queue.case_assign(risk=risk, owner=request.user, by=request.user)
        return _("You now own %(name)s.") % {"name": risk.customer.name}

    def do_assign(self, request, risk) -> str:
        form = AssignForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose someone to assign to."))
        owner = form.cleaned_data["owner"]
        queue.case_assign(risk=risk, owner=owner, by=request.user)
        return _("%(name)s assigned.") % {"name": risk.customer.name}

    def do_outreach(self, request, risk) -> str:
        form = OutreachForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("An outreach needs a kind and a subject."))
        queue.case_log_outreach(risk=risk, user=request.user, **form.cleaned_data)
        return _("Outreach logged for %(name)s.") % {"name": risk.customer.name}

    def do_snooze(self, request, risk) -> str:
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Enter a valid date to snooze until."))
        queue.case_snooze(risk=risk, until=form.cleaned_data["until"], user=request.user)
        return _("%(name)s snoozed.") % {"name": risk.customer.name}

    def do_resolve(self, request, risk) -> str:
        form = ResolveForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose saved or lost."))
        queue.case_resolve(risk=risk, user=request.user, **form.cleaned_data)
        return _("%(name)s resolved.") % {"name": risk.customer.name}

    def _respond(self, request, risk, *, message: str = "", error: str = "") -> HttpResponse:
        if not request.htmx:
            if error:
                messages.error(request, error)
            else:
                messages.success(request, message)
            return redirect(safe_next(request, reverse("retention:queue")))
        risk.refresh_from_db()
        today = timezone.localdate()
        still_open = queue.open_cases(today=today).filter(pk=risk.pk).exists()
        is_admin = access.is_admin(request.user)
        context = {
            **_row_context(risk, today, CaseActions(request, is_admin=is_admin)),
            "message": message,
            "error": error,
            "removed": not still_open and not error,
            "is_admin": is_admin,
        }
        return render(request, "retention/risk/_queue_row.html", context)


class RecomputeView(StaffRequiredMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        if not access.is_admin(request.user):
            raise PermissionDenied(_("Only admins can recompute risk."))
        run = start_run(triggered_by=request.user)
        return redirect("retention:run", pk=run.pk)


class RunView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not access.is_admin(request.user):
            raise PermissionDenied(_("Only admins can see recompute runs."))
        run = get_object_or_404(RiskRun, pk=pk)
        template = "retention/risk/" + ("_run_progress.html" if request.htmx else "run.html")
        return render(request, template, {"run": run})


class NotificationListView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        notices = Notification.objects.filter(recipient=request.user).select_related("customer")
        page = Paginator(notices, 25).get_page(request.GET.get("page"))
        return render(request, "retention/risk/notifications.html", {"page": page})

    def post(self, request: HttpRequest) -> HttpResponse:
        Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        messages.success(request, _("All notifications marked as read."))
        return redirect("retention:notifications")
