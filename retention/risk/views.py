"""The at-risk queue, its row actions (htmx, or plain forms), notifications, recompute."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from customers import access
from customers.params import parse_id, safe_next
from customers.views import StaffRequiredMixin

from . import cases, queue, worklist
from .forms import (
    AssignForm,
    CasesFilterForm,
    OutreachForm,
    ResolveForm,
    SnoozeForm,
)
from .models import Notification, RiskEvent, RiskRun
from .runs import start_run


class QueueWorkerMixin(StaffRequiredMixin):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_authenticated and access.has_role(user) and not queue.can_work_queue(user):
            raise PermissionDenied(_("The at-risk queue is for account managers and admins."))
        return super().dispatch(request, *args, **kwargs)


class CountedPaginator(Paginator):
    """A paginator whose total comes from a cheaper query for the same rows."""

    def __init__(self, object_list, per_page: int, *, counted: QuerySet) -> None:
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def count(self) -> int:
        return self.counted.count()


def _row_response(request: HttpRequest, risk, where, *, is_admin: bool, **extra) -> HttpResponse:
    """One case's row, opened (its actions) unless it has left the list."""
    today = timezone.localdate()
    context = {
        **worklist.row_context(risk, today, opened=True),
        **worklist.Actions.for_request(request, is_admin=is_admin).context(),
        "is_admin": is_admin,
        "place": where.urlencode(),
        "here": worklist.queue_url(where),
        **extra,
    }
    return render(request, "retention/risk/_queue_row.html", context)


class QueueView(QueueWorkerMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        is_admin = access.is_admin(request.user)
        if "cases" in request.GET:
            data = worklist.place(request.GET, request.user, is_admin=is_admin)
            return self.cases(request, data, is_admin)
        where = worklist.place(request.GET, request.user, is_admin=is_admin)
        form, cases, counted = worklist.filtered_cases(where, request.user, is_admin=is_admin)
        paginator = CountedPaginator(cases, settings.CUSTOMERS_PER_PAGE, counted=counted)
        with queue.serial_plans():
            page = paginator.get_page(request.GET.get("page"))
            risks = list(page.object_list)
        today = timezone.localdate()
        open_id = parse_id(request.GET.get(worklist.OPEN, ""))
        rows = [
            worklist.row_context(risk, today, opened=risk.customer_id == open_id) for risk in risks
        ]
        owners = worklist.owner_choices() if is_admin else []
        query = where.copy()
        query.pop("page", None)
        context = {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "place": where.urlencode(),
            "here": worklist.queue_url(where),
            "last_run": RiskRun.objects.first() if is_admin else None,
            "is_admin": is_admin,
            "shortcuts": worklist.SHORTCUTS,
            **worklist.Actions.for_request(request, is_admin=is_admin, owners=owners).context(),
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
                .filter(worklist.owner_q(found["owner"], request.user))
                .select_related("customer__owner", "customer__company", "customer__risk", "actor")
                .order_by("-occurred_at", "-id")
            )
        page = Paginator(events, settings.CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        query = data.copy()
        query.pop("page", None)
        context = {"form": form, "page": page, "query": query.urlencode()}
        return render(request, "retention/risk/cases.html", context)


class CaseView(QueueWorkerMixin, View):
    """GET one case's row, opened: htmx swaps it in place; a plain link opens the row on
    the queue page itself (at the same filters and page)."""

    def get(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        risk = queue.get_case_for_user(request.user, customer_id)
        is_admin = access.is_admin(request.user)
        where = worklist.place(request.GET, request.user, is_admin=is_admin)
        if not request.htmx:
            return redirect(worklist.queue_url(where, open_id=risk.customer_id))
        return _row_response(request, risk, where, is_admin=is_admin)


class CaseActionView(QueueWorkerMixin, View):
    """POST one action on one customer's case; htmx gets the row back, others a redirect.

    A case that leaves the list (resolved, snoozed) hands over to the next one in the
    list the form came from (its `next`): htmx opens it, a redirect lands on it open.
    """

    LEAVING = ("resolve", "snooze")  # actions after which a case may leave the list

    def post(self, request: HttpRequest, customer_id: int, action: str) -> HttpResponse:
        risk = queue.get_case_for_user(request.user, customer_id)
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            return HttpResponse(status=404)
        is_admin = access.is_admin(request.user)
        where = worklist.place_from_next(request, is_admin=is_admin)
        following = None
        if action in self.LEAVING:  # read before the case leaves the list
            following = worklist.following_case(
                where, request.user, is_admin=is_admin, after=risk.customer_id
            )
        try:
            message = handler(request, risk)
        except ValidationError as error:
            return self._respond(request, risk, where, error=" ".join(error.messages))
        return self._respond(request, risk, where, message=message, following=following)

    def do_claim(self, request, risk) -> str:
        queue.case_assign(risk=risk, owner=request.user, by=request.user, request=request)
        return _("You now own %(name)s.") % {"name": risk.customer.name}

    def do_assign(self, request, risk) -> str:
        form = AssignForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose someone to assign to."))
        owner = form.cleaned_data["owner"]
        queue.case_assign(risk=risk, owner=owner, by=request.user, request=request)
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

    def _respond(
        self,
        request,
        risk,
        where,
        *,
        message: str = "",
        error: str = "",
        following: int | None = None,
    ) -> HttpResponse:
        still_open = queue.open_cases().filter(pk=risk.pk).exists()
        removed = not still_open and not error
        # Where to go next: this row again, or the one after it once this one has left.
        open_id = following if removed else risk.customer_id
        if not request.htmx:
            if error:
                messages.error(request, error)
            else:
                messages.success(request, message)
            fallback = worklist.queue_url(where, open_id=open_id)
            target = safe_next(request, "")
            if not target or urlsplit(target).path == reverse("retention:queue"):
                return redirect(fallback)  # the queue: at the same place, the next row open
            return redirect(target)
        risk.refresh_from_db()
        return _row_response(
            request,
            risk,
            where,
            is_admin=access.is_admin(request.user),
            message=message,
            error=error,
            removed=removed,
            next_case=following if removed else None,
            next_url=worklist.queue_url(where, open_id=following) if removed and following else "",
        )


class QueueBulkView(QueueWorkerMixin, View):
    """POST (admins): claim the ticked cases, or assign them to one person, all at once."""

    def post(self, request: HttpRequest) -> HttpResponse:
        if not access.is_admin(request.user):
            raise PermissionDenied(_("Only admins can assign several cases at once."))
        ids = [parse_id(value) for value in request.POST.getlist("ids")]
        if None in ids:
            raise Http404
        owner = request.user
        if request.POST.get("assign"):  # the "Assign selected" button; else "Claim selected"
            form = AssignForm(request.POST)
            owner = form.cleaned_data["owner"] if form.is_valid() else None
        where = worklist.place_from_next(request, is_admin=True)
        back = worklist.queue_url(where)
        if owner is None:
            messages.error(request, _("Choose someone to assign to."))
            return redirect(back)
        try:
            assigned = queue.cases_assign(
                customer_ids=ids, owner=owner, by=request.user, request=request
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        name = owner.get_full_name() or owner.get_username()
        messages.success(
            request,
            ngettext(
                "%(count)s case assigned to %(name)s.",
                "%(count)s cases assigned to %(name)s.",
                len(assigned),
            )
            % {"count": len(assigned), "name": name},
        )
        return redirect(back)


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
