/**
 * The speech API: what the server can do (`GET /v1/speech/voices`), a recording turned
 * into text (`POST /v1/transcriptions`), and a stored reply's audio
 * (`GET /v1/messages/{id}/audio`). Audio is fetched with the bearer header (which an
 * `<audio src>` cannot send) and read as it arrives (lib/player.ts plays it).
 */
import { type ApiClient, ApiError, NetworkError, problemOf } from "./client";

export interface SpeechVoice {
  id: string;
  language: string;
  gender: string;
}

/** What speech the server offers (from `GET /v1/speech/voices`). */
export interface SpeechFeatures {
  voices: SpeechVoice[];
  /** Adam's voice id. */
  adam: string | null;
  /** The text-to-speech engine, or null when replies cannot be spoken. */
  synthesizer: string | null;
  /** The speech-to-text engine, or null when there is no push-to-talk. */
  recognizer: string | null;
}

export const SPEECH_OFF: SpeechFeatures = {
  voices: [],
  adam: null,
  synthesizer: null,
  recognizer: null,
};

/** `POST /v1/transcriptions` answer. */
export interface Transcription {
  text: string;
  language: string;
  /** Seconds of audio heard. */
  duration_s: number;
}

/** The answer of `GET /v1/speech/voices`: an engine that is off is null. */
interface VoicesAnswer {
  engine: string | null;
  adam_voice: string | null;
  recognizer: string | null;
  items: SpeechVoice[];
}

/**
 * What the server can do. A server that cannot be asked right now (or one without the
 * route) answers `SPEECH_OFF`, and the client offers text only.
 */
export async function loadSpeechFeatures(client: ApiClient): Promise<SpeechFeatures> {
  try {
    const body = await client.request<VoicesAnswer>("GET", "/v1/speech/voices");
    return {
      voices: Array.isArray(body.items) ? body.items : [],
      adam: body.adam_voice ?? null,
      synthesizer: body.engine ?? null,
      recognizer: body.recognizer ?? null,
    };
  } catch {
    return SPEECH_OFF;
  }
}

const EXTENSIONS: Record<string, string> = {
  "audio/webm": "webm",
  "audio/ogg": "ogg",
  "audio/mp4": "m4a",
  "audio/mpeg": "mp3",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
};

/** A file name for a recording of media type `type` (parameters ignored). */
export function recordingName(type: string): string {
  const bare = type.split(";")[0]?.trim().toLowerCase() ?? "";
  return `speech.${EXTENSIONS[bare] ?? "webm"}`;
}

/**
 * Sends `recording` (as the browser's MediaRecorder made it, e.g.
 * `audio/webm;codecs=opus`) for transcription; `language` (`en`, `es`) when known;
 * `scoped` adds a super admin's `dealership_id`.
 * Throws `ApiError` with the problem's `code` and `detail` (413 `payload_too_large` or
 * `audio_too_long`, 415 `unsupported_media_type`, 422 `unreadable_audio` or `no_speech`,
 * 403 `feature_disabled`) or `NetworkError`.
 */
export async function transcribe(
  client: ApiClient,
  recording: Blob,
  language?: string,
  scoped: (path: string) => string = (path) => path,
): Promise<Transcription> {
  const form = new FormData();
  form.append("file", recording, recordingName(recording.type));
  if (language) form.append("language", language);
  const response = await client.raw(scoped("/v1/transcriptions"), {
    method: "POST",
    headers: { accept: "application/json" },
    body: form,
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return (await response.json()) as Transcription;
}

/**
 * Whether sending the same recording again may succeed: the network or the server
 * failed (5xx such as 503 `speech_unavailable`, 408, 429), not the audio itself.
 */
export function retryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && (error.status >= 500 || [408, 429].includes(error.status));
}

/** The path of a stored message's audio (Adam's voice, or the roleplay customer's). */
export function messageAudioPath(messageId: string): string {
  return `/v1/messages/${encodeURIComponent(messageId)}/audio`;
}

/**
 * The audio at `path` (a WAV) as its bytes arrive: a reply's first play streams while
 * the server speaks it. Throws `ApiError` or `NetworkError`; `signal` aborts it.
 */
export async function openAudio(
  client: ApiClient,
  path: string,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const response = await client.raw(path, {
    headers: { accept: "audio/wav, audio/*" },
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (response.body === null) {
    throw new ApiError(response.status, { title: "The audio came without a body." });
  }
  return response.body;
}
