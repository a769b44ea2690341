-- A key that may also open and read the run:* budget scopes of its own tenant (the executor's key),
-- so the executor needs no admin credential of the gateway.
ALTER TABLE api_keys ADD COLUMN run_scopes boolean NOT NULL DEFAULT false;
