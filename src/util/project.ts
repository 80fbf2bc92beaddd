import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The project's root folder: SOUNDTRACK_ROOT if set, else the nearest folder at or above the
 * working directory whose package.json is named "soundtrack-lab". (npm scripts, tests and the
 * notebook kernel all run from the root; code imported by notebooks cannot use import.meta.)
 */
export function projectRoot(): string {
  const env = process.env.SOUNDTRACK_ROOT;
  if (env) return path.resolve(env);
  let dir = process.cwd();
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'soundtrack-lab') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function projectVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
