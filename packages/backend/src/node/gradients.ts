import { createRequire } from 'node:module';
import { BackendError } from '../errors';
import { gradientsRegistered, registerGradients } from '../gradients';

const GRADIENTS_MODULE = '@tensorflow/tfjs-core/dist/register_all_gradients';

/**
 * Registers tfjs-core's gradient functions in Node. tfjs-core's CommonJS build (what Node loads
 * for `@tensorflow/tfjs-core`) has none, and its ES build cannot be imported by Node itself
 * (extension-less imports). Under tsx it loads through `require` (tsx compiles the ES syntax);
 * under vitest/vite through `import()`. Tries both, in that order. Idempotent.
 *
 * @throws BackendError when neither works (plain `node` without tsx or a bundler)
 */
export async function registerNodeGradients(): Promise<void> {
  if (gradientsRegistered()) return;
  let requireError: unknown;
  try {
    createRequire(import.meta.url)(GRADIENTS_MODULE);
  } catch (e) {
    requireError = e;
  }
  if (gradientsRegistered()) return;
  try {
    await registerGradients();
  } catch (e) {
    throw new BackendError(
      `could not register tfjs-core's gradients: require failed (${requireError instanceof Error ? requireError.message : String(requireError)}); ` +
        `import failed (${e instanceof Error ? e.message : String(e)}). Run under tsx or vitest.`,
      { cause: e },
    );
  }
}
