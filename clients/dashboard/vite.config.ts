/// <reference types="node" />
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/** `npm run dev` (hot reload) against a local stack (`make dev`, or REALTIME_STACK_URL): the
 * dev server proxies the WebSocket and REST paths to it and answers config.json with relative
 * URLs, so the page, the socket and the API share the dev server's origin. */
const stack = process.env.REALTIME_STACK_URL ?? "http://127.0.0.1:8000";

function devConfigJson(): Plugin {
  return {
    name: "realtime-dev-config-json",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use("/config.json", (_request, response) => {
        response.setHeader("Content-Type", "application/json");
        response.setHeader("Cache-Control", "no-store");
        response.end(JSON.stringify({ wsUrl: "/ws", restUrl: "/api/admin/realtime", auth: { mode: "token" } }));
      });
    },
  };
}

export default defineConfig({
  // Relative URLs: the build works at any path (the local stack's `/`, a CloudFront origin path).
  base: "./",
  plugins: [react(), devConfigJson()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No data: URIs and no inline scripts: the page runs under `script-src 'self'; style-src 'self'`.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/ws": { target: stack.replace(/^http/, "ws"), ws: true },
      "/api": { target: stack },
    },
  },
});
