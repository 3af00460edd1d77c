-- The application's role and database (run once, by deploy/postgres/10-tunebase-role.sh, as the superuser).
--
-- Every tenant table has a row-level security policy, forced for its owner too; a SUPERUSER or BYPASSRLS
-- role silently ignores those policies, so the application connects as a plain role that owns the database
-- (README, Production). `migrate` warns with tenants.W001 if the role can bypass them.
--
-- psql variables: :role_name, :role_password, :db_name.
SELECT format(
    'CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD %L',
    :'role_name', :'role_password'
)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role_name')
\gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'role_name')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db_name')
\gexec

REVOKE ALL ON DATABASE :"db_name" FROM PUBLIC;
