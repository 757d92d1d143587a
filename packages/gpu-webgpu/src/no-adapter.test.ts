import { describe, expect, it } from 'vitest';
import { requestGpuDevice as requestInBrowser } from './browser.js';
import { GpuUnavailableError, requestGpuDevice } from './index.js';

// Its own file: the browser entry sets the executor's default device when it loads.
describe('a GPU with no adapter', () => {
  const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
  const failure = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (e: unknown) => e as GpuUnavailableError,
    );

  it('is GPU_NO_ADAPTER with the driver advice in Node and the browser advice from the browser entry', async () => {
    const node = await failure(requestGpuDevice({ gpu: noAdapter }));
    expect(node).toBeInstanceOf(GpuUnavailableError);
    expect(node).toMatchObject({ code: 'GPU_NO_ADAPTER' });
    expect(node?.message).toMatch(
      /^no WebGPU adapter found\. On Linux without a GPU, install Mesa lavapipe/,
    );
    const page = await failure(requestInBrowser({ gpu: noAdapter }));
    expect(page).toMatchObject({ code: 'GPU_NO_ADAPTER' });
    expect(page?.message).toMatch(
      /^no WebGPU adapter found\. This browser has WebGPU but gave no adapter/,
    );
    expect(page?.message).not.toMatch(/lavapipe|Debian/);
  });
});
