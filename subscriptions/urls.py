from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("check-your-inbox/", views.check_inbox, name="check_inbox"),
    path("new-link/", views.new_link, name="new_link"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/status/", views.preferences_status, name="preferences_status"),
    path("preferences/<str:token>/email/", views.email_change, name="email_change"),
    path("preferences/<str:token>/export/", views.export, name="export"),
    path("preferences/<str:token>/delete/", views.delete, name="delete"),
    path("email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/resubscribe/", views.resubscribe, name="resubscribe"),
]
