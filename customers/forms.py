from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import access, languages
from .models import Company, Customer, ImportJob, Interaction
from .services import tags_from_names


def staff_users():
    """Users who can own customers: admins and account managers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[access.ADMIN, access.ACCOUNT_MANAGER])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class CustomerForm(forms.ModelForm):
    """Create and edit a customer. Company and tags are typed as text."""

    company_name = forms.CharField(
        label=_("Company"),
        max_length=200,
        required=False,
        help_text=_("Created if it does not exist yet."),
    )
    tag_names = forms.CharField(
        label=_("Tags"),
        max_length=500,
        required=False,
        help_text=_("Separate tags with commas."),
    )
    owner = UserChoiceField(queryset=None, required=False, label=_("Account manager"))

    class Meta:
        model = Customer
        fields = [
            "name",
            "email",
            "phone",
            "external_id",
            "company_name",
            "address",
            "city",
            "country",
            "preferred_language",
            "owner",
            "status",
            "customer_since",
            "renewal_date",
            "plan",
            "monthly_value",
            "tag_names",
            "marketing_consent",
            "notes",
        ]
        widgets = {
            "customer_since": forms.DateInput(attrs={"type": "date"}),
            "renewal_date": forms.DateInput(attrs={"type": "date"}),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = staff_users()
        self.fields["preferred_language"].choices = languages.preferred_language_choices()
        if self.instance.pk:
            self.fields["company_name"].initial = (
                self.instance.company.name if self.instance.company_id else ""
            )
            self.fields["tag_names"].initial = ", ".join(t.name for t in self.instance.tags.all())
        elif user is not None and access.is_account_manager(user):
            self.fields["owner"].initial = user.pk
        if user is not None and not access.is_admin(user):
            # An account manager cannot hand a customer to someone else.
            self.fields["owner"].queryset = self.fields["owner"].queryset.filter(pk=user.pk)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("email", css_class="col-md-6")),
            Row(
                Column("phone", css_class="col-md-3"),
                Column("external_id", css_class="col-md-3"),
                Column("company_name", css_class="col-md-3"),
                Column("preferred_language", css_class="col-md-3"),
            ),
            "address",
            Row(Column("city", css_class="col-md-6"), Column("country", css_class="col-md-6")),
            Row(
                Column("owner", css_class="col-md-4"),
                Column("status", css_class="col-md-4"),
                Column("customer_since", css_class="col-md-4"),
            ),
            Row(
                Column("plan", css_class="col-md-4"),
                Column("monthly_value", css_class="col-md-4"),
                Column("renewal_date", css_class="col-md-4"),
            ),
            "tag_names",
            "marketing_consent",
            "notes",
            Submit("save", _("Save")),
        )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email:
            clash = Customer.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError(
                    _("Another customer already has this email address: %(name)s."),
                    params={"name": clash.first().name},
                )
        return email

    def clean_external_id(self) -> str:
        # Checked here, not only by the database constraint, to name the other customer
        # next to the field (the constraint would give a message for the whole form).
        external_id = self.cleaned_data["external_id"].strip()
        if external_id:
            clash = Customer.objects.filter(external_id=external_id).exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError(
                    _("Another customer already has this external id: %(name)s."),
                    params={"name": clash.first().name},
                )
        return external_id

    def clean_tag_names(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["tag_names"].split(",")]
        names = [name for name in names if name]
        too_long = [name for name in names if len(name) > 50]
        if too_long:
            raise forms.ValidationError(_("A tag can have at most 50 characters."))
        return names

    def clean(self) -> dict:
        cleaned = super().clean()
        status = cleaned.get("status")
        if status == Customer.Status.CHURNED and not self.instance.churned_on:
            self.instance.churned_on = timezone.localdate()
        return cleaned

    def save(self, commit: bool = True) -> Customer:
        company_name = self.cleaned_data["company_name"].strip()
        self.instance.company = (
            Company.objects.get_or_create(name=company_name)[0] if company_name else None
        )
        customer = super().save(commit=commit)
        if commit:
            customer.tags.set(tags_from_names(self.cleaned_data["tag_names"]))
        return customer


class InteractionForm(forms.ModelForm):
    class Meta:
        model = Interaction
        fields = ["kind", "direction", "subject", "occurred_at", "amount", "sentiment", "body"]
        widgets = {
            "occurred_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "body": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(
                Column("kind", css_class="col-md-4"),
                Column("direction", css_class="col-md-4"),
                Column("occurred_at", css_class="col-md-4"),
            ),
            "subject",
            Row(Column("amount", css_class="col-md-6"), Column("sentiment", css_class="col-md-6")),
            "body",
        )


class ImportUploadForm(forms.Form):
    target = forms.ChoiceField(label=_("What to import"), choices=ImportJob.Target.choices)
    mode = forms.ChoiceField(
        label=_("When rows are invalid"),
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8, comma or semicolon separated, with a header row.")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout("target", "mode", "file", Submit("upload", _("Check file")))

    def clean_file(self) -> UploadedFile:
        """The upload, within the size limit; its text is read by importing.storage."""
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(mb)s MB)."),
                params={"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)},
            )
        self.filename = upload.name
        return upload


class MergeForm(forms.Form):
    survivor = forms.ModelChoiceField(queryset=Customer.objects.all(), widget=forms.RadioSelect)

    def __init__(self, *args, pair: tuple[Customer, Customer], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pair = pair
        self.fields["survivor"].queryset = Customer.objects.filter(pk__in=[c.pk for c in pair])
        self.fields["survivor"].label = _("Keep this record")
