"""Forms for follow-up emails: templates and their translations, rules, sending, the outbox."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from retention.risk import signals

from . import rendering
from .models import (
    EmailTemplate,
    EmailTemplateTranslation,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)


def _check_placeholders(value: str) -> str:
    unknown = rendering.unknown_placeholders(value)
    if unknown:
        raise ValidationError(
            _("Unknown placeholder(s): %(names)s. Use one of the list next to the editor.")
            % {"names": ", ".join(sorted(unknown))}
        )
    return value


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "description"]


class TranslationForm(forms.ModelForm):
    class Meta:
        model = EmailTemplateTranslation
        fields = ["language", "subject", "body_text", "body_html"]
        widgets = {
            "body_text": forms.Textarea(attrs={"rows": 8}),
            "body_html": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An empty choice, so that the blank "add a language" form is left alone.
        self.fields["language"].choices = [("", "—"), *settings.LANGUAGES]

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if rendering.single_line(subject) != subject.strip():
            raise ValidationError(_("A subject is one line: remove line breaks."))
        return _check_placeholders(subject.strip())

    def clean_body_text(self) -> str:
        return _check_placeholders(self.cleaned_data["body_text"])

    def clean_body_html(self) -> str:
        return _check_placeholders(self.cleaned_data["body_html"])


class BaseTranslationFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        languages = []
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            languages.append(form.cleaned_data.get("language"))
        if len(languages) != len(set(languages)):
            raise ValidationError(_("Each language can have only one version."))
        if rendering.FALLBACK_LANGUAGE not in languages:
            raise ValidationError(
                _("An English version is required: customers in other languages get it.")
            )


TranslationFormSet = forms.inlineformset_factory(
    EmailTemplate,
    EmailTemplateTranslation,
    form=TranslationForm,
    formset=BaseTranslationFormSet,
    extra=1,
    can_delete=True,
)


class PreviewForm(forms.Form):
    """One translation's unsaved text, rendered for a chosen customer."""

    customer = forms.CharField(
        label=_("Preview for customer (email or ID)"), max_length=254, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    subject = forms.CharField(max_length=200, required=False)
    body_text = forms.CharField(required=False)
    body_html = forms.CharField(required=False)


def flag_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(key, signal.label) for key, signal in signals.registered().items()]


class FollowUpRuleForm(forms.ModelForm):
    flag_key = forms.ChoiceField(label=_("Risk flag"), required=False)

    class Meta:
        model = FollowUpRule
        fields = [
            "name",
            "trigger",
            "flag_key",
            "min_level",
            "days_after_churn",
            "repeat_after_days",
            "template",
            "position",
            "active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flag_key"].choices = flag_choices()
        self.fields["flag_key"].help_text = FollowUpRule._meta.get_field("flag_key").help_text

    def clean(self) -> dict:
        data = super().clean()
        if data.get("trigger") == FollowUpRule.Trigger.FLAG and not data.get("flag_key"):
            self.add_error("flag_key", _("Choose the risk flag that triggers this rule."))
        if data.get("trigger") != FollowUpRule.Trigger.FLAG:
            data["flag_key"] = ""
        return data


class SendFollowUpForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=EmailTemplate.objects.none(), empty_label=None
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = EmailTemplate.objects.filter(
            translations__isnull=False
        ).distinct()


class OutboxFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + OutgoingEmail.Status.choices
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any"))] + OutgoingEmail.Kind.choices
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"class": "form-control form-control-sm", "placeholder": _("Customer or subject")}
        )
        for name in ("status", "kind"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"


class SignatureForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["signature"]
        widgets = {"signature": forms.Textarea(attrs={"rows": 5})}
