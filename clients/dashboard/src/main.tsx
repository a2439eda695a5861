/** Start: config.json, then the sign-in mode it names, then the app. */
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { OidcAuth, browserEnvironment } from "./auth/oidc";
import { sessionStore } from "./auth/storage";
import { TokenAuth } from "./auth/token-auth";
import { loadConfig } from "./config";
import { initTheme } from "./lib/theme";
import "./styles.css";

initTheme();
const root = createRoot(document.getElementById("root")!);

loadConfig().then(
  (config) => {
    const storage = sessionStore();
    // The token leaves the address bar before anything else runs (history, screenshots, shoulders).
    const auth = config.auth.mode === "token" ? TokenAuth.fromLocation(location, history, storage) : new OidcAuth(config.auth, browserEnvironment(storage));
    root.render(<App config={config} auth={auth} />);
  },
  (error: unknown) => {
    root.render(
      <main className="signin">
        <div className="signin-card" role="alert" data-testid="config-error">
          <h1>The dashboard cannot start</h1>
          <p>{error instanceof Error ? error.message : String(error)}</p>
          <p className="muted small">It reads its settings from config.json next to this page (the local stack and the deployed stack both serve one).</p>
        </div>
      </main>,
    );
  },
);
