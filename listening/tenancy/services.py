"""Writes for tenancy: organizations, members, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from listening.tenancy.models import ApiKey, Membership, Organization, Role

KEY_PREFIX = "sl"
# Keys are 32 random bytes: a fast hash is safe here (no dictionary to attack, unlike passwords),
# and it keeps authentication off the hot path's CPU budget.
_SECRET_BYTES = 32
# last_used_at is informational; writing it at most once a minute keeps reads read-only.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def split_key(plaintext: str) -> tuple[str, str] | None:
    """``sl_ab12cd34.secret`` → (prefix, secret), or None if the shape is wrong."""
    prefix, sep, secret = plaintext.partition(".")
    if not sep or not prefix.startswith(f"{KEY_PREFIX}_") or len(prefix) > 16 or not secret:
        return None
    return prefix, secret


@transaction.atomic
def do_create_organization(name: str, *, owner_username: str | None = None) -> tuple[Organization, IssuedKey]:
    """Create an organization, its owner user and a first owner API key."""
    base = slugify(name)[:60] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    org = Organization.objects.create(name=name, slug=slug)
    user_model = get_user_model()
    username = owner_username or f"{slug}-owner"
    user, _ = user_model.objects.get_or_create(username=username)
    membership = Membership.objects.create(organization=org, user=user, role=Role.OWNER)
    return org, do_issue_api_key(membership, name="owner key")


def do_add_member(org: Organization, username: str, role: str) -> Membership:
    user, _ = get_user_model().objects.get_or_create(username=username)
    membership, _ = Membership.objects.update_or_create(organization=org, user=user, defaults={"role": role})
    return membership


def do_issue_api_key(membership: Membership, *, name: str) -> IssuedKey:
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(4)}"
    plaintext = f"{prefix}.{secrets.token_urlsafe(_SECRET_BYTES)}"
    key = ApiKey.objects.create(
        organization=membership.organization,
        membership=membership,
        name=name,
        prefix=prefix,
        hashed_key=hash_key(plaintext),
    )
    return IssuedKey(api_key=key, plaintext=plaintext)


def do_revoke_api_key(key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def authenticate_key(plaintext: str) -> ApiKey | None:
    """The active key matching ``plaintext``, or None. Constant-time on the hash comparison."""
    parts = split_key(plaintext)
    if parts is None:
        return None
    key = (
        ApiKey.objects.select_related("organization", "membership", "membership__user")
        .filter(prefix=parts[0])
        .first()
    )
    if key is None or not hmac.compare_digest(key.hashed_key, hash_key(plaintext)) or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
