"""Forms for follow-up emails: templates and their translations, rules, sending, the outbox."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
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
            ngettext(
                "Unknown placeholder: %(names)s. Use one of the list next to the editor.",
                "Unknown placeholders: %(names)s. Use one of the list next to the editor.",
                len(unknown),
            )
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


def flag_choices(current: str = "") -> list[tuple[str, str]]:
    """The registered risk signals by label; a rule's stored key that is no longer one
    (a signal renamed or removed) is listed as such, so that its form shows what it was."""
    registry = signals.registered()
    choices = [("", "—")] + [(key, signal.label) for key, signal in registry.items()]
    if current and current not in registry:
        choices.append((current, _("%(key)s (no longer a risk signal)") % {"key": current}))
    return choices


def describe_trigger(rule: FollowUpRule) -> str:
    """What a rule's trigger means, in words, for the list of rules (in the current language)."""
    if rule.trigger == FollowUpRule.Trigger.LEVEL_RISE:
        return gettext("Risk rises to %(level)s or higher") % {
            "level": rule.get_min_level_display()
        }
    if rule.trigger == FollowUpRule.Trigger.FLAG:
        signal = signals.registered().get(rule.flag_key)
        if signal is None:
            return gettext("Flagged: %(key)s (no longer a risk signal, so it matches nobody)") % {
                "key": rule.flag_key
            }
        return gettext("Flagged: %(label)s") % {"label": signal.label}
    if rule.trigger == FollowUpRule.Trigger.WIN_BACK:
        days = rule.days_after_churn
        return ngettext("%(days)s day after churning", "%(days)s days after churning", days) % {
            "days": days
        }
    if rule.trigger == FollowUpRule.Trigger.PURCHASE_OVERDUE:
        days = rule.days_overdue
        return ngettext(
            "%(days)s day past their usual next purchase",
            "%(days)s days past their usual next purchase",
            days,
        ) % {"days": days}
    return rule.get_trigger_display()


class FollowUpRuleForm(forms.ModelForm):
    flag_key = forms.ChoiceField(
        label=_("Risk flag"),
        required=False,
        help_text=_(
            "For “a risk flag is present”: the reason that must flag the customer "
            "(a strong reason that adds to their risk)."
        ),
    )

    # The trigger each setting belongs to: asked for (and checked) only for it.
    TRIGGER_SETTINGS = {
        FollowUpRule.Trigger.WIN_BACK: "days_after_churn",
        FollowUpRule.Trigger.PURCHASE_OVERDUE: "days_overdue",
    }

    class Meta:
        model = FollowUpRule
        fields = [
            "name",
            "trigger",
            "flag_key",
            "min_level",
            "days_after_churn",
            "days_overdue",
            "repeat_after_days",
            "template",
            "position",
            "active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flag_key"].choices = flag_choices(self.instance.flag_key)
        for name in self.TRIGGER_SETTINGS.values():
            self.fields[name].required = False

    def clean(self) -> dict:
        data = super().clean()
        trigger = data.get("trigger")
        key = data.get("flag_key")
        if trigger == FollowUpRule.Trigger.FLAG and "flag_key" not in self.errors:
            if not key:
                self.add_error("flag_key", _("Choose the risk flag that triggers this rule."))
            elif key not in signals.registered():
                self.add_error(
                    "flag_key",
                    _("“%(key)s” is no longer a risk signal: choose one from the list.")
                    % {"key": key},
                )
        if trigger != FollowUpRule.Trigger.FLAG:
            data["flag_key"] = ""
        for setting_trigger, name in self.TRIGGER_SETTINGS.items():
            if data.get(name) is not None or name in self.errors:
                continue
            if trigger == setting_trigger:
                self.add_error(name, _("Enter the number of days for this trigger."))
            else:
                # Not this rule's trigger: keep what it had (or the default).
                data[name] = getattr(self.instance, name)
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
    # Account emails (password resets) are never listed: no filter for them either.
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("Any"))]
        + [
            (value, label)
            for value, label in OutgoingEmail.Kind.choices
            if value not in OutgoingEmail.ACCOUNT_KINDS
        ],
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
