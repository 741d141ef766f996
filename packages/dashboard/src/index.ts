export { adminTokenFileOf, isAdmin, loadOrCreateAdminToken } from './adminToken.js';
export * from './api.js';
export { DashboardError, DashboardErrorCode } from './errors.js';
export type { ManagedNode } from './nodes.js';
export {
  createDashboard,
  type Dashboard,
  type DashboardModules,
  type DashboardOpts,
  DEFAULT_STATIC_DIR,
} from './server.js';
