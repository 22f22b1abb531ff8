"""What a column of each import field is called in other people's files.

Header names seen in shop, billing and spreadsheet exports, in the app's languages
(English, German, Turkish, Traditional Chinese, and a few French, Spanish and
Dutch ones): the mapping step (mapping.py) compares them with a file's header cells
after normalising both (letter case, accents, spaces and punctuation left out), so
"E-Mail", "e mail" and "EMAIL" are one name. Each field's own column name counts
too. A name appears under one field per target; the customer number is `external_id`
in a customer file and `customer_external_id` in an interaction file.
"""

EMAIL = (
    "email", "e-mail", "mail", "email address", "e-mail address", "e-mail-adresse",
    "emailadresse", "mailadresse", "e-posta", "e-posta adresi", "mail adresi",
    "電子郵件", "電子郵件地址", "電郵", "郵件", "電子信箱", "信箱", "courriel", "correo",
    "correo electrónico",
)  # fmt: skip
CUSTOMER_EMAIL = (
    "customer email", "customer e-mail", "client email", "buyer email", "billing email",
    "kunden-e-mail", "kundenemail", "müşteri e-posta", "müşteri e-posta adresi",
    "客戶電子郵件", "客戶郵件", "會員電子郵件",
)  # fmt: skip
CUSTOMER_NUMBER = (
    "customer id", "customer number", "customer no", "customer #", "customer ref",
    "customer reference", "client id", "client number", "account number", "member id",
    "member number", "kundennummer", "kunden-nr", "kundennr", "kunden-id", "kd-nr",
    "debitorennummer", "debitor", "mitgliedsnummer", "müşteri no", "müşteri numarası",
    "müşteri kodu", "müşteri id", "cari kod", "cari kodu", "客戶編號", "客戶代號",
    "客戶代碼", "客戶id", "會員編號", "會員id", "numéro client", "número de cliente",
    "klantnummer",
)  # fmt: skip
OWN_ID = ("id", "external id", "externe id", "reference", "ref", "referenz", "nummer")
ORDER_NUMBER = (
    "order id", "order number", "order no", "order #", "order ref", "invoice",
    "invoice number", "invoice no", "invoice id", "transaction id", "transaction number",
    "receipt number", "ticket id", "ticket number", "case number", "bestellnummer",
    "bestellnr", "bestell-id", "auftragsnummer", "auftragsnr", "rechnungsnummer",
    "rechnungsnr", "belegnummer", "belegnr", "beleg", "vorgangsnummer", "ticketnummer",
    "sipariş no", "sipariş numarası", "sipariş id", "sipariş kodu", "fatura no",
    "fatura numarası", "fiş no", "işlem no", "訂單編號", "訂單號碼", "訂單號", "訂單id",
    "發票號碼", "交易編號", "單號", "numéro de commande", "número de pedido",
    "bestelnummer",
)  # fmt: skip
NAME = (
    "name", "full name", "customer name", "client name", "contact", "contact name",
    "kunde", "kundenname", "vollständiger name", "vor- und nachname", "ad soyad",
    "adı soyadı", "ad", "isim", "müşteri", "müşteri adı", "姓名", "名稱", "客戶",
    "客戶名稱", "客戶姓名", "會員姓名", "nom", "nombre", "naam",
)  # fmt: skip
PHONE = (
    "phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell",
    "telefon", "telefonnummer", "handy", "mobil", "mobilnummer", "telefon no",
    "telefon numarası", "cep telefonu", "gsm", "電話", "電話號碼", "手機", "聯絡電話",
    "téléphone", "teléfono", "telefoon",
)  # fmt: skip
COMPANY = (
    "company", "company name", "organization", "organisation", "business", "firma",
    "firmenname", "unternehmen", "şirket", "şirket adı", "firma adı", "公司", "公司名稱",
    "société", "empresa", "bedrijf",
)  # fmt: skip
ADDRESS = (
    "address", "street", "street address", "address line 1", "adresse", "straße",
    "strasse", "anschrift", "adres", "sokak", "地址", "通訊地址", "rue", "dirección",
)  # fmt: skip
CITY = (
    "city", "town", "stadt", "ort", "wohnort", "şehir", "il", "城市", "縣市", "ville",
    "ciudad", "plaats",
)  # fmt: skip
COUNTRY = ("country", "land", "ülke", "國家", "pays", "país")
LANGUAGE = (
    "language", "preferred language", "locale", "sprache", "dil", "語言", "langue",
    "idioma", "taal",
)  # fmt: skip
OWNER = (
    "owner", "account manager", "sales rep", "assigned to", "betreuer", "kundenbetreuer",
    "verantwortlich", "sorumlu", "müşteri temsilcisi", "負責人", "業務", "負責業務",
)  # fmt: skip
STATUS = ("status", "state", "customer status", "kundenstatus", "durum", "狀態")
CUSTOMER_SINCE = (
    "customer since", "signup date", "sign up date", "registered", "registration date",
    "first order date", "kunde seit", "registriert am", "anmeldedatum", "kayıt tarihi",
    "üyelik tarihi", "加入日期", "註冊日期", "入會日期",
)  # fmt: skip
RENEWAL_DATE = (
    "renewal date", "renewal", "renews on", "contract end", "verlängerung",
    "verlängerungsdatum", "vertragsende", "yenileme tarihi", "續約日期", "到期日",
)  # fmt: skip
PLAN = (
    "plan", "subscription", "tariff", "tarif", "abo", "abonnement", "paket", "方案",
    "訂閱方案",
)  # fmt: skip
MONTHLY_VALUE = (
    "monthly value", "mrr", "monthly revenue", "monthly fee", "monatswert",
    "monatlicher umsatz", "monatsbeitrag", "aylık tutar", "aylık ücret", "月費", "每月金額",
)  # fmt: skip
TAGS = (
    "tags", "tag", "labels", "label", "segment", "schlagworte", "etiketten",
    "etiketler", "etiket", "標籤",
)  # fmt: skip
CONSENT = (
    "marketing consent", "newsletter", "opt in", "opt-in", "consent", "email consent",
    "einwilligung", "marketing-einwilligung", "werbeeinwilligung", "pazarlama izni",
    "izin", "行銷同意", "訂閱電子報",
)  # fmt: skip
NOTES = (
    "notes", "note", "comment", "comments", "remarks", "notiz", "notizen", "bemerkung",
    "bemerkungen", "kommentar", "notlar", "not", "備註",
)  # fmt: skip
BODY = (
    "body", "details", "description", "text", "message", "content", "beschreibung",
    "nachricht", "inhalt", "açıklama", "mesaj", "detay", "內容", "描述", "說明",
)  # fmt: skip
KIND = (
    "kind", "type", "interaction type", "event", "event type", "activity", "art", "typ",
    "vorgangsart", "tür", "tip", "işlem türü", "類型", "種類",
)  # fmt: skip
DIRECTION = ("direction", "richtung", "yön", "方向")
SUBJECT = (
    "subject", "title", "summary", "product", "item", "product name", "betreff", "titel",
    "produkt", "artikel", "artikelname", "bezeichnung", "konu", "başlık", "ürün",
    "ürün adı", "主旨", "標題", "商品", "產品", "品名",
)  # fmt: skip
AMOUNT = (
    "amount", "total", "price", "revenue", "sales", "value", "sum", "gross", "net",
    "order total", "grand total", "total amount", "betrag", "umsatz", "summe", "gesamt",
    "gesamtbetrag", "preis", "wert", "brutto", "netto", "rechnungsbetrag", "tutar",
    "toplam", "fiyat", "ciro", "toplam tutar", "金額", "總金額", "總計", "價格", "營業額",
    "小計", "montant", "importe", "bedrag",
)  # fmt: skip
SENTIMENT = ("sentiment", "mood", "stimmung", "duygu", "情緒")
OCCURRED_AT = (
    "date", "order date", "purchase date", "invoice date", "transaction date", "date time",
    "datetime", "timestamp", "time", "created at", "created", "datum", "bestelldatum",
    "kaufdatum", "rechnungsdatum", "belegdatum", "zeitpunkt", "erstellt am", "tarih",
    "tarihi", "sipariş tarihi", "fatura tarihi", "işlem tarihi", "日期", "訂單日期",
    "交易日期", "時間", "購買日期", "建立日期",
)  # fmt: skip
RESOLVED_AT = (
    "resolved", "closed at", "closed", "resolution date", "gelöst am", "erledigt am",
    "geschlossen am", "çözüm tarihi", "kapanış tarihi", "解決日期", "結案日期",
)  # fmt: skip

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": NAME,
        "external_id": CUSTOMER_NUMBER + OWN_ID,
        "email": EMAIL + CUSTOMER_EMAIL,
        "phone": PHONE,
        "company": COMPANY,
        "address": ADDRESS,
        "city": CITY,
        "country": COUNTRY,
        "preferred_language": LANGUAGE,
        "owner": OWNER,
        "status": STATUS,
        "customer_since": CUSTOMER_SINCE + ("created at", "created", "erstellt am", "建立日期"),
        "renewal_date": RENEWAL_DATE,
        "plan": PLAN,
        "monthly_value": MONTHLY_VALUE,
        "tags": TAGS,
        "marketing_consent": CONSENT,
        "notes": NOTES + ("açıklama", "說明"),
    },
    "interactions": {
        "customer_email": EMAIL + CUSTOMER_EMAIL,
        "customer_external_id": CUSTOMER_NUMBER,
        "external_id": ORDER_NUMBER + OWN_ID,
        "kind": KIND,
        "direction": DIRECTION,
        "subject": SUBJECT,
        "body": BODY + NOTES,
        "amount": AMOUNT,
        "sentiment": SENTIMENT,
        "occurred_at": OCCURRED_AT,
        "resolved_at": RESOLVED_AT,
    },
}
