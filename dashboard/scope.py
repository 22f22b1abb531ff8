"""Whose customers the dashboard counts: one account manager's book, or everyone's."""

from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    # None: every customer, whoever owns them (and nobody).
    owner_id: int | None = None

    @property
    def is_everyone(self) -> bool:
        return self.owner_id is None

    def q(self, owner_field: str = "owner") -> Q:
        """The condition on a customer's owner, for a queryset of `owner_field`'s model.

        E.g. `Interaction.objects.filter(scope.q("customer__owner"))`.
        """
        if self.owner_id is None:
            return Q()
        return Q(**{f"{owner_field}_id": self.owner_id})

    @property
    def key(self) -> str:
        """A short text naming the scope, for cache keys and CSV file names."""
        return "all" if self.owner_id is None else f"owner-{self.owner_id}"


EVERYONE = Scope()
