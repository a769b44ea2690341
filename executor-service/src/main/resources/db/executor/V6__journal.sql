-- What a step execution has finished, checkpointed as it completes (an agent's model turns with
-- their tool calls, and the tool results), per iteration of the step or its foreach item: a step
-- taken over after a crash, or retried after a failure, goes on from here. Each entry's tokens
-- and cost were added to its step and run when it was written. The rendered prompt is not kept
-- here (it is rendered again from the revision and the inputs); deleted with the run.
CREATE TABLE journal (
    run_id    uuid           NOT NULL,
    step_id   text           NOT NULL,
    item      integer        NOT NULL,
    iteration integer        NOT NULL,
    seq       integer        NOT NULL,
    entry     jsonb          NOT NULL,
    tokens    bigint         NOT NULL DEFAULT 0,
    cost_usd  numeric(18, 6) NOT NULL DEFAULT 0,
    at        timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step_id, item, iteration, seq),
    FOREIGN KEY (run_id, step_id, item) REFERENCES steps ON DELETE CASCADE
);
