"""Staff members in the live-ops roles, signed in to the admin, for the admin tests."""

from django.contrib.auth.models import Group
from django.test import Client

from accounts.tests.factories import StaffFactory


def staff_in(role: str | None, **kwargs):
    """A staff member whose only permissions come from the `role` group (None: no group)."""
    staff = StaffFactory(**kwargs)
    if role is not None:
        staff.groups.add(Group.objects.get(name=role))
    return staff


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_adjust_form(client, url, data):
    """Render an adjust form, then submit `data` with the one-time token that render carried."""
    rendered = client.get(url)
    assert rendered.status_code == 200
    return client.post(url, {**data, "form_token": rendered.context["form"]["form_token"].value()})
