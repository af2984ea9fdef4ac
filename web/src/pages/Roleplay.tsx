/** Roleplay: pick a scenario, practise with the customer Adam plays, end, read the scorecard. */
import { useEffect, useState } from "preact/hooks";
import type { ConversationDetail, Scenario } from "../api/types";
import { navigate, useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { ScorecardView } from "../components/Scorecard";
import { everyItem } from "../lib/admin";
import { ConversationView } from "./Chat";

export function RoleplayPage(props: { path: string }) {
  const id = /^\/roleplay\/([0-9a-f-]{36})/.exec(props.path)?.[1];
  return id ? <Session key={id} id={id} /> : <Picker />;
}

const PRODUCTS: Record<string, string> = {
  vsc: "Service contract",
  gap: "GAP",
  tire_wheel: "Tire & wheel",
  appearance_protection: "Appearance protection",
  prepaid_maintenance: "Prepaid maintenance",
  key_replacement: "Key replacement",
  theft_protection: "Theft protection",
  menu: "Whole menu",
};

function Picker() {
  const { client } = useSession();
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [product, setProduct] = useState("");
  const [difficulty, setDifficulty] = useState("");
  const [language, setLanguage] = useState("en");

  async function load() {
    setError(null);
    try {
      setScenarios(await everyItem<Scenario>(client, "/v1/scenarios"));
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, []);

  async function start(scenario: Scenario) {
    setError(null);
    try {
      const created = await client.request<{ id: string }>("POST", "/v1/conversations", {
        mode: "roleplay",
        scenario_id: scenario.id,
        language,
      });
      navigate(`/roleplay/${created.id}`);
    } catch (caught) {
      setError(caught);
    }
  }

  const shown = scenarios.filter(
    (s) =>
      (!product || s.product === product) && (!difficulty || String(s.difficulty) === difficulty),
  );
  return (
    <section class="panel">
      <h1>Roleplay</h1>
      <p>
        Pick a customer to practise on. Adam plays the customer; end the session for a scorecard.
      </p>
      <div class="filters">
        <label for="product">Product</label>
        <select id="product" value={product} onChange={(e) => setProduct(e.currentTarget.value)}>
          <option value="">All</option>
          {Object.entries(PRODUCTS).map(([value, name]) => (
            <option key={value} value={value}>
              {name}
            </option>
          ))}
        </select>
        <label for="difficulty">Difficulty</label>
        <select
          id="difficulty"
          value={difficulty}
          onChange={(e) => setDifficulty(e.currentTarget.value)}
        >
          <option value="">All</option>
          <option value="1">1 (cooperative)</option>
          <option value="2">2</option>
          <option value="3">3 (hostile)</option>
        </select>
        <label for="language">Language</label>
        <select id="language" value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
          <option value="en">English</option>
          <option value="es">Español</option>
        </select>
      </div>
      <ErrorMessage error={error} onRetry={load} />
      <ul class="scenarios">
        {shown.map((s) => (
          <li key={s.id} class="scenario">
            <h2>{s.title}</h2>
            <p class="muted">
              {PRODUCTS[s.product] ?? s.product} · difficulty {s.difficulty} ·{" "}
              {s.built_in ? "library" : "your dealership"} · {s.persona.name}
            </p>
            <p>{s.persona.description}</p>
            <button type="button" class="primary" onClick={() => start(s)}>
              Practise<span class="visually-hidden"> {s.title}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Session(props: { id: string }) {
  const { client } = useSession();
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [ending, setEnding] = useState(false);
  const [scenario, setScenario] = useState<Scenario | null>(null);
  const scenarioId = detail?.scenario_id ?? null;
  useEffect(() => {
    if (scenarioId === null) return;
    // Naming the scenario is a courtesy: a failed read leaves the plain heading.
    client
      .request<Scenario>("GET", `/v1/scenarios/${encodeURIComponent(scenarioId)}`)
      .then(setScenario)
      .catch(() => setScenario(null));
  }, [scenarioId]);

  async function load() {
    setError(null);
    try {
      setDetail(await client.request<ConversationDetail>("GET", `/v1/conversations/${props.id}`));
    } catch (caught) {
      setError(caught);
    }
  }
  useEffect(() => {
    void load();
  }, [props.id]);

  async function end() {
    setEnding(true);
    setError(null);
    try {
      await client.request("POST", `/v1/conversations/${props.id}/complete`);
      await load();
    } catch (caught) {
      setError(caught);
    } finally {
      setEnding(false);
    }
  }

  if (!detail) return <ErrorMessage error={error} onRetry={load} />;
  if (detail.completed_at)
    return <ScorecardView conversationId={detail.id} messages={detail.messages} />;
  return (
    <section class="roleplay">
      <div class="row spread">
        <h1>{scenario ? `Roleplay: ${scenario.title}` : "Roleplay"}</h1>
        <button type="button" class="primary" disabled={ending} onClick={end}>
          End session
        </button>
      </div>
      <p class="muted">
        You are the F&amp;I manager; the customer
        {scenario ? `, ${scenario.persona.name},` : ""} speaks when you do.
      </p>
      <ErrorMessage error={error} />
      <ConversationView id={props.id} who="Customer" />
    </section>
  );
}
