"""POST /api/v1/usage/: a batch of product-usage and visit events, added to daily counts."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.usage import events_from_json, usage_record

from .permissions import RoleRequired


class _UsageEventSchema(serializers.Serializer):
    """The schema of one line (customers.usage checks the lines and names bad ones)."""

    customer_external_id = serializers.CharField(required=False)
    customer_email = serializers.EmailField(required=False)
    event = serializers.CharField(max_length=60)
    at = serializers.DateTimeField(required=False, help_text="Default: now.")
    count = serializers.IntegerField(required=False, min_value=1, default=1)


class _UsageBatchSchema(serializers.Serializer):
    events = _UsageEventSchema(many=True)


class UsageView(APIView):
    """Any staff role may send usage: it is the product's or the website's log, not a
    change to a customer the pages guard."""

    permission_classes = [RoleRequired]

    @extend_schema(
        tags=["usage"],
        request=_UsageBatchSchema,
        responses={
            201: inline_serializer(
                "UsageRecorded",
                {
                    "events": serializers.IntegerField(),
                    "clicks": serializers.IntegerField(),
                    "rows": serializers.IntegerField(),
                },
            )
        },
        examples=[
            OpenApiExample(
                "Two logins and a pricing-page visit",
                value={
                    "events": [
                        {"customer_external_id": "K-1001", "event": "logged in", "count": 2},
                        {
                            "customer_email": "ana@example.com",
                            "event": "visited pricing page",
                            "at": "2026-03-02T10:15:00Z",
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Up to 1,000 events; a bad line is a 400 naming it (events[3].count) and
        nothing of the batch is written."""
        body = request.data if isinstance(request.data, dict) else {}
        result = usage_record(events_from_json(body.get("events")))
        return Response(
            {"events": result.events, "clicks": result.clicks, "rows": result.rows},
            status=status.HTTP_201_CREATED,
        )
