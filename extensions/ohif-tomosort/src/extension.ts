import { EXTENSION_ID, PANEL_NAME } from './ids';
import type { ServicesManagerLike } from './ohif';
import { PanelHost, setManagers } from './panel';
import type { ExtensionManagerLike } from './panel';

/**
 * The OHIF extension: one right-side panel. The host calls preRegistration and getPanelModule
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
};

export default extension;
