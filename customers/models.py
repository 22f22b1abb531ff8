"""The customer database: customers, their companies, tags and interactions."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
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
        AT_RISK = "at_risk", _("At risk")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
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
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en"
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
        _("status"), max_length=20, choices=Status.choices, default=Status.LEAD
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


class Interaction(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")
        SERVICE_REQUEST = "service_request", _("Service request")
        COMPLAINT = "complaint", _("Complaint")
        PURCHASE = "purchase", _("Purchase")
        DISCOUNT_REQUEST = "discount_request", _("Discount request")
        CANCELLATION = "cancellation", _("Cancellation")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    class Sentiment(models.TextChoices):
        POSITIVE = "positive", _("Positive")
        NEUTRAL = "neutral", _("Neutral")
        NEGATIVE = "negative", _("Negative")

    # Kinds where a money amount makes sense; a purchase must have one.
    KINDS_WITH_AMOUNT = {Kind.PURCHASE, Kind.DISCOUNT_REQUEST, Kind.CANCELLATION}
    # Kinds that are tickets: open until someone resolves them (resolved_at, resolved_by).
    KINDS_WITH_STATE = {Kind.COMPLAINT, Kind.SERVICE_REQUEST}

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, blank=True
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    sentiment = models.CharField(
        _("sentiment"), max_length=10, choices=Sentiment.choices, blank=True
    )
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Only for KINDS_WITH_STATE; None there means the ticket is still open.
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The timeline: one customer's history, newest first.
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interaction_timeline_idx"
            ),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time_idx"),
            # Open tickets per customer (the nightly risk job): a small slice of the table.
            models.Index(
                fields=["customer", "occurred_at"],
                condition=models.Q(
                    kind__in=["complaint", "service_request"], resolved_at__isnull=True
                ),
                name="interaction_open_ticket_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    def clean(self) -> None:
        if self.kind == self.Kind.PURCHASE and self.amount is None:
            raise ValidationError({"amount": _("A purchase needs an amount.")})
        if self.amount is not None and self.kind and self.kind not in self.KINDS_WITH_AMOUNT:
            raise ValidationError(
                {"amount": _("Only purchases, discount requests and cancellations have an amount.")}
            )
        if self.occurred_at and self.occurred_at > timezone.now() + timezone.timedelta(days=1):
            raise ValidationError({"occurred_at": _("An interaction cannot be in the future.")})
        if self.resolved_at is not None:
            self._clean_resolved_at()

    def _clean_resolved_at(self) -> None:
        if self.kind and self.kind not in self.KINDS_WITH_STATE:
            raise ValidationError(
                {"resolved_at": _("Only complaints and service requests can be resolved.")}
            )
        if self.occurred_at and self.resolved_at < self.occurred_at:
            raise ValidationError(
                {"resolved_at": _("A ticket cannot be resolved before it occurred.")}
            )
        if self.resolved_at > timezone.now() + timezone.timedelta(days=1):
            raise ValidationError({"resolved_at": _("A resolution cannot be in the future.")})

    @property
    def is_open(self) -> bool:
        """A complaint or service request nobody has resolved yet (other kinds never are)."""
        return self.kind in self.KINDS_WITH_STATE and self.resolved_at is None


class ImportJob(models.Model):
    """One CSV upload: validated first (preview), applied on confirmation."""

    class Target(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        INTERACTIONS = "interactions", _("Interactions")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("Import nothing if any row is invalid")
        VALID_ROWS = "valid_rows", _("Import the valid rows, skip the invalid ones")

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        VALIDATED = "validated", _("Ready to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    target = models.CharField(_("what to import"), max_length=20, choices=Target.choices)
    mode = models.CharField(
        _("when rows are invalid"),
        max_length=20,
        choices=Mode.choices,
        default=Mode.ALL_OR_NOTHING,
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.VALIDATING
    )
    filename = models.CharField(_("file name"), max_length=255)
    content = models.TextField(_("file content"))
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    error_rows = models.PositiveIntegerField(_("invalid rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    # [{"row": 3, "field": "email", "message": "..."}], at most importing.MAX_STORED_ERRORS kept.
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    preview = models.JSONField(_("preview"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The step in progress (checking, or importing once asked for) lives here, not in the
    # broker or the cache: when it was last handed to the task queue (None: no step is
    # waiting or running), the lease of the worker running it and how many workers took
    # it. The repair job finds lost and abandoned steps from these (importing/repair.py).
    queued_at = models.DateTimeField(_("step queued at"), null=True, blank=True)
    lease_token = models.CharField(_("lease token"), max_length=32, blank=True)
    lease_until = models.DateTimeField(_("worker's lease until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    language = models.CharField(_("language of the messages"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("customers:import_detail", args=[self.pk])

    @property
    def can_apply(self) -> bool:
        if self.status != self.Status.VALIDATED or self.valid_rows == 0:
            return False
        return self.mode == self.Mode.VALID_ROWS or self.error_rows == 0

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.VALIDATING, self.Status.IMPORTING}

    @property
    def in_progress(self) -> bool:
        """A step was asked for and has not ended (the page keeps polling)."""
        return self.is_running or (self.status == self.Status.VALIDATED and bool(self.queued_at))

    @property
    def is_waiting_for_worker(self) -> bool:
        """Its step is queued and no worker holds it (yet, or again after one stopped)."""
        return self.in_progress and self.lease_until is None


class StatusChange(models.Model):
    """One change of a customer's status, with the day it took effect.

    Recorded wherever the status changes (Customer.save through customers.receivers,
    and the bulk paths through customers.status_history), so past periods keep their
    figures when the customer changes again later. The first row of a customer has no
    from_status.
    """

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=Customer.Status.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=Customer.Status.choices)
    changed_on = models.DateField(_("changed on"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["customer", "changed_on", "id"]
        indexes = [
            # The nightly membership rebuild reads every history, ordered by customer.
            models.Index(fields=["customer", "changed_on", "id"], name="status_change_history_idx"),
            # "Churned in this period" and the like, over all customers.
            models.Index(fields=["to_status", "changed_on"], name="status_change_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status} on {self.changed_on}"


class MembershipSpell(models.Model):
    """A period in which someone was a customer: from a start to a churn or lapse.

    Derived data: customers.membership rebuilds every row nightly from the status
    history and the purchases. owner is the customer's owner at that rebuild,
    copied here so the dashboard filters by account manager without a join.
    """

    class StartReason(models.TextChoices):
        NEW = "new", _("New customer")
        REACTIVATED = "reactivated", _("Reactivated")

    class EndReason(models.TextChoices):
        CHURNED = "churned", _("Churned")
        LAPSED = "lapsed", _("No purchase for too long")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="membership_spells",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # rebuilt nightly: a stale id for a deleted user is harmless
    )
    started_on = models.DateField(_("started on"))
    # The first day they were no longer a customer; None while the spell is open.
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    start_reason = models.CharField(_("start"), max_length=20, choices=StartReason.choices)
    end_reason = models.CharField(_("end"), max_length=20, choices=EndReason.choices, blank=True)
    # The start of the customer's first spell: the cohort they belong to.
    first_started_on = models.DateField(_("first started on"))
    monthly_value = models.DecimalField(_("monthly value"), max_digits=12, decimal_places=2)
    spend = models.DecimalField(_("spend"), max_digits=14, decimal_places=2)
    has_contract = models.BooleanField(_("has a contract"))

    class Meta:
        verbose_name = _("membership spell")
        verbose_name_plural = _("membership spells")
        ordering = ["customer", "started_on"]
        indexes = [
            models.Index(fields=["started_on"], name="spell_started_idx"),
            models.Index(fields=["ended_on"], name="spell_ended_idx"),
            models.Index(fields=["first_started_on"], name="spell_cohort_idx"),
            models.Index(fields=["owner", "started_on", "ended_on"], name="spell_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.started_on} – {self.ended_on or '…'}"


class MembershipDay(models.Model):
    """The spells started and ended on one day, per account manager: what the churn
    figures add up, so a period's figures read a few thousand small rows, not every
    spell. Rewritten from MembershipSpell after each rebuild (customers.membership)."""

    day = models.DateField(_("day"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    gained_new = models.PositiveIntegerField(_("new customers"), default=0)
    gained_reactivated = models.PositiveIntegerField(_("reactivated"), default=0)
    lost_churned = models.PositiveIntegerField(_("churned"), default=0)
    lost_lapsed = models.PositiveIntegerField(_("lapsed"), default=0)
    value_lost = models.DecimalField(_("monthly value lost"), max_digits=14, decimal_places=2)
    spend_lost = models.DecimalField(_("spend lost"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("membership day")
        verbose_name_plural = _("membership days")
        ordering = ["day"]
        indexes = [
            models.Index(fields=["day"], name="membership_day_idx"),
            models.Index(fields=["owner", "day"], name="membership_owner_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.owner_id or '-'})"


class MembershipBuild(models.Model):
    """One rebuild of the membership spells, so the dashboard can say how fresh they are."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    as_of = models.DateField(_("as of"))
    customers = models.PositiveIntegerField(_("customers"), default=0)
    spells = models.PositiveIntegerField(_("spells"), default=0)

    class Meta:
        verbose_name = _("membership rebuild")
        verbose_name_plural = _("membership rebuilds")
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.as_of}: {self.spells} spells"

    @classmethod
    def last_finished(cls) -> "MembershipBuild | None":
        return cls.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
