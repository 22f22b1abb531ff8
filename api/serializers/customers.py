"""Customers and companies: read as stored, written through the page's CustomerForm."""

from django.conf import settings
from rest_framework import serializers

from customers.forms import CustomerForm
from customers.models import Company, Customer

from .forms import initial_data, validate_with_form

# API name -> CustomerForm field, where they differ (the form takes company and tags as text).
FORM_FIELDS = {"company": "company_name", "tags": "tag_names"}
API_FIELDS = {form_name: api_name for api_name, form_name in FORM_FIELDS.items()}


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "website", "industry", "created_at"]
        read_only_fields = ["id", "created_at"]


class CustomerSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.name", default=None, read_only=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True, read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "email",
            "external_id",
            "phone",
            "company_id",
            "company",
            "address",
            "city",
            "country",
            "preferred_language",
            "owner",
            "status",
            "customer_since",
            "renewal_date",
            "plan",
            "monthly_value",
            "tags",
            "marketing_consent",
            "notes",
            "churned_on",
            "churn_reason",
            "archived_at",
            "last_interaction_at",
            "onboarding_percent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerWriteSerializer(serializers.Serializer):
    """The fields of the customer form. On PATCH, fields left out keep their values."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The customer's number in your shop or billing system; unique when set.",
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The company's name; created if it does not exist yet.",
    )
    address = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        allow_blank=True,
        help_text="Empty: the business's language (BUSINESS_LANGUAGE).",
    )
    owner = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The account manager's user id. An account manager can only name themselves.",
    )
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    customer_since = serializers.DateField(required=False, allow_null=True)
    renewal_date = serializers.DateField(required=False, allow_null=True)
    plan = serializers.CharField(max_length=100, required=False, allow_blank=True)
    monthly_value = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=100
    )
    marketing_consent = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)

    def save_with_form(self, *, user, instance: Customer | None = None) -> Customer:
        """Create or change the customer exactly as the page's form does (denormalised
        fields, company by name, tags, churned_on, status history through its signal)."""
        data = initial_data(CustomerForm(instance=instance, user=user))
        for name, value in self.validated_data.items():
            if name == "company":
                value = value or ""
            elif name == "tags":
                value = ", ".join(value)
            elif name == "owner" and value is None:
                value = ""
            data[FORM_FIELDS.get(name, name)] = value
        form = CustomerForm(data, instance=instance, user=user)
        validate_with_form(form, API_FIELDS)
        return form.save()
