"""Signatures follow the Standard Webhooks spec, checked against the spec's own recipe."""

from __future__ import annotations

import base64

from tests.factories import spec_signature
from webhooks.models import generate_secret
from webhooks.signing import sign


def test_signature_matches_an_independent_computation_from_the_spec():
    secret = generate_secret()
    body = '{"data":{"run_id":"r1"},"timestamp":"2026-11-28T10:00:00Z","type":"training_run.succeeded"}'

    assert sign(secret, "msg_abc", 1764324000, body) == spec_signature(secret, "msg_abc", 1764324000, body)


def test_signature_matches_the_published_test_vector():
    # The example of the Standard Webhooks / Svix reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_bytes_and_text_bodies_sign_alike():
    secret = generate_secret()

    assert sign(secret, "msg_1", 1, b'{"a":1}') == sign(secret, "msg_1", 1, '{"a":1}')


def test_a_different_body_gives_a_different_signature():
    secret = generate_secret()

    assert sign(secret, "msg_1", 1, '{"a":1}') != sign(secret, "msg_1", 1, '{"a":2}')


def test_secrets_are_whsec_and_24_random_bytes():
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert generate_secret() != secret
