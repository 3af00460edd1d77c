"""What the kernel tells the apps above it, which it does not import.

- ``tenant_created(tenant)``: sent inside ``tenant_create``'s transaction, once the owner's membership
  exists; a receiver's writes commit or roll back with the new tenant (billing subscribes it to the
  default plan).
- ``tenant_deleting(tenant)``: sent inside ``tenant_delete``'s transaction, before its rows go; a receiver
  reads what it needs of them and acts once the delete commits (billing cancels the Stripe
  subscription).
"""

from __future__ import annotations

from django.dispatch import Signal

tenant_created = Signal()
tenant_deleting = Signal()
