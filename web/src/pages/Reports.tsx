/** Ratings of the dealership's answers (admins): reported answers first to judge. */
import { useEffect, useState } from "preact/hooks";
import type { FeedbackReport, Page } from "../api/types";
import { useSession } from "../app";
import { CitedText } from "../components/Citations";
import { ErrorMessage } from "../components/ErrorMessage";

export function ReportsPage() {
  const { client, scope } = useSession();
  const [reports, setReports] = useState<FeedbackReport[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [onlyDown, setOnlyDown] = useState(true);

  async function load() {
    setError(null);
    try {
      setReports(
        (
          await client.request<Page<FeedbackReport>>(
            "GET",
            scope.path("/v1/feedback?limit=100&order=newest"),
          )
        ).items,
      );
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, []);

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
      <ErrorMessage error={error} onRetry={load} />
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
      {shown.length === 0 && !error && <p class="muted">No reports.</p>}
    </section>
  );
}
