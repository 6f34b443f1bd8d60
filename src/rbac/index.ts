// Public face of rbac: the least-privilege Roles Millwright needs, from its config and the API-call
// declarations of the kubernetes executor and readers (`millwright rbac`).
export {
  type CatalogKubernetes,
  type LeastPrivilegeRole,
  planRoles,
  type RbacPlan,
  type RbacSources,
  ROLE_NAME,
  type RoleObject,
  roleObject,
  rolesYaml,
} from './least-privilege.js';
