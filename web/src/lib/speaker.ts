/**
 * The browser's `Speaker` (lib/player.ts): one `AudioContext` per page, each sink's
 * samples queued as `AudioBufferSourceNode`s that start one after the other.
 *
 * Autoplay: a context made before the page has had a click (or key press) stays
 * `suspended` (Chrome's and Firefox's autoplay policies; MDN "Autoplay guide for media
 * and Web Audio APIs"); `open` then rejects with a `NotAllowedError`, as
 * `HTMLMediaElement.play()` does, and the player offers its Play button instead.
 */

import type { Sink, Speaker } from "./player";

/** How long a context may take to start running before it counts as refused. */
const RESUME_WAIT_MS = 400;
/** Samples are queued this far ahead of now, so the first is not cut short. */
const LEAD_S = 0.05;

export function browserSpeaker(): Speaker {
  let context: AudioContext | null = null;
  return {
    async open(onEnded) {
      context ??= new AudioContext();
      const running = context;
      if (running.state !== "running") {
        await Promise.race([
          running.resume().catch(() => {}),
          new Promise((resolve) => setTimeout(resolve, RESUME_WAIT_MS)),
        ]);
      }
      if (running.state !== "running") {
        throw new DOMException(
          "the browser wants a click before it plays sound",
          "NotAllowedError",
        );
      }
      return new QueuedSink(running, onEnded);
    },
  };
}

class QueuedSink implements Sink {
  private next = 0;
  private ended = false;
  private stopped = false;
  private readonly playing = new Set<AudioBufferSourceNode>();

  constructor(
    private readonly context: AudioContext,
    private readonly onEnded: () => void,
  ) {}

  write(samples: Float32Array<ArrayBuffer>, rate: number): void {
    if (this.stopped) return;
    const buffer = this.context.createBuffer(1, samples.length, rate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.next, this.context.currentTime + LEAD_S);
    source.onended = () => {
      this.playing.delete(source);
      this.settle();
    };
    this.playing.add(source);
    source.start(at);
    this.next = at + buffer.duration;
  }

  end(): void {
    this.ended = true;
    this.settle();
  }

  stop(): void {
    this.stopped = true;
    for (const source of this.playing) {
      source.onended = null;
      source.stop();
      source.disconnect();
    }
    this.playing.clear();
  }

  private settle(): void {
    if (this.ended && !this.stopped && this.playing.size === 0) {
      this.stopped = true;
      this.onEnded();
    }
  }
}

let shared: Speaker | null = null;

/** The page's one speaker (browsers limit how many audio contexts a page may make). */
export function pageSpeaker(): Speaker {
  shared ??= browserSpeaker();
  return shared;
}

/** localStorage, or null where the browser refuses it (privacy settings): the mute
 * switch is then not remembered. */
export function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
