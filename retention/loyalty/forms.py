"""Forms of the loyalty pages: each `clean_<field>` returns a domain value."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from . import redemption
from .models import Coupon, Reward

MAX_ADJUSTMENT = 1_000_000


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points (+/−)"),
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_("Negative to take points off."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points


class ReferralForm(forms.Form):
    referred_email = forms.EmailField(
        label=_("Referred customer's email"),
        help_text=_("The new customer must already be in the CRM."),
    )

    def clean_referred_email(self) -> Customer:
        email = self.cleaned_data["referred_email"]
        matches = list(Customer.objects.filter(email__iexact=email).order_by("id")[:2])
        if not matches:
            raise forms.ValidationError(_("No customer has this email: add them first."))
        if len(matches) > 1:
            raise forms.ValidationError(
                _("Several customers have this email: merge the duplicates first.")
            )
        return matches[0]


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["name", "kind", "value", "points_price", "stock", "description", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict:
        data = super().clean()
        kind, value = data.get("kind"), data.get("value")
        discount = kind in (Reward.Kind.PERCENT_OFF, Reward.Kind.AMOUNT_OFF)
        if discount and not value:
            self.add_error("value", _("A discount coupon needs a discount above 0."))
        elif kind == Reward.Kind.PERCENT_OFF and value and value > 100:
            self.add_error("value", _("A percentage is at most 100."))
        elif kind and not discount and value is not None:
            self.add_error("value", _("Only discount coupons have a discount."))
        return data


class CouponFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Any status")),
            ("valid", _("Valid")),
            ("used", _("Used")),
            ("expired", _("Expired")),
        ],
    )
    reward = forms.ModelChoiceField(
        label=_("Reward"),
        required=False,
        queryset=Reward.objects.order_by("name"),
        empty_label=_("Any reward"),
    )

    owner = forms.ChoiceField(label=_("Account manager"), required=False)

    def __init__(self, *args, owner_choices: list[tuple[int, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the two days are added here. They are the day a
        # coupon was issued, or the day it was used when showing used ones.
        for name, label in (("from", _("From")), ("to", _("To"))):
            self.fields[name] = forms.DateField(
                label=label,
                required=False,
                widget=forms.DateInput({"type": "date", "class": "form-control"}),
            )
        self.fields["to"].help_text = _("Issued on these days; used on them when showing used.")
        self.fields["owner"].choices = [
            ("", _("Everyone")),
            ("me", _("Mine")),
            ("none", _("Unassigned")),
            *((str(pk), name) for pk, name in owner_choices),
        ]
        self.fields["q"].widget.attrs.update(
            {"class": "form-control", "placeholder": _("Code or customer")}
        )
        for name in ("status", "reward", "owner"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip()

    def clean(self) -> dict:
        data = super().clean()
        first, last = data.get("from"), data.get("to")
        if first and last and last < first:
            self.add_error("to", _("The last day comes after the first."))
        return data


class RedeemForm(forms.Form):
    """The customer's choice on their card: any reward currently offered and in stock."""

    reward = forms.ModelChoiceField(queryset=Reward.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reward"].queryset = redemption.available_rewards()
        self.fields["reward"].error_messages["invalid_choice"] = _(
            "This reward is no longer available."
        )


COUPON_STATUS_LABELS = {
    "valid": _("Valid"),
    "used": _("Used"),
    "expired": _("Expired"),
}


def coupon_status_label(coupon: Coupon) -> str:
    return str(COUPON_STATUS_LABELS[coupon.status()])
