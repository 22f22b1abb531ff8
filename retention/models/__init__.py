"""Retention models, one module per concern; import them from here."""

from .email import (
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)
from .loyalty import (
    Coupon,
    CustomerBadge,
    LoyaltySettings,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    Tier,
)
from .onboarding import Actor, Checklist, ChecklistStep, ChecklistTemplate, ChecklistTemplateStep
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
    "Actor",
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
    "Coupon",
    "CustomerBadge",
    "LoyaltySettings",
    "PointsAccount",
    "PointsEntry",
    "PointsMonth",
    "Reward",
    "Tier",
    "EmailTemplate",
    "EmailTemplateTranslation",
    "EmailUnsubscribe",
    "FollowUpRule",
    "OutgoingEmail",
    "StaffProfile",
]
