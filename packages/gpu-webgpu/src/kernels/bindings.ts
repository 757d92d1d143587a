// Bindings declared once: each kernel kind has a table of its bindings (number and access), its
// generator writes the WGSL declarations from it, and the executor builds the bind group layout
// and binds buffers by name from the same table. No binding number appears anywhere else.

/** How a kernel reads a binding. */
export type Access = 'uniform' | 'read' | 'read_write';

/** One binding of a kernel: its number in group 0 and how the kernel reads it. */
export interface Binding {
  binding: number;
  access: Access;
}

/** A kernel kind's bindings, by the WGSL variable name each is declared as. */
export type BindingTable = Readonly<Record<string, Binding>>;

/** A generated kernel: its WGSL, and the bindings it declares (its bind group layout). */
export interface Kernel {
  code: string;
  layout: BindingTable;
}

/** The step uniform and the step data, bindings 0 and 1 of every step kernel. */
export const STEP_BINDINGS = {
  step: { binding: 0, access: 'uniform' },
  step_data: { binding: 1, access: 'read' },
} as const satisfies BindingTable;

/**
 * Declarations from `table` (bind group `group`) for one generated kernel: `decl(name, type)` writes a binding's WGSL
 * declaration, `use(name)` gives its number for a declaration written elsewhere (a weight's);
 * both put it in the kernel's layout, and `kernel(code)` returns the code with that layout.
 */
export function declarations<T extends BindingTable>(table: T, group = 0) {
  const layout: Record<string, Binding> = {};
  return {
    decl(name: keyof T & string, type: string): string {
      const b = table[name]!;
      layout[name] = b;
      const space = b.access === 'uniform' ? 'uniform' : `storage, ${b.access}`;
      return `@group(${group}) @binding(${b.binding}) var<${space}> ${name}: ${type};`;
    },
    use(name: keyof T & string): number {
      layout[name] = table[name]!;
      return table[name]!.binding;
    },
    kernel(code: string): Kernel {
      return { code, layout: { ...layout } };
    },
  };
}

/** The bind group layout entries of a kernel (or of a whole table), in binding order. */
export function layoutEntries(
  kernel: Kernel | { layout: BindingTable },
): GPUBindGroupLayoutEntry[] {
  return Object.values(kernel.layout)
    .sort((a, b) => a.binding - b.binding)
    .map((b) => ({
      binding: b.binding,
      visibility: 4 /* GPUShaderStage.COMPUTE */,
      buffer: {
        type:
          b.access === 'uniform'
            ? 'uniform'
            : b.access === 'read'
              ? 'read-only-storage'
              : 'storage',
      },
    }));
}

/**
 * The bind group entries of a kernel from buffers by binding name.
 * @returns the entries, or what is wrong: a binding the kernel declares and no buffer is given
 *   for, or a buffer given under a name the kernel does not declare
 */
export function bindGroupEntries(
  kernel: Kernel,
  buffers: Readonly<Record<string, GPUBuffer>>,
): GPUBindGroupEntry[] | string {
  const entries: GPUBindGroupEntry[] = [];
  for (const [name, b] of Object.entries(kernel.layout)) {
    const buffer = buffers[name];
    if (!buffer) return `no buffer for "${name}"`;
    entries.push({ binding: b.binding, resource: { buffer } });
  }
  for (const name of Object.keys(buffers)) {
    if (!(name in kernel.layout) && !(name in STEP_BINDINGS)) {
      return `a buffer for "${name}", which the kernel does not declare`;
    }
  }
  return entries;
}
