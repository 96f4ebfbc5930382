// Bundles the demo page's browser code (web/room.js, JSX, with React,
// @liveblocks/react and @liveblocks/react-ui) into OUT_DIR/room.js and its
// styles into OUT_DIR/room.css: the page loads nothing from any other origin.
// make run and the demo's test run it; the output is not committed.
//
//   node deploy/demo/build.mjs OUT_DIR
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const outDir = process.argv[2];
if (!outDir) {
  console.error("usage: node deploy/demo/build.mjs OUT_DIR");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [path.join(here, "web", "room.js")],
  outfile: path.join(outDir, "room.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  loader: { ".js": "jsx" },
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
