import { describe, expect, it } from "vitest";
import { readEvents, type SseEvent, SseParser } from "./sse";

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds `bytes` cut at every position in `cuts` and collects the events. */
function parseIn(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.feed(bytes.slice(start, cut)));
    start = cut;
  }
  return [...events, ...parser.end()];
}

const STREAM =
  ': keep-alive\n\nevent: delta\ndata: {"text":"Présentez le GAP 🚗"}\n\n' +
  'event: sources\ndata: {"sources":[]}\n\nevent: done\ndata: {"message_id":"m"}\n\n';
const EXPECTED: SseEvent[] = [
  { event: "delta", data: '{"text":"Présentez le GAP 🚗"}' },
  { event: "sources", data: '{"sources":[]}' },
  { event: "done", data: '{"message_id":"m"}' },
];

describe("SseParser", () => {
  it("parses a whole stream, ignoring comments", () => {
    const parser = new SseParser();
    expect(parser.feed(encode(STREAM))).toEqual(EXPECTED);
    expect(parser.comments).toBe(1);
  });

  it("gives the same events whatever the chunk boundaries, multibyte characters included", () => {
    const bytes = encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseIn(bytes, [cut])).toEqual(EXPECTED);
    }
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(parseIn(bytes, everyByte)).toEqual(EXPECTED);
  });

  it("accepts CRLF and lone CR line ends, split between chunks too", () => {
    const crlf = encode(STREAM.replace(/\n/g, "\r\n"));
    const cr = encode(STREAM.replace(/\n/g, "\r"));
    for (const bytes of [crlf, cr]) {
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(parseIn(bytes, [cut])).toEqual(EXPECTED);
      }
    }
  });

  it("joins data lines, defaults the type to message, keeps the id, skips empty events", () => {
    const parser = new SseParser();
    const events = parser.feed("id: 7\ndata: a\ndata:b\n\nevent: x\n\ndata\n\n");
    expect(events).toEqual([
      { event: "message", data: "a\nb", id: "7" },
      { event: "message", data: "", id: "7" },
    ]);
  });

  it("drops an unterminated last event at the end of the stream", () => {
    const parser = new SseParser();
    expect(parser.feed("event: delta\ndata: cut")).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it("reads events from a ReadableStream", async () => {
    const bytes = encode(STREAM);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 5) controller.enqueue(bytes.slice(i, i + 5));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const event of readEvents(body)) events.push(event);
    expect(events).toEqual(EXPECTED);
  });
});
