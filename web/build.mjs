// Builds dist/ from src/ and static/: the client library as an ES module
// (herald.js), one bundle per page (chat.js, doctor.js), the HTML and the
// stylesheet. The output depends only on the sources and the locked
// esbuild version, so check-dist.sh can compare it with the committed one.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";

const out = new URL("./dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { herald: "src/herald/index.ts", chat: "src/pages/chat.ts", doctor: "src/pages/doctor.ts" },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  charset: "utf8",
  legalComments: "none",
  minify: false,
  sourcemap: false,
  logLevel: "warning",
});

for (const f of readdirSync("static")) cpSync(`static/${f}`, `${out}${f}`);
