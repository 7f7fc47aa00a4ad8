// Vite build for the FleetLens console. The hub serves only plain files directly inside its web_dir
// whose names are [A-Za-z0-9._-] and do not start with '.', so every output file lands flat in dist/
// (no assets/ folder) under a sanitized, hashed name; scripts/check-dist.mjs verifies that after the build.
import { defineConfig } from "vite";

const flatName = (name) => name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._]+/, "") || "chunk";

export default defineConfig({
  base: "./", // relative URLs: works at / and behind a reverse proxy under a prefix
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "",
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        entryFileNames: "[name]-[hash].js",
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: "[name]-[hash][extname]",
        sanitizeFileName: flatName,
      },
    },
  },
  server: {
    // `npm run dev` proxies the API to a running hub (FL_HUB_URL, default the demo's address).
    proxy: { "/v1": process.env.FL_HUB_URL || "http://127.0.0.1:8080" },
  },
});
