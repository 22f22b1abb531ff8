"""When someone was a customer: the status history and the membership spells built
from it (customers/membership.py), read by the dashboard."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .customers import Customer


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
