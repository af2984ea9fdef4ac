/** Shapes of the API's JSON bodies used by the client (see /schema/openapi.json). */

export type Role = "super_admin" | "dealership_admin" | "user";

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds the access token is valid for. */
  expires_in: number;
}

export interface Me {
  id: string;
  email: string;
  role: Role;
  dealership_id: string | null;
  first_name: string | null;
  last_name: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Source {
  chunk_id: string;
  document_id: string;
  filename: string;
  topic: string;
  /** The passage's position in its document. */
  index: number;
  page: number | null;
}

/** A cited passage whole (`GET /v1/documents/{id}/passages/{index}`). */
export interface Passage {
  document_id: string;
  filename: string;
  topic: string;
  index: number;
  page: number | null;
  /** The heading the passage sits under; null when it has none. */
  section: string | null;
  /** As stored and cited: paragraphs separated by a blank line. */
  text: string;
}

export interface Message {
  id: string;
  conversation_id: string;
  role: "user" | "assistant";
  content: string;
  sources: Source[];
  created_at: string;
  grounded?: boolean | null;
  supported_share?: number | null;
  /** The model that wrote an assistant reply; `notice` says what it cannot do. */
  model?: { name: string; generative: boolean; notice: string | null };
}

export interface Conversation {
  id: string;
  mode: "training" | "roleplay";
  scenario: string | null;
  scenario_id: string | null;
  language: string;
  created_at: string;
  updated_at: string;
  completed_at?: string | null;
}

export interface ConversationDetail extends Conversation {
  messages: Message[];
}

export type DocumentStatus = "queued" | "processing" | "ready" | "failed" | "deleting";

export interface DocumentItem {
  id: string;
  filename: string;
  topic: string;
  status: DocumentStatus;
  stage: string | null;
  /** 0..1 */
  progress: number;
  chunk_count: number;
  error: { code: string; message: string } | null;
  attempts: number;
  size_bytes: number;
  stalled: boolean;
  created_at: string;
  updated_at: string;
  title: string | null;
  warnings: string[];
}

/** RFC 9457 problem details as the API sends them. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  details?: Record<string, unknown>;
}

export const TOPICS = [
  "objection_handling",
  "playbooks",
  "product_knowledge",
  "compliance",
  "books",
  "videos",
] as const;

export interface Scenario {
  id: string;
  title: string;
  product: string;
  difficulty: number;
  built_in: boolean;
  persona: { name: string; description: string; languages: string[] };
}

export interface Evidence {
  message_id: string;
  quote: string;
}

export interface Criterion {
  id: string;
  title: string;
  verdict: "met" | "partly" | "missed" | "not_applicable";
  score: number;
  checks: { id: string; passed: boolean; evidence: Evidence[]; applicable?: boolean }[];
  advice: string | null;
  blocker: boolean;
  suggested_wording: string | null;
  sources: { document_id: string; filename: string; page: number | null }[];
}

export interface Scorecard {
  conversation_id: string;
  status: "pending" | "scored" | "failed";
  overall: number | null;
  passed: boolean | null;
  blockers_failed: string[];
  criteria: Criterion[];
  keep: string[];
  start: string[];
  stop: string[];
  error?: { code: string; message: string } | null;
}

export interface FeedbackReport {
  id: string;
  message_id: string;
  rating: "up" | "down";
  reason: string | null;
  updated_at: string;
  mode: "training" | "roleplay" | null;
  question: string | null;
  answer: string | null;
  sources: Source[];
}
