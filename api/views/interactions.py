"""Interactions: the timeline's rows, and logging one as the customer page does."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from customers import access
from customers.models import Interaction

from ..filters import InteractionFilter
from ..permissions import LOG_REFUSED, InteractionAccess
from ..serializers.interactions import InteractionCreateSerializer, InteractionSerializer


@extend_schema(tags=["interactions"])
class InteractionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Interactions in id order; filter by customer, kind, occurred_after/before."""

    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
    permission_classes = [InteractionAccess]
    filterset_class = InteractionFilter

    @extend_schema(request=InteractionCreateSerializer, responses={201: InteractionSerializer})
    def create(self, request: Request) -> Response:
        """Log an interaction: it shows on the customer's timeline, moves their last
        contact forward and, for a purchase, earns loyalty points, as on the page."""
        write = InteractionCreateSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        if not access.can_log_interaction(request.user, write.validated_data["customer"]):
            raise PermissionDenied(LOG_REFUSED)
        interaction = write.log(user=request.user)
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)
