from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from customers import panels, timeline

        from . import panels as risk_panels
        from . import signals
        from .timeline import risk_event_entries

        for signal in signals.BUILT_IN:
            signals.register(signal)
        timeline.register_source("risk", risk_event_entries)
        panels.register_panel("risk", risk_panels.risk_panel)
