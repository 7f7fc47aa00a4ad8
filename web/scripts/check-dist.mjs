// Fails the build unless dist/ holds only what fleetlens-hub will serve: plain files directly inside it,
// names of [A-Za-z0-9._-] not starting with '.', at most 4 MiB each (HUB_API_MAX_WEB_FILE), with an
// index.html, and no reference in index.html to a file that is not there.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const dist = new URL("../dist/", import.meta.url).pathname;
const MAX = 4 << 20;
const problems = [];
let total = 0;
const names = readdirSync(dist);
for (const name of names) {
  const st = statSync(join(dist, name));
  if (!st.isFile()) problems.push(`${name}: not a plain file (the hub serves no subfolders)`);
  else if (st.size > MAX) problems.push(`${name}: ${st.size} bytes, over the hub's 4 MiB limit`);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) problems.push(`${name}: name the hub will not serve`);
  total += st.size;
}
if (!names.includes("index.html")) problems.push("index.html missing");
else {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const ref = m[1];
    if (/^(https?:)?\/\//.test(ref)) problems.push(`index.html loads ${ref} from outside the hub`);
    else if (!ref.startsWith("data:") && !ref.startsWith("#") && !names.includes(ref.replace(/^\.?\//, "")))
      problems.push(`index.html refers to ${ref}, which is not in dist/`);
  }
}
if (problems.length) {
  console.error("dist/ is not servable by fleetlens-hub:\n  " + problems.join("\n  "));
  process.exit(1);
}
console.log(`dist/: ${names.length} flat files, ${(total / 1024).toFixed(1)} KiB in all`);
