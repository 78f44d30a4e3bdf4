from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from newsletter import views
from newsletter.admin_login import ThrottledAdminAuthenticationForm

admin.site.site_header = "Daily Papers Digest"
admin.site.site_title = "Daily Papers Digest admin"
admin.site.index_title = "Run the newsletter"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links: send them to the SVG one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
    path("admin/", admin.site.urls),
    path("anymail/", include("newsletter.delivery.urls")),
    path("", include("subscriptions.urls")),
    path("", include("newsletter.matching.urls")),
    path("", include("newsletter.digests.urls")),
]
