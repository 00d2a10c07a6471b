import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendInitError } from '../errors';
import { navigatorGpu } from '../backends';
import { initNodeBackend } from './index';

// Own process: nothing has installed navigator.gpu here.
const saved = process.env['VK_ICD_FILENAMES'];
beforeAll(() => {
  process.env['VK_ICD_FILENAMES'] = '/nonexistent/vk_icd.json';
});
afterAll(() => {
  if (saved === undefined) delete process.env['VK_ICD_FILENAMES'];
  else process.env['VK_ICD_FILENAMES'] = saved;
});

describe('initNodeBackend(webgpu) without a usable Vulkan driver', () => {
  it('VK_ICD_FILENAMES=/nonexistent/vk_icd.json: BackendInitError "webgpu: no GPU adapter (… /nonexistent/vk_icd.json …)", no navigator.gpu', async () => {
    const e = await initNodeBackend('webgpu').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BackendInitError);
    expect((e as BackendInitError).message).toMatch(/^webgpu: no GPU adapter \(.*\/nonexistent\/vk_icd\.json.*\)$/);
    expect(navigatorGpu()).toBeUndefined();
  }, 30_000);
});
