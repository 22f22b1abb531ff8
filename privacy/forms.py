from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class ErasureForm(forms.Form):
    """Erasing is irreversible: the admin types the customer's name and ticks the box."""

    name = forms.CharField(label=_("Type the customer's name to confirm"), max_length=200)
    understood = forms.BooleanField(
        label=_("I understand that this cannot be undone."), required=True
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name.strip() != self.customer.name.strip():
            raise forms.ValidationError(_("This is not the customer's name."))
        return name
