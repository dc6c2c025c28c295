// The access API's shapes (PVE's) and the loaders the tabs share.
import { api } from '../../api';

export interface TokenInfo {
  tokenid: string;
  comment?: string;
  expire?: number;
  privsep?: number;
}

export interface User {
  userid: string;
  enable?: number;
  expire?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  'realm-type'?: string;
  tokens?: TokenInfo[];
}

export interface AclEntry {
  path: string;
  type: 'user' | 'group' | 'token';
  ugid: string;
  roleid: string;
  propagate: number;
}

export interface Role {
  roleid: string;
  privs: string;
  special?: number;
}

export interface Realm {
  realm: string;
  type: string;
  comment?: string;
}

export interface NewToken {
  'full-tokenid': string;
  value: string;
  info: TokenInfo;
}

export const loadUsers = () => api.get<User[]>('/access/users', { full: 1 });
export const loadAcl = () => api.get<AclEntry[]>('/access/acl');
export const loadRoles = () => api.get<Role[]>('/access/roles');
export const loadRealms = () => api.get<Realm[]>('/access/domains');

export function realmOf(userid: string): string {
  return userid.slice(userid.lastIndexOf('@') + 1);
}

export function fullName(u: User): string {
  return [u.firstname, u.lastname].filter(Boolean).join(' ');
}

export function privList(role: Role): string[] {
  return role.privs.split(/[,;\s]+/).filter(Boolean).sort();
}
