"""The starter follow-up templates in the app's four languages (issue 18).

0004 shipped them in English, and some in German. This adds every missing version
(German, Turkish, Traditional Chinese), written for each language rather than word for
word. A version staff already have (the template edited, or one of their own with the
same name) is left as it is: only missing languages are added.
"""

from django.db import migrations

# template name -> language -> (subject, body)
VERSIONS = {
    "We miss you": {
        "tr": (
            "Sizi özledik, {{ first_name }}",
            "Merhaba {{ first_name }},\n\nbir süredir sizden haber alamadık. {{ plan }} "
            "paketinizle her şey yolunda mı? Bu e-postayı yanıtlamanız yeterli; size "
            "memnuniyetle yardımcı olurum.\n\n{{ signature }}",
        ),
        "zh-hant": (
            "{{ first_name }}，我們很想念您",
            "{{ first_name }}您好：\n\n好一陣子沒有您的消息了。{{ plan }}方案使用起來都還順利嗎？"
            "直接回覆這封郵件就可以，我很樂意協助您。\n\n{{ signature }}",
        ),
    },
    "Apology after a complaint": {
        "tr": (
            "Özür dileriz, {{ first_name }}",
            "Merhaba {{ first_name }},\n\nson zamanlarda sizi hayal kırıklığına uğrattığımız "
            "için üzgünüm. Bunu telafi etmek istiyorum: bu hafta görüşebilir miyiz?"
            "\n\n{{ signature }}",
        ),
        "zh-hant": (
            "{{ first_name }}，非常抱歉",
            "{{ first_name }}您好：\n\n很抱歉最近讓您失望了。我希望能好好彌補：這週方便和您談談嗎？"
            "\n\n{{ signature }}",
        ),
    },
    "Renewal reminder": {
        "tr": (
            "{{ plan }} paketiniz {{ renewal_date }} tarihinde yenileniyor",
            "Merhaba {{ first_name }},\n\n{{ plan }} paketiniz {{ renewal_date }} tarihinde "
            "yenilenecek. Değişmesini istediğiniz bir şey varsa lütfen bana haber verin."
            "\n\n{{ signature }}",
        ),
        "zh-hant": (
            "您的{{ plan }}方案將於{{ renewal_date }}續約",
            "{{ first_name }}您好：\n\n您的{{ plan }}方案將於{{ renewal_date }}續約。"
            "如果有任何需要調整的地方，請告訴我。\n\n{{ signature }}",
        ),
    },
    "Help with getting started": {
        "de": (
            "Können wir Ihnen beim Start helfen, {{ first_name }}?",
            "Hallo {{ first_name }},\n\nder Einstieg dauert offenbar länger als geplant. "
            "Gern gehe ich den nächsten Schritt gemeinsam mit Ihnen durch.\n\n{{ signature }}",
        ),
        "tr": (
            "Başlangıçta size yardımcı olabilir miyiz, {{ first_name }}?",
            "Merhaba {{ first_name }},\n\nkurulum planlanandan uzun sürüyor gibi görünüyor. "
            "Bir sonraki adımı sizinle birlikte memnuniyetle yapabilirim.\n\n{{ signature }}",
        ),
        "zh-hant": (
            "{{ first_name }}，需要我們協助您上手嗎？",
            "{{ first_name }}您好：\n\n看起來導入的進度比預期慢了一些。"
            "我很樂意陪您一起完成下一個步驟。\n\n{{ signature }}",
        ),
    },
    "Win-back": {
        "de": (
            "{{ business_name }} vermisst Sie",
            "Hallo {{ first_name }},\n\nes ist eine Weile her, seit Sie gegangen sind. Seitdem "
            "haben wir vieles verbessert: Möchten Sie uns noch einmal eine Chance geben?"
            "\n\n{{ signature }}",
        ),
        "tr": (
            "Sizi özledik – {{ business_name }}",
            "Merhaba {{ first_name }},\n\nayrılmanızın üzerinden epey zaman geçti. O günden bu "
            "yana pek çok şeyi iyileştirdik: bize bir şans daha vermek ister misiniz?"
            "\n\n{{ signature }}",
        ),
        "zh-hant": (
            "{{ business_name }}想念您",
            "{{ first_name }}您好：\n\n自從您離開後已經過了一段時間，這段期間我們做了許多改進。"
            "願意再給我們一次機會嗎？\n\n{{ signature }}",
        ),
    },
}


def add_versions(apps, schema_editor):
    EmailTemplate = apps.get_model("retention", "EmailTemplate")
    Translation = apps.get_model("retention", "EmailTemplateTranslation")
    templates = EmailTemplate.objects.filter(name__in=VERSIONS).prefetch_related("translations")
    missing = []
    for template in templates:
        present = {version.language for version in template.translations.all()}
        for language, (subject, body) in VERSIONS[template.name].items():
            if language not in present:
                missing.append(
                    Translation(
                        template=template, language=language, subject=subject, body_text=body
                    )
                )
    Translation.objects.bulk_create(missing)


def remove_versions(apps, schema_editor):
    """Going back removes only the versions this added, unchanged since."""
    Translation = apps.get_model("retention", "EmailTemplateTranslation")
    for name, versions in VERSIONS.items():
        for language, (subject, body) in versions.items():
            Translation.objects.filter(
                template__name=name, language=language, subject=subject, body_text=body
            ).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0013_languages_en_de_tr_zh_hant")]

    operations = [migrations.RunPython(add_versions, remove_versions)]
