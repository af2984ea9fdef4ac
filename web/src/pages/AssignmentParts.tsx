/** The admin's parts of the Assignments page: the create form and one assignment's row. */
import { useState } from "preact/hooks";
import type { Assignment, UserItem } from "../api/manager";
import type { Scenario } from "../api/types";
import { useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { localToRfc3339, rfc3339ToLocal, score } from "../lib/manage";

function inAWeek(): string {
  return rfc3339ToLocal(new Date(Date.now() + 7 * 86_400_000).toISOString());
}

export function AssignmentForm(props: {
  scenarios: Scenario[];
  users: UserItem[];
  onCreated: () => void;
}) {
  const { client, scope } = useSession();
  const [scenario, setScenario] = useState("");
  const [everyone, setEveryone] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [due, setDue] = useState(inAWeek());
  const [minScore, setMinScore] = useState("70");
  const [minAttempts, setMinAttempts] = useState("1");
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function create(event: Event) {
    event.preventDefault();
    setError(null);
    setSaved(null);
    try {
      await client.request(
        "POST",
        "/v1/assignments",
        scope.body({
          scenario_id: scenario || props.scenarios[0]?.id,
          ...(everyone ? { everyone: true } : { assignee_ids: chosen }),
          due_at: localToRfc3339(due),
          min_score: Number(minScore),
          min_attempts: Number(minAttempts),
          ...(note ? { note } : {}),
        }),
      );
      setSaved("Assignment created.");
      setChosen([]);
      props.onCreated();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <form class="assign" onSubmit={create}>
      <h2>New assignment</h2>
      <label for="assign-scenario">Scenario</label>
      <select
        id="assign-scenario"
        value={scenario}
        onChange={(e) => setScenario(e.currentTarget.value)}
      >
        {props.scenarios.map((s) => (
          <option key={s.id} value={s.id}>
            {s.title} (difficulty {s.difficulty})
          </option>
        ))}
      </select>
      <fieldset>
        <legend>Assignees</legend>
        <label class="check">
          <input
            type="checkbox"
            checked={everyone}
            onChange={(e) => setEveryone(e.currentTarget.checked)}
          />{" "}
          Everyone in the dealership now
        </label>
        {!everyone &&
          props.users.map((u) => (
            <label class="check" key={u.id}>
              <input
                type="checkbox"
                checked={chosen.includes(u.id)}
                onChange={(e) =>
                  setChosen(
                    e.currentTarget.checked
                      ? [...chosen, u.id]
                      : chosen.filter((id) => id !== u.id),
                  )
                }
              />{" "}
              {u.first_name || u.last_name ? (
                <>
                  {[u.first_name, u.last_name].filter(Boolean).join(" ")}{" "}
                  <span class="muted">({u.email})</span>
                </>
              ) : (
                u.email
              )}
            </label>
          ))}
      </fieldset>
      <label for="assign-due">Due</label>
      <input
        id="assign-due"
        type="datetime-local"
        required
        value={due}
        onInput={(e) => setDue(e.currentTarget.value)}
      />
      <label for="assign-score">Minimum score (0–100)</label>
      <input
        id="assign-score"
        type="number"
        min="0"
        max="100"
        required
        value={minScore}
        onInput={(e) => setMinScore(e.currentTarget.value)}
      />
      <label for="assign-attempts">Minimum scored attempts</label>
      <input
        id="assign-attempts"
        type="number"
        min="1"
        required
        value={minAttempts}
        onInput={(e) => setMinAttempts(e.currentTarget.value)}
      />
      <label for="assign-note">Note (optional)</label>
      <input
        id="assign-note"
        maxLength={2000}
        value={note}
        onInput={(e) => setNote(e.currentTarget.value)}
      />
      <button type="submit" class="primary">
        Assign
      </button>
      <ErrorMessage error={error} />
      {saved && <p role="status">{saved}</p>}
    </form>
  );
}

export function AssignmentRow(props: {
  assignment: Assignment;
  title: string;
  name: (id: string) => string;
  onChanged: () => void;
}) {
  const { client, scope } = useSession();
  const a = props.assignment;
  const [editing, setEditing] = useState(false);
  const [due, setDue] = useState(rfc3339ToLocal(a.due_at));
  const [minScore, setMinScore] = useState(String(a.min_score));
  const [error, setError] = useState<unknown>(null);

  async function save(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await client.request("PATCH", scope.path(`/v1/assignments/${a.id}`), {
        due_at: localToRfc3339(due),
        min_score: Number(minScore),
      });
      setEditing(false);
      props.onChanged();
    } catch (caught) {
      setError(caught);
    }
  }
  async function remove() {
    if (!confirm(`Delete the assignment "${props.title}"?`)) return;
    setError(null);
    try {
      await client.request("DELETE", scope.path(`/v1/assignments/${a.id}`));
      props.onChanged();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <li class="assignment" data-id={a.id}>
      <h3>{props.title}</h3>
      <p class="muted">
        Due {new Date(a.due_at).toLocaleString()} · score at least {a.min_score} in {a.min_attempts}{" "}
        scored session{a.min_attempts === 1 ? "" : "s"}
        {a.everyone ? " · everyone" : ""}
      </p>
      {a.note && <p>{a.note}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Best score</th>
          </tr>
        </thead>
        <tbody>
          {a.assignees.map((p) => (
            <tr key={p.user_id} data-status={p.status}>
              <td>{props.name(p.user_id)}</td>
              <td>
                <span class={`badge ${p.status}`}>{p.status}</span>
              </td>
              <td>{p.attempts}</td>
              <td>{score(p.best_score)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing ? (
        <form class="row" onSubmit={save}>
          <label for={`due-${a.id}`}>Due</label>
          <input
            id={`due-${a.id}`}
            type="datetime-local"
            required
            value={due}
            onInput={(e) => setDue(e.currentTarget.value)}
          />
          <label for={`score-${a.id}`}>Minimum score</label>
          <input
            id={`score-${a.id}`}
            type="number"
            min="0"
            max="100"
            required
            value={minScore}
            onInput={(e) => setMinScore(e.currentTarget.value)}
          />
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div class="row">
          <button type="button" onClick={() => setEditing(true)}>
            Edit<span class="visually-hidden"> {props.title}</span>
          </button>
          <button type="button" onClick={remove}>
            Delete<span class="visually-hidden"> {props.title}</span>
          </button>
        </div>
      )}
      <ErrorMessage error={error} />
    </li>
  );
}
