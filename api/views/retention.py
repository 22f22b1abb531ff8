"""Risk (read) and loyalty: accounts, the ledger and rewards (read); adjustments and
redemptions through retention/loyalty's services, checked as the loyalty card checks."""

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer
from customers.params import parse_id
from retention.loyalty import ledger, redemption
from retention.loyalty.audit_trail import record_adjustment, record_redemption
from retention.loyalty.forms import AdjustForm, RedeemForm
from retention.loyalty.models import PointsAccount, PointsEntry, Reward
from retention.risk.models import CustomerRisk

from ..filters import EntryFilter, RiskFilter
from ..permissions import LoyaltyAccess, RiskAccess
from ..serializers.forms import validate_with_form
from ..serializers.retention import (
    AdjustSerializer,
    CouponSerializer,
    PointsAccountSerializer,
    PointsEntrySerializer,
    RedeemSerializer,
    RewardSerializer,
    RiskSerializer,
)


@extend_schema(tags=["risk"])
class RiskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Each customer's current churn risk (the nightly job's), by customer id."""

    queryset = CustomerRisk.objects.all()
    serializer_class = RiskSerializer
    permission_classes = [RiskAccess]
    filterset_class = RiskFilter
    lookup_field = "customer_id"
    lookup_url_kwarg = "customer"


@extend_schema(tags=["loyalty"])
class PointsAccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Points accounts by customer id. A customer who never earned anything has none in
    the list, and reads as an empty account (balance 0), as on their card."""

    queryset = PointsAccount.objects.select_related("tier")
    serializer_class = PointsAccountSerializer
    permission_classes = [LoyaltyAccess]
    lookup_url_kwarg = "customer"

    def _customer(self) -> Customer:
        customer = get_object_or_404(
            Customer.objects.select_related("company", "owner"),
            pk=_as_id(self.kwargs[self.lookup_url_kwarg]),
        )
        self.check_object_permissions(self.request, customer)
        return customer

    def retrieve(self, request: Request, customer=None) -> Response:
        return Response(PointsAccountSerializer(ledger.account_of(self._customer())).data)

    @extend_schema(request=AdjustSerializer, responses={201: PointsEntrySerializer})
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, customer=None) -> Response:
        """A manual correction with a reason (negative takes points off), as the card's
        "Adjust points" form: refused when it would take the balance below 0."""
        customer = self._customer()
        write = AdjustSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        data = validate_with_form(AdjustForm(write.validated_data))
        with transaction.atomic():
            entry = ledger.points_adjust(
                customer=customer, points=data["points"], reason=data["reason"], author=request.user
            )
            record_adjustment(request, customer, entry)
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RedeemSerializer, responses={201: CouponSerializer})
    @action(detail=True, methods=["post"])
    def redeem(self, request: Request, customer=None) -> Response:
        """Spend points on a reward for the customer, as their loyalty card does: the
        points are deducted and a coupon issued, or nothing is written (400)."""
        customer = self._customer()
        write = RedeemSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        data = validate_with_form(RedeemForm(write.validated_data))
        with transaction.atomic():
            coupon = redemption.reward_redeem(
                customer=customer, reward=data["reward"], author=request.user
            )
            record_redemption(request, customer, coupon)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


def _as_id(value) -> int:
    """The URL's id, or a 404 for anything that is not a whole number ("²", "1.5", 10**30)."""
    pk = parse_id(str(value))
    if pk is None:
        raise Http404
    return pk


@extend_schema(tags=["loyalty"])
class PointsEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The ledger: every change of a balance, append-only; filter by customer or kind."""

    queryset = PointsEntry.objects.all()
    serializer_class = PointsEntrySerializer
    permission_classes = [LoyaltyAccess]
    filterset_class = EntryFilter


@extend_schema(tags=["loyalty"])
class RewardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The rewards catalogue (what a redemption can buy)."""

    queryset = Reward.objects.all()
    serializer_class = RewardSerializer
    permission_classes = [LoyaltyAccess]
