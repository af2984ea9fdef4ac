/** Knowledge gaps (admins): questions Adam could not answer, grouped; resolve with a note. */
import { useEffect, useState } from "preact/hooks";
import type { KnowledgeGap } from "../api/manager";
import type { Page } from "../api/types";
import { useSession } from "../app";
import { CsvButton } from "../components/CsvButton";
import { ErrorMessage } from "../components/ErrorMessage";
import { withQuery } from "../lib/manage";

const GAPS = "/v1/analytics/knowledge-gaps";

export function GapsPage() {
  const { client, scope } = useSession();
  const [gaps, setGaps] = useState<KnowledgeGap[]>([]);
  const [status, setStatus] = useState("open");
  const [error, setError] = useState<unknown>(null);
  const path = scope.path(withQuery(GAPS, { status, limit: "100" }));

  async function load() {
    setError(null);
    try {
      setGaps((await client.request<Page<KnowledgeGap>>("GET", path)).items);
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [status]);

  return (
    <section class="panel">
      <div class="row spread">
        <h1>Knowledge gaps</h1>
        <CsvButton
          path={path}
          filename={`knowledge-gaps-${status || "all"}.csv`}
          what="knowledge gaps"
        />
      </div>
      <p>
        Training questions Adam could not answer from your documents (last 90 days), grouped by
        meaning, most asked first. Upload what answers them, then resolve the gap.
      </p>
      <div class="filters">
        <label for="gap-status">Show</label>
        <select id="gap-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="open">Open</option>
          <option value="resolved">Resolved</option>
          <option value="">All</option>
        </select>
      </div>
      <ErrorMessage error={error} onRetry={load} />
      <ul class="gaps">
        {gaps.map((gap) => (
          <GapItem key={gap.id} gap={gap} onResolved={load} />
        ))}
      </ul>
      {gaps.length === 0 && !error && <p class="muted">No knowledge gaps.</p>}
    </section>
  );
}

const REASONS: Record<keyof KnowledgeGap["reasons"], string> = {
  no_material: "no material",
  weak_material: "weak material",
  thumbs_down: "rated down",
  reported_inaccurate: "reported inaccurate",
};

function GapItem(props: { gap: KnowledgeGap; onResolved: () => void }) {
  const { client, scope } = useSession();
  const { gap } = props;
  const [resolving, setResolving] = useState(false);
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>(null);

  async function resolve(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await client.request("POST", `${GAPS}/${gap.id}/resolve`, scope.body(note ? { note } : {}));
      setResolving(false);
      props.onResolved();
    } catch (caught) {
      setError(caught);
    }
  }

  const reasons = Object.entries(REASONS)
    .filter(([key]) => gap.reasons[key as keyof KnowledgeGap["reasons"]] > 0)
    .map(([key, label]) => `${gap.reasons[key as keyof KnowledgeGap["reasons"]]} ${label}`);
  return (
    <li class="gap" data-status={gap.status} data-id={gap.id}>
      <h2>
        <span class="count" title="times asked">
          {gap.count}×
        </span>{" "}
        {gap.title}
      </h2>
      <p class="muted">
        {reasons.join(" · ")} · first asked {new Date(gap.first_asked_at).toLocaleString()} · last{" "}
        {new Date(gap.last_asked_at).toLocaleString()}
      </p>
      <p>
        <span class={`badge ${gap.status}`}>{gap.status}</span>
        {gap.recurred && <span class="badge overdue">asked again since resolved</span>}
        {gap.resolve_note && <span class="muted"> “{gap.resolve_note}”</span>}
      </p>
      <details>
        <summary>Examples ({gap.examples.length})</summary>
        <ul>
          {gap.examples.map((q) => (
            <li key={q}>{q}</li>
          ))}
        </ul>
      </details>
      {resolving ? (
        <form class="row" onSubmit={resolve}>
          <label for={`note-${gap.id}`}>What did you do?</label>
          <input
            id={`note-${gap.id}`}
            maxLength={2000}
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          <button type="submit" class="primary">
            Mark resolved
          </button>
          <button type="button" onClick={() => setResolving(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" onClick={() => setResolving(true)}>
          {gap.status === "resolved" ? "Resolve again" : "Resolve"}
          <span class="visually-hidden"> {gap.title}</span>
        </button>
      )}
      <ErrorMessage error={error} />
    </li>
  );
}
