/**
 * Keeps `npm ci` working when the registry lacks some platform binaries of a package we use. npm leaves an
 * optional dependency it cannot resolve out of package-lock.json, and `npm ci` then refuses the lock as out
 * of sync ("Missing: … from lock file"). This adds a stub entry (version, optional, os, cpu) for each such
 * package, so `npm ci` sees it, finds it is for another platform, and never fetches it. Run after any
 * `npm install` that rewrites the lock: `npm run lock`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const lockUrl = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockUrl, 'utf8')) as {
  packages: Record<
    string,
    { version?: string; optionalDependencies?: Record<string, string>; os?: string[]; cpu?: string[] }
  >;
};

/** Platform of an optional binary package, from its name. */
function platformOf(name: string): { os: string[]; cpu: string[] } | undefined {
  const os = /(^|[-/])(mac|darwin)/.test(name)
    ? 'darwin'
    : /(^|[-/])win/.test(name)
      ? 'win32'
      : /linux/.test(name)
        ? 'linux'
        : undefined;
  const cpu = /arm64/.test(name)
    ? 'arm64'
    : /armv7l/.test(name)
      ? 'arm'
      : /riscv64/.test(name)
        ? 'riscv64'
        : /(x64|amd64)/.test(name)
          ? 'x64'
          : undefined;
  if (os === undefined || cpu === undefined) return undefined;
  return { os: [os], cpu: [cpu] };
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `${path === '' ? '' : `${path}/`}node_modules/${dep}`;
    if (lock.packages[where] !== undefined || lock.packages[`node_modules/${dep}`] !== undefined) continue;
    const platform = platformOf(dep);
    if (platform === undefined) continue;
    lock.packages[`node_modules/${dep}`] = { version, optional: true, ...platform } as never;
    added++;
  }
}
writeFileSync(lockUrl, `${JSON.stringify(lock, null, 2)}\n`);
process.stderr.write(`lock-platform-stubs: ${added} stub(s) added\n`);
