/**
 * Replies spoken: one `<audio>` element per conversation plays one reply at a time.
 * The audio is fetched with the bearer header and given to the element as a blob URL
 * (revoked once it is no longer played). A reply that finished streaming plays by itself
 * unless the trainee muted replies (remembered in localStorage); the play button of a
 * message plays it even then. Muting stops what is playing. The browser is reached
 * through `AudioLike` and `PlayerEnvironment`, so the logic runs in unit tests.
 */

/** The parts of an HTMLAudioElement used here. */
export interface AudioLike {
  src: string;
  play(): Promise<void>;
  pause(): void;
  removeAttribute(name: string): void;
  load(): void;
}

export interface PlayerEnvironment {
  createUrl(blob: Blob): string;
  revokeUrl(url: string): void;
  /** Where the mute switch is remembered; null: not remembered. */
  storage: Pick<Storage, "getItem" | "setItem"> | null;
}

export type PlayerStatus = "idle" | "loading" | "playing";

export const MUTED_KEY = "avataradam.speech.muted";
/** Blobs of this many recent replies are kept, so playing one again fetches nothing. */
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
  private audio: AudioLike | null = null;
  private url: string | null = null;
  private generation = 0;
  private readonly kept = new Map<string, Blob>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly load: (messageId: string) => Promise<Blob>,
    private readonly env: PlayerEnvironment,
  ) {
    this.muted = env.storage?.getItem(MUTED_KEY) === "1";
  }

  /** The element to play through (null: none, e.g. unmounted). */
  attach(audio: AudioLike | null): void {
    if (audio !== this.audio) this.stop();
    this.audio = audio;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Plays the audio of `messageId`, stopping anything playing. `automatic` (a reply that
   * just finished): nothing happens when muted, and a browser refusal to play without a
   * click leaves `blocked` set instead of a failure.
   */
  async play(messageId: string, options: { automatic?: boolean } = {}): Promise<void> {
    if (options.automatic && this.muted) return;
    this.stop();
    const generation = this.generation;
    this.current = messageId;
    this.failure = null;
    this.blocked = null;
    this.set("loading");
    try {
      const blob = await this.fetch(messageId);
      if (generation !== this.generation) return;
      const audio = this.audio;
      if (!audio) throw new Error("no audio element");
      this.url = this.env.createUrl(blob);
      audio.src = this.url;
      await audio.play();
      if (generation !== this.generation) return;
      this.set("playing");
    } catch (error) {
      if (generation !== this.generation) return;
      this.release();
      this.current = null;
      if (options.automatic && isName(error, "NotAllowedError")) this.blocked = messageId;
      else if (!isName(error, "AbortError")) this.failure = { messageId, error };
      this.set("idle");
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
    if (this.status === "idle" && this.url === null) return;
    this.release();
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

  /** The element's `ended` event. */
  ended(): void {
    this.stop();
  }

  /** The element's `error` event: the audio could not be decoded. */
  failed(error: unknown): void {
    const messageId = this.current;
    this.stop();
    if (messageId) {
      this.failure = { messageId, error };
      this.emit();
    }
  }

  dispose(): void {
    this.stop();
    this.listeners.clear();
    this.kept.clear();
  }

  private async fetch(messageId: string): Promise<Blob> {
    const kept = this.kept.get(messageId);
    if (kept) return kept;
    const blob = await this.load(messageId);
    this.kept.set(messageId, blob);
    if (this.kept.size > KEPT) {
      const oldest = this.kept.keys().next().value;
      if (oldest !== undefined) this.kept.delete(oldest);
    }
    return blob;
  }

  private release(): void {
    if (this.audio) {
      this.audio.pause();
      this.audio.removeAttribute("src");
      this.audio.load();
    }
    if (this.url) this.env.revokeUrl(this.url);
    this.url = null;
  }

  private set(status: PlayerStatus): void {
    this.status = status;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function isName(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}

/** The real browser behind `PlayerEnvironment`. */
export function browserPlayerEnvironment(): PlayerEnvironment {
  let storage: Storage | null = null;
  try {
    storage = window.localStorage;
  } catch {
    storage = null; // storage refused (privacy settings): the switch is not remembered
  }
  return {
    createUrl: (blob) => URL.createObjectURL(blob),
    revokeUrl: (url) => URL.revokeObjectURL(url),
    storage,
  };
}
