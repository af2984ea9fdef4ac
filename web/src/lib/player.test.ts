import { describe, expect, it } from "vitest";
import { type AudioLike, MUTED_KEY, type PlayerEnvironment, ReplyPlayer } from "./player";

class FakeAudio implements AudioLike {
  src = "";
  playing = false;
  refuse: unknown = null;
  played: string[] = [];
  async play() {
    if (this.refuse) throw this.refuse;
    this.playing = true;
    this.played.push(this.src);
  }
  pause() {
    this.playing = false;
  }
  removeAttribute(name: string) {
    if (name === "src") this.src = "";
  }
  load() {}
}

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
  };
}

/** A server whose answers are released by hand, and the URLs made and revoked. */
function setup(options: { storage?: ReturnType<typeof memoryStorage> } = {}) {
  const fetched: string[] = [];
  const waiting = new Map<string, (blob: Blob) => void>();
  const failing = new Map<string, unknown>();
  const urls = { made: [] as string[], revoked: [] as string[] };
  const storage = options.storage ?? memoryStorage();
  const env: PlayerEnvironment = {
    createUrl: () => {
      const url = `blob:${urls.made.length + 1}`;
      urls.made.push(url);
      return url;
    },
    revokeUrl: (url) => void urls.revoked.push(url),
    storage,
  };
  const load = (id: string) => {
    fetched.push(id);
    const failure = failing.get(id);
    if (failure) return Promise.reject(failure);
    return new Promise<Blob>((resolve) => waiting.set(id, resolve));
  };
  const player = new ReplyPlayer(load, env);
  const audio = new FakeAudio();
  player.attach(audio);
  const answer = async (id: string) => {
    waiting.get(id)?.(new Blob([`wav of ${id}`], { type: "audio/wav" }));
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { player, audio, fetched, urls, storage, failing, answer };
}

describe("ReplyPlayer", () => {
  it("plays a finished reply through a blob URL and revokes it when it ends", async () => {
    const { player, audio, urls, answer } = setup();
    const playing = player.play("m1", { automatic: true });
    expect(player.status).toBe("loading");
    expect(player.current).toBe("m1");
    await answer("m1");
    await playing;
    expect(player.status).toBe("playing");
    expect(audio.played).toEqual(["blob:1"]);
    player.ended();
    expect(player.status).toBe("idle");
    expect(player.current).toBeNull();
    expect(urls.revoked).toEqual(["blob:1"]);
    expect(audio.src).toBe("");
  });

  it("muted: a finished reply is not played, but its play button still plays it", async () => {
    const { player, audio, fetched, answer } = setup({
      storage: memoryStorage({ [MUTED_KEY]: "1" }),
    });
    expect(player.muted).toBe(true);
    await player.play("m1", { automatic: true });
    expect(fetched).toEqual([]);
    expect(player.status).toBe("idle");
    player.toggle("m1");
    await answer("m1");
    expect(audio.played).toHaveLength(1);
  });

  it("muting stops what is playing and is remembered", async () => {
    const { player, audio, urls, storage, answer } = setup();
    const playing = player.play("m1", { automatic: true });
    await answer("m1");
    await playing;
    expect(audio.playing).toBe(true);
    player.setMuted(true);
    expect(audio.playing).toBe(false);
    expect(player.status).toBe("idle");
    expect(urls.revoked).toEqual(["blob:1"]);
    expect(storage.items.get(MUTED_KEY)).toBe("1");
    // A new conversation (a new player) starts muted.
    const again = new ReplyPlayer(async () => new Blob(), {
      createUrl: () => "",
      revokeUrl: () => {},
      storage,
    });
    expect(again.muted).toBe(true);
    player.setMuted(false);
    expect(storage.items.get(MUTED_KEY)).toBe("0");
  });

  it("a newer reply wins over one still being fetched", async () => {
    const { player, audio, urls, answer } = setup();
    const first = player.play("m1");
    const second = player.play("m2");
    await answer("m2");
    await second;
    await answer("m1"); // the first answer arrives late: it is not played
    await first;
    expect(audio.played).toEqual(["blob:1"]);
    expect(urls.made).toEqual(["blob:1"]);
    expect(player.current).toBe("m2");
  });

  it("the play button of the reply playing stops it; playing it again fetches nothing", async () => {
    const { player, audio, fetched, answer } = setup();
    player.toggle("m1");
    await answer("m1");
    expect(player.status).toBe("playing");
    player.toggle("m1");
    expect(player.status).toBe("idle");
    expect(audio.playing).toBe(false);
    await player.play("m1");
    expect(fetched).toEqual(["m1"]);
    expect(audio.played).toHaveLength(2);
  });

  it("a reply the browser will not play without a click is marked, not failed", async () => {
    const { player, audio, answer } = setup();
    audio.refuse = Object.assign(new Error("autoplay"), { name: "NotAllowedError" });
    const playing = player.play("m1", { automatic: true });
    await answer("m1");
    await playing;
    expect(player.blocked).toBe("m1");
    expect(player.failure).toBeNull();
    expect(player.status).toBe("idle");
  });

  it("a failed fetch is kept with its message for the play button to show", async () => {
    const { player, failing } = setup();
    const problem = new Error("speech unavailable");
    failing.set("m1", problem);
    await player.play("m1");
    expect(player.failure).toEqual({ messageId: "m1", error: problem });
    expect(player.status).toBe("idle");
    expect(player.current).toBeNull();
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
