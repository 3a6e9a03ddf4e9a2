-- First start of the compose PostgreSQL: one database each for the operational store and the
-- warehouse (Dagster's storage is the server's default database, POSTGRES_DB).
CREATE DATABASE campaigns;
CREATE DATABASE analytics;
