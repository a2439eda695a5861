/** Light and dark: the system's preference by default, or the operator's choice (kept in
 * localStorage). The resolved theme is set on <html data-theme> for the CSS and the charts. */
import { ValueStore } from "./store";

export type ThemePreference = "system" | "light" | "dark";
export type Theme = "light" | "dark";

const KEY = "realtime-dashboard.theme";
const query = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : undefined;

function readPreference(): ThemePreference {
  try {
    const saved = localStorage.getItem(KEY);
    return saved === "light" || saved === "dark" ? saved : "system";
  } catch {
    return "system";
  }
}

function resolve(preference: ThemePreference): Theme {
  if (preference !== "system") return preference;
  return query?.matches ? "dark" : "light";
}

export const theme = new ValueStore<{ preference: ThemePreference; theme: Theme }>({ preference: "system", theme: "light" });

function apply(preference: ThemePreference): void {
  const resolved = resolve(preference);
  if (typeof document !== "undefined") {
    document.documentElement.dataset.theme = resolved;
    document.documentElement.style.colorScheme = resolved;
  }
  theme.set({ preference, theme: resolved });
}

export function initTheme(): void {
  apply(readPreference());
  query?.addEventListener("change", () => apply(theme.get().preference));
}

export function setThemePreference(preference: ThemePreference): void {
  try {
    if (preference === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, preference);
  } catch {
    // not kept across reloads: fine
  }
  apply(preference);
}

export const NEXT_PREFERENCE: Record<ThemePreference, ThemePreference> = { system: "light", light: "dark", dark: "system" };
