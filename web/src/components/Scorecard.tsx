/** A roleplay's scorecard, polled until scored, with the trainee's quoted words highlighted
 * in the transcript (the owner's view) or quoted under each criterion alone (a manager's:
 * the API gives the transcript to its owner only). */
import { useEffect, useState } from "preact/hooks";
import type { Message, Scorecard } from "../api/types";
import { useSession } from "../app";
import { ErrorMessage } from "./ErrorMessage";

const VERDICT = { met: "Good", partly: "Fair", missed: "Poor", not_applicable: "Not applicable" };

export function ScorecardView(props: { conversationId: string; messages?: Message[] }) {
  const { client, scope } = useSession();
  const [card, setCard] = useState<Scorecard | null>(null);
  const [error, setError] = useState<unknown>(null);
  const id = props.conversationId;

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    async function poll() {
      try {
        const got = await client.request<Scorecard>(
          "GET",
          scope.path(`/v1/conversations/${id}/scorecard`),
        );
        if (stopped) return;
        setCard(got);
        setError(null);
        if (got.status === "pending") timer = setTimeout(poll, 1000);
      } catch (caught) {
        if (!stopped) setError(caught);
      }
    }
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);

  const quotes = new Map<string, string[]>();
  for (const criterion of card?.criteria ?? []) {
    for (const check of criterion.checks) {
      for (const e of check.evidence)
        quotes.set(e.message_id, [...(quotes.get(e.message_id) ?? []), e.quote]);
    }
  }

  return (
    <section class="panel scorecard" aria-labelledby="scorecard-title">
      <h1 id="scorecard-title">Scorecard</h1>
      <ErrorMessage error={error} />
      {(!card || card.status === "pending") && !error && (
        <p role="status">Scoring the session… this usually takes a second or two.</p>
      )}
      {card?.status === "failed" && (
        <p class="error" role="alert">
          Scoring failed: {card.error?.message ?? "unknown error"}
        </p>
      )}
      {card?.status === "scored" && (
        <>
          <p class="overall" role="status">
            <strong>{card.overall}</strong>/100 ·{" "}
            <span class={card.passed ? "pass" : "fail"}>
              {card.passed ? "Passed" : "Not passed"}
            </span>
          </p>
          {card.blockers_failed.length > 0 && (
            <p class="error">Compliance blockers failed: {card.blockers_failed.join(", ")}</p>
          )}
          <div class="ksq">
            <List title="Keep doing" items={card.keep} />
            <List title="Start doing" items={card.start} />
            <List title="Stop doing" items={card.stop} />
          </div>
          <h2>Criteria</h2>
          <ul class="criteria">
            {card.criteria.map((c) => (
              <li key={c.id} class={`criterion verdict-${c.verdict}`}>
                <strong>{c.title}</strong>: {VERDICT[c.verdict]}
                {c.verdict !== "not_applicable" && ` (${c.score})`}
                {c.blocker && <span class="muted"> · compliance blocker</span>}
                {c.advice && <p>{c.advice}</p>}
                {[...new Set(c.checks.flatMap((check) => check.evidence.map((e) => e.quote)))].map(
                  (quote) => (
                    <blockquote key={quote}>“{quote}”</blockquote>
                  ),
                )}
                {c.suggested_wording && (
                  <p class="wording">
                    Try saying: “{c.suggested_wording}”
                    <span class="muted"> (from {c.sources.map((s) => s.filename).join(", ")})</span>
                  </p>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Transcript</h2>
      {props.messages ? (
        <ol class="messages">
          {props.messages.map((m) => (
            <li key={m.id} class={`message ${m.role}`}>
              <span class="who">{m.role === "user" ? "You" : "Customer"}</span>
              <p class="text">{highlight(m.content, quotes.get(m.id) ?? [])}</p>
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">
          The transcript stays with the trainee; the words the scorer quoted are shown under each
          criterion.
        </p>
      )}
    </section>
  );
}

function List(props: { title: string; items: string[] }) {
  return (
    <div>
      <h2>{props.title}</h2>
      {props.items.length === 0 ? (
        <p class="muted">Nothing here.</p>
      ) : (
        <ul>
          {props.items.map((item) => (
            <li key={item}>{item}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** `text` with every occurrence of the quotes wrapped in <mark>. */
function highlight(text: string, quotes: string[]) {
  const found = quotes.filter((q) => q && text.includes(q));
  if (found.length === 0) return text;
  const escaped = found.map((q) => q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const parts = text.split(new RegExp(`(${escaped.join("|")})`));
  return parts.map((part, i) => (found.includes(part) ? <mark key={i}>{part}</mark> : part));
}
