/** Shapes of the manager endpoints' JSON (docs/guide/14-managers.md). */
import type { Role } from "./types";

export type AssignmentStatus = "open" | "done" | "overdue";

export interface Assignee {
  user_id: string;
  status: AssignmentStatus;
  attempts: number;
  best_score: number | null;
  best_passing_score: number | null;
  completed_at: string | null;
}

export interface Assignment {
  id: string;
  dealership_id: string;
  scenario_id: string;
  due_at: string;
  min_score: number;
  min_attempts: number;
  note: string | null;
  everyone: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  assignees: Assignee[];
}

export interface TrendWeek {
  /** Monday of the ISO week, YYYY-MM-DD. */
  week: string;
  sessions_started: number;
  sessions_completed: number;
  scored: number;
  average_score: number | null;
  pass_rate: number | null;
}

export interface CriterionRate {
  rubric_id: string;
  criterion_id: string;
  title: string;
  blocker: boolean;
  met: number;
  total: number;
  pass_rate: number;
  week?: string | null;
}

export interface Overview {
  dealership_id: string;
  from: string;
  to: string;
  active_users: number;
  conversations: number;
  sessions_started: number;
  sessions_completed: number;
  scored: number;
  average_score: number | null;
  pass_rate: number | null;
  weekly: TrendWeek[];
  criteria: CriterionRate[];
  blockers: CriterionRate[];
  weakest_skills: CriterionRate[];
  top_questions: { question: string; asked: number }[];
  feedback: { up: number; down: number; inaccurate: number };
  knowledge_gaps: { gap_id: string; title: string; count: number; last_asked_at: string }[];
}

export interface PersonSession {
  conversation_id: string;
  scenario_id: string | null;
  started_at: string;
  completed_at: string | null;
  status: string | null;
  overall: number | null;
  passed: boolean | null;
}

export interface PersonAssignment {
  assignment_id: string;
  scenario_id: string;
  due_at: string;
  min_score: number;
  min_attempts: number;
  status: AssignmentStatus;
  attempts: number;
  best_score: number | null;
  completed_at: string | null;
}

export interface PersonAnalytics {
  user_id: string;
  display_name: string;
  from: string;
  to: string;
  sessions_started: number;
  sessions_completed: number;
  scored: number;
  average_score: number | null;
  pass_rate: number | null;
  weekly: TrendWeek[];
  criteria_trend: CriterionRate[];
  sessions: PersonSession[];
  assignments: PersonAssignment[] | null;
}

export interface Rank {
  rank: number;
  user_id: string;
  display_name: string;
  sessions: number;
  average_score: number;
  best_score: number;
  pass_rate: number;
  you: boolean;
}

export interface KnowledgeGap {
  id: string;
  title: string;
  count: number;
  first_asked_at: string;
  last_asked_at: string;
  examples: string[];
  reasons: {
    no_material: number;
    weak_material: number;
    thumbs_down: number;
    reported_inaccurate: number;
  };
  status: "open" | "resolved";
  resolved_at: string | null;
  resolved_by: string | null;
  resolve_note: string | null;
  recurred: boolean;
}

export interface UserItem {
  id: string;
  email: string;
  role: Role;
  dealership_id: string | null;
  first_name: string | null;
  last_name: string | null;
  active: boolean;
}

export interface UsageReport {
  from: string;
  to: string;
  days: {
    day: string;
    model_calls: number;
    cached_answers: number;
    prompt_tokens: number;
    completion_tokens: number;
    speech_seconds: number;
  }[];
  budget: {
    monthly_token_budget: number | null;
    period_start: string;
    resets_at: string;
    used_tokens: number;
    remaining_tokens: number | null;
  };
}
