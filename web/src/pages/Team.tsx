/** Team progress (admins): the dealership's numbers over a range, and one row per person. */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import type { Overview, Rank, UserItem } from "../api/manager";
import type { Page } from "../api/types";
import { navigate, useSession } from "../app";
import { LineChart, RateBars } from "../components/Charts";
import { CsvButton, RangePicker } from "../components/CsvButton";
import { ErrorMessage } from "../components/ErrorMessage";
import { ScorecardView } from "../components/Scorecard";
import { lastDays, percent, score, withQuery } from "../lib/manage";
import { PersonView } from "./Person";

export function TeamPage(props: { path: string }) {
  const [days, setDays] = useState(30);
  const id = /^\/team\/([0-9a-f-]{36})/.exec(props.path)?.[1];
  const session = /^\/team\/[0-9a-f-]{36}\/sessions\/([0-9a-f-]{36})/.exec(props.path)?.[1];
  if (id && session) {
    return (
      <section>
        <p>
          <a
            href={`/team/${id}`}
            onClick={(event) => {
              event.preventDefault();
              navigate(`/team/${id}`);
            }}
          >
            ← Their progress
          </a>
        </p>
        <ScorecardView key={session} conversationId={session} />
      </section>
    );
  }
  return id ? (
    <PersonView key={id} id={id} days={days} onDays={setDays} />
  ) : (
    <TeamOverview days={days} onDays={setDays} />
  );
}

const OVERVIEW = "/v1/analytics/overview";

function TeamOverview(props: { days: number; onDays: (days: number) => void }) {
  const { client, scope } = useSession();
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const range = lastDays(props.days);

  async function load() {
    setError(null);
    try {
      setOverview(await client.request<Overview>("GET", scope.path(withQuery(OVERVIEW, range))));
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [props.days]);

  const csv = (section: string) => scope.path(withQuery(OVERVIEW, { ...range, section }));
  const file = (section: string) => `team-${section}-${range.from}-${range.to}.csv`;
  return (
    <section class="panel">
      <div class="row spread">
        <h1>Team progress</h1>
        <RangePicker days={props.days} onChange={props.onDays} />
      </div>
      <ErrorMessage error={error} onRetry={load} />
      {overview && (
        <>
          <p class="muted">
            {overview.from} to {overview.to} (UTC days){" "}
            <CsvButton path={csv("summary")} filename={file("summary")} what="the summary" />
          </p>
          <dl class="stats">
            <Stat name="Active people" value={overview.active_users} id="active_users" />
            <Stat name="Conversations" value={overview.conversations} id="conversations" />
            <Stat
              name="Roleplays started"
              value={overview.sessions_started}
              id="sessions_started"
            />
            <Stat name="Roleplays completed" value={overview.sessions_completed} id="completed" />
            <Stat name="Scored" value={overview.scored} id="scored" />
            <Stat name="Average score" value={score(overview.average_score)} id="average" />
            <Stat name="Pass rate" value={percent(overview.pass_rate)} id="pass_rate" />
          </dl>
          <div class="row spread">
            <h2>Weekly trend</h2>
            <CsvButton path={csv("weekly")} filename={file("weekly")} what="the weekly trend" />
          </div>
          <LineChart
            label="Average score per week"
            labels={overview.weekly.map((w) => w.week)}
            values={overview.weekly.map((w) => w.average_score)}
            max={100}
          />
          <LineChart
            label="Roleplays started per week"
            labels={overview.weekly.map((w) => w.week)}
            values={overview.weekly.map((w) => w.sessions_started)}
            max={Math.max(1, ...overview.weekly.map((w) => w.sessions_started))}
          />
          <div class="row spread">
            <h2>Pass rate per criterion</h2>
            <CsvButton path={csv("criteria")} filename={file("criteria")} what="criteria" />
          </div>
          <CriteriaBars items={overview.criteria.filter((c) => !c.blocker)} />
          <div class="row spread">
            <h2>Compliance blockers</h2>
            <CsvButton path={csv("blockers")} filename={file("blockers")} what="blockers" />
          </div>
          <CriteriaBars items={overview.blockers} />
          <h2>Weakest skills</h2>
          {overview.weakest_skills.length === 0 ? (
            <p class="muted">Not enough scored verdicts yet (5 per skill).</p>
          ) : (
            <ol>
              {overview.weakest_skills.map((c) => (
                <li key={c.criterion_id}>
                  {c.title}: {percent(c.pass_rate)} met ({c.met} of {c.total})
                </li>
              ))}
            </ol>
          )}
          <div class="row spread">
            <h2>Top questions</h2>
            <CsvButton path={csv("top_questions")} filename={file("questions")} what="questions" />
          </div>
          {overview.top_questions.length === 0 ? (
            <p class="muted">No training questions in this range.</p>
          ) : (
            <ol>
              {overview.top_questions.map((q) => (
                <li key={q.question}>
                  {q.question} <span class="muted">({q.asked}×)</span>
                </li>
              ))}
            </ol>
          )}
          <h2>Feedback on answers</h2>
          <p>
            {overview.feedback.up} helpful · {overview.feedback.down} unhelpful ·{" "}
            {overview.feedback.inaccurate} reported inaccurate
          </p>
          <TeamTable range={range} />
        </>
      )}
    </section>
  );
}

function Stat(props: { name: string; value: string | number; id: string }) {
  return (
    <div class="stat" data-stat={props.id}>
      <dt>{props.name}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

function CriteriaBars(props: { items: Overview["criteria"] }) {
  if (props.items.length === 0) return <p class="muted">Nothing scored in this range.</p>;
  return (
    <RateBars
      items={props.items.map((c) => ({
        key: `${c.rubric_id}/${c.criterion_id}`,
        title: c.title,
        rate: c.pass_rate,
        detail: `${c.met} of ${c.total}`,
      }))}
    />
  );
}

interface Row {
  id: string;
  name: string;
  rank?: Rank;
}

/** The leaderboard's ranks when it is switched on, else the dealership's users. */
function TeamTable(props: { range: { from: string; to: string } }) {
  const { client, scope } = useSession();
  const board = scope.path(withQuery("/v1/analytics/leaderboard", props.range));
  const [rows, setRows] = useState<Row[] | null>(null);
  const [ranked, setRanked] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function load() {
    setError(null);
    try {
      const ranks = await client.request<{ items: Rank[] }>("GET", board);
      setRanked(true);
      setRows(ranks.items.map((r) => ({ id: r.user_id, name: r.display_name, rank: r })));
      return;
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 403)) {
        setError(caught);
        return;
      }
    }
    try {
      const path = scope.path(withQuery("/v1/users", { limit: "100" }));
      const users = (await client.request<Page<UserItem>>("GET", path)).items;
      setRanked(false);
      setRows(
        users
          .filter((u) => u.active)
          .map((u) => ({
            id: u.id,
            name: [u.first_name, u.last_name].filter(Boolean).join(" ") || u.email,
          })),
      );
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [props.range.from, props.range.to]);

  return (
    <>
      <div class="row spread">
        <h2>Team</h2>
        {ranked && (
          <CsvButton
            path={board}
            filename={`leaderboard-${props.range.from}-${props.range.to}.csv`}
            what="the leaderboard"
          />
        )}
      </div>
      <ErrorMessage error={error} onRetry={load} />
      {rows && (
        <table class="team">
          <thead>
            <tr>
              {ranked && <th scope="col">Rank</th>}
              <th scope="col">Person</th>
              {ranked && <th scope="col">Sessions</th>}
              {ranked && <th scope="col">Average</th>}
              {ranked && <th scope="col">Best</th>}
              {ranked && <th scope="col">Pass rate</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                {ranked && <td>{r.rank?.rank}</td>}
                <td>
                  <a
                    href={`/team/${r.id}`}
                    onClick={(event) => {
                      event.preventDefault();
                      navigate(`/team/${r.id}`);
                    }}
                  >
                    {r.name}
                  </a>
                </td>
                {ranked && <td>{r.rank?.sessions}</td>}
                {ranked && <td>{score(r.rank?.average_score)}</td>}
                {ranked && <td>{score(r.rank?.best_score)}</td>}
                {ranked && <td>{percent(r.rank?.pass_rate)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && rows.length === 0 && <p class="muted">Nobody to show in this range.</p>}
    </>
  );
}
