"""Who may do what with surveys: permission names in one place (roles get them
through customers.access.ROLE_PERMISSIONS)."""

from customers import access

VIEW_RESULTS = "surveys.view_surveyresponse"
EXPORT = "surveys.export_responses"
EDIT = "surveys.change_survey"
CREATE = "surveys.add_survey"
SEND = "surveys.send_survey"
SEND_SEGMENT = "surveys.send_survey_segment"


def can_see_results(user) -> bool:
    return access.has_role(user) and user.has_perm(VIEW_RESULTS)


def can_send_to(user, customer) -> bool:
    """Send or copy a survey link for this customer: own (or unassigned) customers, admins all."""
    return user.has_perm(SEND) and access.can_change_customer(user, customer)
