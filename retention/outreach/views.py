"""Staff pages for follow-up emails: the outbox, templates, rules, sending one by hand,
and each staff member's signature.

The pages customers reach from an email (unsubscribe, the open pixel) are in
public_views.py.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views import View

from customers import access
from customers.models import Customer
from customers.params import parse_id, safe_next
from customers.views import StaffRequiredMixin

from . import followups, outbox, placeholders, rendering, sending
from .forms import (
    EmailTemplateForm,
    FollowUpRuleForm,
    OutboxFilterForm,
    PreviewForm,
    SendFollowUpForm,
    SignatureForm,
    TranslationFormSet,
    describe_trigger,
)
from .models import (
    EmailTemplate,
    EmailTemplateTranslation,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)

PER_PAGE = 25


# --- The outbox ------------------------------------------------------------------


class OutboxView(StaffRequiredMixin, View):
    permission_required = "retention.view_outgoingemail"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = OutboxFilterForm(request.GET)
        emails = (
            OutgoingEmail.objects.exclude(kind__in=OutgoingEmail.ACCOUNT_KINDS)
            .select_related("customer", "template", "rule")
            .defer("body_text", "body_html")
        )
        if form.is_valid():
            data = form.cleaned_data
            if data["status"]:
                emails = emails.filter(status=data["status"])
            if data["kind"]:
                emails = emails.filter(kind=data["kind"])
            if data["q"]:
                term = data["q"].strip()
                emails = emails.filter(
                    Q(customer__search_text__contains=term.lower())
                    | Q(subject__icontains=term)
                    | Q(to_email__iexact=term)
                )
        else:
            emails = emails.none()
        page = Paginator(emails.order_by("-created_at", "-id"), PER_PAGE).get_page(
            request.GET.get("page")
        )
        query = request.GET.copy()
        query.pop("page", None)
        context = {"form": form, "page": page, "query": query.urlencode(), "tab": "outbox"}
        return render(request, "retention/outreach/outbox.html", context)


class OutboxDetailView(StaffRequiredMixin, View):
    permission_required = "retention.view_outgoingemail"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        # Account emails are not shown: previewing one would make a live reset link.
        email = get_object_or_404(
            OutgoingEmail.objects.exclude(kind__in=OutgoingEmail.ACCOUNT_KINDS).select_related(
                "customer__company",
                "customer__owner__staff_profile",
                "customer__risk",
                "template",
                "rule",
                "recipient_user",
                "created_by",
            ),
            pk=pk,
        )
        rendered, preview_error = None, ""
        if email.status == OutgoingEmail.Status.SENT:
            rendered = rendering.RenderedEmail(
                email.language, email.subject, email.body_text, email.body_html
            )
        else:
            # Not sent yet: what it would look like if it were sent now.
            translations = {
                email.template_id: list(
                    EmailTemplateTranslation.objects.filter(template_id=email.template_id)
                )
            }
            try:
                rendered = sending.render(email, translations)
            except ValueError as error:
                preview_error = str(error)
        context = {
            "email": email,
            "rendered": rendered,
            "preview_error": preview_error,
            "can_retry": email.status == OutgoingEmail.Status.FAILED
            and request.user.has_perm("retention.change_outgoingemail"),
            "tab": "outbox",
        }
        return render(request, "retention/outreach/outbox_detail.html", context)


class OutboxRetryView(StaffRequiredMixin, View):
    permission_required = "retention.change_outgoingemail"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        email = get_object_or_404(OutgoingEmail, pk=pk)
        if email.status != OutgoingEmail.Status.FAILED:
            messages.error(request, _("Only a failed email can be retried."))
        else:
            outbox.email_retry(email=email)
            messages.success(request, _("The email is queued again."))
        return redirect("retention:outbox_detail", pk=pk)


# --- Templates -----------------------------------------------------------------------


class EmailTemplateListView(StaffRequiredMixin, View):
    permission_required = "retention.view_emailtemplate"

    def get(self, request: HttpRequest) -> HttpResponse:
        term = request.GET.get("q", "").strip()
        templates = EmailTemplate.objects.prefetch_related("translations")
        if term:
            templates = templates.filter(name__icontains=term)
        page = Paginator(templates, PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "q": term,
            "query": query.urlencode(),
            "can_edit": request.user.has_perm("retention.change_emailtemplate"),
            "tab": "templates",
        }
        return render(request, "retention/outreach/templates.html", context)


class EmailTemplateEditView(StaffRequiredMixin, View):
    """Create (pk None) or edit a template with one version per language."""

    permission_required = "retention.change_emailtemplate"

    def _template(self, pk: int | None) -> EmailTemplate:
        if pk is None:
            if not self.request.user.has_perm("retention.add_emailtemplate"):
                raise PermissionDenied(_("Your role does not allow this."))
            return EmailTemplate()
        return get_object_or_404(EmailTemplate, pk=pk)

    def _render(self, request, template, form, formset, status=200) -> HttpResponse:
        context = {
            "template_obj": template,
            "form": form,
            "formset": formset,
            "placeholders": placeholders.registered().values(),
            "preview_customer": request.GET.get("customer", ""),
            "tab": "templates",
        }
        return render(request, "retention/outreach/template_form.html", context, status=status)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = self._template(pk)
        initial = [] if pk else [{"language": rendering.FALLBACK_LANGUAGE}]
        formset = TranslationFormSet(instance=template, initial=initial)
        return self._render(request, template, EmailTemplateForm(instance=template), formset)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = self._template(pk)
        form = EmailTemplateForm(request.POST, instance=template)
        formset = TranslationFormSet(request.POST, instance=template)
        if not (form.is_valid() and formset.is_valid()):
            return self._render(request, template, form, formset, status=422)
        with transaction.atomic():
            template = form.save()
            formset.instance = template
            formset.save()
        messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
        return redirect("retention:email_templates")


class EmailTemplatePreviewView(StaffRequiredMixin, View):
    """htmx: the unsaved text of one language, rendered for a chosen customer."""

    permission_required = "retention.view_emailtemplate"

    def post(self, request: HttpRequest) -> HttpResponse:
        # Sent from the template form: one translation's fields carry its formset prefix.
        prefix = request.POST.get("prefix", "")
        fields = ("language", "subject", "body_text", "body_html")
        data = {
            name: request.POST.get(f"{prefix}-{name}" if prefix else name, "") for name in fields
        }
        data["customer"] = request.POST.get("preview_customer", "")
        form = PreviewForm(data)
        context: dict = {"error": ""}
        if not form.is_valid():
            context["error"] = _("Choose a language to preview.")
            return render(request, "retention/outreach/_preview.html", context)
        data = form.cleaned_data
        customer = self._customer(request, data["customer"].strip())
        if customer is None:
            context["error"] = _("No customer found with that email or ID.")
            return render(request, "retention/outreach/_preview.html", context)
        unknown = rendering.unknown_placeholders(
            data["subject"], data["body_text"], data["body_html"]
        )
        row = EmailTemplateTranslation(
            language=data["language"],
            subject=data["subject"],
            body_text=data["body_text"],
            body_html=data["body_html"],
        )
        context.update(
            {
                "customer": customer,
                "rendered": rendering.render_follow_up(customer, row),
                "unknown": sorted(unknown),
            }
        )
        return render(request, "retention/outreach/_preview.html", context)

    def _customer(self, request, value: str) -> Customer | None:
        customers = rendering.customers_for_rendering()
        if not value:
            return customers.filter(archived_at__isnull=True).order_by("pk").first()
        if (pk := parse_id(value)) is not None:
            return customers.filter(pk=pk).first()
        return customers.filter(email__iexact=value).order_by("pk").first()


# --- Rules -----------------------------------------------------------------------------


class RuleListView(StaffRequiredMixin, View):
    permission_required = "retention.view_followuprule"

    def get(self, request: HttpRequest) -> HttpResponse:
        rules = FollowUpRule.objects.select_related("template")
        active = request.GET.get("active", "")
        term = request.GET.get("q", "").strip()
        if active in ("1", "0"):
            rules = rules.filter(active=active == "1")
        if term:
            rules = rules.filter(Q(name__icontains=term) | Q(template__name__icontains=term))
        page = Paginator(rules, PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "rows": [{"rule": rule, "trigger": describe_trigger(rule)} for rule in page],
            "active": active,
            "q": term,
            "query": query.urlencode(),
            "can_edit": request.user.has_perm("retention.change_followuprule"),
            "tab": "rules",
        }
        return render(request, "retention/outreach/rules.html", context)


class RuleEditView(StaffRequiredMixin, View):
    permission_required = "retention.change_followuprule"

    def _rule(self, pk: int | None) -> FollowUpRule:
        if pk is None:
            if not self.request.user.has_perm("retention.add_followuprule"):
                raise PermissionDenied(_("Your role does not allow this."))
            return FollowUpRule()
        return get_object_or_404(FollowUpRule, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        rule = self._rule(pk)
        context = {"form": FollowUpRuleForm(instance=rule), "rule": rule, "tab": "rules"}
        return render(request, "retention/outreach/rule_form.html", context)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        rule = self._rule(pk)
        form = FollowUpRuleForm(request.POST, instance=rule)
        if not form.is_valid():
            context = {"form": form, "rule": rule, "tab": "rules"}
            return render(request, "retention/outreach/rule_form.html", context, status=422)
        rule = form.save()
        messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
        return redirect("retention:rules")


# --- Sending one by hand, and the signature ---------------------------------------------


class SendFollowUpView(StaffRequiredMixin, View):
    permission_required = "retention.add_outgoingemail"

    def _context(self, request, customer, form) -> dict:
        return {
            "customer": customer,
            "form": form,
            "blocked": followups.why_not_reachable(customer),
            "next": safe_next(request, customer.get_absolute_url()),
        }

    def get(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, customer_id, action="change")
        context = self._context(request, customer, SendFollowUpForm())
        return render(request, "retention/outreach/send_followup.html", context)

    def post(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, customer_id, action="change")
        form = SendFollowUpForm(request.POST)
        if form.is_valid():
            try:
                email = followups.followup_send_manual(
                    customer=customer, template=form.cleaned_data["template"], user=request.user
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if email.next_attempt_at > timezone.now() + timedelta(minutes=1):
                    when = timezone.localtime(email.next_attempt_at)
                    messages.success(
                        request,
                        _("Follow-up queued; quiet hours: it goes out at %(time)s.")
                        % {"time": formats.time_format(when, "TIME_FORMAT")},
                    )
                else:
                    messages.success(
                        request, _("Follow-up to %(name)s queued.") % {"name": customer.name}
                    )
                return redirect(safe_next(request, customer.get_absolute_url()))
        context = self._context(request, customer, form)
        return render(request, "retention/outreach/send_followup.html", context, status=422)


class SignatureView(StaffRequiredMixin, View):
    """Each staff member edits their own signature (the {{ signature }} placeholder)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        profile = StaffProfile.objects.filter(user=request.user).first()
        form = SignatureForm(instance=profile)
        return render(request, "retention/outreach/signature.html", {"form": form, "tab": "me"})

    def post(self, request: HttpRequest) -> HttpResponse:
        profile = StaffProfile.objects.filter(user=request.user).first()
        form = SignatureForm(request.POST, instance=profile or StaffProfile(user=request.user))
        if not form.is_valid():
            context = {"form": form, "tab": "me"}
            return render(request, "retention/outreach/signature.html", context, status=422)
        form.save()
        messages.success(request, _("Your signature is saved."))
        return redirect("retention:signature")
