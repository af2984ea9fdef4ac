/** A reply's text with its `[n]` markers as buttons that open the cited passage. */
import { useState } from "preact/hooks";
import type { Source } from "../api/types";

export function CitedText(props: { content: string; sources: Source[] }) {
  const [open, setOpen] = useState<number | null>(null);
  const parts = props.content.split(/(\[\d+\])/);
  const source = open !== null ? props.sources[open - 1] : undefined;
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
              aria-expanded={open === n}
              aria-label={`Source ${n}: ${props.sources[n - 1]?.filename}`}
              onClick={() => setOpen(open === n ? null : n)}
            >
              [{n}]
            </button>
          );
        })}
      </p>
      {source && open !== null && (
        <aside class="source" aria-label={`Source ${open}`}>
          <strong>
            [{open}] {source.filename}
          </strong>
          <dl>
            {source.page !== null && (
              <>
                <dt>Page</dt>
                <dd>{source.page}</dd>
              </>
            )}
            <dt>Topic</dt>
            <dd>{source.topic.replace(/_/g, " ")}</dd>
            <dt>Passage</dt>
            <dd>#{source.index + 1}</dd>
          </dl>
          <button type="button" class="link" onClick={() => setOpen(null)}>
            Close
          </button>
        </aside>
      )}
    </>
  );
}
