-- How often a step was taken back from an executor whose lease expired before it committed; past
-- flotilla.executor.max-reclaims the step fails its run instead of running forever.
ALTER TABLE steps ADD COLUMN reclaims int NOT NULL DEFAULT 0;
