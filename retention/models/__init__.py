"""Django looks for `retention.models`: each feature keeps its models in its own package.

Import them from the feature (`from retention.loyalty.models import PointsAccount`);
this module only makes Django load them (one app, label `retention`, tables unchanged).
"""

from retention.loyalty.models import (
    Coupon,
    CustomerBadge,
    LoyaltySettings,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    Tier,
)
from retention.onboarding.models import (
    Actor,
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ChecklistTemplateStep,
)
from retention.outreach.models import (
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)
from retention.risk.models import (
    LEVEL_RANK,
    Backtest,
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskDay,
    RiskEvent,
    RiskLevel,
    RiskRun,
    RiskRunChunk,
    RiskSnapshot,
    SignalSetting,
    WeightSet,
)

__all__ = [
    "Backtest",
    "Actor",
    "LEVEL_RANK",
    "Checklist",
    "ChecklistStep",
    "ChecklistTemplate",
    "ChecklistTemplateStep",
    "CustomerRisk",
    "Notification",
    "RiskConfig",
    "RiskDay",
    "RiskEvent",
    "RiskLevel",
    "RiskRun",
    "RiskRunChunk",
    "RiskSnapshot",
    "SignalSetting",
    "WeightSet",
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
