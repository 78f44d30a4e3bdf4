from django.urls import path

from newsletter.digests import views

app_name = "digests"

urlpatterns = [
    path("d/<str:token>/", views.web_copy, name="web_copy"),
]
