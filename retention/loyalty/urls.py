"""Loyalty overview, rewards, coupons, points, and the customer's card.

Included by retention/urls.py, in the "retention" namespace.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("loyalty/", views.OverviewView.as_view(), name="loyalty"),
    path("loyalty/rewards/", views.RewardListView.as_view(), name="loyalty_rewards"),
    path("loyalty/rewards/new/", views.RewardFormView.as_view(), name="loyalty_reward_create"),
    path(
        "loyalty/rewards/<int:pk>/",
        views.RewardFormView.as_view(),
        name="loyalty_reward_edit",
    ),
    path("loyalty/coupons/", views.CouponListView.as_view(), name="loyalty_coupons"),
    path(
        "loyalty/coupons/<int:pk>/use/",
        views.CouponMarkUsedView.as_view(),
        name="loyalty_coupon_use",
    ),
    path(
        "loyalty/customers/<int:pk>/history/",
        views.PointsHistoryView.as_view(),
        name="loyalty_history",
    ),
    path(
        "loyalty/customers/<int:pk>/adjust/",
        views.PointsAdjustView.as_view(),
        name="loyalty_adjust",
    ),
    path(
        "loyalty/customers/<int:pk>/referral/",
        views.ReferralView.as_view(),
        name="loyalty_referral",
    ),
    # Public: the customer's own card behind a signed link.
    path("loyalty/card/<str:token>/", views.LoyaltyCardView.as_view(), name="loyalty_card"),
]
