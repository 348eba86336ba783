-- One long-lived environment's schema owner (components/schema_owners.py), run by the
-- platform's bootstrap Job as Aurora's master user:
--   psql -v ON_ERROR_STOP=1 -v owner=dev_pingvas_owner -v schema=dev_pingvas \
--        -v password=... -v database=pingvas_saas -f schema_owner.sql
-- Idempotent: creates the role or resets its password, creates the schema it owns.
-- The owner may create roles (its environment's app role): on PostgreSQL 16 and later a
-- CREATEROLE role administers only the roles it created, so it cannot touch another
-- environment's roles.
SELECT format('CREATE ROLE %I', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
ALTER ROLE :"owner" WITH LOGIN CREATEROLE NOCREATEDB PASSWORD :'password';
ALTER ROLE :"owner" SET search_path = :"schema";
-- The master needs membership to hand the schema over (PostgreSQL 16).
GRANT :"owner" TO CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";
ALTER SCHEMA :"schema" OWNER TO :"owner";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"owner";
