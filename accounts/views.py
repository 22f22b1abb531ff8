"""Account pages: the user's own account, password change and reset, two-factor."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView
from django_otp import login as otp_login

from audit.log import record

from . import languages, passwords, two_factor
from .forms import CodeForm, ConfirmDeviceForm, ResetRequestForm

BACKUP_CODES_SESSION_KEY = "accounts_new_backup_codes"


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A bare word ("²") would be taken by redirect() for a view name: NoReverseMatch, a 500
    # (the same rule as customers.params.safe_next, which this layer cannot import).
    if target.startswith(("/", "http://", "https://")) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    context = {
        "two_factor_on": two_factor.has_device(request.user),
        "two_factor_required": two_factor.is_required_for(request.user),
        "disable_form": CodeForm(),
    }
    return render(request, "accounts/account.html", context)


# --- Passwords ---------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        record("account.password_changed", request=self.request, target=self.request.user)
        messages.success(self.request, _("Your password was changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. Every answer is the same "check your email" page, whether
    the address has an account or not; only the per-address limit (429) differs, and it
    counts every request alike."""

    form_class = ResetRequestForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        if not passwords.address_allowed(request):
            return render(request, "accounts/reset_rate_limited.html", status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        form.save()
        return redirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        record("account.password_reset", request=self.request, user=form.user, target=form.user)
        # The owner proved the mailbox: the failed logins that may have locked them go.
        axes_reset(username=form.user.get_username())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


# --- Two-factor --------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class TwoFactorSetupView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/two_factor_setup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and two_factor.has_device(request.user):
            messages.info(request, _("Two-factor authentication is already on."))
            return redirect("accounts:account")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        device = two_factor.pending_device(self.request.user)
        return super().get_context_data(
            form=form or ConfirmDeviceForm(),
            qr_code=two_factor.qr_code_data_uri(device),
            secret=two_factor.secret_text(device),
            required=two_factor.is_required_for(self.request.user),
            next=_next_url(self.request, ""),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        device = two_factor.pending_device(request.user, create=False)
        if device is None:  # no secret shown yet: show one first
            return redirect("accounts:two_factor_setup")
        form = ConfirmDeviceForm(request.POST)
        if form.is_valid():
            codes = two_factor.confirm(request, device, form.cleaned_data["code"])
            if codes is not None:
                record("account.two_factor_enabled", request=request, target=request.user)
                request.session[BACKUP_CODES_SESSION_KEY] = codes
                messages.success(request, _("Two-factor authentication is on."))
                url = reverse("accounts:two_factor_backup_codes")
                if target := _next_url(request, ""):
                    url += "?" + urlencode({"next": target})
                return redirect(url)
            form.add_error("code", _("That code is not right. Check the time on your phone."))
        return self.render_to_response(self.get_context_data(form=form), status=422)


@login_required
@require_GET
@never_cache
def backup_codes(request: HttpRequest) -> HttpResponse:
    """The new backup codes, shown once (they are stored hashed nowhere else to read)."""
    codes = request.session.pop(BACKUP_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("accounts:account")
    context = {"codes": codes, "next": _next_url(request, reverse("accounts:account"))}
    return render(request, "accounts/backup_codes.html", context)


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    if two_factor.is_required_for(request.user):
        messages.error(request, _("Admins must keep two-factor authentication on."))
        return redirect("accounts:account")
    form = CodeForm(request.POST)
    if form.is_valid() and two_factor.verify(request.user, form.cleaned_data["code"]):
        two_factor.disable(request.user)
        request.session[two_factor.SESSION_KEY] = False
        record("account.two_factor_disabled", request=request, target=request.user)
        messages.success(request, _("Two-factor authentication is off."))
        return redirect("accounts:account")
    messages.error(request, _("That code is not right: two-factor authentication stays on."))
    return redirect("accounts:account")


@never_cache
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of the login: the code after the password."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_verified() or not two_factor.session_has_device(request):
        return redirect(_next_url(request, reverse(settings.LOGIN_REDIRECT_URL)))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        device = form.is_valid() and two_factor.verify(request.user, form.cleaned_data["code"])
        if device:
            otp_login(request, device)
            return redirect(_next_url(request, reverse(settings.LOGIN_REDIRECT_URL)))
        form.add_error("code", _("That code is not right, or it was used already."))
        status = 422
    context = {"form": form, "next": _next_url(request, "")}
    return render(request, "accounts/two_factor_verify.html", context, status=status)


# --- Language ----------------------------------------------------------------------


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, the redirect to `next`), and for a signed-in
    user the choice kept with their account, so their next login starts in it."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and languages.supported(language):
        languages.user_language_set(user=request.user, language=language, request=request)
    return response
