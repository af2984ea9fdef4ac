/**
 * Push-to-talk recording: the microphone is opened when the trainee presses, recorded
 * with MediaRecorder, and released when they let go (or at `maxSeconds`), so the
 * browser's "recording" indicator is on only while they speak. The browser is reached
 * through `RecorderEnvironment`, so the logic runs in unit tests without one.
 */

/** The parts of a MediaStream used here. */
export interface StreamLike {
  getTracks(): { stop(): void }[];
}

/** The parts of a MediaRecorder used here. */
export interface RecorderLike {
  readonly mimeType: string;
  ondataavailable: ((event: { data: Blob }) => void) | null;
  onstop: (() => void) | null;
  start(): void;
  stop(): void;
}

export interface RecorderEnvironment {
  /** Opens the microphone; rejects with a DOMException (`NotAllowedError`, `NotFoundError`…). */
  getUserMedia(): Promise<StreamLike>;
  createRecorder(stream: StreamLike): RecorderLike;
  /** Milliseconds, monotonic. */
  now(): number;
  setInterval(tick: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface Recording {
  blob: Blob;
  /** Seconds recorded. */
  seconds: number;
}

export type RecorderState = "idle" | "starting" | "recording";

export interface RecorderHandlers {
  /** State or elapsed seconds changed. */
  onChange(): void;
  /** A finished recording, long enough to send. */
  onRecorded(recording: Recording): void;
  /** Why nothing was recorded, as the trainee should read it. */
  onProblem(message: string): void;
}

export interface RecorderOptions {
  /** The recording stops by itself after this many seconds. */
  maxSeconds: number;
  /** Shorter recordings (a click rather than a hold) are dropped. */
  minSeconds: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = { maxSeconds: 60, minSeconds: 0.4 };

/** Raised by the browser environment when recording is impossible here. */
export class RecordingUnsupported extends Error {
  constructor() {
    super("unsupported");
    this.name = "RecordingUnsupported";
  }
}

/** What a failure to open the microphone means to the trainee. */
export function microphoneProblem(error: unknown): string {
  const name = error instanceof Error || isNamed(error) ? (error as { name: string }).name : "";
  const typeInstead = "You can still type your message.";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return `Microphone access is blocked. Allow the microphone for this site in the browser's settings, then try again. ${typeInstead}`;
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return `No microphone was found. Connect one and try again. ${typeInstead}`;
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return `The microphone could not be started (another program may be using it). ${typeInstead}`;
    case "RecordingUnsupported":
      return `This browser cannot record audio on this page (it needs a secure https address). ${typeInstead}`;
    default:
      return `The microphone could not be used. ${typeInstead}`;
  }
}

function isNamed(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string"
  );
}

export class PushToTalk {
  state: RecorderState = "idle";
  /** Whole seconds recorded so far (while recording). */
  elapsed = 0;
  private stopWanted = false;
  private cancelled = false;
  private stream: StreamLike | null = null;
  private recorder: RecorderLike | null = null;
  private chunks: Blob[] = [];
  private startedAt = 0;
  private stoppedAt: number | null = null;
  private ticker: unknown = null;

  constructor(
    private readonly env: RecorderEnvironment,
    private readonly handlers: RecorderHandlers,
    readonly options: RecorderOptions = DEFAULT_RECORDER_OPTIONS,
  ) {}

  /** Opens the microphone and starts recording; a `stop` meanwhile ends it at once. */
  async start(): Promise<void> {
    if (this.state !== "idle") return;
    this.stopWanted = false;
    this.cancelled = false;
    this.elapsed = 0;
    this.stoppedAt = null;
    this.setState("starting");
    let stream: StreamLike;
    try {
      stream = await this.env.getUserMedia();
    } catch (error) {
      this.setState("idle");
      this.handlers.onProblem(microphoneProblem(error));
      return;
    }
    if (this.stopWanted || this.cancelled) {
      // Let go before the microphone opened (often: while answering the permission prompt).
      release(stream);
      this.setState("idle");
      if (!this.cancelled)
        this.handlers.onProblem("Microphone ready: hold the button while you speak.");
      return;
    }
    let recorder: RecorderLike;
    try {
      recorder = this.env.createRecorder(stream);
    } catch (error) {
      release(stream);
      this.setState("idle");
      this.handlers.onProblem(microphoneProblem(error));
      return;
    }
    this.stream = stream;
    this.recorder = recorder;
    this.chunks = [];
    recorder.ondataavailable = (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    };
    recorder.onstop = () => this.finish();
    recorder.start();
    this.startedAt = this.env.now();
    this.ticker = this.env.setInterval(() => this.tick(), 200);
    this.setState("recording");
  }

  /** Ends the recording; `onRecorded` follows once the browser hands over the audio. */
  stop(): void {
    if (this.state === "starting") this.stopWanted = true;
    else if (this.state === "recording" && !this.stopWanted) {
      this.stopWanted = true;
      this.stoppedAt = this.env.now();
      this.recorder?.stop();
    }
  }

  /** Ends the recording and drops it. */
  cancel(): void {
    this.cancelled = true;
    this.stop();
  }

  private tick(): void {
    const seconds = (this.env.now() - this.startedAt) / 1000;
    if (seconds >= this.options.maxSeconds) {
      this.stop();
      return;
    }
    const whole = Math.floor(seconds);
    if (whole !== this.elapsed) {
      this.elapsed = whole;
      this.handlers.onChange();
    }
  }

  private finish(): void {
    const end = this.stoppedAt ?? this.env.now();
    const seconds = Math.min((end - this.startedAt) / 1000, this.options.maxSeconds);
    const type = this.recorder?.mimeType || this.chunks[0]?.type || "audio/webm";
    const blob = new Blob(this.chunks, { type });
    this.env.clearInterval(this.ticker);
    if (this.stream) release(this.stream);
    this.stream = null;
    this.recorder = null;
    this.chunks = [];
    this.setState("idle");
    if (this.cancelled) return;
    if (seconds < this.options.minSeconds) {
      this.handlers.onProblem("Too short: hold the button down while you speak.");
    } else if (blob.size === 0) {
      this.handlers.onProblem("Nothing was recorded. Check the microphone and try again.");
    } else {
      this.handlers.onRecorded({ blob, seconds });
    }
  }

  private setState(state: RecorderState): void {
    this.state = state;
    this.handlers.onChange();
  }
}

function release(stream: StreamLike): void {
  for (const track of stream.getTracks()) track.stop();
}

/** Media types to record in, best first: what the server and Whisper decode. */
export const RECORDING_TYPES = [
  "audio/webm;codecs=opus",
  "audio/ogg;codecs=opus",
  "audio/webm",
  "audio/mp4",
] as const;

/** The first of `RECORDING_TYPES` the browser supports, or undefined (its default). */
export function pickRecordingType(isSupported: (type: string) => boolean): string | undefined {
  return RECORDING_TYPES.find((type) => isSupported(type));
}

/** Whether this page can record at all (MediaRecorder and getUserMedia, secure context). */
export function canRecord(): boolean {
  return typeof MediaRecorder !== "undefined" && Boolean(navigator.mediaDevices?.getUserMedia);
}

/** The real browser behind `RecorderEnvironment`. */
export function browserRecorderEnvironment(): RecorderEnvironment {
  return {
    async getUserMedia() {
      if (!canRecord()) throw new RecordingUnsupported();
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    },
    createRecorder(stream) {
      const mimeType = pickRecordingType((type) => MediaRecorder.isTypeSupported(type));
      const recorder = new MediaRecorder(
        stream as MediaStream,
        mimeType ? { mimeType } : undefined,
      );
      const like: RecorderLike = {
        mimeType: recorder.mimeType,
        ondataavailable: null,
        onstop: null,
        start: () => recorder.start(),
        stop: () => recorder.stop(),
      };
      recorder.ondataavailable = (event) => like.ondataavailable?.(event);
      recorder.onstop = () => like.onstop?.();
      return like;
    },
    now: () => performance.now(),
    setInterval: (tick, ms) => window.setInterval(tick, ms),
    clearInterval: (handle) => window.clearInterval(handle as number),
  };
}
