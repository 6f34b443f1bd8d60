export { ALERTMANAGER_ROUTE, authorized, mountAlertmanager } from './alertmanager-route.js';
