from django.urls import path

from . import duplicate_views, import_views, mapping_views, views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="edit"),
    path("<int:pk>/archive/", views.customer_archive_view, name="archive"),
    path("<int:pk>/unarchive/", views.customer_unarchive_view, name="unarchive"),
    path("<int:pk>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("<int:pk>/cards/<slug:name>/", views.CustomerPanelView.as_view(), name="panel"),
    path(
        "<int:pk>/interactions/new/", views.InteractionCreateView.as_view(), name="log_interaction"
    ),
    path(
        "<int:pk>/interactions/<int:interaction_pk>/resolve/",
        views.InteractionStateView.as_view(action="resolve"),
        name="resolve_interaction",
    ),
    path(
        "<int:pk>/interactions/<int:interaction_pk>/reopen/",
        views.InteractionStateView.as_view(action="reopen"),
        name="reopen_interaction",
    ),
    path("import/", import_views.ImportUploadView.as_view(), name="import"),
    path("import/<int:pk>/", import_views.ImportDetailView.as_view(), name="import_detail"),
    path(
        "import/<int:pk>/progress/",
        import_views.ImportProgressView.as_view(),
        name="import_progress",
    ),
    path(
        "import/<int:pk>/columns/",
        mapping_views.ImportMappingView.as_view(),
        name="import_mapping",
    ),
    path(
        "import/<int:pk>/columns/change/",
        mapping_views.ImportMappingChangeView.as_view(),
        name="import_mapping_change",
    ),
    path("import/<int:pk>/apply/", import_views.ImportApplyView.as_view(), name="import_apply"),
    path("import/<int:pk>/cancel/", import_views.ImportCancelView.as_view(), name="import_cancel"),
    path(
        "export/customers.csv", import_views.ExportCustomersView.as_view(), name="export_customers"
    ),
    path(
        "export/interactions.csv",
        import_views.ExportInteractionsView.as_view(),
        name="export_interactions",
    ),
    path("duplicates/", duplicate_views.DuplicateListView.as_view(), name="duplicates"),
    path(
        "duplicates/merge/<int:first>/<int:second>/",
        duplicate_views.MergeView.as_view(),
        name="merge",
    ),
]
