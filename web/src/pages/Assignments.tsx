/** Assignments: admins create, follow and edit them; trainees see theirs and practise. */
import { useEffect, useState } from "preact/hooks";
import type { Assignment, UserItem } from "../api/manager";
import type { Page, Scenario } from "../api/types";
import { isAdmin, navigate, useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { everyItem } from "../lib/admin";
import { score } from "../lib/manage";
import { AssignmentForm, AssignmentRow } from "./AssignmentParts";

export function AssignmentsPage() {
  const { client, me, scope } = useSession();
  const admin = isAdmin(me);
  const [assignments, setAssignments] = useState<Assignment[]>([]);
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [users, setUsers] = useState<UserItem[]>([]);
  const [error, setError] = useState<unknown>(null);

  async function load() {
    setError(null);
    try {
      const [listed, offered] = await Promise.all([
        client.request<Page<Assignment>>(
          "GET",
          scope.path("/v1/assignments?limit=100&order=newest"),
        ),
        everyItem<Scenario>(client, scope.path("/v1/scenarios")),
      ]);
      setAssignments(listed.items);
      setScenarios(offered);
      if (admin) {
        const people = await everyItem<UserItem>(client, scope.path("/v1/users"));
        setUsers(people.filter((u) => u.active));
      }
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, []);

  const title = (id: string) => scenarios.find((s) => s.id === id)?.title ?? id;
  if (!admin) {
    return (
      <section class="panel">
        <h1>My assignments</h1>
        <ErrorMessage error={error} onRetry={load} />
        <MyAssignments assignments={assignments} title={title} onError={setError} />
      </section>
    );
  }
  const name = (id: string) => {
    const u = users.find((user) => user.id === id);
    if (!u) return id.slice(0, 8);
    return [u.first_name, u.last_name].filter(Boolean).join(" ") || u.email;
  };
  return (
    <section class="panel">
      <h1>Assignments</h1>
      <ErrorMessage error={error} onRetry={load} />
      <AssignmentForm scenarios={scenarios} users={users} onCreated={load} />
      <h2>Assigned</h2>
      {assignments.length === 0 && !error && <p class="muted">No assignments yet.</p>}
      <ul class="assignments">
        {assignments.map((a) => (
          <AssignmentRow
            key={a.id}
            assignment={a}
            title={title(a.scenario_id)}
            name={name}
            onChanged={load}
          />
        ))}
      </ul>
    </section>
  );
}

function MyAssignments(props: {
  assignments: Assignment[];
  title: (id: string) => string;
  onError: (error: unknown) => void;
}) {
  const { client } = useSession();
  async function practise(assignment: Assignment) {
    try {
      const created = await client.request<{ id: string }>("POST", "/v1/conversations", {
        mode: "roleplay",
        assignment_id: assignment.id,
      });
      navigate(`/roleplay/${created.id}`);
    } catch (caught) {
      props.onError(caught);
    }
  }
  if (props.assignments.length === 0) return <p class="muted">Nothing assigned to you.</p>;
  return (
    <ul class="assignments">
      {props.assignments.map((a) => {
        const mine = a.assignees[0];
        return (
          <li key={a.id} class="assignment" data-status={mine?.status}>
            <h2>{props.title(a.scenario_id)}</h2>
            <p>
              <span class={`badge ${mine?.status ?? ""}`}>{mine?.status ?? "open"}</span> · due{" "}
              {new Date(a.due_at).toLocaleString()} · score at least {a.min_score} in{" "}
              {a.min_attempts} scored session{a.min_attempts === 1 ? "" : "s"}
            </p>
            <p class="muted">
              Attempts {mine?.attempts ?? 0} · best score {score(mine?.best_score)}
            </p>
            {a.note && <p>{a.note}</p>}
            <button type="button" class="primary" onClick={() => practise(a)}>
              Practise<span class="visually-hidden"> {props.title(a.scenario_id)}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
