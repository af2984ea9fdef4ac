import { describe, expect, it } from "vitest";
import {
  microphoneProblem,
  PushToTalk,
  pickRecordingType,
  type RecorderEnvironment,
  type RecorderLike,
  type Recording,
  type StreamLike,
} from "./recorder";

/** A fake browser: a clock moved by hand, a microphone that answers when told to. */
function fakeBrowser(options: { refuse?: unknown; mimeType?: string } = {}) {
  let clock = 0;
  let tick: (() => void) | null = null;
  const stoppedTracks: number[] = [];
  const recorders: FakeRecorder[] = [];
  let grant: ((stream: StreamLike) => void) | null = null;
  let opened = 0;

  class FakeRecorder implements RecorderLike {
    mimeType = options.mimeType ?? "audio/webm;codecs=opus";
    ondataavailable: ((event: { data: Blob }) => void) | null = null;
    onstop: (() => void) | null = null;
    started = false;
    start() {
      this.started = true;
    }
    stop() {
      // The browser hands the data, then `stop`, a moment later.
      queueMicrotask(() => {
        this.ondataavailable?.({ data: new Blob(["opus-bytes"], { type: this.mimeType }) });
        this.onstop?.();
      });
    }
  }

  const env: RecorderEnvironment = {
    getUserMedia() {
      opened++;
      if (options.refuse) return Promise.reject(options.refuse);
      const id = opened;
      const stream = { getTracks: () => [{ stop: () => stoppedTracks.push(id) }] };
      return new Promise((resolve) => {
        grant = () => resolve(stream);
      });
    },
    createRecorder() {
      const recorder = new FakeRecorder();
      recorders.push(recorder);
      return recorder;
    },
    now: () => clock,
    setInterval(fn) {
      tick = fn;
      return 1;
    },
    clearInterval() {
      tick = null;
    },
  };
  return {
    env,
    recorders,
    stoppedTracks,
    grant: async () => {
      grant?.({ getTracks: () => [] });
      await flush();
    },
    advance(seconds: number) {
      clock += seconds * 1000;
      tick?.();
    },
    get ticking() {
      return tick !== null;
    },
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function handlers() {
  const seen = { recorded: [] as Recording[], problems: [] as string[], changes: 0 };
  return {
    seen,
    handlers: {
      onChange: () => seen.changes++,
      onRecorded: (r: Recording) => seen.recorded.push(r),
      onProblem: (p: string) => seen.problems.push(p),
    },
  };
}

describe("PushToTalk", () => {
  it("records while held and hands over the audio with its length", async () => {
    const browser = fakeBrowser();
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    const started = talk.start();
    expect(talk.state).toBe("starting");
    await browser.grant();
    await started;
    expect(talk.state).toBe("recording");
    browser.advance(2.4);
    expect(talk.elapsed).toBe(2);
    talk.stop();
    await flush();
    expect(talk.state).toBe("idle");
    expect(seen.recorded).toHaveLength(1);
    expect(seen.recorded[0]?.seconds).toBeCloseTo(2.4);
    expect(seen.recorded[0]?.blob.type).toBe("audio/webm;codecs=opus");
    expect(await seen.recorded[0]?.blob.text()).toBe("opus-bytes");
    // The microphone is released once the recording ends (the browser's indicator goes off).
    expect(browser.stoppedTracks).toEqual([1]);
    expect(browser.ticking).toBe(false);
    expect(seen.problems).toEqual([]);
  });

  it("stops by itself at the longest recording allowed", async () => {
    const browser = fakeBrowser();
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h, { maxSeconds: 5, minSeconds: 0.4 });
    const started = talk.start();
    await browser.grant();
    await started;
    browser.advance(4);
    expect(talk.state).toBe("recording");
    browser.advance(1.2);
    await flush();
    expect(talk.state).toBe("idle");
    expect(seen.recorded).toHaveLength(1);
    expect(seen.recorded[0]?.seconds).toBe(5);
    // letting go afterwards changes nothing
    talk.stop();
    await flush();
    expect(seen.recorded).toHaveLength(1);
  });

  it("drops a click that is too short to be speech and says to hold the button", async () => {
    const browser = fakeBrowser();
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    const started = talk.start();
    await browser.grant();
    await started;
    browser.advance(0.1);
    talk.stop();
    await flush();
    expect(seen.recorded).toEqual([]);
    expect(seen.problems).toEqual(["Too short: hold the button down while you speak."]);
  });

  it("records nothing when let go before the microphone opened, and releases it", async () => {
    const browser = fakeBrowser();
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    const started = talk.start();
    talk.stop(); // released while the permission prompt was up
    await browser.grant();
    await started;
    expect(talk.state).toBe("idle");
    expect(browser.recorders).toEqual([]);
    expect(browser.stoppedTracks).toEqual([1]);
    expect(seen.problems[0]).toContain("hold the button");
  });

  it("a cancelled recording is never handed over", async () => {
    const browser = fakeBrowser();
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    const started = talk.start();
    await browser.grant();
    await started;
    browser.advance(3);
    talk.cancel();
    await flush();
    expect(talk.state).toBe("idle");
    expect(seen.recorded).toEqual([]);
    expect(seen.problems).toEqual([]);
    expect(browser.stoppedTracks).toEqual([1]);
  });

  it("explains a refused permission and stays usable", async () => {
    const denied = Object.assign(new Error("Permission denied"), { name: "NotAllowedError" });
    const browser = fakeBrowser({ refuse: denied });
    const { seen, handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    await talk.start();
    expect(talk.state).toBe("idle");
    expect(seen.problems).toHaveLength(1);
    expect(seen.problems[0]).toContain("Microphone access is blocked");
    expect(seen.problems[0]).toContain("type your message");
    await talk.start();
    expect(seen.problems).toHaveLength(2);
  });

  it("a second press while recording starts nothing new", async () => {
    const browser = fakeBrowser();
    const { handlers: h } = handlers();
    const talk = new PushToTalk(browser.env, h);
    const started = talk.start();
    await browser.grant();
    await started;
    await talk.start();
    expect(browser.recorders).toHaveLength(1);
  });
});

describe("microphoneProblem", () => {
  it.each([
    ["NotAllowedError", "Microphone access is blocked"],
    ["NotFoundError", "No microphone was found"],
    ["NotReadableError", "could not be started"],
    ["RecordingUnsupported", "cannot record audio"],
    ["SomethingElse", "could not be used"],
  ])("%s reads %s, and text input is still offered", (name, says) => {
    const message = microphoneProblem({ name, message: "x" });
    expect(message).toContain(says);
    expect(message).toContain("type your message");
  });
});

describe("pickRecordingType", () => {
  it("prefers webm/opus, then what the browser has (Safari: mp4)", () => {
    expect(pickRecordingType(() => true)).toBe("audio/webm;codecs=opus");
    expect(pickRecordingType((t) => t === "audio/mp4")).toBe("audio/mp4");
    expect(pickRecordingType(() => false)).toBeUndefined();
  });
});
