-- Every distinct spec of a workflow is an immutable revision (content hash); runs pin one.
CREATE TABLE workflow_revisions (
    namespace  text        NOT NULL,
    name       text        NOT NULL,
    revision   text        NOT NULL,
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name, revision)
);

-- The current revision of each published workflow.
CREATE TABLE workflows (
    namespace  text        NOT NULL,
    name       text        NOT NULL,
    revision   text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name),
    FOREIGN KEY (namespace, name, revision) REFERENCES workflow_revisions (namespace, name, revision)
);
