/** Ratings of the dealership's answers (admins): reported answers first to judge. */
import { useState } from "preact/hooks";
import type { FeedbackReport } from "../api/types";
import { useSession } from "../app";
import { CitedText } from "../components/Citations";
import { ErrorMessage } from "../components/ErrorMessage";
import { newestFirst, usePagedList } from "../lib/paged";

export function ReportsPage() {
  const { client, scope } = useSession();
  const list = usePagedList(newestFirst<FeedbackReport>(client, scope.path("/v1/feedback"), 100));
  const { items: reports, next, loading, error, load } = list;
  const [onlyDown, setOnlyDown] = useState(true);

  const shown = reports.filter((r) => !onlyDown || r.rating === "down");
  return (
    <section class="panel">
      <h1>Answer reports</h1>
      <label class="check">
        <input
          type="checkbox"
          checked={onlyDown}
          onChange={(e) => setOnlyDown(e.currentTarget.checked)}
        />{" "}
        Only answers reported as unhelpful or inaccurate
      </label>
      <ErrorMessage error={error} onRetry={() => load(null)} />
      <ul class="reports">
        {shown.map((r) => (
          <li key={r.id} class="report">
            <p>
              <strong>{r.rating === "down" ? "Reported" : "Helpful"}</strong>
              <span class="muted"> · {new Date(r.updated_at).toLocaleString()}</span>
            </p>
            {r.reason && <p class="reason-text">“{r.reason}”</p>}
            {r.question && (
              <p>
                <span class="muted">Question: </span>
                {r.question}
              </p>
            )}
            {r.answer && (
              <div>
                <span class="muted">Answer:</span>
                <CitedText content={r.answer} sources={r.sources} />
              </div>
            )}
          </li>
        ))}
      </ul>
      {shown.length === 0 && !error && !loading && <p class="muted">No reports.</p>}
      {next && (
        <button type="button" disabled={loading} onClick={() => load(next)}>
          {loading ? "Loading…" : "Show older reports"}
        </button>
      )}
    </section>
  );
}
