import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, NetworkError, type TokenStore } from "./client";
import {
  loadSpeechFeatures,
  messageAudioPath,
  openAudio,
  recordingName,
  retryable,
  SPEECH_OFF,
  transcribe,
} from "./speech";

const store: TokenStore = {
  get: () => ({ access_token: "a1", refresh_token: "r1", token_type: "Bearer", expires_in: 900 }),
  set: () => {},
};

interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
}

function server(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = {
      url: String(input),
      method: init?.method ?? "GET",
      auth: new Headers(init?.headers).get("authorization"),
      body: init?.body,
    };
    calls.push(call);
    return answer(call);
  };
  return { calls, client: new ApiClient({ store, fetch: fn as typeof fetch }) };
}

const json = (status: number, body: unknown, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
const problem = (status: number, code: string, detail: string) =>
  json(status, { status, code, detail, title: "x" }, "application/problem+json");

describe("transcribe", () => {
  it("posts the recording as the multipart field `file` with its language", async () => {
    const { calls, client } = server(() =>
      json(200, { text: "GAP is optional.", language: "en", duration_s: 1.5 }),
    );
    const recording = new Blob(["opus"], { type: "audio/webm;codecs=opus" });
    const heard = await transcribe(client, recording, "en");
    expect(heard.text).toBe("GAP is optional.");
    expect(calls[0]?.url).toBe("/v1/transcriptions");
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.auth).toBe("Bearer a1");
    const form = calls[0]?.body as FormData;
    const file = form.get("file") as File;
    expect(file.name).toBe("speech.webm");
    expect(file.type).toBe("audio/webm;codecs=opus");
    expect(await file.text()).toBe("opus");
    expect(form.get("language")).toBe("en");
  });

  it("sends no language when it is not known, and scopes the path", async () => {
    const { calls, client } = server(() => json(200, { text: "x", language: "es", duration_s: 1 }));
    await transcribe(client, new Blob(["x"], { type: "audio/ogg" }), undefined, (p) => `${p}?d=1`);
    const form = calls[0]?.body as FormData;
    expect(form.get("language")).toBeNull();
    expect((form.get("file") as File).name).toBe("speech.ogg");
    expect(calls[0]?.url).toBe("/v1/transcriptions?d=1");
  });

  it.each([
    [413, "audio_too_long", "80 s of audio; at most 60 s"],
    [415, "unsupported_media_type", "audio/flac is not accepted"],
    [422, "no_speech", "no speech in the recording"],
    [403, "feature_disabled", "Transcription is switched off"],
  ])("a %i %s problem is thrown with its detail, not retryable", async (status, code, detail) => {
    const { client } = server(() => problem(status, code, detail));
    const error = await transcribe(client, new Blob(["x"])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(code);
    expect((error as ApiError).message).toBe(detail);
    expect(retryable(error)).toBe(false);
  });

  it("an engine down (503) or the network is worth a retry", async () => {
    const { client } = server(() => problem(503, "speech_unavailable", "try again"));
    expect(retryable(await transcribe(client, new Blob(["x"])).catch((e: unknown) => e))).toBe(
      true,
    );
    expect(retryable(new NetworkError(new TypeError("offline")))).toBe(true);
    expect(retryable(new Error("other"))).toBe(false);
  });
});

describe("loadSpeechFeatures", () => {
  it("reads the engines and voices", async () => {
    const voice = { id: "joe", language: "en", gender: "male" };
    const { calls, client } = server(() =>
      json(200, {
        engine: "piper",
        adam_voice: "joe",
        recognizer: "faster-whisper",
        items: [voice],
      }),
    );
    expect(await loadSpeechFeatures(client)).toEqual({
      voices: [voice],
      adam: "joe",
      synthesizer: "piper",
      recognizer: "faster-whisper",
    });
    expect(calls[0]?.url).toBe("/v1/speech/voices");
  });

  it.each([
    [404, "not_found"],
    [503, "speech_unavailable"],
  ])("a server answering %i %s offers no voice", async (status, code) => {
    const { client } = server(() => problem(status, code, "no"));
    expect(await loadSpeechFeatures(client)).toEqual(SPEECH_OFF);
  });

  it("an engine the answer names as null is off", async () => {
    const { client } = server(() =>
      json(200, { engine: null, adam_voice: null, recognizer: "faster-whisper", items: [] }),
    );
    const features = await loadSpeechFeatures(client);
    expect(features.synthesizer).toBeNull();
    expect(features.recognizer).toBe("faster-whisper");
    const { client: deaf } = server(() =>
      json(200, { engine: "espeak-ng", adam_voice: "en-us+m3", recognizer: null, items: [] }),
    );
    expect((await loadSpeechFeatures(deaf)).recognizer).toBeNull();
  });
});

describe("openAudio", () => {
  it("opens a message's audio with the bearer header, as a stream of its bytes", async () => {
    const { calls, client } = server(
      () => new Response("RIFF", { status: 200, headers: { "content-type": "audio/wav" } }),
    );
    const stream = await openAudio(client, messageAudioPath("m 1"));
    expect(calls[0]?.url).toBe("/v1/messages/m%201/audio");
    expect(calls[0]?.auth).toBe("Bearer a1");
    expect(await new Response(stream).text()).toBe("RIFF");
  });

  it("throws the problem of a refused read", async () => {
    const { client } = server(() => problem(404, "not_found", "No such message"));
    const error = await openAudio(client, messageAudioPath("m1")).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(404);
  });
});

describe("recordingName", () => {
  it.each([
    ["audio/webm;codecs=opus", "speech.webm"],
    ["audio/ogg; codecs=opus", "speech.ogg"],
    ["audio/mp4", "speech.m4a"],
    ["", "speech.webm"],
  ])("%s -> %s", (type, name) => expect(recordingName(type)).toBe(name));
});
