"""Interactions: read as stored; logged through the page's form and services.interaction_log."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers import services
from customers.forms import InteractionForm
from customers.models import Customer, Interaction

from .forms import validate_with_form


class InteractionSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    recorded_by = serializers.IntegerField(source="recorded_by_id", allow_null=True, read_only=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", allow_null=True, read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "kind",
            "direction",
            "subject",
            "external_id",
            "body",
            "amount",
            "sentiment",
            "occurred_at",
            "recorded_by",
            "resolved_at",
            "resolved_by",
            "created_at",
        ]
        read_only_fields = fields


class InteractionCreateSerializer(serializers.Serializer):
    """What the customer page's "Log an interaction" form takes, plus the customer."""

    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.select_related("company", "owner")
    )
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    direction = serializers.ChoiceField(
        choices=Interaction.Direction.choices, required=False, allow_blank=True
    )
    subject = serializers.CharField(max_length=200)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Its id in your shop or billing system (an order number); unique when set.",
    )
    occurred_at = serializers.DateTimeField(
        required=False, help_text="ISO 8601, e.g. 2026-03-01T14:30:00Z. Default: now."
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )
    sentiment = serializers.ChoiceField(
        choices=Interaction.Sentiment.choices, required=False, allow_blank=True
    )
    body = serializers.CharField(required=False, allow_blank=True)

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if value and Interaction.objects.filter(external_id=value).exists():
            raise serializers.ValidationError(
                _("An interaction with this external id is already recorded.")
            )
        return value

    def log(self, *, user) -> Interaction:
        """Log it as the page does: the form's checks, then the service (last contact,
        loyalty points through its signal, the timeline)."""
        data = dict(self.validated_data)
        customer = data.pop("customer")
        data.setdefault("occurred_at", timezone.now())
        form = InteractionForm(data)
        form.instance.customer = customer
        cleaned = validate_with_form(form)
        fields = {name: cleaned[name] for name in InteractionForm.Meta.fields}
        if "external_id" not in fields and data.get("external_id"):
            fields["external_id"] = data["external_id"]  # not on the page's form
        return services.interaction_log(customer=customer, recorded_by=user, **fields)
