// The bind group layout of a generated kernel, read from the bindings it declares.
/**
 * The bind group layout a shader declares (`@group(0) @binding(n) var<uniform | storage, …>`), so
 * that every binding a kernel declares is in its layout whether or not this variant reads it.
 */
export function bindGroupLayoutEntries(code: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (const m of code.matchAll(
    /@binding\((\d+)\)\s+var<(uniform|storage,\s*read_write|storage,\s*read)>/g,
  )) {
    const type: GPUBufferBindingType =
      m[2] === 'uniform'
        ? 'uniform'
        : m[2]!.endsWith('read_write')
          ? 'storage'
          : 'read-only-storage';
    entries.push({ binding: Number(m[1]), visibility: 4 /* COMPUTE */, buffer: { type } });
  }
  return entries;
}
