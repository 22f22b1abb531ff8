"""Loyalty pages: the points card on the customer page, the overview, rewards, coupons,
and the customer's own card behind a signed link."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from customers import access
from customers.forms import InteractionForm, staff_users
from customers.languages import customer_language, in_language
from customers.links import BadLink, bad_link_response, read_token
from customers.models import Customer
from customers.params import parse_id, safe_next
from customers.views import StaffRequiredMixin, render_detail

from . import card, ledger, redemption, selectors, tiers
from .audit_trail import record_adjustment, record_coupon_used, record_redemption
from .forms import (
    AdjustForm,
    CouponFilterForm,
    RedeemForm,
    ReferralForm,
    RewardForm,
    coupon_status_label,
)
from .models import Coupon, CustomerBadge, PointsEntry, Reward

RECENT_ENTRIES = 5
RECENT_COUPONS = 5
HISTORY_PAGE_SIZE = 25


# --- The card on the customer page ---------------------------------------------------


def _panel_context(request: HttpRequest, customer: Customer) -> dict:
    account = ledger.account_of(customer)
    all_tiers = tiers.tiers()
    badges, entries, coupons = [], [], []
    if account.pk:  # no account yet: nothing was ever earned, so there is nothing to list
        badges = list(CustomerBadge.objects.filter(account_id=account.pk))
        entries = list(
            PointsEntry.objects.filter(customer=customer)
            .select_related("author")
            .order_by("-created_at", "-id")[: RECENT_ENTRIES + 1]
        )
        coupons = list(
            Coupon.objects.filter(customer=customer).order_by("-created_at", "-id")[:RECENT_COUPONS]
        )
    for coupon in coupons:
        coupon.status_label = coupon_status_label(coupon)
    can_change = access.can_change_customer(request.user, customer)
    forms = getattr(request, "loyalty_forms", {})
    return {
        "customer": customer,
        "account": account,
        "progress": tiers.tier_progress(account.lifetime_points, all_tiers),
        "badges": badges,
        "entries": entries[:RECENT_ENTRIES],
        "has_more_entries": len(entries) > RECENT_ENTRIES,
        "coupons": coupons,
        "can_change": can_change,
        "can_mark_used": request.user.has_perm("retention.change_coupon"),
        "adjust_form": forms.get("adjust") or AdjustForm(),
        "referral_form": forms.get("referral") or ReferralForm(),
        "open_form": next(iter(forms), ""),
        "notice": getattr(request, "loyalty_notice", ""),
        "card_url": request.build_absolute_uri(card.card_url(customer)),
    }


def loyalty_panel(request: HttpRequest, customer: Customer) -> str:
    return render_to_string(
        "retention/loyalty/_panel.html", _panel_context(request, customer), request=request
    )


class PointsHistoryView(StaffRequiredMixin, View):
    """Every entry of one customer's ledger, 25 at a time (in the card with htmx, or a page)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk)
        entries = (
            PointsEntry.objects.filter(customer=customer)
            .select_related("author", "coupon")
            .order_by("-created_at", "-id")
        )
        page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
        template = (
            "retention/loyalty/_history.html" if request.htmx else "retention/loyalty/history.html"
        )
        return render(request, template, {"customer": customer, "page": page})


class _CustomerFormView(StaffRequiredMixin, View):
    """POST a form of the card; errors re-render the card in place (htmx) or the page."""

    form_class = AdjustForm
    name = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = access.get_customer_for_user(request.user, pk, action="change")
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                message = self.save(request, customer, form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if request.htmx:
                    request.loyalty_notice = message
                    return HttpResponse(loyalty_panel(request, customer))
                messages.success(request, message)
                return redirect(customer.get_absolute_url() + "#loyalty-card")
        request.loyalty_forms = {self.name: form}
        if request.htmx:
            return HttpResponse(loyalty_panel(request, customer), status=422)
        return render_detail(request, customer, InteractionForm(), status=422)

    def save(self, request: HttpRequest, customer: Customer, data: dict) -> str:
        raise NotImplementedError


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class PointsAdjustView(_CustomerFormView):
    form_class = AdjustForm
    name = "adjust"

    def save(self, request, customer, data) -> str:
        with transaction.atomic():
            entry = ledger.points_adjust(
                customer=customer, points=data["points"], reason=data["reason"], author=request.user
            )
            record_adjustment(request, customer, entry)
        return _("%(points)+d points recorded for %(name)s.") % {
            "points": entry.points,
            "name": customer.name,
        }


class ReferralView(_CustomerFormView):
    form_class = ReferralForm
    name = "referral"

    def save(self, request, customer, data) -> str:
        entry = ledger.award_referral(
            customer=customer, referred=data["referred_email"], author=request.user
        )
        return ngettext(
            "Referral bonus of %(points)s point recorded.",
            "Referral bonus of %(points)s points recorded.",
            entry.points,
        ) % {"points": entry.points}


# --- Overview, rewards, coupons ------------------------------------------------------


class OverviewView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        months = selectors.monthly_totals()
        chart = {
            "labels": [row["month"].strftime("%Y-%m") for row in months],
            "issued": [row["issued"] for row in months],
            "redeemed": [row["redeemed"] for row in months],
            "expired": [row["expired"] for row in months],
            "issued_label": _("Issued"),
            "redeemed_label": _("Redeemed"),
            "expired_label": _("Expired"),
        }
        context = {
            "top": list(selectors.top_accounts()),
            "months": months,
            "chart": chart,
            "totals": {
                "issued": sum(row["issued"] for row in months),
                "redeemed": sum(row["redeemed"] for row in months),
                "expired": sum(row["expired"] for row in months),
            },
            "tiers": tiers.tiers(),
            "rewards": list(Reward.objects.filter(active=True)[:10]),
            "can_manage": request.user.has_perm("retention.change_reward"),
            "can_configure": access.is_admin(request.user),
        }
        return render(request, "retention/loyalty/overview.html", context)


class RewardPermissionMixin(StaffRequiredMixin):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and access.has_role(user)
            and not user.has_perm("retention.change_reward")
        ):
            raise PermissionDenied(_("Only admins manage the rewards catalogue."))
        return super().dispatch(request, *args, **kwargs)


class RewardListView(RewardPermissionMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        rewards = Reward.objects.order_by("-active", "points_price", "id")
        q = request.GET.get("q", "").strip()
        if q:
            rewards = rewards.filter(name__icontains=q)
        page = Paginator(rewards, settings.CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {"page": page, "q": q, "query": query.urlencode()}
        return render(request, "retention/loyalty/rewards.html", context)


class RewardFormView(RewardPermissionMixin, View):
    template_name = "retention/loyalty/reward_form.html"

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        reward = get_object_or_404(Reward, pk=pk) if pk else None
        form = RewardForm(instance=reward)
        return render(request, self.template_name, {"form": form, "reward": reward})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        reward = get_object_or_404(Reward, pk=pk) if pk else None
        form = RewardForm(request.POST, instance=reward)
        if not form.is_valid():
            context = {"form": form, "reward": reward}
            return render(request, self.template_name, context, status=422)
        reward = form.save()
        messages.success(request, _("Reward “%(name)s” saved.") % {"name": reward.name})
        return redirect("retention:loyalty_rewards")


def coupon_search(coupons, form: CouponFilterForm, user=None):
    """The coupon list's search (code or customer) and filters."""
    if not form.is_valid():
        return coupons.none()
    data = form.cleaned_data
    today = timezone.localdate()
    if data["q"]:
        code = redemption.normalize_code(data["q"])
        coupons = coupons.filter(
            Q(code__startswith=code) | Q(customer__search_text__contains=data["q"].lower())
        )
    if data["status"] == "used":
        coupons = coupons.filter(used_at__isnull=False)
    elif data["status"] == "valid":
        coupons = coupons.filter(used_at__isnull=True, expires_on__gte=today)
    elif data["status"] == "expired":
        coupons = coupons.filter(used_at__isnull=True, expires_on__lt=today)
    if data["reward"]:
        coupons = coupons.filter(reward=data["reward"])
    if data["owner"] == "me":
        coupons = coupons.filter(customer__owner=user)
    elif data["owner"] == "none":
        coupons = coupons.filter(customer__owner__isnull=True)
    elif data["owner"]:
        coupons = coupons.filter(customer__owner_id=data["owner"])
    # The days are the issue day, or the day used when showing used coupons.
    dated = "used_at" if data["status"] == "used" else "created_at"
    if data["from"]:
        coupons = coupons.filter(**{f"{dated}__gte": ledger.start_of(data["from"])})
    if data["to"]:
        coupons = coupons.filter(**{f"{dated}__lt": ledger.start_of(data["to"] + timedelta(1))})
    return coupons


class CouponListView(StaffRequiredMixin, View):
    permission_required = "retention.view_coupon"

    def get(self, request: HttpRequest) -> HttpResponse:
        owner_choices = [(u.pk, u.get_full_name() or u.get_username()) for u in staff_users()]
        form = CouponFilterForm(request.GET, owner_choices=owner_choices)
        coupons = coupon_search(
            Coupon.objects.select_related("customer", "used_by").order_by("-created_at", "-id"),
            form,
            request.user,
        )
        page = Paginator(coupons, settings.CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        for coupon in rows:
            coupon.status_label = coupon_status_label(coupon)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "form": form,
            "page": page,
            "coupons": rows,
            "query": query.urlencode(),
            "can_mark_used": request.user.has_perm("retention.change_coupon"),
        }
        template = "retention/loyalty/coupons.html"
        if request.htmx and request.htmx.target == "coupon-results":
            template = "retention/loyalty/_coupon_results.html"
        return render(request, template, context)


class CouponMarkUsedView(StaffRequiredMixin, View):
    permission_required = "retention.change_coupon"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        coupon = get_object_or_404(Coupon.objects.select_related("customer"), pk=pk)
        try:
            with transaction.atomic():
                redemption.coupon_mark_used(coupon=coupon, user=request.user)
                record_coupon_used(request, coupon)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Coupon %(code)s marked used.") % {"code": coupon.code})
        return redirect(safe_next(request, reverse("retention:loyalty_coupons")))


# --- The customer's own card (signed link, no login) ----------------------------------


class LoyaltyCardView(View):
    """Balance, tier, progress to the next tier, rewards; redeem with a POST (CSRF)."""

    def dispatch(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            customer_id = read_token(card.LINK_PURPOSE, token)
        except BadLink as error:
            return bad_link_response(request, error)
        customer = Customer.objects.filter(pk=customer_id, archived_at__isnull=True).first()
        if customer is None:
            return bad_link_response(request, BadLink())
        language = customer_language(customer)
        with translation.override(language):
            return in_language(super().dispatch(request, customer, token), language)

    def get(self, request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
        return self._render(request, customer, RedeemForm())

    def post(self, request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
        form = RedeemForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    coupon = redemption.reward_redeem(
                        customer=customer, reward=form.cleaned_data["reward"]
                    )
                    # The customer's own action: no staff user, and no request, so
                    # their address is not kept.
                    record_redemption(None, customer, coupon)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # Redirect: reloading the page must not redeem a second time.
                url = reverse("retention:loyalty_card", args=[token])
                return redirect(f"{url}?issued={coupon.pk}#coupon-{coupon.pk}")
        return self._render(request, customer, form, status=422)

    def _render(
        self, request: HttpRequest, customer: Customer, form: RedeemForm, status: int = 200
    ) -> HttpResponse:
        account = ledger.account_of(customer)
        all_tiers = tiers.tiers()
        progress = tiers.tier_progress(account.lifetime_points, all_tiers)
        today = timezone.localdate()
        coupons = list(
            Coupon.objects.filter(
                customer=customer, used_at__isnull=True, expires_on__gte=today
            ).order_by("-created_at", "-id")[:20]
        )
        issued = request.GET.get("issued", "")
        rewards = list(redemption.available_rewards())
        for reward in rewards:
            reward.affordable = reward.points_price <= account.balance
            reward.missing = max(0, reward.points_price - account.balance)
        context = {
            "customer": customer,
            "account": account,
            "progress": progress,
            "tiers": all_tiers,
            "rewards": rewards,
            "coupons": coupons,
            "issued_id": parse_id(issued),
            "form": form,
            "business_name": settings.BUSINESS_NAME,
        }
        return render(request, "public/loyalty_card.html", context, status=status)
