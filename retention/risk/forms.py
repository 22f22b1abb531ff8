from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.forms import UserChoiceField, staff_users
from customers.models import Interaction

from .models import CustomerRisk, RiskLevel

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
