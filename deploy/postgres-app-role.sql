-- The role the web app and the scheduler run as on PostgreSQL (README "Security and privacy").
--
-- Migrations run as the database owner (`flask db upgrade` with the owner's DATABASE_URL);
-- the app runs as :app_role, which may read and write the data it works with but cannot
-- change the schema, and can only add to the audit trail: no TRUNCATE, DELETE or UPDATE on
-- audit_events (its triggers also refuse UPDATE and DELETE, for the owner too).
--
-- Run once as the owner after the first migration, and again after each migration that
-- adds a table (the default privileges below cover tables the owner creates later):
--   psql "$OWNER_URL" -v app_role=shelter_app -v app_password='...' -f deploy/postgres-app-role.sql
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_role', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

SELECT format('REVOKE CREATE ON SCHEMA public FROM PUBLIC, %I', :'app_role') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_role') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'app_role') \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I',
              :'app_role') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'app_role') \gexec
SELECT format('REVOKE ALL ON audit_events FROM %I', :'app_role') \gexec
SELECT format('GRANT SELECT, INSERT ON audit_events TO %I', :'app_role') \gexec
SELECT format('REVOKE ALL ON audit_event_people FROM %I', :'app_role') \gexec
SELECT format('GRANT SELECT, INSERT ON audit_event_people TO %I', :'app_role') \gexec
-- Alembic's bookkeeping: the app reads it (/readyz checks the schema is at head).
SELECT format('REVOKE ALL ON alembic_version FROM %I', :'app_role') \gexec
SELECT format('GRANT SELECT ON alembic_version TO %I', :'app_role') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE '
              'ON TABLES TO %I', :'app_role') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I',
              :'app_role') \gexec
