"""Forms of the onboarding screens: templates with their steps, filters, step actions."""

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from .models import ChecklistTemplate, ChecklistTemplateStep


class ChecklistTemplateForm(forms.ModelForm):
    class Meta:
        model = ChecklistTemplate
        fields = ["name", "description", "plan", "is_default"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_plan(self) -> str:
        plan = self.cleaned_data["plan"].strip()
        if plan:
            clash = ChecklistTemplate.objects.filter(plan__iexact=plan).exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError(
                    _("The template “%(name)s” is already the one for this plan."),
                    params={"name": clash.first().name},
                )
        return plan


class TemplateStepForm(forms.ModelForm):
    class Meta:
        model = ChecklistTemplateStep
        fields = ["position", "title", "description", "actor", "due_offset_days", "required"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 1}),
            # Widths as classes (static/css/app.css): the CSP allows no style attribute.
            "position": forms.NumberInput(attrs={"class": "input-w-5rem"}),
            "due_offset_days": forms.NumberInput(attrs={"class": "input-w-6rem"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Shown as a table row: the column header is the visible label.
        for field in self.fields.values():
            widget = field.widget
            widget.attrs["aria-label"] = str(field.label)
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select form-select-sm"
            else:
                width = widget.attrs.get("class", "")
                widget.attrs["class"] = f"form-control form-control-sm {width}".strip()


class BaseStepFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.update(
                {"class": "form-check-input", "aria-label": str(_("Delete"))}
            )

    def clean(self) -> None:
        super().clean()
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise forms.ValidationError(_("A checklist needs at least one step."))
        if not any(form.cleaned_data.get("required") for form in kept):
            raise forms.ValidationError(
                _(
                    "Mark at least one step as required: "
                    "completing the required steps ends onboarding."
                )
            )


TemplateStepFormSet = inlineformset_factory(
    ChecklistTemplate,
    ChecklistTemplateStep,
    form=TemplateStepForm,
    formset=BaseStepFormSet,
    extra=2,
    can_delete=True,
)


class StartChecklistForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Checklist"), queryset=ChecklistTemplate.objects.all(), empty_label=None
    )


class SkipStepForm(forms.Form):
    reason = forms.CharField(label=_("Reason for skipping"), max_length=200)


class OnboardingFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ChoiceField(label=_("Account manager"), required=False)
    template = forms.ModelChoiceField(
        label=_("Checklist"),
        queryset=ChecklistTemplate.objects.all(),
        required=False,
        empty_label=_("Any checklist"),
    )
    state = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("All running")),
            ("overdue", _("With an overdue step")),
            ("stalled", _("Stalled")),
            ("started", _("Started (any status)")),
            ("completed", _("Completed")),
        ],
    )

    def __init__(self, *args, owner_choices: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the two days are added here. They are the start day,
        # or the completion day when showing completed checklists (the dashboard links here).
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, widget=forms.DateInput({"type": "date"})
        )
        self.fields["owner"].choices = [
            ("", _("Everyone")),
            ("me", _("Mine")),
            ("none", _("Unassigned")),
            *owner_choices,
        ]
        for name, field in self.fields.items():
            css = "form-control" if name in ("q", "from", "to") else "form-select"
            field.widget.attrs["class"] = f"{css} form-select-sm form-control-sm"
