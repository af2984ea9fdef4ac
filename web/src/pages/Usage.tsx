/** Usage (admins): model calls and tokens per day, and the monthly token budget left. */
import { useEffect, useState } from "preact/hooks";
import type { UsageReport } from "../api/manager";
import { useSession } from "../app";
import { RangePicker } from "../components/CsvButton";
import { ErrorMessage } from "../components/ErrorMessage";
import { lastDays, withQuery } from "../lib/manage";

export function UsagePage() {
  const { client, scope } = useSession();
  const [days, setDays] = useState(30);
  const [usage, setUsage] = useState<UsageReport | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function load() {
    setError(null);
    try {
      setUsage(
        await client.request<UsageReport>(
          "GET",
          scope.path(withQuery("/v1/usage", lastDays(days))),
        ),
      );
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [days]);

  const sum = (pick: (d: UsageReport["days"][number]) => number) =>
    (usage?.days ?? []).reduce((total, d) => total + pick(d), 0);
  const budget = usage?.budget;
  return (
    <section class="panel">
      <div class="row spread">
        <h1>Usage</h1>
        <RangePicker days={days} onChange={setDays} />
      </div>
      <ErrorMessage error={error} onRetry={load} />
      {usage && budget && (
        <>
          <dl class="stats">
            <div class="stat">
              <dt>Model calls</dt>
              <dd>{sum((d) => d.model_calls)}</dd>
            </div>
            <div class="stat">
              <dt>Cached answers</dt>
              <dd>{sum((d) => d.cached_answers)}</dd>
            </div>
            <div class="stat">
              <dt>Tokens</dt>
              <dd>{sum((d) => d.prompt_tokens + d.completion_tokens)}</dd>
            </div>
            <div class="stat">
              <dt>Speech seconds</dt>
              <dd>{Math.round(sum((d) => d.speech_seconds))}</dd>
            </div>
          </dl>
          <h2>Monthly token budget</h2>
          {budget.monthly_token_budget === null ? (
            <p>
              No budget set: {budget.used_tokens} tokens used since {budget.period_start}.
            </p>
          ) : (
            <p>
              {budget.remaining_tokens} of {budget.monthly_token_budget} tokens left (
              {budget.used_tokens} used since {budget.period_start}; resets{" "}
              {new Date(budget.resets_at).toLocaleString()}).
            </p>
          )}
        </>
      )}
    </section>
  );
}
