"""The surveys the CRM ships with: the exit survey (sent automatically when a customer
churns or cancels) and a standard NPS survey (automatic sending off until staff
switch it on), both translated into every language of settings.LANGUAGES."""

from django.db import migrations

LANGS = ("de", "fr", "es", "nl")


def _tr(field, *texts):
    return {lang: {field: text} for lang, text in zip(LANGS, texts, strict=True)}


def _merge(*maps):
    merged = {}
    for mapping in maps:
        for lang, texts in mapping.items():
            merged.setdefault(lang, {}).update(texts)
    return merged


EXIT_REASONS = [
    ("I felt badly treated", "Ich habe mich schlecht behandelt gefühlt",
     "Je me suis senti(e) mal traité(e)", "Me sentí maltratado", "Ik voelde me slecht behandeld"),
    ("Unhappy with the product or service", "Unzufrieden mit dem Produkt oder der Leistung",
     "Insatisfait(e) du produit ou du service", "Insatisfecho con el producto o el servicio",
     "Ontevreden over het product of de dienst"),
    ("Moved to a competitor", "Zu einem Mitbewerber gewechselt", "Passé(e) chez un concurrent",
     "Me cambié a la competencia", "Overgestapt naar een concurrent"),
    ("Looking for alternatives", "Auf der Suche nach Alternativen",
     "À la recherche d'autres solutions", "Busco alternativas", "Op zoek naar alternatieven"),
    ("Price", "Der Preis", "Le prix", "El precio", "De prijs"),
    ("Moved away", "Umgezogen", "Déménagement", "Me mudé", "Verhuisd"),
    ("Other", "Anderes", "Autre", "Otro", "Anders"),
]


def create_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    Choice = apps.get_model("surveys", "Choice")

    exit_survey = Survey.objects.create(
        name="Exit survey",
        kind="exit",
        title="Sorry to see you go",
        intro="Would you tell us why? Your answer helps us do better. It takes a minute.",
        thank_you="Thank you for being honest with us.",
        is_active=True,
        automatic=True,
        translations=_merge(
            _tr("title", "Schade, dass Sie gehen", "Dommage de vous voir partir",
                "Lamentamos que se vaya", "Jammer dat u vertrekt"),
            _tr("intro",
                "Würden Sie uns sagen, warum? Ihre Antwort hilft uns, besser zu werden. "
                "Es dauert nur eine Minute.",
                "Pourriez-vous nous dire pourquoi ? Votre réponse nous aide à nous améliorer. "
                "Cela ne prend qu'une minute.",
                "¿Nos diría por qué? Su respuesta nos ayuda a mejorar. Solo le llevará un minuto.",
                "Wilt u ons vertellen waarom? Uw antwoord helpt ons beter te worden. "
                "Het duurt maar een minuut."),
            _tr("thank_you", "Vielen Dank für Ihre Offenheit.", "Merci pour votre franchise.",
                "Gracias por su sinceridad.", "Bedankt voor uw eerlijkheid."),
        ),
    )
    reason = Question.objects.create(
        survey=exit_survey,
        position=1,
        kind="single_choice",
        text="What is the main reason you are leaving?",
        required=True,
        translations=_tr(
            "text",
            "Was ist der Hauptgrund, warum Sie gehen?",
            "Quelle est la raison principale de votre départ ?",
            "¿Cuál es el motivo principal por el que se va?",
            "Wat is de belangrijkste reden dat u vertrekt?",
        ),
    )
    for position, (label, *translated) in enumerate(EXIT_REASONS):
        Choice.objects.create(
            question=reason, position=position, label=label, translations=_tr("label", *translated)
        )
    Question.objects.create(
        survey=exit_survey,
        position=2,
        kind="text",
        text="If other, or if you would like to add something: what could we have done better?",
        required=False,
        translations=_tr(
            "text",
            "Bei „Anderes“ oder wenn Sie etwas ergänzen möchten: "
            "Was hätten wir besser machen können?",
            "Si « Autre », ou si vous souhaitez ajouter quelque chose : "
            "qu'aurions-nous pu mieux faire ?",
            "Si eligió «Otro», o si quiere añadir algo: ¿qué podríamos haber hecho mejor?",
            "Bij ‘Anders’, of als u iets wilt toevoegen: wat hadden we beter kunnen doen?",
        ),
    )

    nps_survey = Survey.objects.create(
        name="NPS",
        kind="nps",
        title="Would you recommend us?",
        intro="Two quick questions about your experience with us.",
        thank_you="Thank you for your feedback!",
        is_active=True,
        automatic=False,
        translations=_merge(
            _tr("title", "Würden Sie uns weiterempfehlen?", "Nous recommanderiez-vous ?",
                "¿Nos recomendaría?", "Zou u ons aanbevelen?"),
            _tr("intro", "Zwei kurze Fragen zu Ihren Erfahrungen mit uns.",
                "Deux questions rapides sur votre expérience avec nous.",
                "Dos preguntas rápidas sobre su experiencia con nosotros.",
                "Twee korte vragen over uw ervaring met ons."),
            _tr("thank_you", "Vielen Dank für Ihr Feedback!", "Merci pour votre avis !",
                "¡Gracias por su opinión!", "Bedankt voor uw feedback!"),
        ),
    )
    Question.objects.create(
        survey=nps_survey,
        position=1,
        kind="scale_0_10",
        text="How likely are you to recommend us to a friend or colleague?",
        required=True,
        translations=_tr(
            "text",
            "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
            "Quelle est la probabilité que vous nous recommandiez à un ami ou un collègue ?",
            "¿Qué probabilidad hay de que nos recomiende a un amigo o colega?",
            "Hoe waarschijnlijk is het dat u ons aanbeveelt aan een vriend of collega?",
        ),
    )
    Question.objects.create(
        survey=nps_survey,
        position=2,
        kind="text",
        text="What is the main reason for your score?",
        required=False,
        translations=_tr(
            "text",
            "Was ist der Hauptgrund für Ihre Bewertung?",
            "Quelle est la raison principale de votre note ?",
            "¿Cuál es el motivo principal de su puntuación?",
            "Wat is de belangrijkste reden voor uw score?",
        ),
    )


def remove_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Survey.objects.filter(name__in=["Exit survey", "NPS"], responses__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create_default_surveys, remove_default_surveys)]
