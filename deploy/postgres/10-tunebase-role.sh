#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (/docker-entrypoint-initdb.d), as the
# superuser the image creates. TUNEBASE_DB_PASSWORD must equal the password in DATABASE_URL.
set -eu
: "${TUNEBASE_DB_PASSWORD:?set TUNEBASE_DB_PASSWORD (the password in DATABASE_URL)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role_name=tunebase -v db_name=tunebase -v role_password="$TUNEBASE_DB_PASSWORD" \
    -f /tunebase/tunebase-role.sql
