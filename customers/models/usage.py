"""Product usage and website visits: one row per customer, day and event name, with a count."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .customers import Customer


class UsageDay(models.Model):
    """How many times a customer did one thing ("logged in", "visited pricing page") on
    one day. Written by customers.usage, which adds a batch's counts to these rows, so
    the table grows with customers × days × event names, not with clicks."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="usage_days"
    )
    day = models.DateField(_("day"))
    # Normalised by customers.usage.normalise_event: stripped, lowercased, spaces collapsed.
    event = models.CharField(_("event"), max_length=60)
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("usage day")
        verbose_name_plural = _("usage days")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "day", "event"], name="usage_day_customer_day_event_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} ×{self.count} on {self.day}"
