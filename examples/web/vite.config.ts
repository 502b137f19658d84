// Builds the browser example into examples/web/dist: npx vite build examples/web
// Open dist/index.html from any static server, with ?gateway=http://127.0.0.1:8080 (the gateway's
// server.cors.allowed_origins must name the page's origin).
import { fileURLToPath } from "node:url";
import { defaultClientConditions, defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Relative asset URLs: the page works from any path.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true },
  // @weaver-gateway/client from its sources in packages/client; the "browser" condition, among
  // Vite's defaults for a page, picks its browser entry.
  resolve: { conditions: ["@weaver-gateway/source", ...defaultClientConditions] },
});
