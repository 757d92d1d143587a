import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A publishable workspace package. */
export interface WorkspacePackage {
  name: string;
  dir: string;
  /** Internal (`@x/*`) runtime dependencies. */
  internalDeps: string[];
}

/** Every non-private package under packages/. */
export function publishablePackages(): WorkspacePackage[] {
  const dir = join(ROOT, 'packages');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const pkgDir = join(dir, entry.name);
      const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
        dependencies?: Record<string, string>;
      };
      return {
        name: manifest.name,
        dir: pkgDir,
        private: manifest.private === true,
        internalDeps: Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@x/')),
      };
    })
    .filter((pkg) => !pkg.private)
    .map(({ private: _private, ...pkg }) => pkg);
}

/** `name` and all its internal dependencies, transitively. */
export function withInternalDeps(name: string, packages: WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const dep of byName.get(n)?.internalDeps ?? []) visit(dep);
  };
  visit(name);
  return [...seen];
}
