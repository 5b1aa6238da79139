"""`{% allowed actor action kind object as name %}`: whether `actor` (an access.Actor) may do
`action` to an engine `object` of `kind`, for drawing a row's or a page's buttons only where
they would be accepted. Hiding a button is not the check: the view that takes it asks again.

Without an actor in the context (a partial rendered for nobody in particular) it says no."""

from django import template

from containers_app import access

register = template.Library()


@register.simple_tag
def allowed(actor: object, action: str, kind: str, obj: object) -> bool:
    if not isinstance(actor, access.Actor):
        return False
    return access.allowed(actor, action, access.target_of(kind, obj))
