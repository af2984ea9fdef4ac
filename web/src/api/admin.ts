/** Shapes of the dealership management answers (GET/POST/PATCH /v1/dealerships). */

export interface Dealership {
  id: string;
  name: string;
  active: boolean;
  knowledge_base_generation: number;
  created_at: string;
  updated_at: string;
  /** Prompt plus completion tokens per calendar month (UTC); 0 = unlimited, null = the
   * service default. */
  monthly_token_budget: number | null;
  /** Whether its members see the leaderboard. */
  leaderboard_enabled: boolean;
}

/** The fields PATCH /v1/dealerships/{id} takes; absent ones are kept. */
export interface DealershipChanges {
  name?: string;
  active?: boolean;
  monthly_token_budget?: number | null;
  leaderboard_enabled?: boolean;
}
