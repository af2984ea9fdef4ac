/**
 * Voice in a conversation: the push-to-talk button (hold it with the mouse or a finger;
 * Space or Enter starts and stops it from the keyboard), the mute switch, and a reply's
 * play button. What the server can do comes from `GET /v1/speech/voices`; without a
 * recogniser there is no button, without a synthesiser nothing is spoken.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type ApiClient, ApiError } from "../api/client";
import {
  loadSpeechFeatures,
  messageAudioPath,
  openAudio,
  retryable,
  SPEECH_OFF,
  type SpeechFeatures,
  transcribe,
} from "../api/speech";
import { useSession } from "../app";
import { ReplyPlayer } from "../lib/player";
import {
  browserRecorderEnvironment,
  DEFAULT_RECORDER_OPTIONS,
  PushToTalk,
  type Recording,
} from "../lib/recorder";
import { browserStorage, pageSpeaker } from "../lib/speaker";
import { describe, ErrorMessage } from "./ErrorMessage";

const features = new WeakMap<ApiClient, Promise<SpeechFeatures>>();

/** What the server can do with speech, asked once per session (SPEECH_OFF until known). */
export function useSpeechFeatures(): [SpeechFeatures, (changed: SpeechFeatures) => void] {
  const { client } = useSession();
  const [known, setKnown] = useState<SpeechFeatures>(SPEECH_OFF);
  useEffect(() => {
    let asked = features.get(client);
    if (!asked) {
      asked = loadSpeechFeatures(client);
      features.set(client, asked);
    }
    let live = true;
    void asked.then((answer) => live && setKnown(answer));
    return () => {
      live = false;
    };
  }, [client]);
  function change(changed: SpeechFeatures) {
    features.set(client, Promise.resolve(changed));
    setKnown(changed);
  }
  return [known, change];
}

/** A reply player for this conversation, re-rendering its user on every change. */
export function useReplyPlayer(): ReplyPlayer {
  const { client, scope } = useSession();
  const scoped = useRef(scope);
  scoped.current = scope;
  const player = useMemo(
    () =>
      new ReplyPlayer(
        (id, signal) => openAudio(client, scoped.current.path(messageAudioPath(id)), signal),
        { speaker: pageSpeaker(), storage: browserStorage() },
      ),
    [client],
  );
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = player.subscribe(() => setVersion((v) => v + 1));
    return () => {
      unsubscribe();
      player.dispose();
    };
  }, [player]);
  return player;
}

/**
 * What the reply player is doing, for assistive technology and tests: the message
 * playing (`data-message-id`) and `data-status` (`idle`, `loading`, `playing`). The
 * sound itself goes through the Web Audio API (lib/speaker.ts), not an element.
 */
export function ReplyAudio(props: { player: ReplyPlayer }) {
  const { player } = props;
  return (
    <span
      class="reply-audio"
      hidden
      data-message-id={player.current ?? undefined}
      data-status={player.status}
    />
  );
}

function Speaker(props: { muted: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path fill="currentColor" d="M3 9v6h4l5 5V4L7 9H3z" />
      {props.muted ? (
        <path stroke="currentColor" stroke-width="2" d="M16 9l6 6m0-6l-6 6" />
      ) : (
        <path
          fill="none"
          stroke="currentColor"
          stroke-width="2"
          d="M15.5 8.5a5 5 0 010 7M18.5 5.5a9 9 0 010 13"
        />
      )}
    </svg>
  );
}

/** Mutes the spoken replies (and stops the one playing); remembered in this browser. */
export function MuteSwitch(props: { player: ReplyPlayer }) {
  const { player } = props;
  return (
    <button
      type="button"
      class="mute"
      aria-pressed={player.muted}
      onClick={() => player.setMuted(!player.muted)}
    >
      <Speaker muted={player.muted} /> Mute replies
    </button>
  );
}

/** A reply's own play button: plays it (even when muted), or stops it. */
export function PlayButton(props: { player: ReplyPlayer; messageId: string; who: string }) {
  const { player, messageId } = props;
  const mine = player.current === messageId;
  const failure = player.failure?.messageId === messageId ? player.failure.error : null;
  return (
    <span class="play">
      <button type="button" onClick={() => player.toggle(messageId)}>
        <Speaker muted={false} />{" "}
        {mine ? (player.status === "loading" ? "Loading…" : "Stop") : "Play"}
        <span class="visually-hidden"> {props.who}'s words aloud</span>
      </button>
      {player.blocked === messageId && (
        <span class="muted">The browser held the audio back: press Play to hear it.</span>
      )}
      {failure !== null && <span class="error-text">{describe(failure)}</span>}
    </span>
  );
}

function Microphone() {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path
        fill="currentColor"
        d="M12 14a3 3 0 003-3V5a3 3 0 10-6 0v6a3 3 0 003 3zm5-3a5 5 0 01-10 0H5a7 7 0 006 6.9V21h2v-3.1A7 7 0 0019 11h-2z"
      />
    </svg>
  );
}

/**
 * Push-to-talk: records while held (or between two presses of Space/Enter), sends the
 * recording for transcription and hands the text to `onTranscript`. A failed upload
 * keeps the recording for Retry; `onDisabled` runs when the server says transcription
 * is switched off. `onStart` runs when recording starts (to stop a reply being spoken).
 */
export function MicButton(props: {
  language?: string;
  disabled?: boolean;
  onStart: () => void;
  onTranscript: (text: string) => void;
  /** Transcription is switched off: why, as the server said it. */
  onDisabled: (why: string) => void;
}) {
  const session = useSession();
  const [, setVersion] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [kept, setKept] = useState<Recording | null>(null);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The recorder, made once, calls the `upload` of its first render: it reads the
  // session and the props of the latest one.
  const latest = useRef({ props, session });
  latest.current = { props, session };

  async function upload(recording: Recording) {
    setKept(recording);
    setError(null);
    setUploading(true);
    try {
      const { client, scope } = latest.current.session;
      const heard = await transcribe(
        client,
        recording.blob,
        latest.current.props.language,
        scope.path,
      );
      setKept(null);
      latest.current.props.onTranscript(heard.text);
    } catch (caught) {
      if (!retryable(caught)) setKept(null);
      if (caught instanceof ApiError && caught.code === "feature_disabled") {
        latest.current.props.onDisabled(describe(caught));
      }
      setError(caught);
    } finally {
      setUploading(false);
    }
  }

  const recorder = useMemo(
    () =>
      new PushToTalk(browserRecorderEnvironment(), {
        onChange: () => setVersion((v) => v + 1),
        onRecorded: (recording) => void upload(recording),
        onProblem: setProblem,
      }),
    [],
  );
  useEffect(() => () => recorder.cancel(), [recorder]);

  function start() {
    setProblem(null);
    setError(null);
    setKept(null);
    latest.current.props.onStart();
    void recorder.start();
  }

  const active = recorder.state !== "idle";
  const busy = uploading || Boolean(props.disabled);
  return (
    <div class="talk">
      <button
        type="button"
        class={active ? "mic recording" : "mic"}
        aria-pressed={active}
        aria-describedby="talk-hint"
        disabled={busy && !active}
        onPointerDown={(event) => {
          if (event.button !== 0 || busy) return;
          event.currentTarget.setPointerCapture?.(event.pointerId);
          start();
        }}
        onPointerUp={() => recorder.stop()}
        onPointerCancel={() => recorder.cancel()}
        onContextMenu={(event) => event.preventDefault()}
        onKeyDown={(event) => {
          // A held key repeats: only its first press toggles.
          if (event.repeat && (event.key === "Enter" || event.key === " ")) event.preventDefault();
        }}
        onClick={(event) => {
          // A click from the keyboard (Space, Enter) has no pointer: it toggles.
          if (event.detail !== 0) return;
          if (active) recorder.stop();
          else if (!busy) start();
        }}
      >
        <Microphone /> Hold to talk
      </button>
      <span id="talk-hint" class="muted talk-hint">
        Hold to talk and let go to send; Space or Enter on the button starts and stops.
      </span>
      <span class="talk-status" role="status">
        {recorder.state === "recording" && (
          <span class="recording-indicator">
            <span class="dot" aria-hidden="true" /> Recording {recorder.elapsed} s (up to{" "}
            {DEFAULT_RECORDER_OPTIONS.maxSeconds} s)
          </span>
        )}
        {recorder.state === "starting" && "Opening the microphone…"}
        {uploading && "Writing down what you said…"}
      </span>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {error !== null && !uploading && (
        <div class="talk-error">
          <ErrorMessage
            error={error}
            onRetry={kept && retryable(error) ? () => void upload(kept) : undefined}
          />
          {kept && (
            <button
              type="button"
              class="link"
              onClick={() => {
                setKept(null);
                setError(null);
              }}
            >
              Discard the recording
            </button>
          )}
        </div>
      )}
    </div>
  );
}
