"""Churn risk: per-customer scores and flags, their nightly history, the at-risk queue."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


LEVEL_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class SignalSetting(models.Model):
    """An admin's parameters for one registered signal (defaults from the registry).

    The weights are not here: they are learned from the business's history (WeightSet).
    """

    key = models.CharField(_("signal"), max_length=50, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    threshold = models.DecimalField(
        _("threshold"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    window_days = models.PositiveIntegerField(
        _("window (days)"), validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )

    class Meta:
        ordering = ["key"]
        verbose_name = _("risk signal setting")
        verbose_name_plural = _("risk signal settings")

    def __str__(self) -> str:
        return self.key


class RiskConfig(models.Model):
    """The probability bands of the levels and the horizon, one row (pk=1)."""

    medium_from = models.PositiveSmallIntegerField(
        _("medium risk from (%)"),
        default=33,
        validators=[MaxValueValidator(100)],
        help_text=_("Probability of being lost within the horizon, in percent."),
    )
    high_from = models.PositiveSmallIntegerField(
        _("high risk from (%)"), default=67, validators=[MaxValueValidator(100)]
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("horizon (days)"),
        default=90,
        validators=[MinValueValidator(14), MaxValueValidator(730)],
        help_text=_(
            "The score is the probability that the customer is lost within this many days: "
            "churned, or, without a contract, no purchase or other activity in that time."
        ),
    )

    class Meta:
        verbose_name = _("risk levels")
        verbose_name_plural = _("risk levels")

    def __str__(self) -> str:
        return str(
            _("Medium from %(m)s %%, high from %(h)s %%, within %(d)s days")
            % {"m": self.medium_from, "h": self.high_from, "d": self.horizon_days}
        )

    @classmethod
    def load(cls) -> "RiskConfig":
        return cls.objects.get_or_create(pk=1)[0]


class WeightSet(models.Model):
    """Signal weights learned from the business's history, and what they scored.

    A calibration writes one (suggested, or "not enough history"); an admin applies
    it. Applied sets are kept, with their date and backtest figures.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Calibrating")
        SUGGESTED = "suggested", _("Suggested")
        APPLIED = "applied", _("Applied")
        SUPERSEDED = "superseded", _("Applied earlier")
        TOO_LITTLE = "too_little", _("Not enough history")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    intercept = models.FloatField(null=True, blank=True)
    weights = models.JSONField(default=dict, blank=True)  # {signal key: log-odds}
    # The backtest of these weights and of those in use then, on the latest past date.
    figures = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("risk weight set")
        verbose_name_plural = _("risk weight sets")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d} ({self.status})"


class CustomerRisk(models.Model):
    """A customer's current risk and where they stand in the at-risk queue."""

    class Resolution(models.TextChoices):
        SAVED = "saved", _("Saved")
        LOST = "lost", _("Lost")

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="risk"
    )
    # The probability of being lost within the horizon, in whole percent.
    score = models.PositiveSmallIntegerField(_("risk score"), null=True, blank=True)
    level = models.CharField(
        _("risk level"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    # The reasons: [{"key", "strength", "contribution" (points of the score), "flagged",
    # "evidence": {...}}], largest first; with "base" they add up to the score.
    flags = models.JSONField(_("reasons"), default=list, blank=True)
    base = models.SmallIntegerField(_("base rate"), default=0)  # points before any signal
    # The monthly value the expected loss is of: the plan's, or average monthly spend.
    value = models.DecimalField(_("monthly value"), max_digits=12, decimal_places=2, default=0)
    expected_loss = models.DecimalField(
        _("value at risk"), max_digits=12, decimal_places=2, default=0
    )
    # The day by which a customer with a buying rhythm would normally have bought again.
    expected_purchase_on = models.DateField(_("next purchase expected by"), null=True, blank=True)
    # A hash of what is shown but the score (level, which reasons, their evidence): when
    # it is unchanged and the score moved by less than scoring.MIN_SCORE_CHANGE, the
    # nightly job writes nothing for this customer.
    fingerprint = models.BigIntegerField(default=0)
    previous_score = models.PositiveSmallIntegerField(null=True, blank=True)
    # The night this row last changed: a night that changes nothing writes nothing.
    computed_for = models.DateField(_("computed for"))
    level_since = models.DateField(_("at this level since"))
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=10, choices=Resolution.choices, blank=True
    )
    resolution_reason = models.CharField(_("reason"), max_length=200, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    last_outreach_at = models.DateTimeField(_("last outreach"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer risk")
        verbose_name_plural = _("customer risks")
        indexes = [
            # The at-risk queue: open cases already in its order (largest expected loss
            # first), so a page reads ~page x 25 entries instead of sorting every open
            # case; the customer and snoozed_until are included so that counting the
            # queue needs no table visits.
            models.Index(
                fields=["-expected_loss", "-score"],
                name="risk_open_cases_idx",
                condition=models.Q(level__in=["medium", "high"], resolved_at__isnull=True),
                include=["customer", "snoozed_until"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.level} ({self.score})"

    @property
    def trend(self) -> str:
        if self.score is None or self.previous_score is None or self.score == self.previous_score:
            return "flat"
        return "up" if self.score > self.previous_score else "down"


class RiskSnapshot(models.Model):
    """A customer's score on one day, written when it or what drove it changed; the chart."""

    # No index of its own: one_snapshot_per_day (customer, as_of) serves every lookup by
    # customer, and a third index made each night's history inserts ~20 % slower.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="risk_snapshots", db_index=False
    )
    as_of = models.DateField(_("date"))
    score = models.PositiveSmallIntegerField(null=True)
    level = models.CharField(max_length=10, choices=RiskLevel.choices)
    contributions = models.JSONField(default=dict)  # {signal key: points of the score}
    base = models.SmallIntegerField(default=0)

    class Meta:
        ordering = ["customer", "as_of"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="one_snapshot_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of}: {self.score}"


class RiskDay(models.Model):
    """One night's risk totals of one owner's customers (None: unassigned), for the
    dashboard; everyone's are the sum of the day's rows. Written by the nightly run
    and replayed from RiskSnapshot for earlier days (risk/daily.py)."""

    class Source(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly run")
        REPLAYED = "replayed", _("Replayed from history")

    day = models.DateField(_("date"))
    # Not a foreign key: a deleted account's past rows still add up into everyone's.
    owner_id = models.BigIntegerField(null=True, blank=True)
    low = models.PositiveIntegerField(default=0)
    medium = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0)
    # Expected loss summed per level; None when replayed (snapshots keep no money).
    value_low = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    value_medium = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    value_high = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # The reasons of the customers at medium or high risk: {signal key: {"points": sum of
    # the positive points, "customers": how many it added risk to}}.
    reasons = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "owner_id"],
                condition=models.Q(owner_id__isnull=False),
                name="one_risk_day_per_owner",
            ),
            models.UniqueConstraint(
                fields=["day"],
                condition=models.Q(owner_id__isnull=True),
                name="one_risk_day_unassigned",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="risk_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} owner {self.owner_id}: {self.low}/{self.medium}/{self.high}"


class RiskEvent(models.Model):
    """Something that happened to a customer's risk: shown in their timeline."""

    class Kind(models.TextChoices):
        LEVEL_UP = "level_up", _("Risk rose")
        LEVEL_DOWN = "level_down", _("Risk fell")
        CLAIMED = "claimed", _("Claimed")
        SNOOZED = "snoozed", _("Snoozed")
        SAVED = "saved", _("Resolved: saved")
        LOST = "lost", _("Resolved: lost")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    from_level = models.CharField(max_length=10, choices=RiskLevel.choices, blank=True)
    to_level = models.CharField(max_length=10, choices=RiskLevel.choices, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="risk_event_timeline_idx"
            ),
            # The dashboard: a period's openings and resolutions.
            models.Index(fields=["kind", "occurred_at"], name="risk_event_kind_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.occurred_at:%Y-%m-%d}"


class Notification(models.Model):
    """An in-app notice to a staff member (e.g. "your customer's risk rose to high")."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["recipient", "-created_at"], name="notification_list_idx"),
        ]

    def __str__(self) -> str:
        return self.message

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url() if self.customer_id else reverse("retention:queue")


class RiskRun(models.Model):
    """One recompute of every customer, split into chunks that workers take in parallel."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    customers_seen = models.PositiveIntegerField(default=0)
    customers_changed = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.status})"

    @property
    def percent(self) -> int:
        return round(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0


class RiskRunChunk(models.Model):
    """One id range of a run: its state lives here, so a lost broker or a killed worker
    loses only time (the repair job re-enqueues chunks not finished), and a chunk
    delivered twice is counted once."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="chunks")
    id_from = models.BigIntegerField()
    id_to = models.BigIntegerField()
    enqueued_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "id_from", "id_to"], name="one_chunk_per_range")
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} [{self.id_from}, {self.id_to})"


class Backtest(models.Model):
    """An admin's backtest of the model on a past date: its progress and its figures."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"))
    horizon_days = models.PositiveSmallIntegerField(
        _("horizon (days)"), validators=[MinValueValidator(14), MaxValueValidator(730)]
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    figures = models.JSONField(default=dict, blank=True)  # backtest.figures()
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("backtest")
        verbose_name_plural = _("backtests")

    def __str__(self) -> str:
        return f"{self.as_of} +{self.horizon_days} d ({self.status})"
