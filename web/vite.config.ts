import preact from "@preact/preset-vite";
import { defineConfig } from "vitest/config";

// `npm run build` writes web/dist, which the API serves at `/`. `npm run dev` serves the
// sources with the API (`just run`, port 8000) proxied, for front-end work.
const api = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets", sourcemap: false },
  server: { proxy: { "/v1": api, "/health": api } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
