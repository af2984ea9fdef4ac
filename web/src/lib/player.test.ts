import { describe, expect, it } from "vitest";
import { MUTED_KEY, type PlayerEnvironment, ReplyPlayer, type Sink, type Speaker } from "./player";
import { wav } from "./wav.fixture";

/** Records what each playback was given; `refuse` makes the next `open` reject. */
class FakeSpeaker implements Speaker {
  refuse: unknown = null;
  sinks: FakeSink[] = [];
  async open(onEnded: () => void): Promise<Sink> {
    if (this.refuse) throw this.refuse;
    const sink = new FakeSink(onEnded);
    this.sinks.push(sink);
    return sink;
  }
  get last(): FakeSink | undefined {
    return this.sinks.at(-1);
  }
}

class FakeSink implements Sink {
  samples: number[] = [];
  rates = new Set<number>();
  ended = false;
  stopped = false;
  constructor(readonly onEnded: () => void) {}
  write(samples: Float32Array<ArrayBuffer>, rate: number) {
    this.samples.push(...samples);
    this.rates.add(rate);
  }
  end() {
    this.ended = true;
  }
  stop() {
    this.stopped = true;
  }
  /** The last queued sample has been heard. */
  finish() {
    this.onEnded();
  }
}

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A server whose audio streams are fed by hand, chunk by chunk. */
function setup(options: { storage?: ReturnType<typeof memoryStorage> } = {}) {
  const fetched: string[] = [];
  const streams = new Map<string, ReadableStreamDefaultController<Uint8Array>>();
  const aborted: string[] = [];
  const failing = new Map<string, unknown>();
  const speaker = new FakeSpeaker();
  const storage = options.storage ?? memoryStorage();
  const env: PlayerEnvironment = { speaker, storage };
  const load = async (id: string, signal: AbortSignal) => {
    fetched.push(id);
    signal.addEventListener("abort", () => aborted.push(id));
    const failure = failing.get(id);
    if (failure) throw failure;
    return new ReadableStream<Uint8Array>({ start: (c) => void streams.set(id, c) });
  };
  const player = new ReplyPlayer(load, env);
  // A stream the player cancelled refuses more bytes, as a real one drops them.
  const send = async (id: string, bytes: Uint8Array) => {
    try {
      streams.get(id)?.enqueue(bytes);
    } catch {}
    await settle();
  };
  const close = async (id: string) => {
    try {
      streams.get(id)?.close();
    } catch {}
    await settle();
  };
  /** The whole reply `id` sent at once: the header and `samples`. */
  const answer = async (id: string, samples = [0.5, -0.5]) => {
    await settle();
    await send(id, wav(samples));
    await close(id);
  };
  return { player, speaker, fetched, aborted, storage, failing, send, close, answer };
}

describe("ReplyPlayer", () => {
  it("plays each sentence as it arrives, before the reply has all come", async () => {
    const { player, speaker, send, close } = setup();
    const playing = player.play("m1", { automatic: true });
    expect(player.status).toBe("loading");
    expect(player.current).toBe("m1");
    await settle();
    const whole = wav([0.25, 0.5, -0.25, -0.5], { streaming: true });
    await send("m1", whole.subarray(0, 44 + 4)); // the header and the first sentence
    expect(player.status).toBe("playing");
    expect(speaker.last?.samples).toEqual([0.25, 0.5]);
    expect(speaker.last?.ended).toBe(false);
    await send("m1", whole.subarray(48));
    await close("m1");
    await playing;
    expect(speaker.last?.samples).toEqual([0.25, 0.5, -0.25, -0.5]);
    expect(speaker.last?.rates).toEqual(new Set([16000]));
    expect(speaker.last?.ended).toBe(true);
    expect(player.status).toBe("playing");
    speaker.last?.finish();
    expect(player.status).toBe("idle");
    expect(player.current).toBeNull();
  });

  it("muted: a finished reply is not played, but its play button still plays it", async () => {
    const { player, speaker, fetched, answer } = setup({
      storage: memoryStorage({ [MUTED_KEY]: "1" }),
    });
    expect(player.muted).toBe(true);
    await player.play("m1", { automatic: true });
    expect(fetched).toEqual([]);
    expect(player.status).toBe("idle");
    player.toggle("m1");
    await answer("m1");
    expect(speaker.sinks).toHaveLength(1);
    expect(speaker.last?.samples).toEqual([0.5, -0.5]);
  });

  it("muting stops what is playing, aborts its fetch, and is remembered", async () => {
    const { player, speaker, aborted, storage, send } = setup();
    void player.play("m1", { automatic: true });
    await settle();
    await send("m1", wav([0.5], { streaming: true }));
    expect(player.status).toBe("playing");
    player.setMuted(true);
    expect(speaker.last?.stopped).toBe(true);
    expect(aborted).toEqual(["m1"]);
    expect(player.status).toBe("idle");
    expect(storage.items.get(MUTED_KEY)).toBe("1");
    // A new conversation (a new player) starts muted.
    const again = new ReplyPlayer(async () => new ReadableStream(), { speaker, storage });
    expect(again.muted).toBe(true);
    player.setMuted(false);
    expect(storage.items.get(MUTED_KEY)).toBe("0");
  });

  it("a newer reply wins over one still being fetched", async () => {
    const { player, speaker, fetched, aborted, answer } = setup();
    const first = player.play("m1");
    await settle();
    const second = player.play("m2");
    await answer("m2", [0.25]);
    await second;
    await answer("m1"); // the first answer arrives late: it is not played
    await first;
    expect(fetched).toEqual(["m1", "m2"]);
    expect(aborted).toEqual(["m1"]);
    expect(speaker.sinks.map((s) => s.samples)).toEqual([[], [0.25]]);
    expect(speaker.sinks[0]?.stopped).toBe(true);
    expect(player.current).toBe("m2");
  });

  it("the play button of the reply playing stops it; playing it again fetches nothing", async () => {
    const { player, speaker, fetched, answer } = setup();
    player.toggle("m1");
    await answer("m1");
    expect(player.status).toBe("playing");
    player.toggle("m1");
    expect(player.status).toBe("idle");
    expect(speaker.last?.stopped).toBe(true);
    await player.play("m1");
    expect(fetched).toEqual(["m1"]);
    expect(speaker.sinks).toHaveLength(2);
    expect(speaker.last?.samples).toEqual([0.5, -0.5]);
    expect(speaker.last?.ended).toBe(true);
  });

  it("a reply the browser will not play without a click is marked, not failed", async () => {
    const { player, speaker, fetched } = setup();
    speaker.refuse = Object.assign(new Error("autoplay"), { name: "NotAllowedError" });
    await player.play("m1", { automatic: true });
    expect(player.blocked).toBe("m1");
    expect(player.failure).toBeNull();
    expect(player.status).toBe("idle");
    expect(fetched).toEqual([]);
  });

  it("a failed fetch, or audio that is not a WAV, is kept with its message", async () => {
    const { player, failing, send, close } = setup();
    const problem = new Error("speech unavailable");
    failing.set("m1", problem);
    await player.play("m1");
    expect(player.failure).toEqual({ messageId: "m1", error: problem });
    expect(player.status).toBe("idle");
    expect(player.current).toBeNull();

    const garbled = player.play("m2");
    await settle();
    await send("m2", new TextEncoder().encode("<html>not audio</html>"));
    await close("m2");
    await garbled;
    expect(player.failure?.messageId).toBe("m2");
    expect(String(player.failure?.error)).toContain("WAV");
  });

  it("tells its listeners of every change", async () => {
    const { player, answer } = setup();
    const seen: string[] = [];
    player.subscribe(() => seen.push(player.status));
    const playing = player.play("m1");
    await answer("m1");
    await playing;
    player.stop();
    expect(seen).toEqual(["loading", "playing", "idle"]);
  });
});
