#!/usr/bin/env node
// Summarises one run of the MCP conformance suite (the `checks.json` files that
// `conformance server -o <dir>` writes, one `server-<scenario>-<timestamp>/` folder per scenario)
// into summary.txt (one line per scenario) and junit.xml (for CI test reports).
// Usage: node test/conformance/report.mjs <results-dir> <expected-failures.txt> <out-prefix> [suite-name]
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [resultsDir, allowListPath, outPrefix, suiteName = 'mcp-conformance'] = process.argv.slice(2);
if (!resultsDir || !allowListPath || !outPrefix) {
  console.error(
    'usage: report.mjs <results-dir> <expected-failures.txt> <out-prefix> [suite-name]',
  );
  process.exit(2);
}

const expected = new Set(
  readFileSync(allowListPath, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean),
);

const scenarios = readdirSync(resultsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name.startsWith('server-'))
  .map((entry) => {
    const name = entry.name.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
    const checks = JSON.parse(readFileSync(join(resultsDir, entry.name, 'checks.json'), 'utf8'));
    const count = (status) => checks.filter((check) => check.status === status).length;
    const failed = count('FAILURE');
    const warnings = count('WARNING');
    const status = failed > 0 ? 'FAIL' : warnings > 0 ? 'WARN' : 'PASS';
    const verdict =
      status === 'PASS'
        ? expected.has(name)
          ? 'STALE-ALLOWLIST'
          : 'ok'
        : expected.has(name)
          ? 'expected'
          : 'UNEXPECTED';
    const problems = checks
      .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
      .map((check) => `${check.status} ${check.id}: ${check.errorMessage ?? check.description}`);
    return { name, status, verdict, passed: count('SUCCESS'), failed, warnings, problems };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

const lines = scenarios.map(
  (s) =>
    `${s.status.padEnd(4)} ${s.verdict.padEnd(15)} ${s.name.padEnd(30)} ` +
    `${s.passed} passed, ${s.failed} failed, ${s.warnings} warnings` +
    (s.problems.length ? `\n       ${s.problems.join('\n       ')}` : ''),
);
writeFileSync(`${outPrefix}summary.txt`, `${lines.join('\n')}\n`);

const xml = (text) =>
  String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
const cases = scenarios.map((s) => {
  const open = `    <testcase classname="${xml(suiteName)}" name="${xml(s.name)}">`;
  if (s.status === 'PASS' && s.verdict === 'ok') return `${open}</testcase>`;
  if (s.verdict === 'expected')
    return `${open}<skipped message="expected failure (allow-listed)"/></testcase>`;
  const message =
    s.verdict === 'STALE-ALLOWLIST'
      ? 'passes but is allow-listed: remove it'
      : 'unexpected failure';
  return `${open}<failure message="${xml(message)}">${xml(s.problems.join('\n'))}</failure></testcase>`;
});
const failures = scenarios.filter(
  (s) => s.verdict === 'UNEXPECTED' || s.verdict === 'STALE-ALLOWLIST',
).length;
const skipped = scenarios.filter((s) => s.verdict === 'expected').length;
writeFileSync(
  `${outPrefix}junit.xml`,
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="${xml(suiteName)}" ` +
    `tests="${scenarios.length}" failures="${failures}" skipped="${skipped}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`,
);
console.log(lines.join('\n'));
