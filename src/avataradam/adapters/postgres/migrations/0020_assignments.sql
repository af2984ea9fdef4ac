-- depends: 0018_scorecards

-- Assignments (issue 18, DESIGN "The training product"): a dealership admin assigns a
-- scenario to some of the dealership's users, or to every active one at that moment
-- (`everyone`: materialised into assignees at creation; users added later are not
-- assigned), with a due date, a minimum score and a minimum number of attempts.
-- Deleting one removes it and its assignees; sessions started for it keep their
-- scorecards and lose the link (conversations.assignment_id SET NULL).
CREATE TABLE assignments (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    scenario_id text NOT NULL,
    due_at timestamptz NOT NULL,
    min_score smallint NOT NULL CHECK (min_score BETWEEN 0 AND 100),
    min_attempts integer NOT NULL CHECK (min_attempts >= 1),
    note text,
    everyone boolean NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX assignments_page_idx ON assignments (dealership_id, created_at, id);

-- One row per assignee. Progress (attempts, best score) is not stored: it is derived
-- from the scorecards of the assignee's sessions started with the assignment
-- (conversations.assignment_id). `completed_at`: when the assignee became done, written
-- in the transaction that made them so (the scorecard that completed them, or a change
-- that lowered the bar) together with the `assignment.completed` outbox event; a done
-- assignee stays done. `overdue_notified_at`: when the `assignment.overdue` reminder was
-- recorded (once per due date: changing `due_at` clears it).
CREATE TABLE assignment_assignees (
    assignment_id uuid NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id),
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    created_at timestamptz NOT NULL,
    completed_at timestamptz,
    overdue_notified_at timestamptz,
    PRIMARY KEY (assignment_id, user_id)
);
-- A trainee's own assignments.
CREATE INDEX assignment_assignees_user_idx ON assignment_assignees (user_id, assignment_id);
-- The overdue reminder's scan: assignees neither done nor reminded, by due date.
CREATE INDEX assignments_due_idx ON assignments (due_at);
CREATE INDEX assignment_assignees_unreminded_idx ON assignment_assignees (assignment_id)
    WHERE completed_at IS NULL AND overdue_notified_at IS NULL;

-- The assignment a roleplay was started for. Progress is read by (assignment, trainee)
-- through this index, then each session's scorecard by its primary key.
ALTER TABLE conversations ADD COLUMN assignment_id uuid REFERENCES assignments (id)
    ON DELETE SET NULL;
CREATE INDEX conversations_assignment_idx ON conversations (assignment_id, user_id)
    WHERE assignment_id IS NOT NULL;
