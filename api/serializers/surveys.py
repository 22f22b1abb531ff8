"""Surveys with their questions, and responses with their answers (read)."""

from rest_framework import serializers

from surveys.models import Answer, Choice, Question, Survey, SurveyResponse


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "position", "label", "is_active"]
        read_only_fields = fields


class QuestionSerializer(serializers.ModelSerializer):
    choices = ChoiceSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "help_text", "required", "choices"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "name",
            "kind",
            "title",
            "intro",
            "thank_you",
            "is_active",
            "automatic",
            "created_at",
            "questions",
        ]
        read_only_fields = fields


class AnswerSerializer(serializers.ModelSerializer):
    question = serializers.IntegerField(source="question_id", read_only=True)
    question_text = serializers.CharField(source="question.text", read_only=True)
    choice = serializers.IntegerField(source="choice_id", allow_null=True, read_only=True)
    display = serializers.CharField(read_only=True, help_text="The answer as the results show it.")

    class Meta:
        model = Answer
        fields = ["question", "question_text", "number", "choice", "text", "display"]
        read_only_fields = fields


class SurveyResponseSerializer(serializers.ModelSerializer):
    survey = serializers.IntegerField(source="survey_id", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyResponse
        fields = ["id", "survey", "customer", "language", "submitted_at", "nps_score", "answers"]
        read_only_fields = fields
