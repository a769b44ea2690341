-- Sub-workflows: a run started by a workflow step of another run names its parent (run, step,
-- item); cancelling or failing the parent cancels it, and its end wakes the parent's step.
ALTER TABLE runs ADD COLUMN parent_run_id uuid REFERENCES runs ON DELETE CASCADE,
                 ADD COLUMN parent_step   text,
                 ADD COLUMN parent_item   integer;
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

-- A wake-up that came while the step still ran (a child run that ended before its parent's step
-- handed itself back): the hand-back then sleeps until now instead, so no wake-up is lost.
ALTER TABLE steps ADD COLUMN wake_pending boolean NOT NULL DEFAULT false;
