"""CSV export of a survey's answers: one row per response, one column per question.

Cells go through customers.exporting.neutralise_cell, so a customer typing
"=HYPERLINK(...)" in a free-text answer never runs as a spreadsheet formula.
"""

import csv
from collections.abc import Iterator

from django.db.models import Prefetch
from django.utils import timezone

from customers.exporting import BOM, neutralise_cell

from .models import Answer, Survey

CHUNK = 1000


class _Echo:
    def write(self, value: str) -> str:
        return value


def response_csv_lines(survey: Survey) -> Iterator[str]:
    writer = csv.writer(_Echo())
    questions = list(survey.questions.order_by("position", "id"))
    header = ["submitted_at", "customer", "email", "language", "nps_score"]
    header += [question.text for question in questions]
    yield BOM + writer.writerow([neutralise_cell(cell) for cell in header])
    answers = Answer.objects.select_related("choice").order_by("id")
    responses = (
        survey.responses.select_related("customer")
        .order_by("submitted_at", "id")
        .prefetch_related(Prefetch("answers", queryset=answers))
    )
    for response in responses.iterator(chunk_size=CHUNK):
        by_question: dict[int, list[str]] = {}
        for answer in response.answers.all():
            by_question.setdefault(answer.question_id, []).append(answer.display)
        row = [
            timezone.localtime(response.submitted_at).isoformat(),
            response.customer.name,
            response.customer.email,
            response.language,
            "" if response.nps_score is None else response.nps_score,
        ]
        row += ["; ".join(by_question.get(question.pk, [])) for question in questions]
        yield writer.writerow([neutralise_cell(cell) for cell in row])
