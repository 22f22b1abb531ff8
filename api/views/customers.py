"""Customers and companies."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit.log import record
from audit.models import AuditEntry
from customers import services
from customers.models import Company, Customer

from ..filters import ApiCustomerFilter
from ..permissions import CompanyAccess, CustomerAccess
from ..serializers.customers import CompanySerializer, CustomerSerializer, CustomerWriteSerializer


def _customers():
    return Customer.objects.select_related("company").prefetch_related("tags")


@extend_schema(tags=["customers"])
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers, with the customer list's filters (archived ones only with `archived`).

    Writes go through the customer page's form: the same validation, denormalised
    fields, company by name, tags and status history as in the app.
    """

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    permission_classes = [CustomerAccess]
    filterset_class = ApiCustomerFilter

    def get_queryset(self):
        return _customers()

    def filter_queryset(self, queryset):
        # The list's filters are for the list: one customer by id is found archived or
        # not, as the customer page finds it.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(request=CustomerWriteSerializer, responses={201: CustomerSerializer})
    def create(self, request: Request) -> Response:
        write = CustomerWriteSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        with transaction.atomic():
            customer = write.save_with_form(user=request.user)
            record(AuditEntry.Action.CUSTOMER_CREATED, request=request, target=customer)
        return Response(self._read(customer.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=CustomerWriteSerializer, responses={200: CustomerSerializer})
    def partial_update(self, request: Request, pk=None) -> Response:
        customer = self.get_object()
        write = CustomerWriteSerializer(data=request.data, partial=True)
        write.is_valid(raise_exception=True)
        with transaction.atomic():
            write.save_with_form(user=request.user, instance=customer)
            details = {"fields": sorted(write.validated_data)}  # names, never values
            changed = AuditEntry.Action.CUSTOMER_CHANGED
            record(changed, request=request, target=customer, details=details)
        return Response(self._read(customer.pk))

    @extend_schema(request=None, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk=None) -> Response:
        """Hide the customer from lists, history kept (as the page's Archive button)."""
        customer = self.get_object()
        with transaction.atomic():
            services.customer_archive(customer=customer)
            record(AuditEntry.Action.CUSTOMER_ARCHIVED, request=request, target=customer)
        return Response(self._read(customer.pk))

    @extend_schema(request=None, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk=None) -> Response:
        customer = self.get_object()
        with transaction.atomic():
            services.customer_unarchive(customer=customer)
            record(AuditEntry.Action.CUSTOMER_UNARCHIVED, request=request, target=customer)
        return Response(self._read(customer.pk))

    def _read(self, pk: int) -> dict:
        return CustomerSerializer(_customers().get(pk=pk)).data


@extend_schema(tags=["companies"])
class CompanyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    permission_classes = [CompanyAccess]
