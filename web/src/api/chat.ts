/** Sending a message and reading Adam's streamed reply (`text/event-stream`). */
import { type ApiClient, ApiError, problemOf } from "./client";
import { readEvents } from "./sse";
import type { Message, Problem, Source } from "./types";

export interface StreamHandlers {
  /** The next piece of the reply (concatenate). */
  onDelta(text: string): void;
  onSources(sources: Source[]): void;
}

/**
 * Posts `content` and streams the reply (`scoped` adds a super admin's `dealership_id`); resolves the stored assistant message
 * (`done.message`, whose checked content replaces the streamed text). Throws ApiError for
 * a refused request (problem+json before the stream) or an `error` event.
 */
export async function sendStreamed(
  client: ApiClient,
  conversationId: string,
  content: string,
  handlers: StreamHandlers,
  scoped: (path: string) => string = (path) => path,
): Promise<Message> {
  const response = await client.raw(scoped(`/v1/conversations/${conversationId}/messages`), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ content }),
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (!response.body) throw new ApiError(response.status, { detail: "empty reply" });
  for await (const event of readEvents(response.body)) {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    if (event.event === "delta") handlers.onDelta(String(data.text ?? ""));
    else if (event.event === "sources") handlers.onSources((data.sources ?? []) as Source[]);
    else if (event.event === "done") return data.message as Message;
    else if (event.event === "error") throw new ApiError(502, data as Problem);
  }
  throw new ApiError(502, {
    code: "stream_cut",
    detail: "The reply was cut off before it finished. Try again.",
  });
}
