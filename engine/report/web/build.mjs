// Copies wavesurfer.js (the version package-lock.json pins) into ../static, where the engine serves it; the output
// is committed, so running the engine needs no Node. Run after changing the dependency: npm ci && npm run build
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";

const pkg = JSON.parse(readFileSync("node_modules/wavesurfer.js/package.json", "utf8"));
const files = { "wavesurfer.min.js": "dist/wavesurfer.min.js", "wavesurfer.LICENSE": "LICENSE" };
const manifest = { "wavesurfer.js": pkg.version, files: {} };
for (const [target, source] of Object.entries(files)) {
  copyFileSync(`node_modules/wavesurfer.js/${source}`, `../static/${target}`);
  manifest.files[target] = createHash("sha256").update(readFileSync(`../static/${target}`)).digest("hex");
}
writeFileSync("../static/VENDORED.json", JSON.stringify(manifest, null, 2) + "\n");
console.log(`wavesurfer.js ${pkg.version} → engine/report/static`);
