"""The shipped exit and NPS surveys in German, Turkish and Traditional Chinese (issue 18).

0002 wrote them in English with German, French, Spanish and Dutch translations; 0006
dropped the last three. This fills in every text of the two shipped surveys that has
no German, Turkish or Traditional Chinese version yet. The surveys, questions and choices
are found by what 0002 made them (kind and name, position, English label); a text staff
already translated, or a survey they renamed, is left alone.
"""

from django.db import migrations

LANGS = ("de", "tr", "zh-hant")

EXIT_SURVEY = {
    "title": (
        "Schade, dass Sie gehen",
        "Gitmenize üzüldük",
        "很遺憾您要離開",
    ),
    "intro": (
        "Würden Sie uns sagen, warum? Ihre Antwort hilft uns, besser zu werden. "
        "Es dauert nur eine Minute.",
        "Nedenini bizimle paylaşır mısınız? Yanıtınız daha iyisini yapmamıza yardımcı olur. "
        "Yalnızca bir dakikanızı alır.",
        "能告訴我們原因嗎？您的回答能幫助我們做得更好，只需要一分鐘。",
    ),
    "thank_you": (
        "Vielen Dank für Ihre Offenheit.",
        "Açık sözlülüğünüz için teşekkür ederiz.",
        "感謝您坦誠告訴我們。",
    ),
}
EXIT_QUESTIONS = {
    1: (
        "Was ist der Hauptgrund, warum Sie gehen?",
        "Ayrılmanızın asıl nedeni nedir?",
        "您離開的主要原因是什麼？",
    ),
    2: (
        "Bei „Anderes“ oder wenn Sie etwas ergänzen möchten: Was hätten wir besser machen können?",
        "“Diğer” seçeneğini seçtiyseniz ya da eklemek istediğiniz bir şey varsa: "
        "neyi daha iyi yapabilirdik?",
        "如果您選了「其他」，或想補充些什麼：我們哪裡可以做得更好？",
    ),
}
EXIT_REASONS = {
    "I felt badly treated": (
        "Ich habe mich schlecht behandelt gefühlt",
        "Bana kötü davranıldığını hissettim",
        "我覺得沒有受到應有的對待",
    ),
    "Unhappy with the product or service": (
        "Unzufrieden mit dem Produkt oder der Leistung",
        "Üründen veya hizmetten memnun değilim",
        "對產品或服務不滿意",
    ),
    "Moved to a competitor": (
        "Zu einem Mitbewerber gewechselt",
        "Rakip bir firmaya geçtim",
        "改用其他廠商",
    ),
    "Looking for alternatives": (
        "Auf der Suche nach Alternativen",
        "Alternatif arıyorum",
        "正在尋找其他選擇",
    ),
    "Price": ("Der Preis", "Fiyat", "價格"),
    "Moved away": ("Umgezogen", "Taşındım", "搬家了"),
    "Other": ("Anderes", "Diğer", "其他"),
}
NPS_SURVEY = {
    "title": (
        "Würden Sie uns weiterempfehlen?",
        "Bizi tavsiye eder misiniz?",
        "您會推薦我們嗎？",
    ),
    "intro": (
        "Zwei kurze Fragen zu Ihren Erfahrungen mit uns.",
        "Bizimle ilgili deneyiminiz hakkında iki kısa soru.",
        "關於您與我們合作的經驗，只有兩個簡短的問題。",
    ),
    "thank_you": (
        "Vielen Dank für Ihr Feedback!",
        "Geri bildiriminiz için teşekkür ederiz!",
        "感謝您的寶貴意見！",
    ),
}
NPS_QUESTIONS = {
    1: (
        "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
        "Bizi bir arkadaşınıza veya iş arkadaşınıza tavsiye etme olasılığınız nedir?",
        "您有多大的可能會向朋友或同事推薦我們？",
    ),
    2: (
        "Was ist der Hauptgrund für Ihre Bewertung?",
        "Bu puanı vermenizin asıl nedeni nedir?",
        "您給出這個分數的主要原因是什麼？",
    ),
}


def _fill(row, field: str, texts: tuple[str, ...]) -> bool:
    """Add the missing languages of one field; whether anything changed."""
    translations = dict(row.translations or {})
    changed = False
    for language, text in zip(LANGS, texts, strict=True):
        current = dict(translations.get(language) or {})
        if not current.get(field):
            current[field] = text
            translations[language] = current
            changed = True
    row.translations = translations
    return changed


def add_translations(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    Choice = apps.get_model("surveys", "Choice")
    changed = {"survey": [], "question": [], "choice": []}
    shipped = [
        ("exit", "Exit survey", EXIT_SURVEY, EXIT_QUESTIONS),
        ("nps", "NPS", NPS_SURVEY, NPS_QUESTIONS),
    ]
    for kind, name, texts, questions in shipped:
        survey = Survey.objects.filter(kind=kind, name=name).order_by("pk").first()
        if survey is None:
            continue
        if any([_fill(survey, field, versions) for field, versions in texts.items()]):
            changed["survey"].append(survey)
        for question in Question.objects.filter(survey=survey, position__in=questions):
            if _fill(question, "text", questions[question.position]):
                changed["question"].append(question)
            for choice in Choice.objects.filter(question=question, label__in=EXIT_REASONS):
                if _fill(choice, "label", EXIT_REASONS[choice.label]):
                    changed["choice"].append(choice)
    Survey.objects.bulk_update(changed["survey"], ["translations"])
    Question.objects.bulk_update(changed["question"], ["translations"])
    Choice.objects.bulk_update(changed["choice"], ["translations"])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0006_drop_fr_es_nl_translations")]

    operations = [migrations.RunPython(add_translations, migrations.RunPython.noop)]
