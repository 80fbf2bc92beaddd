/**
 * CommonJS interop that works both under tsx/vitest (ESM: a CJS module's exports arrive as
 * `default`) and under the tslab kernel (CommonJS + esModuleInterop: a module flagged __esModule
 * arrives as itself, without `default`). Pick a named export from a namespace import either way.
 */
export function cjsExport<T>(ns: unknown, name: string): T {
  const direct = (ns as Record<string, unknown>)[name];
  if (direct !== undefined) return direct as T;
  const viaDefault = (ns as { default?: Record<string, unknown> }).default?.[name];
  if (viaDefault !== undefined) return viaDefault as T;
  throw new Error(`module has no export '${name}'`);
}
