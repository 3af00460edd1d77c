"""Outgoing webhooks: endpoints a tenant registers, and the signed events delivered to them.

Events follow the Standard Webhooks spec (https://www.standardwebhooks.com): a JSON body
``{"type", "timestamp", "data"}`` and the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
base64-decoded part of the endpoint's ``whsec_`` secret).

The database is the queue. ``emit_event`` writes one pending delivery per subscribed endpoint in the
caller's transaction and hands them to a worker after commit; a worker claims a delivery with a
conditional update that also leases it (two workers never send it at once; a worker that dies leaves
it due again once the lease runs out); a failed attempt is scheduled again with exponential backoff
and ``deliver_due_webhooks`` (Celery beat) hands over whatever is due. An endpoint whose deliveries
keep failing is disabled, with a reason its owner can read.

Every URL is checked where it is registered and again, with a fresh DNS answer, right before each
attempt; the connection then goes to the address that was checked, so a DNS answer that changes
between check and connect cannot point a delivery at the internal network. Redirects are not followed.
"""
