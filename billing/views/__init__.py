"""Billing's pages: ``pages`` (the Billing page, upgrade, manage, spend cap) and ``stripe_webhook`` (Stripe's
events in)."""
