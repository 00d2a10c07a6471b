import { HostError } from './errors';
import type { OhifServices, ServicesManagerLike } from './ohif';
import type { CornerstoneLibraries, SegServices } from './segmentation';

/**
 * The host's managers, kept where the extension's preRegistration puts them (the panel component
 * is rendered with only a `key`), and what the panel reaches through them.
 */

/** What the panel needs of OHIF's extension manager: cornerstone's libraries. */
export interface ExtensionManagerLike {
  getModuleEntry(id: string): { exports?: { getCornerstoneLibraries?(): CornerstoneLibraries } } | undefined;
}

let services: ServicesManagerLike | undefined;
let extensions: ExtensionManagerLike | undefined;

export function setManagers(sm: ServicesManagerLike, em?: ExtensionManagerLike): void {
  services = sm;
  if (em) extensions = em;
}

export function cornerstone(): CornerstoneLibraries {
  const libs = extensions?.getModuleEntry('@ohif/extension-cornerstone.utilityModule.common')?.exports?.getCornerstoneLibraries?.();
  if (!libs) throw new HostError('@ohif/extension-cornerstone', 'the cornerstone extension is not loaded in this viewer');
  return libs;
}

export const segServices = (): SegServices => services!.services as SegServices;

/** A failure also as an OHIF notification (seen with the panel collapsed); the panel keeps its own line. */
export function notifyFailure(message: string): void {
  try {
    services?.services.uiNotificationService?.show({ title: 'tomosort', message, type: 'error', duration: 10_000 });
  } catch {
    // A host without toasts: the panel's line is enough.
  }
}

/** OHIF's services, once the host has registered the extension. */
export const hostServices = (): OhifServices | undefined => services?.services;
