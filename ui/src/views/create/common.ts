// Fields and checks both wizards share: node, VMID, tags, addresses.
import { ApiError, type Params } from '../../api';
import { str, type Errors, type FieldDef, type Values } from '../../components/form';
import { nextId } from './data';
import type { WizardData } from './types';

export const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const OCTET = '(25[0-5]|2[0-4]\\d|1?\\d?\\d)';
export const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
export const IPV4_CIDR = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)$`);
export const TAGS = /^[A-Za-z0-9_][A-Za-z0-9_+.-]*([;, ]+[A-Za-z0-9_][A-Za-z0-9_+.-]*)*[;, ]*$/;

export function nodeField(d: WizardData): FieldDef {
  return { key: 'node', label: 'Node', kind: 'select', required: true, options: d.nodes.map((n) => ({ value: n, label: n })) };
}

export function vmidField(kind: 'CT' | 'VM'): FieldDef {
  return { key: 'vmid', label: `${kind} ID`, kind: 'number', required: true, min: 100, max: 999999999, hint: 'the next free ID is proposed' };
}

export const tagsField: FieldDef = {
  key: 'tags',
  label: 'Tags',
  kind: 'text',
  placeholder: 'web; prod',
  pattern: TAGS,
  patternText: 'letters, digits and _ + . - separated by ; , or spaces',
};

/** The VMID must be free: GET /cluster/nextid?vmid= refuses a used one. */
export async function vmidFree(v: Values): Promise<Errors> {
  try {
    await nextId(str(v.vmid));
    return {};
  } catch (e) {
    if (e instanceof ApiError) return { vmid: e.errors.vmid ?? e.message };
    throw e;
  }
}

/** "a, b c" → "a;b;c", as the API stores tags. */
export function tagsParam(s: string): string | undefined {
  const t = s.split(/[;, ]+/).filter(Boolean);
  return t.length ? t.join(';') : undefined;
}

/** Drop what the user left empty, so the API's defaults apply. */
export function clean(params: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') out[k] = v;
  return out;
}

export function num(v: Values, key: string): number | undefined {
  const s = str(v[key]).trim();
  return s === '' ? undefined : Number(s);
}
