"""Loyalty: the points ledger, each customer's account, tiers, badges, rewards and coupons.

The ledger (PointsEntry) is append-only and the truth; PointsAccount keeps the
balance and lifetime points in step with it inside the same transaction, so a
page never sums the ledger. The rules live beside this module, one per concern:
ledger.py (earning, corrections), tiers.py, redemption.py, expiry.py,
anniversaries.py and nightly.py.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.money import format_money


class LoyaltySettings(models.Model):
    """The earning rules, one row (pk=1), edited by admins in the Django admin."""

    points_per_unit = models.DecimalField(
        _("points per currency unit spent"),
        max_digits=8,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0)],
        help_text=_("A purchase of 120.50 at 1 point per unit earns 120 points (rounded down)."),
    )
    purchases_since = models.DateField(
        _("purchases earn from"),
        default=timezone.localdate,
        help_text=_("Purchases before this date earn nothing (the programme's start)."),
    )
    onboarding_bonus = models.PositiveIntegerField(_("onboarding completed bonus"), default=100)
    survey_bonus = models.PositiveIntegerField(_("survey answered bonus"), default=25)
    referral_bonus = models.PositiveIntegerField(_("referral bonus"), default=200)
    anniversary_bonus = models.PositiveIntegerField(_("anniversary bonus"), default=50)
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Leave empty: points never expire."),
    )
    coupon_valid_days = models.PositiveSmallIntegerField(
        _("coupons valid for (days)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")

    def __str__(self) -> str:
        return str(_("Loyalty earning rules"))

    @classmethod
    def load(cls) -> "LoyaltySettings":
        return cls.objects.get_or_create(pk=1)[0]


class Tier(models.Model):
    """A level reached by lifetime points (see retention/loyalty/tiers.py for the rule)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    threshold = models.PositiveIntegerField(
        _("from lifetime points"), unique=True, help_text=_("Reached at this many points.")
    )
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        ordering = ["threshold"]
        verbose_name = _("loyalty tier")
        verbose_name_plural = _("loyalty tiers")

    def __str__(self) -> str:
        return self.name


class PointsAccount(models.Model):
    """One customer's balance, lifetime points and tier, kept in step with the ledger."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="points_account"
    )
    balance = models.IntegerField(_("balance"), default=0)
    # Earned plus adjustments (corrections), never lowered by redeeming or expiry.
    lifetime_points = models.IntegerField(_("lifetime points"), default=0)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.SET_NULL, null=True, blank=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="points_balance_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["-lifetime_points", "id"], name="points_account_top_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance}"


class PointsEntry(models.Model):
    """One line of the ledger. Never edited or deleted: a correction is a new entry."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="points"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=200)
    # What earned the points ("purchase:<interaction id>", "anniversary:<customer>:<year>"...):
    # unique across the ledger, so awarding the same thing twice writes nothing. Every key
    # names its customer's own object, so merging two customers never collides.
    source_key = models.CharField(_("source"), max_length=100, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_key"],
                condition=~models.Q(source_key=""),
                name="points_entry_source_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-created_at", "-id"], name="points_entry_history_idx"
            ),
            # Covering: the dashboard's points per period (one account manager's, or a
            # range that is not whole months) sum it without reading the table.
            models.Index(
                fields=["created_at"],
                include=["customer", "kind", "points"],
                name="points_entry_period_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}: {self.reason}"


class PointsMonth(models.Model):
    """Points issued, redeemed and expired in one month (business time zone), kept in
    step with the ledger in the same transaction: the overview reads 12 rows, never
    the whole ledger. Issued counts every positive entry (earnings and corrections up)."""

    month = models.DateField(_("month"), unique=True)
    issued = models.BigIntegerField(_("issued"), default=0)
    redeemed = models.BigIntegerField(_("redeemed"), default=0)
    expired = models.BigIntegerField(_("expired"), default=0)

    class Meta:
        ordering = ["month"]
        verbose_name = _("points per month")
        verbose_name_plural = _("points per month")

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class CustomerBadge(models.Model):
    """A milestone, awarded once. Belongs to the account, so a merge keeps one set."""

    class Kind(models.TextChoices):
        FIRST_PURCHASE = "first_purchase", _("First purchase")
        ONE_YEAR = "one_year", _("One year as a customer")
        SURVEY_ANSWERED = "survey_answered", _("Survey answered")
        ONBOARDING_COMPLETED = "onboarding_completed", _("Onboarding completed")

    account = models.ForeignKey(PointsAccount, on_delete=models.CASCADE, related_name="badges")
    kind = models.CharField(_("badge"), max_length=30, choices=Kind.choices)
    awarded_at = models.DateTimeField(_("awarded at"), default=timezone.now)

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering = ["awarded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="one_badge_of_a_kind"),
        ]
        indexes = [models.Index(fields=["kind"], name="badge_kind_idx")]

    def __str__(self) -> str:
        return str(self.get_kind_display())


class Reward(models.Model):
    """What points buy: an entry of the catalogue."""

    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", _("Discount coupon (percent)")
        AMOUNT_OFF = "amount_off", _("Discount coupon (fixed amount)")
        FREE_SHIPPING = "free_shipping", _("Free shipping")
        FREE_MONTH = "free_month", _("Free month")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = models.DecimalField(
        _("discount"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Percent or amount, for discount coupons only."),
    )
    description = models.TextField(_("description"), blank=True)
    points_price = models.PositiveIntegerField(_("points price"), validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Leave empty for unlimited.")
    )
    active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_price", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0),
                name="reward_stock_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    @property
    def value_display(self) -> str:
        if self.value is None:
            return ""
        if self.kind == self.Kind.PERCENT_OFF:
            return f"{formats.number_format(self.value.normalize(), use_l10n=True)} %"
        return format_money(self.value)


class Coupon(models.Model):
    """A redeemed reward: an unguessable code the customer shows, used once, expiring."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="coupons"
    )
    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="coupons"
    )
    entry = models.OneToOneField(
        PointsEntry, on_delete=models.PROTECT, related_name="coupon", verbose_name=_("redemption")
    )
    points_spent = models.PositiveIntegerField(_("points spent"))
    # What was promised at redemption time: later catalogue edits do not change it.
    reward_name = models.CharField(_("reward"), max_length=120)
    reward_kind = models.CharField(_("kind"), max_length=20, choices=Reward.Kind.choices)
    reward_value = models.DecimalField(
        _("discount"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    expires_on = models.DateField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked used by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="coupon_customer_idx"),
            models.Index(fields=["-created_at", "-id"], name="coupon_list_idx"),
            # The dashboard's coupons used per period (and the list's "used" filter).
            models.Index(
                fields=["used_at"],
                condition=models.Q(used_at__isnull=False),
                name="coupon_used_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def status(self, today=None) -> str:
        if self.used_at:
            return "used"
        today = today or timezone.localdate()
        return "expired" if self.expires_on < today else "valid"

    @property
    def is_valid(self) -> bool:
        return self.status() == "valid"
