/** One person's progress (admins, or the person): sessions, weekly scores, criteria, assignments. */
import { useEffect, useState } from "preact/hooks";
import type { PersonAnalytics } from "../api/manager";
import type { Scenario } from "../api/types";
import { navigate, useSession } from "../app";
import { LineChart } from "../components/Charts";
import { CsvButton, RangePicker } from "../components/CsvButton";
import { ErrorMessage } from "../components/ErrorMessage";
import { everyItem } from "../lib/admin";
import { lastDays, percent, score, withQuery } from "../lib/manage";

export function PersonView(props: { id: string; days: number; onDays: (days: number) => void }) {
  const { client, scope } = useSession();
  const [person, setPerson] = useState<PersonAnalytics | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [titles, setTitles] = useState<Map<string, string>>(new Map());
  const range = lastDays(props.days);
  const base = `/v1/analytics/users/${props.id}`;

  async function load() {
    setError(null);
    try {
      setPerson(await client.request<PersonAnalytics>("GET", withQuery(base, range)));
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [props.id, props.days]);
  useEffect(() => {
    // Titles only make the tables easier to read: without them the scenario's id shows.
    everyItem<Scenario>(client, scope.path("/v1/scenarios"))
      .then((all) => setTitles(new Map(all.map((s) => [s.id, s.title]))))
      .catch(() => undefined);
  }, []);
  const scenario = (id: string | null) => (id ? (titles.get(id) ?? id) : "–");

  const csv = (section: string) => withQuery(base, { ...range, section });
  const file = (section: string) => `person-${props.id.slice(0, 8)}-${section}.csv`;
  const weeks = [...new Set((person?.criteria_trend ?? []).map((c) => c.week ?? ""))].sort();
  const criteria = new Map<string, string>();
  for (const c of person?.criteria_trend ?? []) criteria.set(c.criterion_id, c.title);
  const rate = (criterion: string, week: string) =>
    person?.criteria_trend.find((c) => c.criterion_id === criterion && c.week === week);
  return (
    <section class="panel">
      <p>
        <a
          href="/team"
          onClick={(event) => {
            event.preventDefault();
            navigate("/team");
          }}
        >
          ← Team progress
        </a>
      </p>
      <div class="row spread">
        <h1>{person ? person.display_name : "Person"}</h1>
        <RangePicker days={props.days} onChange={props.onDays} />
      </div>
      <ErrorMessage error={error} onRetry={load} />
      {person && (
        <>
          <dl class="stats">
            <div class="stat" data-stat="sessions_started">
              <dt>Roleplays started</dt>
              <dd>{person.sessions_started}</dd>
            </div>
            <div class="stat">
              <dt>Scored</dt>
              <dd>{person.scored}</dd>
            </div>
            <div class="stat">
              <dt>Average score</dt>
              <dd>{score(person.average_score)}</dd>
            </div>
            <div class="stat">
              <dt>Pass rate</dt>
              <dd>{percent(person.pass_rate)}</dd>
            </div>
          </dl>
          <div class="row spread">
            <h2>Score per week</h2>
            <CsvButton path={csv("weekly")} filename={file("weekly")} what="weekly scores" />
          </div>
          <LineChart
            label="Average score per week"
            labels={person.weekly.map((w) => w.week)}
            values={person.weekly.map((w) => w.average_score)}
            max={100}
          />
          <div class="row spread">
            <h2>Sessions</h2>
            <CsvButton path={csv("sessions")} filename={file("sessions")} what="sessions" />
          </div>
          {person.sessions.length === 0 ? (
            <p class="muted">No roleplay in this range.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Scenario</th>
                  <th scope="col">Scorecard</th>
                  <th scope="col">Score</th>
                  <th scope="col">Passed</th>
                </tr>
              </thead>
              <tbody>
                {person.sessions.map((s) => (
                  <tr key={s.conversation_id}>
                    <td>{new Date(s.started_at).toLocaleString()}</td>
                    <td>{scenario(s.scenario_id)}</td>
                    <td>
                      {s.status === "scored" || s.status === "failed" ? (
                        <a
                          href={`/team/${props.id}/sessions/${s.conversation_id}`}
                          onClick={(event) => {
                            event.preventDefault();
                            navigate(`/team/${props.id}/sessions/${s.conversation_id}`);
                          }}
                        >
                          {s.status}
                        </a>
                      ) : (
                        (s.status ?? "open")
                      )}
                    </td>
                    <td>{score(s.overall)}</td>
                    <td>{s.passed === null ? "–" : s.passed ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div class="row spread">
            <h2>Pass rate per criterion and week</h2>
            <CsvButton
              path={csv("criteria_trend")}
              filename={file("criteria")}
              what="criteria trend"
            />
          </div>
          {weeks.length === 0 ? (
            <p class="muted">No scored verdicts in this range.</p>
          ) : (
            <div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Criterion</th>
                    {weeks.map((w) => (
                      <th scope="col" key={w}>
                        {w}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {[...criteria].map(([id, title]) => (
                    <tr key={id}>
                      <th scope="row">{title}</th>
                      {weeks.map((w) => {
                        const cell = rate(id, w);
                        return <td key={w}>{cell ? percent(cell.pass_rate) : "–"}</td>;
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div class="row spread">
            <h2>Assignments</h2>
            <CsvButton
              path={csv("assignments")}
              filename={file("assignments")}
              what="assignments"
            />
          </div>
          {(person.assignments ?? []).length === 0 ? (
            <p class="muted">No assignments.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Scenario</th>
                  <th scope="col">Due</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Best score</th>
                </tr>
              </thead>
              <tbody>
                {(person.assignments ?? []).map((a) => (
                  <tr key={a.assignment_id}>
                    <td>{scenario(a.scenario_id)}</td>
                    <td>{new Date(a.due_at).toLocaleString()}</td>
                    <td>{a.status}</td>
                    <td>
                      {a.attempts} of {a.min_attempts}
                    </td>
                    <td>
                      {score(a.best_score)} <span class="muted">(bar {a.min_score})</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
