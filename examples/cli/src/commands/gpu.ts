import { requestGpuDevice } from '@x/gpu-webgpu';
import { Command } from 'commander';
import type { CliIo } from '../io.js';

/** `xinfer gpu`: the WebGPU adapter xinfer would run on, its features and key limits. */
export function gpuCommand(io: CliIo): Command {
  return new Command('gpu')
    .description('show the WebGPU adapter, its features and limits')
    .option('--json', 'print JSON instead of text')
    .action(async (options: { json?: boolean }) => {
      const gpu = await requestGpuDevice();
      try {
        const report = {
          adapter: gpu.adapterInfo,
          features: [...gpu.features].sort(),
          limits: {
            maxBufferSize: gpu.limits.maxBufferSize,
            maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
            maxComputeWorkgroupStorageSize: gpu.limits.maxComputeWorkgroupStorageSize,
            maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
          },
        };
        if (options.json) {
          io.out(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const { vendor, architecture, description } = report.adapter;
        const name = [vendor, architecture, description].filter(Boolean).join(' / ') || 'unknown';
        const lines = [
          `adapter   ${name}${report.adapter.isFallbackAdapter ? ' (fallback)' : ''}`,
          `features  ${report.features.join(', ')}`,
          ...Object.entries(report.limits).map(([k, v]) => `${k.padEnd(34)}${v}`),
        ];
        io.out(`${lines.join('\n')}\n`);
      } finally {
        gpu.device.destroy();
      }
    });
}
