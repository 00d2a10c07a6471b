import { commandsModule } from './commands';
import { EXTENSION_ID, PANEL_NAME } from './ids';
import type { ServicesManagerLike } from './ohif';
import { setManagers } from './host';
import type { ExtensionManagerLike } from './host';
import { PanelHost } from './panel';

/**
 * The OHIF extension: one right-side panel and its actions as commands. The host calls preRegistration and getPanelModule
 * with its managers; the panel component itself is rendered with only a `key`, so the
 * services are kept here.
 */
const extension = {
  id: EXTENSION_ID,
  preRegistration({ servicesManager, extensionManager }: { servicesManager: ServicesManagerLike; extensionManager: ExtensionManagerLike }): void {
    setManagers(servicesManager, extensionManager);
  },
  getPanelModule({ servicesManager, extensionManager }: { servicesManager: ServicesManagerLike; extensionManager: ExtensionManagerLike }) {
    setManagers(servicesManager, extensionManager);
    return [{ name: PANEL_NAME, iconName: 'tab-segmentation', iconLabel: 'Sparse', label: 'Sparse annotation', component: PanelHost }];
  },
  /** The panel's actions as commands (mark done, fine-tune, accept, export, …): on the mode's hotkeys. */
  getCommandsModule({ servicesManager }: { servicesManager: ServicesManagerLike }) {
    return commandsModule((message) => servicesManager.services.uiNotificationService?.show({ title: 'tomosort', message, type: 'info', duration: 5_000 }));
  },
};

export default extension;
