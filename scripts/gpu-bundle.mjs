// Builds .cache/gpu/: the CLI as one ES module with what it loads from disk at run time (Dawn's
// dawn.node for WebGPU in Node, tfjs-wasm's binaries, the native addon when built) — ~45 MB, so it
// fits the device tool's carry (64 MiB; the workspace's node_modules does not). On a GPU machine
// with Node 20 and nothing installed:
//
//   node scripts/gpu-bundle.mjs                          (here)
//   node .cache/gpu/cli.mjs bench pretrain --parts webgpu --model resnet18 --size 128 --slices 32 --finetune-batch 8 --without each
//
// (the device: `run` with carry [".cache/gpu"]). bench pretrain's children run the same file.
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'gpu');
// esbuild is the viewer's dependency (it bundles the extension); resolve it from there.
const fromViewer = createRequire(join(root, 'packages', 'viewer', 'package.json'));
const fromBackend = createRequire(join(root, 'packages', 'backend', 'package.json'));
const { build } = await import(fromViewer.resolve('esbuild'));

/**
 * Packages only the viewer, its browser tests and the experiment's plots use (Chromium, esbuild,
 * PNG rendering): left out, each replaced by a module whose every export throws when used.
 */
function absent(names) {
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[/@.-]/g, '\\$&')).join('|')})$`);
  return {
    name: 'absent',
    setup(b) {
      b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'absent' }));
      b.onLoad({ filter: /.*/, namespace: 'absent' }, (a) => ({
        loader: 'js',
        contents: `module.exports = new Proxy({}, { get: (_, k) => (k === '__esModule' ? false : () => { throw new Error(${JSON.stringify(`${a.path} is not in the GPU bundle (scripts/gpu-bundle.mjs): run this command from the repository`)}); }) });`,
      }));
    },
  };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'packages', 'cli', 'src', 'main.ts')],
  outfile: join(out, 'cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Dawn loads from disk beside the bundle (below).
  external: ['webgpu'],
  plugins: [absent(['playwright-core', '@resvg/resvg-js', 'esbuild'])],
  // Bundled CommonJS calls require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __tomosortRequire } from 'node:module'; const require = __tomosortRequire(import.meta.url);" },
  logLevel: 'warning',
});

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

// Dawn: the package's entry and this platform's dawn.node only.
const webgpu = dirname(fromBackend.resolve('webgpu/package.json'));
const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
for (const f of ['package.json', 'index.js', join('dist', platform, 'dawn.node')]) copy(join(webgpu, f), join(out, 'node_modules', 'webgpu', f));

// tfjs-wasm: nodeWasmDirectory() resolves the package to find its binaries.
const wasm = dirname(fromBackend.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
for (const f of ['package.json', join('dist', 'tf-backend-wasm.node.js'), ...['', '-simd', '-threaded-simd'].map((v) => join('dist', `tfjs-backend-wasm${v}.wasm`))]) {
  copy(join(wasm, f), join(out, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', f));
}

// The native addon links Debian's oneDNN (libdnnl3): where the GPU machine lacks it, the CLI says so and runs wasm.
const addon = join(root, 'packages', 'native', 'build', 'tomosort_native.node');
if (existsSync(addon)) copy(addon, join(out, 'tomosort_native.node'));
writeFileSync(join(out, 'run.sh'), '#!/bin/sh\n# Runs the bundled CLI with its native addon beside it.\nexec env TOMOSORT_NATIVE_ADDON="$(dirname "$0")/tomosort_native.node" node "$(dirname "$0")/cli.mjs" "$@"\n', { mode: 0o755 });

const size = (p) => (statSync(p).isDirectory() ? 0 : statSync(p).size);
console.log(`gpu bundle: ${relative(root, out)}/ (cli.mjs ${(size(join(out, 'cli.mjs')) / 1e6).toFixed(1)} MB, dawn.node ${(size(join(out, 'node_modules', 'webgpu', 'dist', platform, 'dawn.node')) / 1e6).toFixed(1)} MB); run: .cache/gpu/run.sh bench pretrain --parts webgpu …`);
