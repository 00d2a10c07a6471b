import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { INSTALL_HINT, LocalOrthancError } from './errors';

/** Where Debian and common builds put the Orthanc binary, searched before PATH. */
const BINARY_CANDIDATES = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc', '/usr/local/bin/Orthanc', '/usr/local/sbin/Orthanc'];
/** Folders holding libOrthancDicomWeb.so (Debian: /usr/share/orthanc/plugins, versioned file in /usr/lib/orthanc). */
const PLUGIN_DIRS = ['/usr/share/orthanc/plugins', '/usr/lib/orthanc', '/usr/local/share/orthanc/plugins'];

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The Orthanc executable: `explicit` when given, else $TOMOSORT_ORTHANC_BIN, else the first of
 * /usr/sbin/Orthanc, /usr/bin/Orthanc, /usr/local/… and PATH. Throws LocalOrthancError with an
 * install hint when none is found.
 */
export function findOrthancBinary(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const wanted = explicit ?? env['TOMOSORT_ORTHANC_BIN'];
  if (wanted) {
    if (isExecutable(wanted)) return wanted;
    throw new LocalOrthancError(`the Orthanc binary ${wanted} does not exist or is not executable; ${INSTALL_HINT}`);
  }
  const onPath = (env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'Orthanc'));
  const found = [...BINARY_CANDIDATES, ...onPath].find(isExecutable);
  if (!found) throw new LocalOrthancError(`Orthanc is not installed (looked in ${BINARY_CANDIDATES.join(', ')} and PATH); ${INSTALL_HINT}`);
  return found;
}

/**
 * The DICOMweb plugin: `explicit` when given, else /usr/share/orthanc/plugins/libOrthancDicomWeb.so
 * or a versioned /usr/lib/orthanc/libOrthancDicomWeb.so.*. Throws LocalOrthancError with an
 * install hint when none is found.
 */
export function findDicomWebPlugin(explicit?: string): string {
  if (explicit) {
    if (existsSync(explicit)) return explicit;
    throw new LocalOrthancError(`the DICOMweb plugin ${explicit} does not exist; ${INSTALL_HINT}`);
  }
  for (const dir of PLUGIN_DIRS) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const name = names.filter((n) => /^libOrthancDicomWeb\.so(\.|$)/.test(n)).sort((a, b) => a.length - b.length)[0];
    if (name) return join(dir, name);
  }
  throw new LocalOrthancError(`the Orthanc DICOMweb plugin is not installed (looked in ${PLUGIN_DIRS.join(', ')}); ${INSTALL_HINT}`);
}
