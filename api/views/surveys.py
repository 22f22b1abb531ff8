"""Surveys with their questions, and the responses with their answers (read)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets

from surveys.models import Answer, Question, Survey, SurveyResponse

from ..filters import ResponseFilter
from ..permissions import SurveyAccess
from ..serializers.surveys import SurveyResponseSerializer, SurveySerializer


@extend_schema(tags=["surveys"])
class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Survey.objects.prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("position", "id")),
        "questions__choices",
    )
    serializer_class = SurveySerializer
    permission_classes = [SurveyAccess]


@extend_schema(tags=["surveys"])
class SurveyResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Submitted responses with their answers; filter by survey, customer, submitted_after."""

    queryset = SurveyResponse.objects.prefetch_related(
        Prefetch(
            "answers",
            queryset=Answer.objects.select_related("question", "choice").order_by(
                "question__position", "id"
            ),
        )
    )
    serializer_class = SurveyResponseSerializer
    permission_classes = [SurveyAccess]
    filterset_class = ResponseFilter
