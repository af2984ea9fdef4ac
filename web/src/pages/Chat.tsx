/** Chat with Adam: the conversation list, a conversation, and the streamed reply. */
import { useEffect, useRef, useState } from "preact/hooks";
import { sendStreamed } from "../api/chat";
import type { Conversation, ConversationDetail, Message, Source } from "../api/types";
import { navigate, useSession } from "../app";
import { CitedText } from "../components/Citations";
import { ErrorMessage } from "../components/ErrorMessage";
import { Feedback } from "../components/Feedback";
import {
  MicButton,
  MuteSwitch,
  PlayButton,
  ReplyAudio,
  useReplyPlayer,
  useSpeechFeatures,
} from "../components/Voice";
import { newestFirst, usePagedList } from "../lib/paged";

interface Shown {
  key: string;
  role: "user" | "assistant";
  content: string;
  sources: Source[];
  /** Stored message id (assistant): feedback can be given. */
  id?: string;
  streaming?: boolean;
  /** A send that failed: the error and the text to send again. */
  failed?: { error: unknown; content: string };
  /** Said by voice (push-to-talk) rather than typed. */
  spoken?: boolean;
}

function label(c: Conversation): string {
  const when = new Date(c.created_at).toLocaleString();
  return `${c.mode === "roleplay" ? "Roleplay" : "Training"} · ${when}`;
}

export function ChatPage(props: { path: string }) {
  const { client, scope } = useSession();
  const selected = /^\/chat\/([0-9a-f-]{36})/.exec(props.path)?.[1] ?? null;
  const conversations = usePagedList(
    newestFirst<Conversation>(client, scope.path("/v1/conversations"), 50),
  );
  const { items: list, setItems: setList, next, loading, error: loadError, load } = conversations;
  const [createError, setCreateError] = useState<unknown>(null);
  const listError = createError ?? loadError;

  async function create() {
    setCreateError(null);
    try {
      const created = await client.request<Conversation>(
        "POST",
        "/v1/conversations",
        scope.body({ mode: "training" }),
      );
      setList((shown) => [created, ...shown]);
      navigate(`/chat/${created.id}`);
    } catch (caught) {
      setCreateError(caught);
    }
  }

  return (
    <div class="chat-layout">
      <nav class="conversations" aria-label="Conversations">
        <h1>Chat with Adam</h1>
        <button type="button" class="primary" onClick={create}>
          New training conversation
        </button>
        <ErrorMessage error={listError} onRetry={() => load(null)} />
        <ul>
          {list.map((c) => (
            <li key={c.id}>
              <a
                href={`/chat/${c.id}`}
                aria-current={c.id === selected ? "page" : undefined}
                onClick={(event) => {
                  event.preventDefault();
                  navigate(`/chat/${c.id}`);
                }}
              >
                {label(c)}
              </a>
            </li>
          ))}
        </ul>
        {next && (
          <button type="button" disabled={loading} onClick={() => load(next)}>
            {loading ? "Loading…" : "Show older conversations"}
          </button>
        )}
        {list.length === 0 && !listError && !loading && <p class="muted">No conversations yet.</p>}
      </nav>
      {selected ? (
        <ConversationView key={selected} id={selected} />
      ) : (
        <section class="panel empty">
          <h2>Ask Adam about F&amp;I</h2>
          <p>Start a new training conversation, or pick one from the list.</p>
        </section>
      )}
    </div>
  );
}

export function ConversationView(props: { id: string; who?: string }) {
  const { client, scope } = useSession();
  const [messages, setMessages] = useState<Shown[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [language, setLanguage] = useState<string | undefined>(undefined);
  const [speech, setSpeech] = useSpeechFeatures();
  const [voiceNote, setVoiceNote] = useState<string | null>(null);
  const player = useReplyPlayer();
  const end = useRef<HTMLDivElement>(null);
  const speaker = props.who ?? "Adam";

  async function load() {
    setLoadError(null);
    try {
      const detail = await client.request<ConversationDetail>(
        "GET",
        scope.path(`/v1/conversations/${props.id}`),
      );
      setMessages(detail.messages.map((m) => shown(m)));
      // A roleplay customer speaks one language: the recogniser is told it.
      setLanguage(detail.mode === "roleplay" ? detail.language : undefined);
    } catch (caught) {
      setLoadError(caught);
    }
  }

  useEffect(() => {
    void load();
  }, [props.id]);
  useEffect(() => end.current?.scrollIntoView?.({ block: "end" }), [messages]);

  function update(key: string, change: (m: Shown) => Shown) {
    setMessages((all) => all.map((m) => (m.key === key ? change(m) : m)));
  }

  async function send(content: string, retryOf?: string, spoken = false) {
    setSending(true);
    player.stop();
    const userKey = retryOf ?? `u-${Date.now()}`;
    const replyKey = `a-${Date.now()}`;
    setMessages((all) => [
      ...all.filter((m) => m.key !== userKey),
      { key: userKey, role: "user", content, sources: [], spoken },
      { key: replyKey, role: "assistant", content: "", sources: [], streaming: true },
    ]);
    try {
      const stored = await sendStreamed(
        client,
        props.id,
        content,
        {
          onDelta: (text) => update(replyKey, (m) => ({ ...m, content: m.content + text })),
          onSources: (sources) => update(replyKey, (m) => ({ ...m, sources })),
        },
        scope.path,
      );
      update(replyKey, () => shown(stored, replyKey));
      setNotice(stored.model?.notice ?? null);
      if (speech.synthesizer) void player.play(stored.id, { automatic: true });
    } catch (caught) {
      setMessages((all) =>
        all
          .filter((m) => m.key !== replyKey)
          .map((m) => (m.key === userKey ? { ...m, failed: { error: caught, content } } : m)),
      );
    } finally {
      setSending(false);
    }
  }

  return (
    <section class="conversation" aria-label="Conversation">
      <ErrorMessage error={loadError} onRetry={load} />
      <ol class="messages" aria-live="polite">
        {messages.map((m) => (
          <li key={m.key} class={`message ${m.role}`}>
            <span class="who">
              {m.role === "user" ? "You" : speaker}
              {m.spoken && <span class="muted"> (spoken)</span>}
            </span>
            {m.role === "assistant" ? (
              <CitedText content={m.content} sources={m.sources} />
            ) : (
              <p class="text">{m.content}</p>
            )}
            {m.streaming && <span class="muted">{speaker} is answering…</span>}
            {m.role === "assistant" && m.id && !m.streaming && speech.synthesizer && (
              <PlayButton player={player} messageId={m.id} who={speaker} />
            )}
            {m.role === "assistant" && m.id && !m.streaming && <Feedback messageId={m.id} />}
            {m.failed && (
              <ErrorMessage
                error={m.failed.error}
                onRetry={
                  sending
                    ? undefined
                    : () => send(m.failed?.content ?? m.content, m.key, Boolean(m.spoken))
                }
              />
            )}
          </li>
        ))}
      </ol>
      <div ref={end} />
      {notice && (
        <p class="muted model-notice" role="note">
          {notice}
        </p>
      )}
      <ReplyAudio player={player} />
      <div class="compose-area">
        {(speech.synthesizer || speech.recognizer || voiceNote) && (
          <div class="voice-bar">
            {speech.recognizer && (
              <MicButton
                language={language}
                disabled={sending}
                onStart={() => player.stop()}
                onTranscript={(text) => void send(text, undefined, true)}
                onDisabled={(why) => {
                  setSpeech({ ...speech, recognizer: null });
                  setVoiceNote(why);
                }}
              />
            )}
            {speech.synthesizer && <MuteSwitch player={player} />}
            {voiceNote && (
              <p class="muted" role="note">
                {voiceNote} You can still type.
              </p>
            )}
          </div>
        )}
        <form
          class="composer"
          onSubmit={(event) => {
            event.preventDefault();
            const content = draft.trim();
            if (!content || sending) return;
            setDraft("");
            void send(content);
          }}
        >
          <label for="composer" class="visually-hidden">
            {props.who === "Customer" ? "Your words to the customer" : "Your message to Adam"}
          </label>
          <textarea
            id="composer"
            rows={2}
            maxLength={4000}
            placeholder={
              props.who === "Customer"
                ? "Greet the customer and present the menu"
                : "Ask Adam, e.g. How do I present GAP?"
            }
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
          <button type="submit" class="primary" disabled={sending || !draft.trim()}>
            Send
          </button>
        </form>
      </div>
    </section>
  );
}

function shown(m: Message, key?: string): Shown {
  return { key: key ?? m.id, id: m.id, role: m.role, content: m.content, sources: m.sources };
}
