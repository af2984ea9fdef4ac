/**
 * Server-Sent Events parser for `fetch` response bodies (EventSource cannot POST or send
 * an `Authorization` header). Follows the HTML "event stream interpretation" rules:
 * lines end in CRLF, LF or CR; `:` lines are comments (the API's `: keep-alive`); a blank
 * line dispatches the event; `data` lines are joined with `\n`; an event without data is
 * not dispatched. Bytes are decoded as a UTF-8 stream, so a multibyte character split
 * across chunks is decoded whole.
 */

export interface SseEvent {
  /** `event:` field, `message` when absent. */
  event: string;
  /** `data:` lines joined with `\n`. */
  data: string;
  /** `id:` field of this event, if any. */
  id?: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  /** The previous chunk ended in CR: an LF opening the next chunk belongs to it. */
  private pendingCr = false;
  private eventType = "";
  private dataLines: string[] = [];
  private lastId: string | undefined;
  /** Number of comment lines seen (keep-alives). */
  comments = 0;

  /** Feeds bytes (or already decoded text); returns the events completed by them. */
  feed(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") continue;
      const line = this.buffer.slice(start, i);
      if (ch === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** End of stream: an unterminated last event is discarded, as the standard says. */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    this.buffer = "";
    this.dataLines = [];
    this.eventType = "";
    return [];
  }

  private line(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) {
      this.comments++;
      return null;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventType = value;
    else if (field === "data") this.dataLines.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    return null;
  }

  private dispatch(): SseEvent | null {
    const type = this.eventType || "message";
    this.eventType = "";
    if (this.dataLines.length === 0) return null;
    const event: SseEvent = { event: type, data: this.dataLines.join("\n") };
    if (this.lastId !== undefined) event.id = this.lastId;
    this.dataLines = [];
    return event;
  }
}

/** Every event of a response body, in order, as they arrive. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.feed(value);
    }
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}
