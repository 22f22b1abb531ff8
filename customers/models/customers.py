"""Customers, their companies and tags."""

import re

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def normalize_phone(phone: str) -> str:
    """Digits only (a leading + kept), so '+44 20 7946-0018' matches '+442079460018'."""
    phone = (phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" + digits) if phone.startswith("+") and digits else digits


def build_search_text(name: str, email: str, company_name: str) -> str:
    """The lower-cased text the customer list searches (one indexed column)."""
    return " ".join(part for part in (name, email, company_name) if part).lower()


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    website = models.URLField(_("website"), blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        renamed = False
        if self.pk:
            old_name = Company.objects.filter(pk=self.pk).values_list("name", flat=True).first()
            renamed = old_name is not None and old_name != self.name
        super().save(*args, **kwargs)
        if renamed:
            # Keep the customers' denormalised search column in step with the new name.
            for customer in self.customers.only("id", "name", "email"):
                Customer.objects.filter(pk=customer.pk).update(
                    search_text=build_search_text(customer.name, customer.email, self.name)
                )


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def active(self) -> "CustomerQuerySet":
        """Customers not archived: the ones staff work with."""
        return self.filter(archived_at__isnull=True)


class Customer(models.Model):
    class Status(models.TextChoices):
        LEAD = "lead", _("Lead")
        ONBOARDING = "onboarding", _("Onboarding")
        ACTIVE = "active", _("Active")
        # Set by people and imports: someone is worried about this customer. Not the churn
        # risk: "at risk" is the nightly risk level Medium or High (retention/risk/).
        AT_RISK = "at_risk", _("Needs attention")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    # The business's own number for the customer (a shop's customer number): imports
    # match on it first. Unique when set; many customers may have none.
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        help_text=_("The customer's number in your shop or billing system."),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
    )
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    # Empty: the business's language (BUSINESS_LANGUAGE); see customers/languages.py.
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("Empty: the business's language."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.LEAD,
        help_text=_(
            "Set by people and imports. The churn risk (low, medium, high) is computed "
            "every night on its own; the at-risk queue lists medium and high."
        ),
    )
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    plan = models.CharField(_("plan"), max_length=100, blank=True)
    monthly_value = models.DecimalField(
        _("monthly value"),
        max_digits=10,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    churn_reason = models.CharField(_("churn reason"), max_length=200, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    last_interaction_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # Progress of the running onboarding checklist, kept in step by the retention app.
    onboarding_percent = models.PositiveSmallIntegerField(
        _("onboarding progress"), null=True, blank=True, editable=False
    )
    # Denormalised for fast lists: kept in step by save() and the import/merge services.
    search_text = models.CharField(max_length=700, blank=True, editable=False)
    phone_normalized = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        permissions = [
            ("import_customers", _("Can import customers and interactions from CSV")),
            ("export_customers", _("Can export customers and interactions to CSV")),
            ("merge_customers", _("Can merge duplicate customers")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="customer_external_id_unique",
                violation_error_message=_("Another customer has this external id."),
            ),
        ]
        indexes = [
            # One index per sortable column of the list, each with id as tie-breaker.
            models.Index(fields=["name", "id"], name="customer_name_idx"),
            # The default list (not archived): its COUNT becomes an index-only scan.
            models.Index(
                fields=["name", "id"],
                condition=models.Q(archived_at__isnull=True),
                name="customer_current_name_idx",
            ),
            models.Index(fields=["owner", "name", "id"], name="customer_owner_name_idx"),
            models.Index(fields=["status", "name", "id"], name="customer_status_name_idx"),
            models.Index(fields=["renewal_date", "id"], name="customer_renewal_idx"),
            models.Index(fields=["monthly_value", "id"], name="customer_value_idx"),
            models.Index(fields=["last_interaction_at", "id"], name="customer_last_contact_idx"),
            models.Index(fields=["customer_since", "id"], name="customer_since_idx"),
            models.Index(fields=["created_at", "id"], name="customer_created_idx"),
            models.Index(Lower("email"), name="customer_email_lower_idx"),
            models.Index(fields=["phone_normalized"], name="customer_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.refresh_denormalised_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text", "phone_normalized"}
        # The status this save changes from, fixed before the post_save receivers run
        # (some move loaded_status on): customers.receivers records the change from it.
        self.status_before_save = getattr(self, "loaded_status", None)
        super().save(*args, **kwargs)
        if "status" in self.__dict__ and (update_fields is None or "status" in update_fields):
            self.loaded_status = self.status  # saved again, this is no new change

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so that a post_save receiver can tell a status change.
        instance.loaded_status = instance.__dict__.get("status")
        return instance

    def refresh_denormalised_fields(self) -> None:
        company_name = self.company.name if self.company_id else ""
        self.search_text = build_search_text(self.name, self.email, company_name)
        self.phone_normalized = normalize_phone(self.phone)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""
