"""The dashboard's controls: which period, compared with which, for whose customers."""

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from customers import access
from customers.forms import staff_users

from .periods import CUSTOM, KINDS, MONTH, Period, custom_period, period_containing
from .scope import EVERYONE, Scope

OWNER_ME, OWNER_EVERYONE = "me", "all"


class DashboardForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=list(KINDS.items()), required=False)
    on = forms.DateField(
        label=_("Containing the day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Any day of the month, quarter or year to show; empty: the last complete one."),
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = forms.ChoiceField(label=_("Customers of"), required=False)

    def __init__(self, *args, user, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.today = today
        choices = [(OWNER_EVERYONE, _("Everyone"))]
        if access.is_account_manager(user) and not access.is_admin(user):
            choices.insert(0, (OWNER_ME, _("My customers")))
        else:
            choices += [(str(u.pk), u.get_full_name() or u.get_username()) for u in staff_users()]
        self.fields["owner"].choices = choices
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def clean(self) -> dict:
        data = super().clean()
        if (data.get("period") or MONTH) == CUSTOM:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom range needs a first and a last day."))
            try:
                custom_period(start, end)
            except ValueError:
                if end < start:
                    self.add_error("end", _("The last day comes before the first."))
                else:
                    self.add_error("end", _("A custom range is at most five years."))
        return data

    def default_day(self) -> date:
        """Without a choice, the last complete period: a month to date compared with a
        whole month would look like a fall every month."""
        kind = self.cleaned_data.get("period") if self.is_bound and self.is_valid() else None
        return period_containing(kind or MONTH, self.today).start - timedelta(days=1)

    def default_owner(self) -> str:
        """Account managers start on their own book; everyone else on the whole business."""
        if access.is_account_manager(self.user) and not access.is_admin(self.user):
            return OWNER_ME
        return OWNER_EVERYONE

    def chosen(self) -> tuple[Period, Scope, str]:
        """The period, the scope and the owner choice, from valid input or the defaults."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        kind = data.get("period") or MONTH
        if kind == CUSTOM and data.get("start") and data.get("end"):
            period = custom_period(data["start"], data["end"])
        else:
            period = period_containing(
                kind if kind != CUSTOM else MONTH, data.get("on") or self.default_day()
            )
        owner = data.get("owner") or self.default_owner()
        if owner == OWNER_ME:
            return period, Scope(owner_id=self.user.pk), owner
        if owner == OWNER_EVERYONE:
            return period, EVERYONE, owner
        return period, Scope(owner_id=int(owner)), owner
