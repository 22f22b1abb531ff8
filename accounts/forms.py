from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from . import passwords


class ResetRequestForm(PasswordResetForm):
    """Django's form, with the email queued in the outbox instead of sent from the view."""

    def save(self, **kwargs) -> bool:  # noqa: ARG002 - Django's options are for its own sending
        return passwords.request_reset(self.cleaned_data["email"])


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or a backup code."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ConfirmDeviceForm(CodeForm):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
