import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The bundles OHIF imports at run time, by file name under the assets folder. */
export const BUNDLES = { extension: 'extension.mjs', mode: 'mode.mjs' } as const;

/**
 * Builds the extension and the mode as self-contained ES modules (React bundled in, the host's
 * React is not exposed) into `outDir`: OHIF loads them with a native import() and uses their
 * default exports.
 */
export async function buildExtensionBundles(outDir: string): Promise<void> {
  // Loaded on use: only the viewer command needs the bundler.
  const { build } = await import('esbuild');
  await build({
    entryPoints: {
      extension: require.resolve('@tomosort/ohif-extension/extension'),
      mode: require.resolve('@tomosort/ohif-extension/mode'),
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
}
