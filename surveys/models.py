"""Surveys staff edit (NPS, exit, feedback), the invitations customers answer, their answers.

Texts are written in the business's default language; translations live next to
them in a small JSON map per object ({"de": {"text": "..."}}), so a survey page
renders in any language from the rows it loads anyway, without a query per text.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Translatable(models.Model):
    """A model with texts translated per language in `translations`."""

    translations = models.JSONField(_("translations"), default=dict, blank=True)

    class Meta:
        abstract = True

    def translated(self, field: str, language: str) -> str:
        """The field's text in `language`, falling back to the original."""
        text = (self.translations.get(language) or {}).get(field, "")
        return text or getattr(self, field)


class SurveyQuerySet(models.QuerySet):
    def automatic(self, kind: str) -> "Survey | None":
        """The active survey of this kind that is sent automatically, if any."""
        return self.filter(kind=kind, automatic=True, is_active=True).order_by("id").first()


class Survey(Translatable):
    class Kind(models.TextChoices):
        NPS = "nps", _("Net Promoter Score (NPS)")
        EXIT = "exit", _("Exit survey")
        CSAT = "csat", _("Feedback (CSAT)")

    name = models.CharField(_("name"), max_length=120, help_text=_("Shown to staff only."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, help_text=_("Shown to the customer."))
    intro = models.TextField(_("introduction"), blank=True)
    thank_you = models.CharField(
        _("thank-you message"), max_length=300, blank=True, help_text=_("Shown after answering.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    automatic = models.BooleanField(
        _("send automatically"),
        default=False,
        help_text=_(
            "NPS: sent to every customer every few months. Exit: sent when a customer "
            "churns or cancels. The oldest active automatic survey of a kind is used."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        permissions = [
            ("send_survey", _("Can send surveys to customers")),
            ("send_survey_segment", _("Can send a survey to a segment of customers")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("surveys:results", args=[self.pk])


class Question(Translatable):
    class Kind(models.TextChoices):
        SCALE_0_10 = "scale_0_10", _("Scale 0–10")
        RATING_1_5 = "rating_1_5", _("Rating 1–5")
        SINGLE_CHOICE = "single_choice", _("Single choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        TEXT = "text", _("Free text")

    CHOICE_KINDS = {Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE}
    NUMBER_KINDS = {Kind.SCALE_0_10, Kind.RATING_1_5}

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["survey", "position", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return self.text

    @property
    def has_choices(self) -> bool:
        return self.kind in self.CHOICE_KINDS

    @property
    def number_range(self) -> range:
        return range(0, 11) if self.kind == self.Kind.SCALE_0_10 else range(1, 6)


class Choice(Translatable):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    label = models.CharField(_("label"), max_length=200)
    # Removed by staff after customers chose it: hidden from the form, kept in results.
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["question", "position", "id"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self) -> str:
        return self.label


class SurveyInvitation(models.Model):
    """One customer asked to answer one survey through a link that works once.

    Only the SHA-256 hash of the link's token is stored; the token itself is in
    the email (or shown once to staff for copying). A reminder gets its own token
    (`reminder_token_hash`), so the first email's link keeps working.

    The row is its own outbox row (surveys.delivery): pending → sending (a worker
    holds it until `claimed_until`, fenced by `lease_token`) → sent once the SMTP
    server accepted the email. The reminder uses the same lease while the row is sent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Sending failed")
        CANCELLED = "cancelled", _("Not sent: unsubscribed")
        LINK = "link", _("Link copied by staff")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Sent by staff")
        SEGMENT = "segment", _("Sent to a segment")
        LINK = "link", _("Link for copying")
        NPS_SCHEDULE = "nps_schedule", _("Automatic NPS")
        CHURNED = "churned", _("Customer churned")
        CANCELLATION = "cancellation", _("Cancellation logged")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    trigger = models.CharField(_("why"), max_length=20, choices=Trigger.choices)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    reminder_token_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    # The link of the attempt before the latest one: a worker that died after the SMTP
    # server accepted an email leaves a repeat with a new link; both must open the survey.
    earlier_token_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    expires_at = models.DateTimeField(_("expires at"))
    # When the SMTP server accepted the email (status sent), or when staff were shown
    # the link to copy (status link): when the invitation reached the customer.
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    used_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("sending attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    # When a delivery task was last enqueued for it; the sweeper enqueues another for a
    # pending row left longer than SURVEY_REQUEUE_AFTER_SECONDS (its message was lost).
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    # The lease of the worker sending the invitation or its reminder.
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="invitation_customer_idx"),
            models.Index(fields=["survey", "-created_at"], name="invitation_survey_idx"),
            # The results page's counts per status: an index-only scan.
            models.Index(fields=["survey", "status", "used_at"], name="invitation_counts_idx"),
            # The dashboard's invitations sent (and answered) per period: an index-only scan.
            models.Index(fields=["survey", "sent_at", "used_at"], name="invitation_sent_idx"),
            # The reminder job: sent, not answered, not reminded yet.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(used_at__isnull=True, reminded_at__isnull=True),
                name="invitation_reminder_idx",
            ),
            # The sweeper: the few rows in flight (pending or being sent).
            models.Index(
                fields=["queued_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="invitation_in_flight_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer}"


class SurveyResponse(models.Model):
    """A customer's submitted answers to one invitation."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="survey_responses"
    )
    language = models.CharField(_("language"), max_length=10)
    submitted_at = models.DateTimeField(_("submitted at"), db_index=True)
    # The answer to an NPS survey's 0–10 question, copied here so the NPS figures and
    # the risk signals read one column.
    nps_score = models.PositiveSmallIntegerField(
        _("NPS score"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        permissions = [("export_responses", _("Can export survey answers to CSV"))]
        indexes = [
            # NPS per period reads only these columns: an index-only scan.
            models.Index(
                fields=["survey", "submitted_at", "nps_score"], name="response_period_idx"
            ),
            models.Index(fields=["customer", "-submitted_at"], name="response_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} · {self.customer}"


class Answer(models.Model):
    """One answer: a number, a chosen choice (one row per choice) or a text."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    # RESTRICT: an answered question or choice cannot be deleted on its own, only
    # together with its answers (deleting the whole survey).
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="answers")
    number = models.SmallIntegerField(_("number"), null=True, blank=True)
    choice = models.ForeignKey(
        Choice, on_delete=models.RESTRICT, null=True, blank=True, related_name="answers"
    )
    text = models.TextField(_("text"), blank=True)

    class Meta:
        ordering = ["response", "question__position", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        indexes = [
            models.Index(fields=["question", "choice"], name="answer_question_choice_idx"),
            # Averages of scales and ratings: an index-only scan.
            models.Index(fields=["question", "number"], name="answer_question_number_idx"),
            # Written answers, newest first (ids follow submission order).
            models.Index(fields=["question", "id"], name="answer_question_id_idx"),
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        if self.choice_id:
            return self.choice.label
        if self.number is not None:
            return str(self.number)
        return self.text
