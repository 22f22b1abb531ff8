"""Writes behind the staff survey editor: a survey with its questions and choices,
and its translations."""

from django.db import transaction

from .forms import QuestionFormSet, SurveyForm, TranslationForm
from .models import Choice, Question, Survey


@transaction.atomic
def survey_save(*, survey_form: SurveyForm, question_formset: QuestionFormSet) -> Survey:
    """Save a validated survey form and its questions formset, choices included."""
    survey = survey_form.save()
    question_formset.instance = survey
    question_formset.save(commit=False)
    for question in question_formset.deleted_objects:
        question.delete()
    for form in question_formset.forms:
        is_blank_extra = form.instance.pk is None and not form.has_changed()
        if is_blank_extra or form.cleaned_data.get("DELETE"):
            continue
        question = form.save(commit=False)
        question.survey = survey
        question.save()
        question_choices_sync(question=question, labels=form.cleaned_data.get("choices_text", []))
    return survey


def question_choices_sync(*, question: Question, labels: list[str]) -> None:
    """Make the question offer exactly `labels`, in that order.

    A choice keeps its row while its label stays (answers keep pointing at it);
    a removed choice that customers already chose is hidden rather than deleted,
    so past results still show it.
    """
    if not question.has_choices:
        labels = []
    existing = {choice.label: choice for choice in question.choices.all()}
    for position, label in enumerate(labels):
        choice = existing.pop(label, None)
        if choice is None:
            Choice.objects.create(question=question, label=label, position=position)
        elif choice.position != position or not choice.is_active:
            choice.position = position
            choice.is_active = True
            choice.save(update_fields=["position", "is_active"])
    for choice in existing.values():
        if choice.answers.exists():
            if choice.is_active:
                choice.is_active = False
                choice.save(update_fields=["is_active"])
        else:
            choice.delete()


@transaction.atomic
def survey_translations_save(*, form: TranslationForm) -> None:
    """Store the form's texts under its language; an empty field removes the translation."""
    changed = {}
    for name, obj, attribute in form.targets:
        key = (obj._meta.model_name, obj.pk)
        obj = changed.setdefault(key, obj)
        texts = dict(obj.translations.get(form.language) or {})
        value = form.cleaned_data.get(name, "").strip()
        if value:
            texts[attribute] = value
        else:
            texts.pop(attribute, None)
        obj.translations = {**obj.translations, form.language: texts}
        if not texts:
            obj.translations.pop(form.language)
    for obj in changed.values():
        obj.save(update_fields=["translations"])
