-- Ended runs are deleted (with their steps and events, by cascade) once older than the retention.
CREATE INDEX runs_ended ON runs (finished_at) WHERE status <> 'running';
