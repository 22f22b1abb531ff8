"""Staff pages for customer records: list, detail with timeline, create, edit, archive."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEntry

from . import access, panels, services
from .filters import OWNER_ME, CustomerFilter
from .forms import CustomerForm, InteractionForm
from .models import Customer, Interaction
from .timeline import Cursor, interaction_entry, timeline_page


class StaffRequiredMixin(LoginRequiredMixin):
    """Logged in, with a staff role, and (optionally) a Django permission."""

    permission_required: str | None = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not access.has_role(request.user):
            raise PermissionDenied(_("Your account has no role in this CRM yet; ask an admin."))
        if self.permission_required and not request.user.has_perm(self.permission_required):
            raise PermissionDenied(_("Your role does not allow this."))
        return super().dispatch(request, *args, **kwargs)


def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. It touches nothing else, so an outage elsewhere
    never gets a healthy web process restarted."""
    return HttpResponse("ok", content_type="text/plain")


def healthz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database (and a Redis broker, when there is one) answer,
    else 503 naming what failed, as JSON. Cheap enough for a health check every few
    seconds: one SELECT 1 under a short statement timeout, one PING."""
    # Imported here: the health check's own dependencies, kept out of the staff views'.
    from django.http import JsonResponse

    checks = {"database": _health_database(), "broker": _health_broker()}
    failed = sorted(name for name, result in checks.items() if result not in ("ok", "skipped"))
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


HEALTH_TIMEOUT_SECONDS = 2


def _health_database() -> str:
    import logging

    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # SET LOCAL: this transaction only, not the connection's later requests.
                cursor.execute(f"SET LOCAL statement_timeout = {HEALTH_TIMEOUT_SECONDS * 1000}")
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logging.getLogger("crm.health").warning("Health check: the database failed: %s", error)
        return f"error: {type(error).__name__}"
    return "ok"


def _health_broker() -> str:
    """A Redis broker answers PING; other transports (filesystem://) are not checked."""
    import logging

    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return "skipped"
    client = redis.Redis.from_url(
        url, socket_connect_timeout=HEALTH_TIMEOUT_SECONDS, socket_timeout=HEALTH_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as error:
        logging.getLogger("crm.health").warning("Health check: the broker failed: %s", error)
        return f"error: {type(error).__name__}"
    finally:
        client.close()
    return "ok"


class CustomerListView(StaffRequiredMixin, View):
    template_name = "customers/customer_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        data = request.GET
        if not data and access.is_account_manager(request.user):
            # An account manager starts on their own book of customers.
            data = QueryDict(mutable=True)
            data["owner"] = OWNER_ME
        customer_filter = CustomerFilter(
            data,
            queryset=Customer.objects.select_related("company", "owner"),
            user=request.user,
        )
        queryset = customer_filter.qs if customer_filter.is_valid() else Customer.objects.none()
        paginator = Paginator(queryset, settings.CUSTOMERS_PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        # Deep pages: skip the offset over ids only (an index-only scan), then join
        # companies and owners for just this page's rows. Tags: one query per page.
        page_ids = page.object_list.values("pk")
        customers = list(queryset.filter(pk__in=page_ids).prefetch_related("tags"))
        query_without_page = data.copy()
        query_without_page.pop("page", None)
        query_without_sort = query_without_page.copy()
        query_without_sort.pop("sort", None)
        context = {
            "filter": customer_filter,
            "page": page,
            "customers": customers,
            "query": query_without_page.urlencode(),
            "query_without_sort": query_without_sort.urlencode(),
            "current_sort": data.get("sort", "name"),
            "can_create": request.user.has_perm("customers.add_customer"),
            "can_export": request.user.has_perm("customers.export_customers"),
        }
        template = self.template_name
        if request.htmx and request.htmx.target == "customer-results":
            template = "customers/_customer_results.html"
        return render(request, template, context)


class CustomerDetailView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk)
        return render_detail(request, customer, InteractionForm())


def render_detail(
    request: HttpRequest, customer: Customer, interaction_form: InteractionForm, status: int = 200
) -> HttpResponse:
    page = timeline_page(customer, cursor=None, size=settings.TIMELINE_PAGE_SIZE)
    context = {
        "customer": customer,
        "tags": list(customer.tags.all()),
        "timeline": page,
        "timeline_more_url": _timeline_more_url(customer, page),
        "interaction_form": interaction_form,
        "can_change": access.can_change_customer(request.user, customer),
        "can_log": access.can_log_interaction(request.user, customer),
        "panels": panels.render_panels(request, customer),
    }
    return render(request, "customers/customer_detail.html", context, status=status)


class CustomerPanelView(StaffRequiredMixin, View):
    """One card of the customer page, loaded by htmx after the page (see panels.py)."""

    def get(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk)
        return HttpResponse(panels.render_panel(request, customer, name))


def _timeline_more_url(customer: Customer, page) -> str | None:
    if page.next_cursor is None:
        return None
    url = reverse("customers:timeline", args=[customer.pk])
    return f"{url}?{urlencode(page.next_cursor.as_params())}"


class TimelineView(StaffRequiredMixin, View):
    """One more page of the timeline (htmx "load more", or a plain page without JS)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk)
        cursor = Cursor.from_params(request.GET)
        page = timeline_page(customer, cursor=cursor, size=settings.TIMELINE_PAGE_SIZE)
        context = {
            "customer": customer,
            "timeline": page,
            "timeline_more_url": _timeline_more_url(customer, page),
            "can_change": access.can_change_customer(request.user, customer),
        }
        template = (
            "customers/_timeline_page.html" if request.htmx else "customers/timeline_page.html"
        )
        return render(request, template, context)


class InteractionCreateView(StaffRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk, action="log")
        form = InteractionForm(request.POST, instance=None)
        form.instance.customer = customer
        if not form.is_valid():
            if request.htmx:
                return render(
                    request,
                    "customers/_interaction_form.html",
                    {"customer": customer, "interaction_form": form},
                    status=422,
                )
            return render_detail(request, customer, form, status=422)
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        interaction = services.interaction_log(
            customer=customer, recorded_by=request.user, **fields
        )
        messages.success(
            request,
            _("Logged: %(interaction)s") % {"interaction": interaction},
        )
        if request.htmx:
            # Re-render the form (empty) and the newest timeline page in one response.
            page = timeline_page(customer, cursor=None, size=settings.TIMELINE_PAGE_SIZE)
            return render(
                request,
                "customers/_interaction_logged.html",
                {
                    "customer": customer,
                    "interaction_form": InteractionForm(),
                    "timeline": page,
                    "timeline_more_url": _timeline_more_url(customer, page),
                    "can_change": access.can_change_customer(request.user, customer),
                },
            )
        return HttpResponseRedirect(customer.get_absolute_url() + "#timeline")


class InteractionStateView(StaffRequiredMixin, View):
    """Resolve or reopen a complaint or service request from the customer's timeline.

    htmx gets the re-rendered timeline entry; a plain form post goes back to the
    customer page with a message.
    """

    action = ""  # "resolve" or "reopen", set in urls.py

    def post(self, request: HttpRequest, pk: int, interaction_pk: int) -> HttpResponse:
        interaction = access.get_interaction_for_user(
            request.user, pk, interaction_pk, action="change"
        )
        try:
            if self.action == "resolve":
                services.interaction_resolve(interaction=interaction, by=request.user)
                done = _("Resolved: %(interaction)s")
            else:
                services.interaction_reopen(interaction=interaction, by=request.user)
                done = _("Reopened: %(interaction)s")
        except ValidationError as error:
            return self.respond(request, interaction, error=error.messages[0])
        return self.respond(request, interaction, done=done % {"interaction": interaction})

    def respond(
        self, request: HttpRequest, interaction: Interaction, *, done: str = "", error: str = ""
    ) -> HttpResponse:
        customer = interaction.customer
        if request.htmx:
            context = {
                "entry": interaction_entry(interaction),
                "customer": customer,
                "can_change": True,  # checked above
                "state_error": error,
            }
            return render(
                request, "customers/_timeline_entry.html", context, status=422 if error else 200
            )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(f"{customer.get_absolute_url()}#timeline-interaction-{interaction.pk}")


class CustomerCreateView(StaffRequiredMixin, View):
    permission_required = "customers.add_customer"
    template_name = "customers/customer_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": CustomerForm(user=request.user)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CustomerForm(request.POST, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=422)
        with transaction.atomic():
            customer = form.save()
            record(AuditEntry.Action.CUSTOMER_CREATED, request=request, target=customer)
        messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
        return redirect(customer)


class CustomerUpdateView(StaffRequiredMixin, View):
    template_name = "customers/customer_form.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk, action="change")
        form = CustomerForm(instance=customer, user=request.user)
        return render(request, self.template_name, {"form": form, "customer": customer})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk, action="change")
        form = CustomerForm(request.POST, instance=customer, user=request.user)
        if not form.is_valid():
            return render(
                request, self.template_name, {"form": form, "customer": customer}, status=422
            )
        with transaction.atomic():
            form.save()
            # Which fields changed, never their values: the log keeps no personal data.
            details = {"fields": sorted(form.changed_data)}
            record(
                AuditEntry.Action.CUSTOMER_CHANGED,
                request=request,
                target=customer,
                details=details,
            )
        messages.success(request, _("Changes saved."))
        return redirect(customer)


@require_POST
def customer_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _archive_toggle(request, pk, archive=True)


@require_POST
def customer_unarchive_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _archive_toggle(request, pk, archive=False)


def _archive_toggle(request: HttpRequest, pk: int, *, archive: bool) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    customer = access.get_customer_for_user(request.user, pk, action="change")
    if archive:
        with transaction.atomic():
            services.customer_archive(customer=customer)
            record(AuditEntry.Action.CUSTOMER_ARCHIVED, request=request, target=customer)
        messages.success(
            request,
            _("%(name)s is archived: hidden from lists, history kept.") % {"name": customer.name},
        )
    else:
        with transaction.atomic():
            services.customer_unarchive(customer=customer)
            record(AuditEntry.Action.CUSTOMER_UNARCHIVED, request=request, target=customer)
        messages.success(request, _("%(name)s is back in the lists.") % {"name": customer.name})
    return redirect(customer)
