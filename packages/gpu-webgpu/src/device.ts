/**
 * Features the kernels use when the adapter has them. None is required: each has a fallback path,
 * and {@link GpuDevice.features} says which were granted.
 */
export const OPTIONAL_FEATURES: readonly GPUFeatureName[] = [
  'shader-f16',
  'subgroups',
  'timestamp-query',
];

/**
 * Limits raised to the adapter's maximum: model weights need large storage bindings, and tiled
 * kernels need workgroup memory and invocations.
 */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** Options of `requestGpuDevice`. */
export interface RequestGpuDeviceOptions {
  /** The `GPU` to use instead of `navigator.gpu` or Dawn (for tests, workers, custom bindings). */
  gpu?: GPU;
  /** Adapter preference; default `'high-performance'`. */
  powerPreference?: GPUPowerPreference;
  /** Features the caller cannot do without; a missing one is an error. Default none. */
  requiredFeatures?: readonly GPUFeatureName[];
  /** Features requested when present. Default {@link OPTIONAL_FEATURES}. */
  optionalFeatures?: readonly GPUFeatureName[];
}

/** What the adapter says of itself, as plain data. */
export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Whether this is a fallback (software) adapter, when the implementation says. */
  isFallbackAdapter: boolean;
}

/** A WebGPU device with the facts a runtime needs to plan kernels. */
export interface GpuDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: GpuAdapterSummary;
  /** Features granted to the device. */
  features: ReadonlySet<string>;
  /** Limits granted to the device. */
  limits: GPUSupportedLimits;
}

/** Stable codes of {@link GpuUnavailableError}. */
export type GpuUnavailableCode = 'GPU_NO_API' | 'GPU_NO_ADAPTER' | 'GPU_MISSING_FEATURE';

/** No usable WebGPU device: no API, no adapter, or a required feature is missing. */
export class GpuUnavailableError extends Error {
  override readonly name = 'GpuUnavailableError';
  readonly code: GpuUnavailableCode;

  constructor(message: string, code: GpuUnavailableCode, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `navigator.gpu` when this runtime has one (browsers, Deno, workers). */
export function navigatorGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? undefined;
}

/** What to do about a missing adapter, where Dawn runs (Node, Deno): a software Vulkan driver. */
export const NODE_NO_ADAPTER_HINT =
  'On Linux without a GPU, install Mesa lavapipe (Debian 12: mesa-vulkan-drivers from ' +
  'bookworm-backports), or use the CPU executor';

/** What to do about a missing adapter in a browser. */
export const BROWSER_NO_ADAPTER_HINT =
  'This browser has WebGPU but gave no adapter (blocked GPU, or WebGPU disabled in its settings); ' +
  'use the CPU executor';

/**
 * Requests an adapter and a device from `gpu`, with every optional feature the adapter has and
 * the limits kernels benefit from raised to the adapter's maximum. `noAdapterHint` ends the
 * message of a missing adapter (what to do about it where this runs).
 * @throws GpuUnavailableError `GPU_NO_ADAPTER` when no adapter is found, `GPU_MISSING_FEATURE`
 *   when a required feature is absent
 */
export async function requestGpuDeviceFrom(
  gpu: GPU,
  options: RequestGpuDeviceOptions = {},
  noAdapterHint?: string,
): Promise<GpuDevice> {
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new GpuUnavailableError(
      `no WebGPU adapter found${noAdapterHint ? `. ${noAdapterHint}` : ''}`,
      'GPU_NO_ADAPTER',
    );
  }
  const required = options.requiredFeatures ?? [];
  const missing = required.filter((feature) => !adapter.features.has(feature));
  if (missing.length > 0) {
    throw new GpuUnavailableError(
      `the WebGPU adapter lacks required feature(s): ${missing.join(', ')}`,
      'GPU_MISSING_FEATURE',
    );
  }
  const optional = (options.optionalFeatures ?? OPTIONAL_FEATURES).filter((feature) =>
    adapter.features.has(feature),
  );
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({
    requiredFeatures: [...new Set([...required, ...optional])],
    requiredLimits,
  });
  const info = adapter.info;
  return {
    device,
    adapter,
    adapterInfo: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      isFallbackAdapter: Boolean(
        (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter,
      ),
    },
    features: new Set(device.features),
    limits: device.limits,
  };
}
