/** Dealerships (super admins): add one, rename it, set its token budget and leaderboard,
 * deactivate or reactivate it, and open its users. */
import { useState } from "preact/hooks";
import type { Dealership, DealershipChanges } from "../api/admin";
import { navigate, useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { budgetLabel, parseBudget } from "../lib/admin";
import { useEditorFocus } from "../lib/focus";
import { newestFirst, usePagedList } from "../lib/paged";
import { useSubmission } from "../lib/submit";

const MAX_NAME = 200;

export function DealershipsPage() {
  const { client, reloadDealerships } = useSession();
  const list = usePagedList(newestFirst<Dealership>(client, "/v1/dealerships", 50));
  const { items, setItems, next, loaded, loading, error, load } = list;

  function changed(updated: Dealership) {
    setItems((all) => all.map((d) => (d.id === updated.id ? updated : d)));
    void reloadDealerships();
  }
  return (
    <section class="panel">
      <h1>Dealerships</h1>
      <NewDealershipForm
        onCreated={(created) => {
          setItems((all) => [created, ...all]);
          void reloadDealerships();
        }}
      />
      <h2>All dealerships</h2>
      <ErrorMessage error={error} onRetry={() => load(null)} />
      <ul class="cards" aria-label="Dealerships">
        {items.map((d) => (
          <DealershipCard key={d.id} dealership={d} onChanged={changed} />
        ))}
      </ul>
      {loaded && items.length === 0 && <p class="muted">No dealerships yet.</p>}
      {next && (
        <button type="button" disabled={loading} onClick={() => load(next)}>
          {loading ? "Loading…" : "Show more dealerships"}
        </button>
      )}
    </section>
  );
}

function NewDealershipForm(props: { onCreated: (dealership: Dealership) => void }) {
  const { client } = useSession();
  const [name, setName] = useState("");
  const { busy, error, saved, submit } = useSubmission();
  const create = submit(async () => {
    const created = await client.request<Dealership>("POST", "/v1/dealerships", { name });
    props.onCreated(created);
    setName("");
    return `${created.name} is created. Add its admins on the Users page.`;
  });
  return (
    <form class="admin-form" onSubmit={create} aria-labelledby="new-dealership-title">
      <h2 id="new-dealership-title">Add a dealership</h2>
      <label for="new-dealership-name">Name</label>
      <input
        id="new-dealership-name"
        required
        maxLength={MAX_NAME}
        autocomplete="off"
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Adding…" : "Add dealership"}
      </button>
      <ErrorMessage error={error} />
      {saved && <p role="status">{saved}</p>}
    </form>
  );
}

type Editor = "name" | "budget";

function DealershipCard(props: {
  dealership: Dealership;
  onChanged: (dealership: Dealership) => void;
}) {
  const { client, pick } = useSession();
  const d = props.dealership;
  const [editing, setEditing] = useState<Editor | null>(null);
  const [name, setName] = useState(d.name);
  const [budget, setBudget] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  useEditorFocus(editing, d.id);

  async function change(changes: DealershipChanges, said: (d: Dealership) => string) {
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      const updated = await client.request<Dealership>("PATCH", `/v1/dealerships/${d.id}`, changes);
      props.onChanged(updated);
      setDone(said(updated));
      setEditing(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  function open(editor: Editor) {
    setError(null);
    setInvalid(null);
    setDone(null);
    setName(d.name);
    setBudget(d.monthly_token_budget === null ? "" : String(d.monthly_token_budget));
    setEditing(editor);
  }
  function rename(event: Event) {
    event.preventDefault();
    void change({ name }, (u) => `Renamed to ${u.name}.`);
  }
  function saveBudget(event: Event) {
    event.preventDefault();
    const parsed = parseBudget(budget);
    if (!parsed.ok) {
      setInvalid(parsed.error);
      return;
    }
    setInvalid(null);
    void change(
      { monthly_token_budget: parsed.value },
      (u) => `Token budget: ${budgetLabel(u.monthly_token_budget)}.`,
    );
  }
  function deactivate() {
    const question =
      `Deactivate ${d.name}? Every one of its people is signed out at once and can no ` +
      "longer sign in. Its data is kept, and you can reactivate it.";
    if (!confirm(question)) return;
    void change({ active: false }, (u) => `${u.name} is deactivated.`);
  }

  const budgetHint = `budget-hint-${d.id}`;
  return (
    <li class="card" data-id={d.id} data-active={String(d.active)}>
      <h3>{d.name}</h3>
      <p>
        <span class={`badge ${d.active ? "done" : "overdue"}`}>
          {d.active ? "active" : "deactivated"}
        </span>
        <span class="badge">leaderboard {d.leaderboard_enabled ? "on" : "off"}</span>
      </p>
      <p class="muted">
        Token budget: {budgetLabel(d.monthly_token_budget)} · added{" "}
        {new Date(d.created_at).toLocaleDateString()}
      </p>
      {editing === "name" && (
        <form class="inline-form" onSubmit={rename}>
          <label for={`name-field-${d.id}`}>New name for {d.name}</label>
          <input
            id={`name-field-${d.id}`}
            required
            maxLength={MAX_NAME}
            autocomplete="off"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <button type="submit" class="primary" disabled={busy}>
            Save name
          </button>
          <button type="button" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      )}
      {editing === "budget" && (
        <form class="inline-form" onSubmit={saveBudget} noValidate>
          <label for={`budget-field-${d.id}`}>Monthly token budget of {d.name}</label>
          <input
            id={`budget-field-${d.id}`}
            inputMode="numeric"
            autocomplete="off"
            aria-describedby={budgetHint}
            aria-invalid={invalid ? true : undefined}
            value={budget}
            onInput={(e) => setBudget(e.currentTarget.value)}
          />
          <button type="submit" class="primary" disabled={busy}>
            Save budget
          </button>
          <button type="button" onClick={() => setEditing(null)}>
            Cancel
          </button>
          <span id={budgetHint} class="muted wide">
            Prompt plus completion tokens per calendar month (UTC). 0 is unlimited; leave it empty
            for the service default.
          </span>
          {invalid && (
            <p class="error wide" role="alert">
              {invalid}
            </p>
          )}
        </form>
      )}
      {!editing && (
        <div class="actions">
          <button
            type="button"
            onClick={() => {
              pick(d.id);
              navigate("/users");
            }}
          >
            Users<span class="visually-hidden"> of {d.name}</span>
          </button>
          <button id={`name-button-${d.id}`} type="button" onClick={() => open("name")}>
            Rename<span class="visually-hidden"> {d.name}</span>
          </button>
          <button id={`budget-button-${d.id}`} type="button" onClick={() => open("budget")}>
            Token budget<span class="visually-hidden"> of {d.name}</span>
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              change(
                { leaderboard_enabled: !d.leaderboard_enabled },
                (u) => `Leaderboard ${u.leaderboard_enabled ? "on" : "off"}.`,
              )
            }
          >
            {d.leaderboard_enabled ? "Turn leaderboard off" : "Turn leaderboard on"}
            <span class="visually-hidden"> for {d.name}</span>
          </button>
          {d.active ? (
            <button type="button" disabled={busy} onClick={deactivate}>
              Deactivate<span class="visually-hidden"> {d.name}</span>
            </button>
          ) : (
            <button
              type="button"
              disabled={busy}
              onClick={() => change({ active: true }, (u) => `${u.name} is active again.`)}
            >
              Reactivate<span class="visually-hidden"> {d.name}</span>
            </button>
          )}
        </div>
      )}
      <ErrorMessage error={error} />
      {done && <p role="status">{done}</p>}
    </li>
  );
}
