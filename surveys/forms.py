"""Forms: the one public answering form built from a survey's questions, and the
staff forms to edit surveys, their questions and translations, and to send them."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import nps
from .models import Choice, Question, Survey, SurveyInvitation

MAX_TEXT_ANSWER = 2000


def field_name(question: Question) -> str:
    return f"q{question.pk}"


class AnswerForm(forms.Form):
    """One field per question, labelled in the customer's language.

    Validates each question type: a whole number in the scale's range, one of the
    offered choices (one, or any number for multiple choice), a text of bounded
    length; required questions must be answered. The questions (with their
    choices prefetched) are passed in, so building the form costs no query.
    """

    def __init__(self, *args, questions: list[Question], language: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.language = language
        for question in questions:
            self.fields[field_name(question)] = self._field_for(question)

    def _field_for(self, question: Question) -> forms.Field:
        label = question.translated("text", self.language)
        help_text = question.translated("help_text", self.language)
        common = {"label": label, "help_text": help_text, "required": question.required}
        kind = question.kind
        if kind in Question.NUMBER_KINDS:
            numbers = question.number_range
            return forms.TypedChoiceField(
                choices=[(n, str(n)) for n in numbers],
                coerce=int,
                empty_value=None,
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
                error_messages={
                    "required": _("Please choose a number from %(low)s to %(high)s.")
                    % {"low": numbers[0], "high": numbers[-1]},
                    "invalid_choice": _("Choose a number from %(low)s to %(high)s.")
                    % {"low": numbers[0], "high": numbers[-1]},
                },
                **common,
            )
        if kind in Question.CHOICE_KINDS:
            choices = [
                (choice.pk, choice.translated("label", self.language))
                for choice in question.choices.all()
                if choice.is_active
            ]
            if kind == Question.Kind.SINGLE_CHOICE:
                return forms.TypedChoiceField(
                    choices=choices,
                    coerce=int,
                    empty_value=None,
                    widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                    error_messages={
                        "required": _("Please choose one answer."),
                        "invalid_choice": _("Choose one of the answers offered."),
                    },
                    **common,
                )
            return forms.TypedMultipleChoiceField(
                choices=choices,
                coerce=int,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
                error_messages={
                    "required": _("Please choose at least one answer."),
                    "invalid_choice": _("Choose among the answers offered."),
                },
                **common,
            )
        return forms.CharField(
            max_length=MAX_TEXT_ANSWER,
            widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
            error_messages={"required": _("Please write an answer.")},
            **common,
        )

    def answers(self) -> dict[Question, object]:
        """Each question with its cleaned answer (None, "" or [] when skipped)."""
        return {
            question: self.cleaned_data.get(field_name(question)) for question in self.questions
        }

    def fields_by_question(self) -> list[tuple[Question, forms.BoundField]]:
        return [(question, self[field_name(question)]) for question in self.questions]


# --- Staff forms ---------------------------------------------------------------------


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["name", "kind", "title", "intro", "thank_you", "is_active", "automatic"]
        widgets = {"intro": forms.Textarea(attrs={"rows": 3})}


class QuestionForm(forms.ModelForm):
    """A question, with its choices typed one per line."""

    choices_text = forms.CharField(
        label=_("Choices (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For single and multiple choice questions."),
    )

    class Meta:
        model = Question
        fields = ["position", "kind", "text", "help_text", "required"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["choices_text"] = "\n".join(
                choice.label for choice in self.instance.choices.all() if choice.is_active
            )

    def clean_choices_text(self) -> list[str]:
        labels = []
        for line in self.cleaned_data["choices_text"].splitlines():
            label = line.strip()
            if len(label) > 200:
                raise ValidationError(_("A choice is at most 200 characters long."))
            if label and label not in labels:
                labels.append(label)
        return labels

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        labels = cleaned.get("choices_text") or []
        if kind in Question.CHOICE_KINDS and len(labels) < 2:
            self.add_error("choices_text", _("A choice question needs at least two choices."))
        if kind and kind not in Question.CHOICE_KINDS and labels:
            self.add_error("choices_text", _("Only choice questions have choices."))
        return cleaned


class BaseQuestionFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        for form in self.forms:
            deleting = form.cleaned_data.get("DELETE") and form.instance.pk
            if deleting and form.instance.answers.exists():
                raise ValidationError(
                    _("“%(question)s” has answers and cannot be deleted; make it optional instead.")
                    % {"question": form.instance.text}
                )
        if not kept:
            raise ValidationError(_("A survey needs at least one question."))
        if self.instance.kind == Survey.Kind.NPS:
            ordered = sorted(kept, key=lambda form: form.cleaned_data.get("position") or 0)
            if ordered[0].cleaned_data.get("kind") != Question.Kind.SCALE_0_10:
                raise ValidationError(
                    _("An NPS survey starts with a 0–10 question (“How likely are you…”).")
                )


QuestionFormSet = forms.inlineformset_factory(
    Survey,
    Question,
    form=QuestionForm,
    formset=BaseQuestionFormSet,
    extra=1,
    can_delete=True,
)


def translation_language_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class TranslationForm(forms.Form):
    """Every text of a survey in one other language; empty means "use the original"."""

    def __init__(self, *args, survey: Survey, questions: list[Question], language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.targets = []  # (field name, object, attribute)
        self._add(survey, "title", 200)
        self._add(survey, "intro", 2000, textarea=True)
        self._add(survey, "thank_you", 300)
        for question in questions:
            self._add(question, "text", 300)
            if question.help_text:
                self._add(question, "help_text", 300)
            for choice in question.choices.all():
                if choice.is_active:
                    self._add(choice, "label", 200)

    def _add(self, obj, attribute: str, max_length: int, textarea: bool = False) -> None:
        original = getattr(obj, attribute)
        if not original:
            return
        name = f"{obj._meta.model_name}_{obj.pk}_{attribute}"
        self.fields[name] = forms.CharField(
            label=original,
            required=False,
            max_length=max_length,
            initial=(obj.translations.get(self.language) or {}).get(attribute, ""),
            widget=forms.Textarea(attrs={"rows": 2}) if textarea else forms.TextInput,
        )
        self.targets.append((name, obj, attribute))


class SendToCustomerForm(forms.Form):
    survey = forms.ModelChoiceField(
        label=_("Survey"), queryset=Survey.objects.filter(is_active=True), empty_label=None
    )


class AnswerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search answers"), required=False, max_length=200)
    question = forms.TypedChoiceField(
        label=_("Question"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, questions: list[Question], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["question"].choices = [("", _("Every free-text question"))] + [
            (question.pk, question.text) for question in questions
        ]


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[("month", _("Month")), ("quarter", _("Quarter")), ("week", _("Week"))],
    )


class InvitationFilterForm(forms.Form):
    """The invitations page's filters. `from`/`to` (days, both included) are the day an
    invitation was sent, or the day it was answered when showing answered ones; the
    score and the chosen answer narrow answered invitations (the dashboard links here)."""

    q = forms.CharField(label=_("Customer"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)
    owner = forms.ChoiceField(label=_("Account manager"), required=False)
    score = forms.ChoiceField(
        label=_("NPS answer"),
        required=False,
        choices=[
            ("", _("Any score")),
            (nps.PROMOTER, _("Promoters (9–10)")),
            (nps.PASSIVE, _("Passives (7–8)")),
            (nps.DETRACTOR, _("Detractors (0–6)")),
        ],
    )
    choice = forms.TypedChoiceField(label=_("Answer"), required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        *args,
        survey: Survey,
        choices: list[Choice],
        owner_choices: list[tuple[int, str]],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: these two are added here, not declared above.
        date_input = {"type": "date"}
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(date_input)
        )
        self.fields["to"] = forms.DateField(
            label=_("To"),
            required=False,
            widget=forms.DateInput(date_input),
            help_text=_("Sent on these days; answered on them when showing answered ones."),
        )
        self.fields["status"].choices = [
            ("", _("Any")),
            ("answered", _("Answered")),
            ("unanswered", _("Not answered")),
            *SurveyInvitation.Status.choices,
        ]
        self.fields["owner"].choices = [
            ("", _("Everyone")),
            ("me", _("Mine")),
            ("none", _("Unassigned")),
            *((str(pk), name) for pk, name in owner_choices),
        ]
        if survey.kind != Survey.Kind.NPS:
            del self.fields["score"]
        if choices:
            self.fields["choice"].choices = [("", _("Any answer"))] + [
                (choice.pk, f"{choice.question.text} · {choice.label}") for choice in choices
            ]
        else:
            del self.fields["choice"]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def clean(self) -> dict:
        data = super().clean()
        first, last = data.get("from"), data.get("to")
        if first and last and last < first:
            self.add_error("to", _("The last day comes after the first."))
        return data
