// Builds the Node-API addon from binding/*.cc against Debian's oneDNN (libdnnl-dev) and the
// Node-API headers of the `node-api-headers` package: `pnpm --filter @tomosort/native build`.
// Plain g++, nothing downloaded. The addon is written atomically (a failed build leaves the old
// one, or none), and skipped when it is newer than every source. `--force` rebuilds.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bindingDir = join(here, 'binding');
const out = join(here, 'build', 'tomosort_native.node');
const sources = readdirSync(bindingDir).filter((f) => /\.(cc|h)$/.test(f)).map((f) => join(bindingDir, f));
const fail = (why) => {
  process.stderr.write(`native: build failed: ${why}\n`);
  process.exit(1);
};

if (!process.argv.includes('--force') && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (sources.every((f) => statSync(f).mtimeMs < built) && statSync(fileURLToPath(import.meta.url)).mtimeMs < built) {
    process.stderr.write(`native: ${out} is up to date\n`);
    process.exit(0);
  }
}
if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')) fail('oneDNN headers missing (/usr/include/oneapi/dnnl/dnnl.hpp): apt-get install libdnnl-dev');
let napiInclude;
try {
  napiInclude = join(dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include');
} catch {
  fail('the node-api-headers package is not installed (pnpm install)');
}
const tmp = `${out}.${process.pid}.tmp`;
mkdirSync(dirname(out), { recursive: true });
const args = [
  '-O3',
  '-march=native', // built on the machine that runs it; oneDNN itself dispatches at run time
  '-fopenmp', // the same OpenMP runtime as Debian's oneDNN (libgomp)
  '-std=c++17',
  '-fPIC',
  '-shared',
  '-Wall',
  '-Wextra',
  `-I${napiInclude}`,
  '-DNAPI_VERSION=8',
  '-DNODE_GYP_MODULE_NAME=tomosort_native',
  ...sources.filter((f) => f.endsWith('.cc')),
  '-ldnnl',
  '-o',
  tmp,
];
const t0 = Date.now();
try {
  execFileSync(process.env.CXX ?? 'g++', args, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (e) {
  rmSync(tmp, { force: true });
  fail(e.code === 'ENOENT' ? 'g++ not found: apt-get install build-essential' : `g++ exited with ${e.status}`);
}
renameSync(tmp, out);
process.stderr.write(`native: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
