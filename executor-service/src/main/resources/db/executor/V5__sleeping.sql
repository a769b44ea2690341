-- Steps handed back until a time or an event: a wait step's timer ('sleeping', its time in
-- not_before) and an approval step waiting for a decision ('awaiting_approval', its timeout in
-- not_before, 'infinity' without one). Both are kept out of the claim queue (steps_ready), so any
-- number of them costs the claim query nothing; the executors' housekeeping makes the due ones
-- ready through this index, and a decision makes its step ready at once.
CREATE INDEX steps_handed_back ON steps (not_before) WHERE status IN ('sleeping', 'awaiting_approval');

-- A person's decision on an approval step (or a foreach item of it), taken once.
CREATE TABLE decisions (
    run_id     uuid        NOT NULL,
    step_id    text        NOT NULL,
    item       integer     NOT NULL,
    decision   text        NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by text        NOT NULL,
    comment    text,
    caller     text        NOT NULL,  -- who the API authenticated (the admin, a ServiceAccount)
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step_id, item),
    FOREIGN KEY (run_id, step_id, item) REFERENCES steps ON DELETE CASCADE
);
