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
