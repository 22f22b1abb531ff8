"""Inbound webhooks: the systems allowed to send events, and every delivery they made."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookSource(models.Model):
    """A shop or billing system that posts signed events to /api/webhooks/<id>/."""

    name = models.CharField(_("name"), max_length=100)
    # Shared with the sender, who signs each body with it (HMAC-SHA256).
    secret = models.CharField(_("secret"), max_length=100, default=new_secret)
    active = models.BooleanField(_("active"), default=True)
    # The events' writes run as this user, with this user's role, as through the API.
    act_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("act as"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The events are recorded by this user, with this user's role."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook source")
        verbose_name_plural = _("webhook sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One request a source made, whatever became of it (the admin's delivery log)."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DUPLICATE = "duplicate", _("Duplicate")
        REJECTED = "rejected", _("Rejected")

    source = models.ForeignKey(
        WebhookSource,
        verbose_name=_("source"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    delivery_id = models.CharField(_("delivery id"), max_length=100, blank=True)
    event_type = models.CharField(_("event type"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["source", "-received_at"], name="webhook_delivery_recent_idx"),
        ]
        constraints = [
            # A delivery id is handled once per source: a replay finds this row. Rejected
            # ones do not count (the sender may fix the cause and send it again).
            models.UniqueConstraint(
                fields=["source", "delivery_id"],
                condition=models.Q(status="accepted"),
                name="webhook_delivery_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.delivery_id} ({self.status})"


# --- Outbound webhooks (api/outbound/): events this CRM posts to other systems ------------


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribed to, signed with its secret."""

    class Event(models.TextChoices):
        RISK_LEVEL_ROSE = "risk.level_rose", _("A customer's risk level rose")
        SURVEY_ANSWERED = "survey.answered", _("A survey was answered")
        CUSTOMER_CHURNED = "customer.churned", _("A customer churned")

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # The receiver verifies each body with it, as this CRM verifies inbound webhooks.
    secret = models.CharField(_("secret"), max_length=100, default=new_secret)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("The events posted to this URL.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookMessage(models.Model):
    """One event for one endpoint: an outbox row, claimed, posted, retried, swept."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    event = models.CharField(_("event"), max_length=30, choices=WebhookEndpoint.Event.choices)
    # Sent as X-CRM-Delivery on every attempt: the receiver recognises a repeat by it.
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    lease_token = models.CharField(_("lease token"), max_length=32, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing webhook")
        verbose_name_plural = _("outgoing webhooks")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_message_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"
