-- depends: 0018_scorecards

-- Managers' analytics (issue 18, DESIGN "The training product"; domain/usecases/analytics.py).
--
-- The analytics endpoints never scan raw messages: they read small per-dealership
-- rollups that triggers keep up to date IN THE SAME TRANSACTION as the event that
-- changes them (a conversation started or completed, a scorecard stored or rescored,
-- feedback given or changed, a training question stored), so a rollup is never ahead
-- of or behind the rows it sums. Days are UTC days. `analytics_rebuild()` recomputes
-- every rollup from the raw rows (this migration's backfill; the bench after COPY).
--
-- Known limit: a deleted message does not lower the question counts (the service
-- deletes no messages; a conversation deleted by hand keeps its questions "asked").

-- Opt-in leaderboard per dealership (GET /v1/analytics/leaderboard), off by default.
ALTER TABLE dealerships ADD COLUMN leaderboard_enabled boolean NOT NULL DEFAULT false;

-- A scored scorecard's overall score and pass, out of its body, so that ranks and
-- per-session lists read them from an index instead of detoasting every body.
ALTER TABLE scorecards
    ADD COLUMN overall smallint GENERATED ALWAYS AS ((body ->> 'overall')::smallint) STORED,
    ADD COLUMN passed boolean GENERATED ALWAYS AS ((body ->> 'passed')::boolean) STORED;
CREATE INDEX scorecards_scored_dealership_idx ON scorecards (dealership_id, created_at)
    INCLUDE (user_id, overall, passed) WHERE status = 'scored';
CREATE INDEX scorecards_user_created_idx ON scorecards (user_id, created_at);

-- Per dealership, UTC day and user: conversations started (any mode), roleplay
-- sessions started (by their start day) and completed (by their completion day), and
-- the scored sessions (by completion day, = the scorecard's created_at): how many,
-- the sum of their overall scores (0-100) and how many passed.
CREATE TABLE analytics_daily (
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    day date NOT NULL,
    user_id uuid NOT NULL,
    conversations integer NOT NULL DEFAULT 0,
    sessions_started integer NOT NULL DEFAULT 0,
    sessions_completed integer NOT NULL DEFAULT 0,
    scored integer NOT NULL DEFAULT 0,
    score_sum bigint NOT NULL DEFAULT 0,
    passed integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dealership_id, day, user_id)
);
CREATE INDEX analytics_daily_user_idx ON analytics_daily (user_id, day);

-- Per dealership, UTC day (of the scorecard) and rubric criterion: applicable verdicts
-- (`total`, i.e. not `not_applicable`) and how many were `met`. `blocker` and `title`
-- are the criterion's as last scored that day (reads over days take the greatest title).
CREATE TABLE criterion_daily (
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    day date NOT NULL,
    rubric_id text NOT NULL,
    criterion_id text NOT NULL,
    title text NOT NULL,
    blocker boolean NOT NULL,
    met integer NOT NULL DEFAULT 0,
    total integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dealership_id, day, rubric_id, criterion_id)
);

-- Per dealership and UTC day: trainee questions in training conversations, by their
-- normalised text (`analytics_question`), and how often each was asked.
CREATE TABLE question_daily (
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    day date NOT NULL,
    question text NOT NULL,
    asked integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dealership_id, day, question)
);

-- Per dealership and UTC day (of the rating's creation): thumbs up, thumbs down, and
-- inaccurate reports (a thumbs-down that gives a reason).
CREATE TABLE feedback_daily (
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    day date NOT NULL,
    up integer NOT NULL DEFAULT 0,
    down integer NOT NULL DEFAULT 0,
    inaccurate integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dealership_id, day)
);

CREATE FUNCTION analytics_day(moment timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (moment AT TIME ZONE 'UTC')::date $$;

-- Lower case, runs of whitespace as one space, no surrounding spaces nor trailing
-- ?, !, . ; at most 200 characters. The domain's `normalise_question` is its twin.
CREATE FUNCTION analytics_question(content text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT left(rtrim(regexp_replace(lower(btrim(content)), '\s+', ' ', 'g'), ' ?!.'), 200) $$;

CREATE FUNCTION analytics_bump_daily(
    p_dealership uuid, p_day date, p_user uuid, p_conversations integer,
    p_started integer, p_completed integer, p_scored integer, p_score_sum bigint,
    p_passed integer
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO analytics_daily AS a (dealership_id, day, user_id, conversations,
        sessions_started, sessions_completed, scored, score_sum, passed)
    VALUES (p_dealership, p_day, p_user, p_conversations, p_started, p_completed,
        p_scored, p_score_sum, p_passed)
    ON CONFLICT (dealership_id, day, user_id) DO UPDATE SET
        conversations = a.conversations + EXCLUDED.conversations,
        sessions_started = a.sessions_started + EXCLUDED.sessions_started,
        sessions_completed = a.sessions_completed + EXCLUDED.sessions_completed,
        scored = a.scored + EXCLUDED.scored,
        score_sum = a.score_sum + EXCLUDED.score_sum,
        passed = a.passed + EXCLUDED.passed
$$;

CREATE FUNCTION analytics_on_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.mode = 'roleplay' AND OLD.completed_at IS NOT NULL THEN
        PERFORM analytics_bump_daily(OLD.dealership_id, analytics_day(OLD.completed_at),
            OLD.user_id, 0, 0, -1, 0, 0, 0);
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM analytics_bump_daily(OLD.dealership_id, analytics_day(OLD.created_at),
            OLD.user_id, -1, CASE WHEN OLD.mode = 'roleplay' THEN -1 ELSE 0 END, 0, 0, 0, 0);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM analytics_bump_daily(NEW.dealership_id, analytics_day(NEW.created_at),
            NEW.user_id, 1, CASE WHEN NEW.mode = 'roleplay' THEN 1 ELSE 0 END, 0, 0, 0, 0);
    END IF;
    IF NEW.mode = 'roleplay' AND NEW.completed_at IS NOT NULL THEN
        PERFORM analytics_bump_daily(NEW.dealership_id, analytics_day(NEW.completed_at),
            NEW.user_id, 0, 0, 1, 0, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_conversation_insert_delete AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION analytics_on_conversation();
CREATE TRIGGER analytics_conversation_completed AFTER UPDATE OF completed_at ON conversations
    FOR EACH ROW WHEN (OLD.completed_at IS DISTINCT FROM NEW.completed_at)
    EXECUTE FUNCTION analytics_on_conversation();

-- Adds (sign 1) or takes back (sign -1) one scorecard's contribution. Criteria are
-- upserted in key order so that concurrent scorings lock rows in one order.
CREATE FUNCTION analytics_count_scorecard(card scorecards, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF card.status <> 'scored' THEN
        RETURN;
    END IF;
    PERFORM analytics_bump_daily(card.dealership_id, analytics_day(card.created_at),
        card.user_id, 0, 0, 0, sign, sign * card.overall,
        sign * CASE WHEN card.passed THEN 1 ELSE 0 END);
    INSERT INTO criterion_daily AS c (dealership_id, day, rubric_id, criterion_id, title,
        blocker, met, total)
    SELECT card.dealership_id, analytics_day(card.created_at), card.rubric_id,
           criterion ->> 'id', coalesce(criterion ->> 'title', criterion ->> 'id'),
           coalesce((criterion ->> 'blocker')::boolean, false),
           sign * (criterion ->> 'verdict' = 'met')::integer, sign
      FROM jsonb_array_elements(card.body -> 'criteria') AS criterion
     WHERE criterion ->> 'verdict' <> 'not_applicable'
     ORDER BY criterion ->> 'id'
    ON CONFLICT (dealership_id, day, rubric_id, criterion_id) DO UPDATE SET
        title = EXCLUDED.title,
        blocker = EXCLUDED.blocker,
        met = c.met + EXCLUDED.met,
        total = c.total + EXCLUDED.total;
END $$;

CREATE FUNCTION analytics_on_scorecard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analytics_count_scorecard(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM analytics_count_scorecard(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_scorecard_insert_delete AFTER INSERT OR DELETE ON scorecards
    FOR EACH ROW EXECUTE FUNCTION analytics_on_scorecard();
CREATE TRIGGER analytics_scorecard_update AFTER UPDATE ON scorecards
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.body IS DISTINCT FROM NEW.body)
    EXECUTE FUNCTION analytics_on_scorecard();

CREATE FUNCTION analytics_on_question() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
BEGIN
    SELECT dealership_id INTO owner FROM conversations
     WHERE id = NEW.conversation_id AND mode = 'training';
    IF owner IS NOT NULL AND analytics_question(NEW.content) <> '' THEN
        INSERT INTO question_daily AS q (dealership_id, day, question, asked)
        VALUES (owner, analytics_day(NEW.created_at), analytics_question(NEW.content), 1)
        ON CONFLICT (dealership_id, day, question) DO UPDATE SET asked = q.asked + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_question_stored AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.role = 'user') EXECUTE FUNCTION analytics_on_question();

CREATE FUNCTION analytics_count_feedback(
    p_dealership uuid, p_created timestamptz, p_rating text, p_reason text, sign integer
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO feedback_daily AS f (dealership_id, day, up, down, inaccurate)
    VALUES (p_dealership, analytics_day(p_created),
        sign * (p_rating = 'up')::integer, sign * (p_rating = 'down')::integer,
        sign * (p_rating = 'down' AND coalesce(btrim(p_reason), '') <> '')::integer)
    ON CONFLICT (dealership_id, day) DO UPDATE SET
        up = f.up + EXCLUDED.up,
        down = f.down + EXCLUDED.down,
        inaccurate = f.inaccurate + EXCLUDED.inaccurate
$$;

CREATE FUNCTION analytics_on_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analytics_count_feedback(OLD.dealership_id, OLD.created_at, OLD.rating,
            OLD.reason, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM analytics_count_feedback(NEW.dealership_id, NEW.created_at, NEW.rating,
            NEW.reason, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_feedback_change AFTER INSERT OR UPDATE OR DELETE ON message_feedback
    FOR EACH ROW EXECUTE FUNCTION analytics_on_feedback();

-- Every rollup recomputed from the raw rows, in one statement each.
CREATE FUNCTION analytics_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM analytics_daily;
    DELETE FROM criterion_daily;
    DELETE FROM question_daily;
    DELETE FROM feedback_daily;
    INSERT INTO analytics_daily (dealership_id, day, user_id, conversations,
        sessions_started, sessions_completed, scored, score_sum, passed)
    SELECT dealership_id, day, user_id, sum(conversations), sum(started), sum(completed),
           sum(scored), sum(score_sum), sum(passed)
      FROM (
        SELECT dealership_id, analytics_day(created_at) AS day, user_id, 1 AS conversations,
               (mode = 'roleplay')::integer AS started, 0 AS completed, 0 AS scored,
               0 AS score_sum, 0 AS passed
          FROM conversations
        UNION ALL
        SELECT dealership_id, analytics_day(completed_at), user_id, 0, 0, 1, 0, 0, 0
          FROM conversations WHERE mode = 'roleplay' AND completed_at IS NOT NULL
        UNION ALL
        SELECT dealership_id, analytics_day(created_at), user_id, 0, 0, 0, 1, overall,
               passed::integer
          FROM scorecards WHERE status = 'scored'
      ) AS events
     GROUP BY dealership_id, day, user_id;
    INSERT INTO criterion_daily (dealership_id, day, rubric_id, criterion_id, title, blocker,
        met, total)
    SELECT s.dealership_id, analytics_day(s.created_at), s.rubric_id, c ->> 'id',
           max(coalesce(c ->> 'title', c ->> 'id')),
           bool_or(coalesce((c ->> 'blocker')::boolean, false)),
           count(*) FILTER (WHERE c ->> 'verdict' = 'met'), count(*)
      FROM scorecards AS s, jsonb_array_elements(s.body -> 'criteria') AS c
     WHERE s.status = 'scored' AND c ->> 'verdict' <> 'not_applicable'
     GROUP BY 1, 2, 3, 4;
    INSERT INTO question_daily (dealership_id, day, question, asked)
    SELECT c.dealership_id, analytics_day(m.created_at), analytics_question(m.content), count(*)
      FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
     WHERE m.role = 'user' AND c.mode = 'training' AND analytics_question(m.content) <> ''
     GROUP BY 1, 2, 3;
    INSERT INTO feedback_daily (dealership_id, day, up, down, inaccurate)
    SELECT dealership_id, analytics_day(created_at), count(*) FILTER (WHERE rating = 'up'),
           count(*) FILTER (WHERE rating = 'down'),
           count(*) FILTER (WHERE rating = 'down' AND coalesce(btrim(reason), '') <> '')
      FROM message_feedback
     GROUP BY 1, 2;
END $$;

-- PERFORM, not SELECT: yoyo prints the rows a migration's statement returns.
DO $$ BEGIN PERFORM analytics_rebuild(); END $$;
