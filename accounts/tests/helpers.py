"""Test helpers for any app's API tests: a client signed in as a given user."""

from rest_framework.test import APIClient

from accounts.services import token_pair_issue


def client_for(user):
    client = APIClient()
    pair = token_pair_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client
