import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The wasm builds of the DICOM pixel decoders (JPEG baseline, JPEG-LS, JPEG 2000) that
 * @tomosort/dicom imports on first use; in the worker they load their `.wasm` from beside the
 * worker bundle, by these names.
 */
export const DECODER_WASM = {
  '@cornerstonejs/codec-libjpeg-turbo-8bit': 'libjpegturbowasm_decode.wasm',
  '@cornerstonejs/codec-charls': 'charlswasm_decode.wasm',
  '@cornerstonejs/codec-openjpeg': 'openjpegwasm_decode.wasm',
} as const;

/** The bundles OHIF imports at run time, by file name under the assets folder. */
export const BUNDLES = { extension: 'extension.mjs', mode: 'mode.mjs', worker: 'worker.mjs', replica: 'replica.mjs' } as const;

/**
 * Builds into `outDir` the extension and the mode (ES modules OHIF loads with a native import();
 * React inside, the host's is not exposed), the training worker (tfjs, our packages) and
 * `wasm/` with tfjs' wasm binaries (the worker's CPU fallback), `itk/` with ITK's contour
 * interpolation pipeline (the quality estimate's comparison), and beside the worker the DICOM
 * decoders' wasm files ({@link DECODER_WASM}).
 */
export async function buildExtensionBundles(outDir: string): Promise<void> {
  // Loaded on use: only the viewer command needs the bundler.
  const { build } = await import('esbuild');
  const common = {
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  } as const;
  await build({
    ...common,
    entryPoints: {
      extension: require.resolve('@tomosort/ohif-extension/extension'),
      mode: require.resolve('@tomosort/ohif-extension/mode'),
    },
  });
  await build({
    ...common,
    entryPoints: { worker: require.resolve('@tomosort/ohif-extension/worker'), replica: require.resolve('@tomosort/ohif-extension/replica') },
    plugins: [
      {
        // The packages' Node-only corners (sample files, folders) are never reached in a worker:
        // their node: imports become empty modules instead of failing the build.
        name: 'node-builtins-empty',
        setup(b) {
          b.onResolve({ filter: /^(node:|fs$|path$|os$|crypto$|module$|url$|child_process$|worker_threads$|zlib$|stream$)/ }, (args) => ({ path: args.path, namespace: 'node-empty' }));
          b.onLoad({ filter: /.*/, namespace: 'node-empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
        },
      },
    ],
  });
  const backendDir = dirname(dirname(require.resolve('@tomosort/ohif-extension/worker')));
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [backendDir, dirname(dirname(require.resolve('@tomosort/backend')))] }));
  mkdirSync(join(outDir, 'wasm'), { recursive: true });
  for (const f of readdirSync(join(wasmDir, 'dist')).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDir, 'dist', f), join(outDir, 'wasm', f));
  const extensionDir = dirname(require.resolve('@tomosort/ohif-extension/ids'));
  const pipelines = join(dirname(require.resolve('@itk-wasm/morphological-contour-interpolation', { paths: [extensionDir] })), 'pipelines');
  mkdirSync(join(outDir, 'itk'), { recursive: true });
  for (const f of readdirSync(pipelines)) copyFileSync(join(pipelines, f), join(outDir, 'itk', f));
  const dicomDir = dirname(require.resolve('@tomosort/dicom', { paths: [dirname(require.resolve('@tomosort/pacs'))] }));
  for (const [pkg, file] of Object.entries(DECODER_WASM)) copyFileSync(require.resolve(`${pkg}/decodewasm`, { paths: [dicomDir] }), join(outDir, file));
}
