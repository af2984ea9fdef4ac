/** The shell: who is signed in, navigation between pages, and the router. */
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { ApiClient, browserTokenStore } from "./api/client";
import type { Me } from "./api/types";
import { AssignmentsPage } from "./pages/Assignments";
import { ChatPage } from "./pages/Chat";
import { DocumentsPage } from "./pages/Documents";
import { GapsPage } from "./pages/Gaps";
import { ReportsPage } from "./pages/Reports";
import { RoleplayPage } from "./pages/Roleplay";
import { SignInPage } from "./pages/SignIn";
import { TeamPage } from "./pages/Team";
import { UsagePage } from "./pages/Usage";

export interface Session {
  client: ApiClient;
  me: Me;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}

export function navigate(path: string): void {
  if (location.pathname !== path) history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener("popstate", update);
    return () => removeEventListener("popstate", update);
  }, []);
  return path;
}

const client = new ApiClient({ store: browserTokenStore() });

export function isAdmin(me: Me): boolean {
  return me.role === "dealership_admin" || me.role === "super_admin";
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(client.signedIn);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    client.onSignedOut = () => {
      setMe(null);
      setNotice("Your session has ended. Please sign in again.");
      navigate("/sign-in");
    };
    if (client.signedIn) {
      client
        .request<Me>("GET", "/v1/me")
        .then(setMe)
        .catch(() => setMe(null))
        .finally(() => setChecking(false));
    }
  }, []);

  if (checking) return <p class="loading">Loading…</p>;
  if (!me) {
    return (
      <SignInPage
        client={client}
        notice={notice}
        onSignedIn={(who) => {
          setNotice(null);
          setMe(who);
          if (path === "/" || path === "/sign-in") navigate("/chat");
        }}
      />
    );
  }
  const session = { client, me };
  let page = <ChatPage path={path} />;
  let title = "Chat with Adam";
  if (path.startsWith("/documents")) {
    page = isAdmin(me) ? <DocumentsPage /> : <Forbidden />;
    title = "Documents";
  } else if (path.startsWith("/reports")) {
    page = isAdmin(me) ? <ReportsPage /> : <Forbidden />;
    title = "Answer reports";
  } else if (path.startsWith("/roleplay")) {
    page = <RoleplayPage path={path} />;
    title = "Roleplay";
  } else if (path.startsWith("/assignments")) {
    page = <AssignmentsPage />;
    title = isAdmin(me) ? "Assignments" : "My assignments";
  } else if (path.startsWith("/team")) {
    page = isAdmin(me) ? <TeamPage path={path} /> : <Forbidden />;
    title = "Team progress";
  } else if (path.startsWith("/gaps")) {
    page = isAdmin(me) ? <GapsPage /> : <Forbidden />;
    title = "Knowledge gaps";
  } else if (path.startsWith("/usage")) {
    page = isAdmin(me) ? <UsagePage /> : <Forbidden />;
    title = "Usage";
  }
  document.title = `${title} · AvatarAdam`;
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">AvatarAdam</span>
        <nav aria-label="Main">
          <NavLink href="/chat" current={path === "/" || path.startsWith("/chat")}>
            Chat
          </NavLink>
          <NavLink href="/roleplay" current={path.startsWith("/roleplay")}>
            Roleplay
          </NavLink>
          <NavLink href="/assignments" current={path.startsWith("/assignments")}>
            {isAdmin(me) ? "Assignments" : "My assignments"}
          </NavLink>
          {isAdmin(me) && (
            <>
              <NavLink href="/team" current={path.startsWith("/team")}>
                Team progress
              </NavLink>
              <NavLink href="/gaps" current={path.startsWith("/gaps")}>
                Knowledge gaps
              </NavLink>
              <NavLink href="/documents" current={path.startsWith("/documents")}>
                Documents
              </NavLink>
              <NavLink href="/reports" current={path.startsWith("/reports")}>
                Reports
              </NavLink>
              <NavLink href="/usage" current={path.startsWith("/usage")}>
                Usage
              </NavLink>
            </>
          )}
        </nav>
        <span class="who">{me.email}</span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await client.signOut();
            setMe(null);
            navigate("/sign-in");
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">{page}</main>
    </SessionContext.Provider>
  );
}

function NavLink(props: { href: string; current: boolean; children: string }) {
  return (
    <a
      href={props.href}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

function Forbidden() {
  return (
    <section class="panel">
      <h1>Not available</h1>
      <p role="alert">Only your dealership's admins can open this page.</p>
    </section>
  );
}
