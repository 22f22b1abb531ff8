from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from customers.forms import UserChoiceField, staff_users
from customers.models import Interaction

from . import cases
from .models import CustomerRisk, RiskConfig, RiskLevel

OUTREACH_KINDS = [
    (Interaction.Kind.CALL, Interaction.Kind.CALL.label),
    (Interaction.Kind.EMAIL, Interaction.Kind.EMAIL.label),
    (Interaction.Kind.MEETING, Interaction.Kind.MEETING.label),
    (Interaction.Kind.NOTE, Interaction.Kind.NOTE.label),
]


class OutreachForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=OUTREACH_KINDS)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["until"].initial = timezone.localdate() + timedelta(days=7)


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CustomerRisk.Resolution.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class AssignForm(forms.Form):
    owner = UserChoiceField(label=_("Assign to"), queryset=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_users()


class QueueFilterForm(forms.Form):
    owner = forms.ChoiceField(label=_("Account manager"), required=False)
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", _("Medium and high")), (RiskLevel.HIGH, _("High only"))],
    )

    def __init__(self, *args, user=None, is_admin=False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("me", _("Mine")), ("none", _("Unassigned"))]
        if is_admin:
            choices = [("", _("Everyone")), *choices]
            choices += [(str(u.pk), u.get_full_name() or u.get_username()) for u in staff_users()]
        self.fields["owner"].choices = choices
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"


class CasesFilterForm(QueueFilterForm):
    """The queue's cases mode: the cases opened, saved or lost between two days (the
    customers behind the dashboard's figures)."""

    cases = forms.ChoiceField(
        label=_("Cases"),
        choices=[
            (cases.OPENED, _("Opened")),
            (cases.SAVED, _("Saved")),
            (cases.LOST, _("Lost")),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["level"]
        # "from" is a Python keyword: declared here rather than as a class attribute.
        self.fields["from"] = forms.DateField(
            label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
        )
        for name in ("cases", "from", "to"):
            self.fields[name].widget.attrs["class"] = (
                "form-select form-select-sm" if name == "cases" else "form-control form-control-sm"
            )

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("to") and data["to"] < data["from"]:
            raise ValidationError(_("The end is before the start."))
        return data


class BacktestForm(forms.Form):
    as_of = forms.DateField(
        label=gettext_lazy("As of"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "A past date. Every customer is scored with what was known by the end of that day."
        ),
    )
    horizon_days = forms.IntegerField(
        label=gettext_lazy("Horizon (days)"),
        min_value=14,
        max_value=730,
        help_text=gettext_lazy(
            "Who was lost within this many days after that date: churned, or, without a "
            "contract, no activity at all. From 14 to 730 days."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        horizon = RiskConfig.load().horizon_days
        self.fields["horizon_days"].initial = horizon
        # By default the latest date whose whole horizon is over: every outcome is known.
        self.fields["as_of"].initial = today - timedelta(days=horizon + 1)
        self.fields["as_of"].widget.attrs["max"] = (today - timedelta(days=1)).isoformat()

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of >= timezone.localdate():
            raise ValidationError(_("Choose a date in the past."), code="not_past")
        return as_of
