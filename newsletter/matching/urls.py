from django.urls import path

from newsletter.matching import views

app_name = "matching"

urlpatterns = [
    path("feedback/<str:token>/<int:paper_id>/<str:direction>/", views.feedback, name="feedback"),
]
