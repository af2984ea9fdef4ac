/**
 * Cited passages: the text a reply's source names (`GET /v1/documents/{id}/passages/{index}`),
 * read once per chunk and kept per client (a ready document's passages never change; a
 * failed read is not kept, so opening the source again retries it).
 */
import { type ApiClient, ApiError } from "./client";
import type { Passage, Source } from "./types";

const KEPT = 200;
const cache = new WeakMap<ApiClient, Map<string, Promise<Passage>>>();

function nullableString(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** The passage of an answer's body; ApiError (502) when it is not one. */
export function parsePassage(body: unknown): Passage {
  const b = (body ?? {}) as Record<string, unknown>;
  if (
    typeof b.document_id !== "string" ||
    typeof b.filename !== "string" ||
    typeof b.topic !== "string" ||
    typeof b.index !== "number" ||
    (b.page !== null && typeof b.page !== "number") ||
    !nullableString(b.section) ||
    typeof b.text !== "string"
  ) {
    throw new ApiError(502, { status: 502, detail: "The server sent a passage it cannot show." });
  }
  return {
    document_id: b.document_id,
    filename: b.filename,
    topic: b.topic,
    index: b.index,
    page: b.page as number | null,
    section: b.section,
    text: b.text,
  };
}

/** Reads one passage; throws ApiError (404 `not_found` for one no longer served). */
export async function fetchPassage(
  client: ApiClient,
  documentId: string,
  index: number,
): Promise<Passage> {
  const path = `/v1/documents/${encodeURIComponent(documentId)}/passages/${index}`;
  return parsePassage(await client.request<unknown>("GET", path));
}

/** The cited passage of `source`, read at most once per chunk while it succeeds. */
export function loadPassage(client: ApiClient, source: Source): Promise<Passage> {
  let kept = cache.get(client);
  if (!kept) {
    kept = new Map();
    cache.set(client, kept);
  }
  const known = kept.get(source.chunk_id);
  if (known) return known;
  const pending = fetchPassage(client, source.document_id, source.index);
  kept.set(source.chunk_id, pending);
  if (kept.size > KEPT) kept.delete(kept.keys().next().value as string);
  pending.catch(() => {
    if (kept.get(source.chunk_id) === pending) kept.delete(source.chunk_id);
  });
  return pending;
}

/** A passage's paragraphs (split at blank lines), each trimmed; empty ones dropped. */
export function paragraphsOf(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0);
}
