"""A connection that dies inside a tenant context (PostgreSQL restarted, say): the work done stands.

Leaving the context restores the connection's previous context; on a dead connection there is nothing to
restore, and failing there turned a request that had already committed (a prediction, billed) into a 503.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from tenants import db

pytestmark = pytest.mark.postgres_only


def test_a_context_whose_connection_died_closes_it_and_lets_the_work_done_stand(transactional_db, tenant):
    if connection.vendor != "postgresql":
        pytest.skip("the tenant context of a connection exists on PostgreSQL only")
    done = False
    with db.tenant_context(tenant.pk):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        done = True
        # The server ends this connection from outside, as a restart does.
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
            while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                time.sleep(0.05)

    assert done
    assert connection.connection is None  # closed: it serves no one again with the context it held
    with connection.cursor() as cursor:  # the next query opens a new connection, with no context at all
        cursor.execute("SELECT coalesce(current_setting('app.tenant_id', true), '')")
        assert cursor.fetchone()[0] == ""
