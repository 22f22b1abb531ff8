"""The risk model and backtest pages (admins only): weights, calibration, backtests."""

import csv
import io
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Customer, Interaction
from retention.models import Backtest, RiskConfig, WeightSet
from retention.risk import backtest, planning, signals

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

HORIZON = 90


@pytest.fixture
def as_of():
    """A past date whose whole horizon is over."""
    return timezone.localdate() - timedelta(days=HORIZON + 30)


@pytest.fixture
def history(as_of):
    """80 customers with a year of purchases before `as_of`; about half lost after it.

    Half have a contract (a plan): some of those churn within the horizon. The other
    half have none: some of those simply go silent, which counts as lost too.
    """
    rng = random.Random(7)  # noqa: S311 (repeatable test data, not security)
    start = timezone.now() - (timezone.localdate() - as_of)
    interactions = []
    for number in range(80):
        contract = number % 2 == 0
        customer = CustomerFactory(
            plan="Growth" if contract else "",
            monthly_value=Decimal("49.00") if contract else Decimal("0"),
            customer_since=as_of - timedelta(days=400),
        )
        gap = rng.randint(10, 40)
        for back in range(rng.randint(5, 300), 360, gap):
            interactions.append(
                InteractionFactory.build(
                    customer=customer,
                    kind=Interaction.Kind.PURCHASE,
                    direction=Interaction.Direction.INBOUND,
                    amount=Decimal("20.00"),
                    occurred_at=start - timedelta(days=back),
                )
            )
        lost = rng.random() < 0.5
        if lost and contract:
            Customer.objects.filter(pk=customer.pk).update(
                status=Customer.Status.CHURNED,
                churned_on=as_of + timedelta(days=rng.randint(5, 80)),
            )
        elif not lost:
            for ahead in range(rng.randint(1, 20), 200, gap):
                interactions.append(
                    InteractionFactory.build(
                        customer=customer,
                        kind=Interaction.Kind.PURCHASE,
                        direction=Interaction.Direction.INBOUND,
                        amount=Decimal("20.00"),
                        occurred_at=start + timedelta(days=ahead),
                    )
                )
    Interaction.objects.bulk_create(
        [i for i in interactions if i.occurred_at < timezone.now() - timedelta(hours=1)]
    )
    return as_of


@pytest.fixture
def finished_backtest(history, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = backtest.start_backtest(as_of=history, horizon_days=HORIZON, by=admin_user)
    row.refresh_from_db()
    assert row.status == Backtest.Status.DONE, row.message
    assert not row.figures.get("too_few"), row.figures
    return row


def suggested_set(as_of, **fields) -> WeightSet:
    """A suggested weight set with figures, as a calibration would leave it."""
    report = backtest.backtest(as_of, HORIZON)
    figures = {
        "dates": [as_of.isoformat(), (as_of - timedelta(days=30)).isoformat()],
        "horizon_days": HORIZON,
        "training_customers": 640,
        "training_lost": 300,
        "current": report,
        "suggested": report,
        "current_weight_set": None,
    }
    values = {
        "status": WeightSet.Status.SUGGESTED,
        "intercept": -0.8,
        "weights": {"silence": 1.9, "repeat_buying": -0.7},
        "figures": figures,
        "finished_at": timezone.now(),
        **fields,
    }
    return WeightSet.objects.create(**values)


def page_urls(backtest_row: Backtest, weight_set: WeightSet) -> dict[str, str]:
    return {
        "model": reverse("retention:risk_model"),
        "calibration": reverse("retention:risk_calibration", args=[weight_set.pk]),
        "apply": reverse("retention:risk_weights_apply", args=[weight_set.pk]),
        "backtests": reverse("retention:risk_backtests"),
        "backtest": reverse("retention:risk_backtest", args=[backtest_row.pk]),
        "csv": reverse("retention:risk_backtest_csv", args=[backtest_row.pk]),
    }


# --- Who gets in -------------------------------------------------------------------


def test_admin_opens_every_page(admin_client, finished_backtest, as_of):
    weight_set = suggested_set(as_of)
    for name, url in page_urls(finished_backtest, weight_set).items():
        response = admin_client.get(
            url, headers={"HX-Request": "true"} if name == "calibration" else {}
        )
        assert response.status_code == 200, name


@pytest.mark.parametrize("persona", ["manager_client", "staff_client"])
def test_account_managers_and_staff_are_refused(request, persona, admin_user):
    """403 (the project's answer for admin-only pages), and nothing is started or applied."""
    client = request.getfixturevalue(persona)
    row = Backtest.objects.create(as_of=timezone.localdate() - timedelta(days=200), horizon_days=90)
    weight_set = WeightSet.objects.create(
        status=WeightSet.Status.SUGGESTED, intercept=-1.0, weights={"silence": 1.0}
    )
    for name, url in page_urls(row, weight_set).items():
        assert client.get(url).status_code == 403, name
    assert client.post(reverse("retention:risk_calibrate")).status_code == 403
    assert client.post(page_urls(row, weight_set)["apply"]).status_code == 403
    form = {"as_of": "2020-01-01", "horizon_days": "90"}
    assert client.post(reverse("retention:risk_backtests"), form).status_code == 403
    assert Backtest.objects.count() == 1
    assert WeightSet.objects.count() == 1
    weight_set.refresh_from_db()
    assert weight_set.status == WeightSet.Status.SUGGESTED


def test_anonymous_users_are_sent_to_login(client):
    row = Backtest.objects.create(as_of=timezone.localdate() - timedelta(days=200), horizon_days=90)
    weight_set = WeightSet.objects.create()
    for name, url in page_urls(row, weight_set).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_bad_ids_are_404(admin_client):
    for name in (
        "retention:risk_backtest",
        "retention:risk_backtest_csv",
        "retention:risk_calibration",
        "retention:risk_weights_apply",
    ):
        assert admin_client.get(reverse(name, args=[999999])).status_code == 404, name
    apply = reverse("retention:risk_weights_apply", args=[999999])
    assert admin_client.post(apply).status_code == 404


def test_the_queue_links_to_the_pages_for_admins_only(admin_client, manager_client):
    admin_page = admin_client.get(reverse("retention:queue")).content.decode()
    assert reverse("retention:risk_model") in admin_page
    assert reverse("retention:risk_backtests") in admin_page
    manager_page = manager_client.get(reverse("retention:queue")).content.decode()
    assert reverse("retention:risk_model") not in manager_page


# --- Backtests ---------------------------------------------------------------------


def test_starting_a_backtest_creates_a_row_and_its_page_shows_the_figures(
    admin_client, admin_user, history, django_capture_on_commit_callbacks
):
    """Given a real history, when an admin starts a backtest (the task runs on commit,
    eagerly), then the row is done and its page shows the tables, chart and summary."""
    form = {"as_of": history.isoformat(), "horizon_days": str(HORIZON)}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("retention:risk_backtests"), form)
    row = Backtest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("retention:risk_backtest", args=[row.pk])
    assert (row.as_of, row.horizon_days, row.created_by) == (history, HORIZON, admin_user)
    assert row.status == Backtest.Status.DONE
    assert row.figures["customers"] == 80

    page = admin_client.get(response["Location"]).content.decode()
    assert "80 customers could be scored" in page
    assert 'data-testid="backtest-comparison"' in page
    assert "ROC AUC" in page and "riskiest 10\u00a0%" in page and "riskiest 20\u00a0%" in page
    assert 'data-testid="calibration-table"' in page
    assert page.count('<tr><th scope="row" class="fw-normal">') >= 10
    assert 'id="backtest-calibration-chart"' in page
    assert 'id="backtest-calibration-data"' in page
    assert "js/risk-calibration.js" in page and "chart.umd.min.js" in page
    assert str(signals.registered()["silence_new"].label) in page
    assert "hx-trigger" not in page  # finished: no more polling
    assert 'data-testid="incomplete"' not in page
    assert "<script>" not in page  # no inline scripts (strict CSP)


def test_a_running_backtest_shows_its_progress_and_polls(admin_client):
    row = Backtest.objects.create(
        as_of=timezone.localdate() - timedelta(days=200), horizon_days=90, progress=40
    )
    url = reverse("retention:risk_backtest", args=[row.pk])
    page = admin_client.get(url).content.decode()
    assert f'hx-get="{url}"' in page and 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="40"' in page
    partial = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'aria-valuenow="40"' in partial


def test_a_backtest_whose_horizon_is_not_over_says_so(
    admin_client, admin_user, history, django_capture_on_commit_callbacks
):
    recent = timezone.localdate() - timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        row = backtest.start_backtest(as_of=recent, horizon_days=HORIZON, by=admin_user)
    page = admin_client.get(reverse("retention:risk_backtest", args=[row.pk])).content.decode()
    assert 'data-testid="incomplete"' in page
    assert "The horizon is not over yet" in page


def test_a_backtest_with_too_few_customers_says_so(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    CustomerFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        row = backtest.start_backtest(
            as_of=timezone.localdate() - timedelta(days=10), horizon_days=HORIZON, by=admin_user
        )
    url = reverse("retention:risk_backtest", args=[row.pk])
    assert 'data-testid="too-few"' in admin_client.get(url).content.decode()
    assert (
        admin_client.get(reverse("retention:risk_backtest_csv", args=[row.pk])).status_code == 404
    )


@pytest.mark.parametrize(
    ("as_of_days_ago", "horizon", "field", "message"),
    [
        (-1, "90", "as_of", "Choose a date in the past."),
        (0, "90", "as_of", "Choose a date in the past."),
        (None, "90", "as_of", "This field is required."),
        (100, "5", "horizon_days", "greater than or equal to 14"),
        (100, "731", "horizon_days", "less than or equal to 730"),
        (100, "", "horizon_days", "This field is required."),
    ],
)
def test_the_backtest_form_shows_field_errors(
    admin_client, as_of_days_ago, horizon, field, message
):
    as_of = (
        "" if as_of_days_ago is None else (timezone.localdate() - timedelta(days=as_of_days_ago))
    )
    form = {"as_of": str(as_of), "horizon_days": horizon}
    response = admin_client.post(reverse("retention:risk_backtests"), form)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Backtest.objects.exists()


def test_the_form_starts_from_the_configured_horizon(admin_client):
    RiskConfig.objects.update_or_create(pk=1, defaults={"horizon_days": 120})
    form = admin_client.get(reverse("retention:risk_backtests")).context["form"]
    assert form.fields["horizon_days"].initial == 120
    assert form.fields["as_of"].initial == timezone.localdate() - timedelta(days=121)


def test_earlier_backtests_are_listed_and_paginated(admin_client):
    for days_ago in range(100, 125):
        Backtest.objects.create(
            as_of=timezone.localdate() - timedelta(days=days_ago), horizon_days=90
        )
    first = admin_client.get(reverse("retention:risk_backtests"))
    assert len(first.context["page"].object_list) == 20
    assert first.context["page"].paginator.num_pages == 2
    second = admin_client.get(reverse("retention:risk_backtests") + "?page=2")
    assert len(second.context["page"].object_list) == 5


def test_the_csv_holds_the_calibration_and_each_signal(admin_client, finished_backtest):
    response = admin_client.get(reverse("retention:risk_backtest_csv", args=[finished_backtest.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["As of", finished_backtest.as_of.isoformat()]
    assert ["Customers", "80"] in rows
    header = rows.index(["Tenth", "Customers", "Predicted (%)", "Observed (%)"])
    tenths = rows[header + 1 : header + 11]
    figures = finished_backtest.figures["calibration"]
    assert [int(r[0]) for r in tenths] == list(range(1, 11))
    assert sum(int(r[1]) for r in tenths) == 80
    assert float(tenths[0][2]) == pytest.approx(100 * figures[0]["predicted"], abs=0.01)
    assert float(tenths[9][3]) == pytest.approx(100 * figures[9]["observed"], abs=0.01)
    signal_rows = {r[1]: r for r in rows if len(r) == 6 and r[1] in signals.registered()}
    assert set(signal_rows) == {s["key"] for s in finished_backtest.figures["signals"]}
    assert signal_rows["silence_new"][0] == str(signals.registered()["silence_new"].label)


def test_the_csv_neutralises_formula_cells(admin_client):
    """A label a spreadsheet would run (an unknown key shown as it is) stays text."""
    figures = {
        "customers": 60,
        "lost": 6,
        "base_rate": 0.1,
        "calibration": [{"count": 6, "predicted": 0.1, "observed": 0.1}] * 10,
        "calibration_error": 0.0,
        "signals": [
            {"key": "=HYPERLINK(1)", "with_data": 1, "strong": 1, "lost_rate": 0.5, "lift": 5.0}
        ],
        "complete": True,
    }
    row = Backtest.objects.create(
        as_of=timezone.localdate() - timedelta(days=200),
        horizon_days=90,
        status=Backtest.Status.DONE,
        figures=figures,
    )
    text = admin_client.get(reverse("retention:risk_backtest_csv", args=[row.pk])).content
    assert b"'=HYPERLINK(1)" in text
    assert b",=HYPERLINK" not in text and b"\n=HYPERLINK" not in text


# --- The risk model: weights, calibration, applying -----------------------------


def test_the_model_page_shows_the_weights_in_use_with_their_effect(admin_client):
    """With the defaults: base rate sigmoid(-1.5) = 18.2 %; silence (+2.5) adds 54.9
    points at full strength to a customer at the base rate, repeat buying (-1.5) takes
    off 13.5."""
    page = admin_client.get(reverse("retention:risk_model")).content.decode()
    assert "The built-in defaults" in page
    assert "18.2\u00a0%" in page
    silence = signals.registered()["silence"]
    assert escape(str(silence.label)) in page and escape(str(silence.description)) in page
    assert "+2.50" in page and "+54.9 pts" in page
    assert "−1.50" in page and "−13.5 pts" in page
    assert "Calibrate now" in page


def test_calibrate_now_with_a_small_history_says_not_enough_history(
    admin_client, history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("retention:risk_calibrate"))
    assert response.status_code == 302
    assert response["Location"] == reverse("retention:risk_model")
    weight_set = WeightSet.objects.get()
    assert weight_set.status == WeightSet.Status.TOO_LITTLE
    page = admin_client.get(reverse("retention:risk_model")).content.decode()
    assert 'data-testid="too-little"' in page
    assert "Not enough history" in page
    assert "240 customer outcomes" in page  # 80 customers on 3 training dates
    assert planning.load_weights().weight_set_id is None


def test_a_running_calibration_shows_a_polled_progress_bar(admin_client):
    weight_set = WeightSet.objects.create(progress=25)
    url = reverse("retention:risk_calibration", args=[weight_set.pk])
    page = admin_client.get(reverse("retention:risk_model")).content.decode()
    assert f'hx-get="{url}"' in page and 'aria-valuenow="25"' in page
    assert "Calibrate now" not in page
    WeightSet.objects.filter(pk=weight_set.pk).update(
        status=WeightSet.Status.TOO_LITTLE, figures={"training_customers": 12, "dates": ["a", "b"]}
    )
    partial = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "hx-get" not in partial
    assert "Not enough history" in partial
    assert admin_client.get(url).status_code == 302  # without htmx: the model page


def test_a_suggestion_is_shown_beside_the_weights_in_use(admin_client, history):
    suggested_set(history)
    page = admin_client.get(reverse("retention:risk_model")).content.decode()
    assert 'data-testid="suggested-weights"' in page
    assert 'data-testid="model-comparison"' in page
    assert "+1.90" in page and "−0.70" in page
    assert "ROC AUC of the baseline" in page and "Calibration error" in page
    assert "Apply these weights" in page


def test_applying_a_suggested_set_puts_it_in_use(admin_client, admin_user, history):
    earlier = suggested_set(history, status=WeightSet.Status.APPLIED, applied_at=timezone.now())
    weight_set = suggested_set(history)
    url = reverse("retention:risk_weights_apply", args=[weight_set.pk])
    confirm = admin_client.get(url).content.decode()
    assert "Apply these weights?" in confirm and 'data-testid="apply-form"' in confirm

    response = admin_client.post(url)

    assert response.status_code == 302
    weight_set.refresh_from_db()
    earlier.refresh_from_db()
    assert weight_set.status == WeightSet.Status.APPLIED
    assert weight_set.applied_by == admin_user
    assert earlier.status == WeightSet.Status.SUPERSEDED
    weights = planning.load_weights()
    assert weights.weight_set_id == weight_set.pk
    assert weights.intercept == -0.8 and weights.by_signal["silence"] == 1.9
    page = admin_client.get(reverse("retention:risk_model"))
    history_rows = page.context["history"]
    assert [row["weight_set"].pk for row in history_rows] == [weight_set.pk, earlier.pk]
    expected_auc = weight_set.figures["suggested"]["model"]["auc"]
    assert history_rows[0]["auc"] == f"{expected_auc:.3f}"
    assert "Learned from this business" in page.content.decode()


@pytest.mark.parametrize(
    "status", [WeightSet.Status.TOO_LITTLE, WeightSet.Status.SUPERSEDED, WeightSet.Status.RUNNING]
)
def test_applying_a_set_that_is_not_suggested_is_refused(admin_client, status):
    in_use = WeightSet.objects.create(
        status=WeightSet.Status.APPLIED, intercept=-1.0, weights={}, applied_at=timezone.now()
    )
    other = WeightSet.objects.create(status=status, intercept=-0.5, weights={"silence": 9.0})
    url = reverse("retention:risk_weights_apply", args=[other.pk])
    assert 'data-testid="apply-form"' not in admin_client.get(url).content.decode()

    response = admin_client.post(url, follow=True)

    assert "Only suggested weights can be applied." in response.content.decode()
    other.refresh_from_db()
    in_use.refresh_from_db()
    assert other.status == status and other.applied_at is None
    assert in_use.status == WeightSet.Status.APPLIED
    assert planning.load_weights().weight_set_id == in_use.pk


def test_the_lists_take_a_fixed_number_of_queries(
    admin_client, admin_user, django_assert_max_num_queries
):
    """Given many backtests and applied sets, the pages do not query once per row."""
    for days_ago in range(100, 130):
        Backtest.objects.create(
            as_of=timezone.localdate() - timedelta(days=days_ago),
            horizon_days=90,
            created_by=admin_user,
        )
    for _ in range(12):
        WeightSet.objects.create(
            status=WeightSet.Status.SUPERSEDED,
            intercept=-1.0,
            applied_by=admin_user,
            applied_at=timezone.now(),
        )
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("retention:risk_backtests")).status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("retention:risk_model")).status_code == 200
