"""Root URLs: sign-in, the admin and the dashboard's pages. Every view declares who may use it
(containers_app.views.common.requires); one that does not is refused to everyone."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from containers_app.views.common import public

urlpatterns = [
    path(
        "", public(RedirectView.as_view(pattern_name="default-engine:containers:list")), name="home"
    ),
    path("accounts/login/", public(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("containers_app.urls")),
]
