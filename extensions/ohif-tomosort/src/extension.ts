import { EXTENSION_ID, PANEL_NAME } from './ids';
import type { ServicesManagerLike } from './ohif';
import { PanelHost, setServicesManager } from './panel';

/**
 * The OHIF extension: one right-side panel. The host calls preRegistration and getPanelModule
 * with its managers; the panel component itself is rendered with only a `key`, so the
 * services are kept here.
 */
const extension = {
  id: EXTENSION_ID,
  preRegistration({ servicesManager }: { servicesManager: ServicesManagerLike }): void {
    setServicesManager(servicesManager);
  },
  getPanelModule({ servicesManager }: { servicesManager: ServicesManagerLike }) {
    setServicesManager(servicesManager);
    return [{ name: PANEL_NAME, iconName: 'tab-segmentation', iconLabel: 'Sparse', label: 'Sparse annotation', component: PanelHost }];
  },
};

export default extension;
