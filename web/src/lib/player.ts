/**
 * Replies spoken: one reply plays at a time per conversation, through the Web Audio API,
 * as its audio arrives. The first play of a reply is a WAV the server streams while it
 * speaks it, sentence by sentence; its samples are decoded as they come (`WavDecoder`)
 * and queued to play one after the other, so Adam starts talking once the first
 * sentence is spoken, not once the whole reply is. The bytes are kept, so playing a
 * recent reply again fetches nothing. A reply that finished streaming plays by itself
 * unless the trainee muted replies (remembered in localStorage); the play button of a
 * message plays it even then. Muting stops what is playing. The browser is reached
 * through `Speaker` and `PlayerEnvironment`, so the logic runs in unit tests.
 */

import { WavDecoder } from "./wav";

/** One reply being played: samples queued to play in turn. */
export interface Sink {
  /** Queues `samples` (one channel, -1..1, `rate` a second) after what is queued. */
  write(samples: Float32Array<ArrayBuffer>, rate: number): void;
  /** No more samples: `onEnded` is called once the last one has played. */
  end(): void;
  /** Stops at once; `onEnded` is not called. */
  stop(): void;
}

export interface Speaker {
  /** A new playback; rejects with a `NotAllowedError` while the browser wants a click
   * before it plays sound. */
  open(onEnded: () => void): Promise<Sink>;
}

export interface PlayerEnvironment {
  speaker: Speaker;
  /** Where the mute switch is remembered; null: not remembered. */
  storage: Pick<Storage, "getItem" | "setItem"> | null;
}

/** The audio of a message: its bytes as they arrive; `signal` aborts the fetch. */
export type AudioLoader = (
  messageId: string,
  signal: AbortSignal,
) => Promise<ReadableStream<Uint8Array>>;

export type PlayerStatus = "idle" | "loading" | "playing";

export const MUTED_KEY = "avataradam.speech.muted";
/** The audio of this many recent replies is kept, so playing one again fetches nothing. */
const KEPT = 8;

export class ReplyPlayer {
  status: PlayerStatus = "idle";
  /** The message being fetched or played. */
  current: string | null = null;
  /** A message whose automatic playing the browser refused (it wants a click first). */
  blocked: string | null = null;
  /** The last failure to fetch or play, and the message it concerns. */
  failure: { messageId: string; error: unknown } | null = null;
  muted: boolean;
  private sink: Sink | null = null;
  private fetching: AbortController | null = null;
  private generation = 0;
  private readonly kept = new Map<string, Uint8Array>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly load: AudioLoader,
    private readonly env: PlayerEnvironment,
  ) {
    this.muted = env.storage?.getItem(MUTED_KEY) === "1";
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Plays the audio of `messageId` as it arrives, stopping anything playing. `automatic`
   * (a reply that just finished): nothing happens when muted, and a browser refusal to
   * play without a click leaves `blocked` set instead of a failure. Resolves once the
   * audio has all arrived (or failed, or was stopped), not when it has been heard.
   */
  async play(messageId: string, options: { automatic?: boolean } = {}): Promise<void> {
    if (options.automatic && this.muted) return;
    this.stop();
    const generation = this.generation;
    const fetching = new AbortController();
    this.fetching = fetching;
    this.current = messageId;
    this.failure = null;
    this.blocked = null;
    this.set("loading");
    const mine = () => generation === this.generation;
    try {
      const sink = await this.env.speaker.open(() => {
        if (mine()) this.stop();
      });
      if (!mine()) return sink.stop();
      this.sink = sink;
      const kept = this.kept.get(messageId);
      const bytes = kept ? [kept] : await this.fetch(messageId, fetching.signal, mine);
      if (!mine()) return;
      const wav = new WavDecoder();
      const received: Uint8Array[] = [];
      for await (const chunk of bytes) {
        if (!mine()) return;
        received.push(chunk);
        const samples = wav.push(chunk);
        if (samples.length > 0) {
          sink.write(samples, wav.sampleRate);
          if (this.status !== "playing") this.set("playing");
        }
      }
      if (!mine()) return;
      wav.finish();
      if (!kept) this.keep(messageId, received);
      sink.end();
    } catch (error) {
      if (!mine()) return;
      this.stop();
      if (options.automatic && isName(error, "NotAllowedError")) this.blocked = messageId;
      else if (!isName(error, "AbortError")) this.failure = { messageId, error };
      this.emit();
    }
  }

  /** The play button: plays `messageId`, or stops it when it is the one playing. */
  toggle(messageId: string): void {
    if (this.current === messageId) this.stop();
    else void this.play(messageId);
  }

  /** Stops what is playing (or loading); nothing when idle. */
  stop(): void {
    this.generation++;
    this.fetching?.abort();
    this.fetching = null;
    this.sink?.stop();
    this.sink = null;
    if (this.status === "idle" && this.current === null) return;
    this.current = null;
    this.set("idle");
  }

  /** Mutes (stopping what plays) or unmutes automatic playing; remembered. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.env.storage?.setItem(MUTED_KEY, muted ? "1" : "0");
    if (muted) {
      this.blocked = null;
      this.stop();
    } else this.emit();
  }

  dispose(): void {
    this.stop();
    this.listeners.clear();
    this.kept.clear();
  }

  private async fetch(
    messageId: string,
    signal: AbortSignal,
    mine: () => boolean,
  ): Promise<AsyncIterable<Uint8Array> | Uint8Array[]> {
    const stream = await this.load(messageId, signal);
    if (!mine()) {
      void stream.cancel().catch(() => {});
      return [];
    }
    return chunksOf(stream);
  }

  private keep(messageId: string, parts: Uint8Array[]): void {
    const whole = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.length;
    }
    this.kept.set(messageId, whole);
    if (this.kept.size > KEPT) {
      const oldest = this.kept.keys().next().value;
      if (oldest !== undefined) this.kept.delete(oldest);
    }
  }

  private set(status: PlayerStatus): void {
    this.status = status;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The chunks of `stream` as they arrive (its reader is released at the end or when
 * the loop over it stops early, which cancels the fetch). */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function isName(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}
