"""Demo onboarding: two checklist templates; a running checklist, at a realistic stage,
for every customer in onboarding; and the checklists of the last year's new customers,
completed (or given up) over the year, so the figures have a history. Run by `make run`
after seed_demo; does nothing when a template already exists, so a business's own
templates are safe.

Written in bulk (a few queries for all checklists, not a dozen per step): steps are
ticked on about their due day, the counters are the ones refresh_progress would keep.
Customers whose running checklist completes are saved one by one and the completion
is announced (onboarding_completed), as ticking the last step in the app would.
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.languages import business_language
from customers.models import Customer
from retention.onboarding import checklists
from retention.onboarding.events import onboarding_completed
from retention.onboarding.models import (
    Actor,
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ChecklistTemplateStep,
)

# (done by, due after days, required); the texts below, in the same order. A checklist is
# the business's own text (customers read it on their onboarding page), so the demo
# writes it once, in the business's language (BUSINESS_LANGUAGE).
STANDARD_STEPS = [
    (Actor.STAFF, 2, True),
    (Actor.CUSTOMER, 5, True),
    (Actor.CUSTOMER, 10, True),
    (Actor.STAFF, 14, True),
    (Actor.CUSTOMER, 21, False),
    (Actor.STAFF, 30, True),
]
ENTERPRISE_EXTRA = [
    (Actor.STAFF, 7, True),
    (Actor.CUSTOMER, 18, True),
]
# language -> (standard name, enterprise name, [(title, description)] for the
# standard steps then the enterprise extras)
TEXTS = {
    "en": (
        "Standard onboarding",
        "Enterprise onboarding",
        [
            ("Welcome call", "Introduce the account manager and agree goals."),
            ("Complete your profile", "Company details, billing contact."),
            ("Import your data", "Upload your existing records (CSV)."),
            ("First training session", "One hour online, up to five people."),
            ("Invite your team", "Add your colleagues as users."),
            ("30-day check-in", "Review goals and first results."),
            ("Security review", "Answer the security questionnaire."),
            ("Single sign-on set-up", "Connect your identity provider."),
        ],
    ),
    "de": (
        "Standard-Onboarding",
        "Enterprise-Onboarding",
        [
            ("Begrüßungsgespräch", "Ansprechpartner vorstellen und Ziele vereinbaren."),
            ("Profil vervollständigen", "Firmendaten und Ansprechpartner für die Rechnung."),
            ("Daten importieren", "Laden Sie Ihre bestehenden Datensätze hoch (CSV)."),
            ("Erste Schulung", "Eine Stunde online, für bis zu fünf Personen."),
            ("Team einladen", "Legen Sie Ihre Kolleginnen und Kollegen als Benutzer an."),
            ("Gespräch nach 30 Tagen", "Ziele und erste Ergebnisse besprechen."),
            ("Sicherheitsprüfung", "Den Fragebogen zur IT-Sicherheit beantworten."),
            ("Single Sign-on einrichten", "Ihren Identitätsanbieter anbinden."),
        ],
    ),
    "tr": (
        "Standart başlangıç",
        "Kurumsal başlangıç",
        [
            ("Tanışma görüşmesi", "Müşteri temsilcisini tanıtın ve hedefleri belirleyin."),
            ("Profilinizi tamamlayın", "Şirket bilgileri ve fatura iletişim kişisi."),
            ("Verilerinizi aktarın", "Mevcut kayıtlarınızı yükleyin (CSV)."),
            ("İlk eğitim oturumu", "Bir saat, çevrim içi, en fazla beş kişi."),
            ("Ekibinizi davet edin", "İş arkadaşlarınızı kullanıcı olarak ekleyin."),
            ("30. gün değerlendirmesi", "Hedefleri ve ilk sonuçları birlikte gözden geçirin."),
            ("Güvenlik incelemesi", "Güvenlik anketini yanıtlayın."),
            ("Tek oturum açma kurulumu", "Kimlik sağlayıcınızı bağlayın."),
        ],
    ),
    "zh-hant": (
        "標準導入流程",
        "企業導入流程",
        [
            ("歡迎通話", "介紹專屬客戶經理，並確認目標。"),
            ("完成您的資料", "公司資料與帳務聯絡人。"),
            ("匯入您的資料", "上傳您現有的紀錄（CSV）。"),
            ("第一次教育訓練", "線上一小時，最多五人參加。"),
            ("邀請您的團隊", "將您的同事加入為使用者。"),
            ("30 天回顧", "檢視目標與初步成果。"),
            ("資安審查", "填寫資訊安全問卷。"),
            ("設定單一登入", "連接您的身分識別服務。"),
        ],
    ),
}


def _steps(language: str, enterprise: bool) -> list[tuple]:
    """(title, description, done by, due after days, required) per step, in `language`."""
    shape = STANDARD_STEPS + (ENTERPRISE_EXTRA if enterprise else [])
    texts = TEXTS[language][2]
    return [(*texts[index], *step) for index, step in enumerate(shape)]


# The last year's new customers onboarded: most finish, some late, a few give up.
HISTORY_DAYS = 400
GAVE_UP = 0.08
LATE = 0.15
# Today's onboarding customers: the share keeping up with their steps (the rest stall).
# Those keeping up finish and become active, so the running ones left hold more of the
# others: at 0.97, fewer than one running checklist in ten is stalled.
KEEPS_UP = 0.97
# An unfinished checklist older than this was closed by the team (cancelled), but for
# the few still forgotten: a business a year in does not keep a year of stalls open.
TIDIED_AFTER_DAYS = 90
STILL_FORGOTTEN = 0.1

Status = ChecklistStep.Status


class Command(BaseCommand):
    help = "Create demo onboarding templates and checklists (only when there is no template)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=7)

    @transaction.atomic
    def handle(self, *args, seed: int, **options) -> None:
        if ChecklistTemplate.objects.exists():
            self.stdout.write("Onboarding templates already present")
            return
        self.rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
        self.today = timezone.localdate()
        self.now = timezone.now()
        language = business_language()
        standard_name, enterprise_name, _texts = TEXTS[language]
        standard = self.make_template(
            standard_name, _steps(language, enterprise=False), plan="", is_default=True
        )
        enterprise = self.make_template(
            enterprise_name, _steps(language, enterprise=True), plan="Enterprise"
        )
        self.templates = [standard, enterprise]
        running = self.running_checklists()
        history = self.past_checklists()
        self.stdout.write(
            self.style.SUCCESS(
                f"Onboarding demo: {running} checklists started, "
                f"{history} from the last year's new customers"
            )
        )

    def make_template(self, name, steps, *, plan: str, is_default: bool = False):
        template = ChecklistTemplate.objects.create(name=name, plan=plan, is_default=is_default)
        ChecklistTemplateStep.objects.bulk_create(
            ChecklistTemplateStep(
                template=template,
                position=index,
                title=title,
                description=description,
                actor=actor,
                due_offset_days=days,
                required=required,
            )
            for index, (title, description, actor, days, required) in enumerate(steps)
        )
        return ChecklistTemplate.objects.prefetch_related("steps").get(pk=template.pk)

    # --- Today's onboarding customers ---------------------------------------------

    def running_checklists(self) -> int:
        rng = self.rng
        customers = list(
            Customer.objects.filter(status=Customer.Status.ONBOARDING, archived_at__isnull=True)
            .exclude(checklists__status=Checklist.Status.IN_PROGRESS)
            .order_by("pk")
        )
        planned = []
        for customer in customers:
            template = checklists.pick_template(customer, self.templates) or self.templates[0]
            # Onboarding starts when they became a customer (recently, in the demo data).
            start_on = customer.customer_since or self.today - timedelta(days=rng.randint(0, 50))
            # Most customers keep up; some stop part-way (the stalled ones).
            keeps_up = rng.random() < KEEPS_UP
            done = {}
            for step in template.steps.all():
                due = start_on + timedelta(days=step.due_offset_days)
                if due > self.today:
                    # Not due yet; a later step may be (the enterprise extras come last
                    # but are due on days 7 and 18).
                    continue
                if not keeps_up and rng.random() < 0.5:
                    break
                if not step.required and rng.random() < 0.4:
                    continue
                done[step.position] = self.ticked(due)
            planned.append((customer, template, start_on, done, False))
        _made, finished = self.write(planned)
        # As ticking the last step in the app: the customer becomes active, and the
        # completion is announced (the loyalty bonus, follow-up rules).
        for checklist in finished:
            customer = checklist.customer
            customer.status = Customer.Status.ACTIVE
            customer.customer_since = customer.customer_since or self.today
            customer.onboarding_percent = None
            customer.save(update_fields=["status", "customer_since", "onboarding_percent"])
            onboarding_completed.send(sender=Checklist, checklist=checklist, customer=customer)
        return len(planned)

    # --- The last year's new customers ---------------------------------------------

    def past_checklists(self) -> int:
        rng = self.rng
        since = self.today - timedelta(days=HISTORY_DAYS)
        customers = (
            Customer.objects.filter(
                status__in=[
                    Customer.Status.ACTIVE,
                    Customer.Status.AT_RISK,
                    Customer.Status.CHURNED,
                ],
                customer_since__gte=since,
                checklists__isnull=True,
            )
            .only("pk", "plan", "customer_since", "churned_on", "owner_id")
            .order_by("pk")
        )
        planned = []
        for customer in customers:
            template = checklists.pick_template(customer, self.templates) or self.templates[0]
            start_on = customer.customer_since
            gives_up = rng.random() < GAVE_UP
            late = 0 if rng.random() > LATE else rng.randint(10, 50)
            done = {}
            for step in template.steps.all():
                if gives_up and rng.random() < 0.4:
                    break
                if not step.required and rng.random() < 0.4:
                    continue
                due = start_on + timedelta(days=step.due_offset_days)
                when = self.ticked(due + timedelta(days=late if step.position > 2 else 0))
                if when >= self.now or (customer.churned_on and when.date() >= customer.churned_on):
                    break
                done[step.position] = when
            # Most who gave up were cancelled; the others were forgotten (stalled now),
            # unless they left us or the team closed the checklist since.
            cancelled = gives_up and rng.random() < 0.6
            if customer.churned_on or (
                (self.today - start_on).days > TIDIED_AFTER_DAYS and rng.random() >= STILL_FORGOTTEN
            ):
                cancelled = True
            planned.append((customer, template, start_on, done, cancelled))
        made, _finished = self.write(planned)
        return len(made)

    # --- Writing ---------------------------------------------------------------------

    def ticked(self, due: date) -> datetime:
        """When a step due on `due` was ticked: a few days either side, in office hours."""
        day = due + timedelta(days=self.rng.randint(-2, 4))
        return timezone.make_aware(datetime.combine(day, time(self.rng.randint(8, 17))))

    def write(self, planned: list) -> tuple[list[Checklist], list[Checklist]]:
        """Bulk-create the checklists and their steps; return them, and the ones that
        complete for a customer still in onboarding.

        The counters are refresh_progress's: required steps resolved, optional ones
        done, the next required step due; complete when every required step is done.
        """
        made, steps, finished = [], [], []
        for customer, template, start_on, done, cancelled in planned:
            rows = []
            for step in template.steps.all():
                ticked = done.get(step.position)
                if ticked is not None:  # not before the start, not after now
                    first = timezone.make_aware(datetime.combine(start_on, time(9)))
                    ticked = min(max(ticked, first), self.now)
                rows.append(
                    ChecklistStep(
                        position=step.position,
                        title=step.title,
                        description=step.description,
                        actor=step.actor,
                        due_on=start_on + timedelta(days=step.due_offset_days),
                        required=step.required,
                        status=Status.DONE if ticked else Status.OPEN,
                        completed_at=ticked,
                        completed_by_customer=bool(ticked) and step.actor == Actor.CUSTOMER,
                    )
                )
            required = [row for row in rows if row.required]
            open_required = [row for row in required if row.status == Status.OPEN]
            complete = not open_required
            checklist = Checklist(
                customer=customer,
                template=template,
                name=template.name,
                started_on=start_on,
                status=Checklist.Status.COMPLETED if complete else Checklist.Status.IN_PROGRESS,
                completed_at=max(row.completed_at for row in required) if complete else None,
                required_total=len(required),
                required_resolved=len(required) - len(open_required),
                optional_total=len(rows) - len(required),
                optional_done=sum(1 for row in rows if not row.required and row.completed_at),
                next_due_on=min((row.due_on for row in open_required), default=None),
            )
            if not complete and cancelled:
                checklist.status = Checklist.Status.CANCELLED
            made.append(checklist)
            steps.append(rows)
            if complete and customer.status == Customer.Status.ONBOARDING:
                finished.append(checklist)
        Checklist.objects.bulk_create(made, batch_size=500)
        for checklist, rows in zip(made, steps, strict=True):
            for row in rows:
                row.checklist = checklist
        ChecklistStep.objects.bulk_create([row for rows in steps for row in rows], batch_size=2000)
        # The running ones' progress on the customer list, a few UPDATEs for all.
        by_percent = defaultdict(list)
        for checklist in made:
            if checklist.status == Checklist.Status.IN_PROGRESS:
                by_percent[checklist.percent].append(checklist.customer_id)
        for percent, ids in by_percent.items():
            Customer.objects.filter(pk__in=ids).update(onboarding_percent=percent)
        return made, finished
