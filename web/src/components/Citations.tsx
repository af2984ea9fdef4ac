/**
 * A reply's text with its `[n]` markers as buttons that open the cited passage: its text
 * (read from the API once per chunk), document, page and section. Opening moves focus to
 * the passage; Close (or Escape) returns it to the marker.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { loadPassage, paragraphsOf } from "../api/passages";
import type { Passage, Source } from "../api/types";
import { useSession } from "../app";
import { ErrorMessage } from "./ErrorMessage";

type Shown =
  | { state: "loading" }
  | { state: "ready"; passage: Passage }
  | { state: "failed"; error: unknown };

function usePassage(source: Source): [Shown, () => void] {
  const { client } = useSession();
  const [shown, setShown] = useState<Shown>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    setShown({ state: "loading" });
    loadPassage(client, source).then(
      (passage) => current && setShown({ state: "ready", passage }),
      (error: unknown) => current && setShown({ state: "failed", error }),
    );
    return () => {
      current = false;
    };
  }, [source.chunk_id, attempt]);
  return [shown, () => setAttempt((n) => n + 1)];
}

function SourcePassage(props: { n: number; source: Source; onClose: () => void }) {
  const { n, source } = props;
  const [shown, retry] = usePassage(source);
  const aside = useRef<HTMLElement>(null);
  useEffect(() => aside.current?.focus(), [source.chunk_id]);
  const passage = shown.state === "ready" ? shown.passage : null;
  const page = passage ? passage.page : source.page;
  return (
    <aside
      class="source"
      aria-label={`Source ${n}`}
      aria-busy={shown.state === "loading"}
      tabIndex={-1}
      ref={aside}
      onKeyDown={(event) => {
        if (event.key === "Escape") props.onClose();
      }}
    >
      <strong>
        [{n}] {passage?.filename ?? source.filename}
      </strong>
      <dl>
        {page !== null && (
          <>
            <dt>Page</dt>
            <dd>{page}</dd>
          </>
        )}
        {passage?.section && (
          <>
            <dt>Section</dt>
            <dd>{passage.section}</dd>
          </>
        )}
        <dt>Topic</dt>
        <dd>{source.topic.replace(/_/g, " ")}</dd>
        <dt>Passage</dt>
        <dd>#{source.index + 1}</dd>
      </dl>
      {shown.state === "loading" && (
        <p class="muted" role="status">
          Loading the passage…
        </p>
      )}
      {shown.state === "failed" && <ErrorMessage error={shown.error} onRetry={retry} />}
      {passage && (
        <blockquote class="passage">
          {paragraphsOf(passage.text).map((paragraph, i) => (
            <p key={i}>{paragraph}</p>
          ))}
        </blockquote>
      )}
      <button type="button" class="link" onClick={props.onClose}>
        Close
      </button>
    </aside>
  );
}

export function CitedText(props: { content: string; sources: Source[] }) {
  const [open, setOpen] = useState<number | null>(null);
  const markers = useRef(new Map<number, HTMLButtonElement>());
  const parts = props.content.split(/(\[\d+\])/);
  const source = open !== null ? props.sources[open - 1] : undefined;
  function close() {
    const opener = open !== null ? markers.current.get(open) : undefined;
    setOpen(null);
    opener?.focus();
  }
  return (
    <>
      <p class="text">
        {parts.map((part, i) => {
          const match = /^\[(\d+)\]$/.exec(part);
          const n = match ? Number(match[1]) : 0;
          if (!match || !props.sources[n - 1]) return part;
          return (
            <button
              key={i}
              type="button"
              class="cite"
              ref={(button) => {
                if (button) markers.current.set(n, button);
              }}
              aria-expanded={open === n}
              aria-label={`Source ${n}: ${props.sources[n - 1]?.filename}`}
              onClick={() => (open === n ? close() : setOpen(n))}
            >
              [{n}]
            </button>
          );
        })}
      </p>
      {source && open !== null && (
        <SourcePassage key={open} n={open} source={source} onClose={close} />
      )}
    </>
  );
}
