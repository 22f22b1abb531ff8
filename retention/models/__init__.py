"""Retention models, one module per concern; import them from here."""

from .email import (
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)
from .onboarding import Checklist, ChecklistStep, ChecklistTemplate, ChecklistTemplateStep
from .risk import (
    LEVEL_RANK,
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskEvent,
    RiskLevel,
    RiskRun,
    RiskSnapshot,
    SignalSetting,
)

__all__ = [
    "LEVEL_RANK",
    "Checklist",
    "ChecklistStep",
    "ChecklistTemplate",
    "ChecklistTemplateStep",
    "CustomerRisk",
    "Notification",
    "RiskConfig",
    "RiskEvent",
    "RiskLevel",
    "RiskRun",
    "RiskSnapshot",
    "SignalSetting",
    "EmailTemplate",
    "EmailTemplateTranslation",
    "EmailUnsubscribe",
    "FollowUpRule",
    "OutgoingEmail",
    "StaffProfile",
]
