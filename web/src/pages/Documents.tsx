/** Documents (admins): upload with progress, live status, error, retry, delete. */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import type { DocumentItem } from "../api/types";
import { TOPICS } from "../api/types";
import { uploadDocument } from "../api/upload";
import { useSession } from "../app";
import { describe, ErrorMessage } from "../components/ErrorMessage";
import { newestFirst, withFirstPage, withNextPage } from "../lib/paged";

const BUSY = new Set(["queued", "processing", "deleting"]);
const PAGE_SIZE = 100;

export function DocumentsPage() {
  const { client, scope } = useSession();
  const [docs, setDocs] = useState<DocumentItem[]>([]);
  const [listError, setListError] = useState<unknown>(null);
  const [topic, setTopic] = useState<string>(TOPICS[0]);
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const [next, setNext] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  /** Older pages were added ("Show older documents"): `next` is theirs, not the first's. */
  const extended = useRef(false);
  const shownNow = useRef(docs);
  shownNow.current = docs;

  const page = newestFirst<DocumentItem>(client, scope.path("/v1/documents"), PAGE_SIZE);

  /** One document read again (gone: taken off the list). */
  async function reread(id: string) {
    try {
      const doc = await client.request<DocumentItem>("GET", scope.path(`/v1/documents/${id}`));
      setDocs((all) => all.map((d) => (d.id === id ? doc : d)));
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
      setDocs((all) => all.filter((d) => d.id !== id));
    }
  }

  /** The newest page read again, and every busy document below it. */
  async function refresh() {
    try {
      const first = await page(null);
      const fresh = new Set(first.items.map((d) => d.id));
      setDocs((shown) => withFirstPage(shown, first));
      if (!extended.current) setNext(first.next_cursor);
      for (const d of shownNow.current) {
        if (!fresh.has(d.id) && BUSY.has(d.status)) await reread(d.id);
      }
      setListError(null);
    } catch (caught) {
      setListError(caught);
    }
  }

  async function showOlder() {
    if (!next) return;
    setLoadingMore(true);
    try {
      const older = await page(next);
      extended.current = true;
      setDocs((shown) => withNextPage(shown, older));
      setNext(older.next_cursor);
      setListError(null);
    } catch (caught) {
      setListError(caught);
    } finally {
      setLoadingMore(false);
    }
  }

  useEffect(() => {
    void refresh();
  }, []);
  const polling = docs.some((d) => BUSY.has(d.status));
  useEffect(() => {
    if (!polling) return;
    const timer = setInterval(() => void refresh(), 1000);
    return () => clearInterval(timer);
  }, [polling]);

  async function upload(event: Event) {
    event.preventDefault();
    if (!file) return;
    setUploadError(null);
    setProgress(0);
    try {
      const doc = await uploadDocument(
        client,
        file,
        topic,
        setProgress,
        scope.named ? (scope.id ?? undefined) : undefined,
      );
      setDocs((all) => [doc, ...all.filter((d) => d.id !== doc.id)]);
      setFile(null);
      (event.target as HTMLFormElement).reset();
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === "duplicate_document") {
        const existing = docs.find((d) => d.id === caught.problem.details?.document_id);
        setUploadError(
          `This file is already in the "${topic.replace(/_/g, " ")}" topic` +
            (existing ? ` as ${existing.filename} (${existing.status})` : "") +
            ". The same file is stored once per topic; delete the existing one first to replace it.",
        );
      } else {
        setUploadError(describe(caught));
      }
    } finally {
      setProgress(null);
    }
  }

  async function act(method: string, path: string, id: string) {
    setActionError(null);
    try {
      await client.request(method, path);
      await reread(id);
      await refresh();
    } catch (caught) {
      setActionError(caught);
    }
  }

  return (
    <section class="panel documents">
      <h1>Documents</h1>
      <form class="upload" onSubmit={upload}>
        <label for="topic">Topic</label>
        <select id="topic" value={topic} onChange={(e) => setTopic(e.currentTarget.value)}>
          {TOPICS.map((t) => (
            <option key={t} value={t}>
              {t.replace(/_/g, " ")}
            </option>
          ))}
        </select>
        <label for="file">File (PDF, DOCX, HTML, Markdown or text)</label>
        <input
          id="file"
          type="file"
          accept=".pdf,.docx,.html,.htm,.md,.markdown,.txt"
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
        <button type="submit" class="primary" disabled={!file || progress !== null}>
          Upload
        </button>
        {progress !== null && (
          <div class="progress-row">
            <label for="upload-progress">Uploading {Math.round(progress * 100)}%</label>
            <progress id="upload-progress" max={1} value={progress} />
          </div>
        )}
        {uploadError && (
          <p class="error" role="alert">
            {uploadError}
          </p>
        )}
      </form>
      <ErrorMessage error={listError} onRetry={refresh} />
      <ErrorMessage error={actionError} />
      <table>
        <caption class="visually-hidden">Your dealership's documents</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Topic</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {docs.map((d) => (
            <tr key={d.id} data-status={d.status}>
              <td>
                {d.filename}
                {d.title && <div class="muted">{d.title}</div>}
              </td>
              <td>{d.topic.replace(/_/g, " ")}</td>
              <td>
                <span class={`status status-${d.status}`}>{d.status}</span>
                {d.status === "processing" && (
                  <div class="progress-row">
                    <label for={`p-${d.id}`}>
                      {d.stage ?? "starting"} {Math.round(d.progress * 100)}%
                    </label>
                    <progress id={`p-${d.id}`} max={1} value={d.progress} />
                  </div>
                )}
                {d.stalled && <div class="muted">waiting for a worker</div>}
                {d.status === "ready" && (
                  <div class="muted">
                    {d.chunk_count === 1 ? "1 passage" : `${d.chunk_count} passages`}
                  </div>
                )}
                {d.error && (
                  <div class="error-text">
                    <code>{d.error.code}</code>: {d.error.message}
                  </div>
                )}
                {d.warnings.map((w) => (
                  <div key={w} class="muted">
                    {w}
                  </div>
                ))}
              </td>
              <td>
                <div class="actions">
                  {d.status === "failed" && (
                    <button
                      type="button"
                      onClick={() => act("POST", `/v1/documents/${d.id}/retry`, d.id)}
                    >
                      Retry<span class="visually-hidden"> {d.filename}</span>
                    </button>
                  )}
                  {d.status !== "deleting" && (
                    <button
                      type="button"
                      onClick={() => {
                        if (confirm(`Delete ${d.filename}?`))
                          void act("DELETE", `/v1/documents/${d.id}`, d.id);
                      }}
                    >
                      Delete<span class="visually-hidden"> {d.filename}</span>
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button type="button" disabled={loadingMore} onClick={showOlder}>
          {loadingMore ? "Loading…" : "Show older documents"}
        </button>
      )}
      {docs.length === 0 && !listError && <p class="muted">No documents yet.</p>}
    </section>
  );
}
