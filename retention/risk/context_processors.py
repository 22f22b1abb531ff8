from django.http import HttpRequest

from customers import access

from .models import Notification


def notifications(request: HttpRequest) -> dict:
    """Unread notices for the navigation badge: one indexed COUNT per page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not access.has_role(user):
        return {}
    # Cached on the request: customer-page cards render with the request too, and
    # each render would otherwise count again.
    if not hasattr(request, "_unread_notifications"):
        request._unread_notifications = Notification.objects.filter(
            recipient=user, read_at__isnull=True
        ).count()
    return {"unread_notifications": request._unread_notifications}
