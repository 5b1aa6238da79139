"""`{% engine_url 'containers:detail' c.id %}`: a page's address on the engine the page is
about. A page reached at today's addresses (/containers/..., the default engine's) links to
today's addresses; one reached under /engines/<slug>/ stays under it."""

from django import template

from containers_app.views.common import engine_address

register = template.Library()


@register.simple_tag(takes_context=True)
def engine_url(context, name: str, *args) -> str:
    return engine_address(context.get("request"), context["engine"], name, *args)
