"""The dashboard's pages. URLs without an engine prefix are about the default engine."""

from django.urls import include, path, re_path

from containers_app.screens import TOKEN_PATTERN as SCREEN_TOKEN
from containers_app.views import (
    app_changes,
    apps,
    audit,
    container_jobs,
    containers,
    engines,
    execs,
    images,
    jobs,
    logs,
    networks,
    registries,
    run,
    screens,
    stats,
    system,
    teams,
    volumes,
)
from containers_app.views.common import ENGINE_KWARG, REF, by_method

IMAGE_ID = r"(?P<ref>(sha256:)?[0-9a-f]{12,64})"

container_urls = [
    path("", containers.container_list, name="list"),
    path("bulk/", containers.container_bulk, name="bulk"),
    # Before the {REF} patterns, which would take "run" for a container's name.
    path("run/", run.container_run, name="run"),
    path("run/preview/", run.container_run_preview, name="run-preview"),
    re_path(rf"^{REF}/$", containers.container_detail, name="detail"),
    re_path(rf"^{REF}/logs/$", logs.container_logs, name="logs"),
    re_path(rf"^{REF}/logs/download/$", logs.download_logs, name="logs-download"),
    re_path(rf"^{REF}/exec/$", execs.container_exec, name="exec"),
    re_path(rf"^{REF}/run-similar/$", run.container_run_similar, name="run-similar"),
    # Before the action pattern, which would take them for actions.
    re_path(rf"^{REF}/commit/$", container_jobs.container_commit, name="commit"),
    re_path(rf"^{REF}/recreate/$", container_jobs.container_recreate, name="recreate"),
    re_path(rf"^{REF}/(?P<action>[a-z_-]+)/$", containers.container_action, name="action"),
]
image_urls = [
    path("", images.image_list, name="list"),
    path("prune/", images.image_prune, name="prune"),
    path("pull/", by_method(get=images.image_pull_form, post=images.image_pull), name="pull"),
    path("build/", by_method(get=images.image_build_form, post=images.image_build), name="build"),
    path("load/", by_method(get=images.image_load_form, post=images.image_load), name="load"),
    re_path(rf"^{IMAGE_ID}/$", images.image_detail, name="detail"),
    re_path(rf"^{IMAGE_ID}/remove/$", images.image_remove, name="remove"),
    re_path(rf"^{IMAGE_ID}/tag/$", images.image_tag, name="tag"),
    re_path(rf"^{IMAGE_ID}/save/$", images.image_save, name="save"),
    re_path(rf"^{IMAGE_ID}/push/$", images.image_push, name="push"),
]
network_urls = [
    path("", by_method(get=networks.network_list, post=networks.network_create), name="list"),
    re_path(rf"^{REF}/$", networks.network_detail, name="detail"),
    re_path(rf"^{REF}/remove/$", networks.network_remove, name="remove"),
]
registry_urls = [
    path(
        "",
        by_method(get=registries.registry_list, post=registries.registry_login),
        name="list",
    ),
    path("<int:credential_id>/logout/", registries.registry_logout, name="logout"),
]
volume_urls = [
    path("", by_method(get=volumes.volume_list, post=volumes.volume_create), name="list"),
    re_path(rf"^{REF}/$", volumes.volume_detail, name="detail"),
    re_path(rf"^{REF}/remove/$", volumes.volume_remove, name="remove"),
]

audit_urls = [
    path("", audit.audit_list, name="list"),
    path("export.csv", audit.audit_export, name="export"),
]

job_urls = [
    path("", jobs.job_list, name="list"),
    path("<int:job_id>/", jobs.job_detail, name="detail"),
    path("<int:job_id>/cancel/", jobs.job_cancel, name="cancel"),
]

team_urls = [
    path("", by_method(get=teams.team_list, post=teams.team_create), name="list"),
    path("<slug:slug>/", teams.team_detail, name="detail"),
    path("<slug:slug>/members/", teams.team_member_set, name="members"),
    path("<slug:slug>/policy/", teams.team_policy_set, name="policy"),
    path(
        "<slug:slug>/members/<str:username>/remove/",
        teams.team_member_remove,
        name="member-remove",
    ),
    path("<slug:slug>/projects/", teams.team_project_assign, name="projects"),
    path(
        "<slug:slug>/projects/<str:project>/remove/",
        teams.team_project_unassign,
        name="project-remove",
    ),
]

# Wall screens' management, and each screen's secret link (no sign-in: it checks its token).
engine_list_urls = [
    path("", by_method(get=engines.engine_list, post=engines.engine_add), name="list"),
    path("host-key/", engines.engine_host_key, name="host-key"),
    path("all/containers/", engines.all_containers, name="all-containers"),
    path("<slug:slug>/test/", engines.engine_test, name="test"),
    path("<slug:slug>/teams/", engines.engine_grant, name="grant"),
    path("<slug:slug>/remove/", engines.engine_remove, name="remove"),
]

screen_urls = [
    path("", by_method(get=screens.screen_list, post=screens.screen_create), name="list"),
    path("<int:screen_id>/rotate/", screens.screen_rotate, name="rotate"),
    path("<int:screen_id>/revoke/", screens.screen_revoke, name="revoke"),
    re_path(rf"^(?P<token>{SCREEN_TOKEN})/$", screens.screen_open, name="open"),
]

# What is about one engine: under /engines/<slug>/, and at today's addresses for the default
# engine (AccessMiddleware takes the slug, "" there, out of the view's arguments).
engine_urls = [
    path("containers/", include((container_urls, "containers"))),
    path("images/", include((image_urls, "images"))),
    path("networks/", include((network_urls, "networks"))),
    path("volumes/", include((volume_urls, "volumes"))),
    path("logs/", logs.merged_logs, name="merged-logs"),
    path("stats/", stats.stats_page, name="stats"),
    path("system/", include(([path("", system.system_info, name="info")], "system"))),
]

app_list_urls = [
    path("", apps.app_list, name="list"),
    path("new/", app_changes.app_new, name="new"),
]
# One application (or a compose project found on the engine), under its engine only.
APP_ACTIONS = "|".join(app_changes.ACTIONS)
app_urls = [
    path("", apps.app_detail, name="detail"),
    re_path(rf"^(?P<action>{APP_ACTIONS})/$", app_changes.app_action, name="action"),
    path("services/<str:service>/redeploy/", app_changes.app_redeploy_service, name="redeploy"),
    path("edit/", app_changes.app_edit, name="edit"),
    path("revisions/<int:number>/rollback/", app_changes.app_rollback, name="rollback"),
    path("adopt/", app_changes.app_adopt, name="adopt"),
    path("diff/", apps.app_diff, name="diff"),
]

urlpatterns = [
    path("apps/", include((app_list_urls, "apps"))),
    path("engines/<slug:engine>/apps/<str:name>/", include((app_urls, "app"))),
    path("engines/", include((engine_list_urls, "engines"))),
    path("engines/<slug:engine>/", include(engine_urls)),
    path("", include((engine_urls, "default-engine")), {ENGINE_KWARG: ""}),
    path("registries/", include((registry_urls, "registries"))),
    path("jobs/", include((job_urls, "jobs"))),
    path("audit/", include((audit_urls, "audit"))),
    path("teams/", include((team_urls, "teams"))),
    path("screens/", include((screen_urls, "screens"))),
    # The wall itself: its address holds no token (the link's was swapped for a cookie).
    path("screen/", screens.screen_wall, name="screen"),
]
