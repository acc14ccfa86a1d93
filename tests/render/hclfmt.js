// Formats HCL with the hclwrite formatter `terraform fmt` uses (@cdktf/hcl-tools).
// stdin: a JSON object {path: source}; stdout: a JSON object {path: formatted source}.
// Run with NODE_PATH pointing at .ci/node_modules; one process formats every file.
"use strict";
const { format } = require("@cdktf/hcl-tools");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const files = JSON.parse(input);
  const out = {};
  for (const path of Object.keys(files).sort()) {
    try {
      out[path] = await format(files[path]);
    } catch (err) {
      out[path] = { error: String(err && err.message ? err.message : err) };
    }
  }
  process.stdout.write(JSON.stringify(out));
});
