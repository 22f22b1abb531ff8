"""Risk (read) and loyalty: accounts, ledger and rewards (read), adjustments and
redemptions (written by retention/loyalty's services, after the pages' forms)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from retention.loyalty.forms import MAX_ADJUSTMENT
from retention.loyalty.models import Coupon, PointsAccount, PointsEntry, Reward
from retention.risk import signals
from retention.risk.models import CustomerRisk


class RiskReasonSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField(help_text="The signal's name, in the request's language.")
    text = serializers.CharField(help_text="The reason as the customer page words it.")
    contribution = serializers.IntegerField(help_text="Points of the score it adds.")
    strength = serializers.FloatField()
    flagged = serializers.BooleanField()
    evidence = serializers.DictField()


class RiskSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    reasons = serializers.SerializerMethodField()
    value_at_risk = serializers.DecimalField(
        source="expected_loss", max_digits=12, decimal_places=2, read_only=True
    )
    trend = serializers.CharField(read_only=True)

    class Meta:
        model = CustomerRisk
        fields = [
            "customer",
            "score",
            "level",
            "level_since",
            "previous_score",
            "trend",
            "base",
            "reasons",
            "value",
            "value_at_risk",
            "expected_purchase_on",
            "computed_for",
            "resolution",
            "resolved_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RiskReasonSerializer(many=True))
    def get_reasons(self, risk: CustomerRisk) -> list[dict]:
        registry = signals.registered()
        reasons = []
        for flag in risk.flags or []:
            signal = registry.get(flag.get("key"))
            evidence = flag.get("evidence") or {}
            reasons.append(
                {
                    "key": flag.get("key", ""),
                    "label": str(signal.label) if signal else flag.get("key", ""),
                    "text": str(signal.describe(evidence, risk.computed_for)) if signal else "",
                    "contribution": flag.get("contribution", 0),
                    "strength": flag.get("strength", 0.0),
                    "flagged": bool(flag.get("flagged")),
                    "evidence": evidence,
                }
            )
        return reasons


class PointsAccountSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    tier = serializers.CharField(source="tier.name", default=None, read_only=True)

    class Meta:
        model = PointsAccount
        fields = ["customer", "balance", "lifetime_points", "tier", "updated_at"]
        read_only_fields = fields


class PointsEntrySerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    author = serializers.IntegerField(source="author_id", allow_null=True, read_only=True)

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "customer",
            "kind",
            "points",
            "reason",
            "source_key",
            "author",
            "created_at",
        ]
        read_only_fields = fields


class RewardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reward
        fields = ["id", "name", "kind", "value", "points_price", "stock", "active", "description"]
        read_only_fields = fields


class CouponSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    reward = serializers.IntegerField(source="reward_id", read_only=True)

    class Meta:
        model = Coupon
        fields = [
            "code",
            "customer",
            "reward",
            "reward_name",
            "reward_kind",
            "reward_value",
            "points_spent",
            "expires_on",
            "created_at",
        ]
        read_only_fields = fields


class AdjustSerializer(serializers.Serializer):
    """The card's "Adjust points" form: a correction with a reason (negative takes off)."""

    points = serializers.IntegerField(min_value=-MAX_ADJUSTMENT, max_value=MAX_ADJUSTMENT)
    reason = serializers.CharField(max_length=200)


class RedeemSerializer(serializers.Serializer):
    """Spend the customer's points on a reward, as on their loyalty card."""

    reward = serializers.IntegerField(min_value=1, help_text="The reward's id.")
