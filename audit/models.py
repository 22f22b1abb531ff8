"""One row per staff action worth answering "who did that, and when?" for.

An entry holds no personal data of its own (no names, emails or free text about a
customer): the target is a content type and an id, the details ids and counts, so a
GDPR erasure of a customer leaves nothing of them behind in the log. The username is
copied because the log must still say who acted after a staff account is deleted.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on an attempt to change or delete a saved audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    # The default manager refuses bulk writes too. The retention purge deletes through
    # `AuditEntry._base_manager` (audit/retention.py), as Django's own deletion of a
    # user does when it sets `user` to NULL: the only two ways an entry changes.
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries are append-only.")

    def delete(self):
        raise AppendOnlyError("Audit entries are append-only; old ones are purged by age.")


class AuditEntry(models.Model):
    """A staff action: append-only (saving an existing entry or deleting one raises)."""

    class Action(models.TextChoices):
        CUSTOMER_CREATED = "customer.created", _("Customer created")
        CUSTOMER_CHANGED = "customer.changed", _("Customer changed")
        CUSTOMER_MERGED = "customer.merged", _("Customers merged")
        CUSTOMER_ARCHIVED = "customer.archived", _("Customer archived")
        CUSTOMER_UNARCHIVED = "customer.unarchived", _("Customer unarchived")
        CUSTOMER_ERASED = "customer.erased", _("Customer erased (GDPR)")
        CUSTOMER_DATA_EXPORTED = "customer.data_exported", _("Customer data exported (GDPR)")
        CUSTOMERS_EXPORTED = "customers.exported", _("Export downloaded")
        IMPORT_APPLIED = "import.applied", _("Import applied")
        LOYALTY_ADJUSTED = "loyalty.adjusted", _("Points adjusted")
        LOYALTY_REDEEMED = "loyalty.redeemed", _("Reward redeemed")
        RISK_WEIGHTS_CHANGED = "risk.weights_changed", _("Risk weights changed")
        QUEUE_ASSIGNED = "queue.assigned", _("At-risk cases assigned")
        SURVEY_SENT_TO_SEGMENT = "survey.sent_to_segment", _("Survey sent to a segment")
        ACCOUNT_PASSWORD_CHANGED = "account.password_changed", _("Password changed")
        ACCOUNT_PASSWORD_RESET = "account.password_reset", _("Password reset")
        ACCOUNT_TWO_FACTOR_ENABLED = "account.two_factor_enabled", _("Two-factor enabled")
        ACCOUNT_TWO_FACTOR_DISABLED = "account.two_factor_disabled", _("Two-factor disabled")
        ACCOUNT_LOGIN_LOCKED = "account.login_locked", _("Login locked out")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept when the account is deleted (user becomes NULL): the log still says who.
    username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target_type = models.ForeignKey(
        ContentType,
        verbose_name=_("target type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_at_idx"),
            models.Index(fields=["user", "-at"], name="audit_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only; old ones are purged by age.")
