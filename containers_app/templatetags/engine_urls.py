"""What a page says about the engine it is about.

`{% engine_url 'containers:detail' c.id %}`: a page's address on that engine. A page reached
at today's addresses (/containers/..., the default engine's) links to today's addresses; one
reached under /engines/<slug>/ stays under it.

`{% typed command %}`: a `docker` command line as its reader types it against that engine
(`docker -H tcp://host:2376 --tlsverify stop web`, or `docker --context NAME ...`);
`{% docker %}`, the `docker` of such a line, for one the template puts together."""

from django import template

from containers_app.views.common import docker_on, engine_address, page_engine, typed_on

register = template.Library()


@register.simple_tag(takes_context=True)
def engine_url(context, name: str, *args) -> str:
    return engine_address(context.get("request"), context["engine"], name, *args)


def _about(context):
    """The engine the page is about: its request's, or, for rows rendered for a live page
    outside any request, the `engine` they were rendered for."""
    request = context.get("request")
    return page_engine(request) if request is not None else context.get("engine")


@register.simple_tag(takes_context=True, name="typed")
def typed_tag(context, command: str) -> str:
    return typed_on(_about(context), command)


@register.simple_tag(takes_context=True)
def docker(context) -> str:
    return docker_on(_about(context))
