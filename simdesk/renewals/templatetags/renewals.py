from django import template

from simdesk.renewals.selectors import renewal_current_period, renewal_settings_of

register = template.Library()


@register.simple_tag
def renewal_settings_for(card):
    """The card's renewal settings (unsaved defaults if never set) for the one-line summary."""
    return renewal_settings_of(card=card)


@register.simple_tag
def renewal_plan_name(rs, language):
    plan = rs.plan
    if plan is None:
        current = renewal_current_period(card=rs.card)
        plan = current.plan if current else None
    return plan.name_for(language) if plan else ""
