import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

// The client library's modules must not import each other in a cycle, not
// even for types (issue 16): shared types live in contracts.ts. This reads
// the sources, so type-only imports, which compile away, count too.
const dir = new URL("../../../src/herald/", import.meta.url);

function imports(file: string): string[] {
  const src = readFileSync(new URL(file, dir), "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"\.\/([\w-]+)\.js"/gms)) out.push(`${m[1]}.ts`);
  return out;
}

/** cycle returns one import cycle of graph, or null. */
function cycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

test("the cycle finder finds a cycle (the check can fail)", () => {
  assert.deepEqual(cycle(new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]]])), ["a.ts", "b.ts", "c.ts", "a.ts"]);
  assert.equal(cycle(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), null);
});

test("web/src/herald has no import cycle, type-only imports included", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("realtime.ts") && files.includes("contracts.ts"), `read ${files.join(", ")}`);
  const graph = new Map(files.map((f) => [f, imports(f)]));
  assert.ok((graph.get("realtime.ts") ?? []).includes("session.ts"), "the parser sees realtime.ts importing session.ts");
  assert.equal(cycle(graph), null, `import cycle: ${cycle(graph)?.join(" → ")}`);
});
