// The shape of a create wizard, as data: its steps (fields per step), how the form's values
// become the POST's parameters, and what must be loaded first.
import type { ComponentChildren } from 'preact';
import type { Params } from '../../api';
import type { Errors, FieldDef, Values } from '../../components/form';
import type { StorageInfo, Volume } from './data';

export interface WizardData {
  node: string;
  nodes: string[];
  /** storages by content type ("rootdir", "images", "vztmpl", "iso") */
  storages: Record<string, StorageInfo[]>;
  /** volumes by content type, then storage */
  volumes: Record<string, Record<string, Volume[]>>;
}

export interface Step {
  id: string;
  label: string;
  fields: (d: WizardData) => FieldDef[];
  /** API parameters this step sets: their errors from the POST are shown here */
  params: string[];
  /** checks that need the server (e.g. the VMID is free) */
  verify?: (v: Values) => Promise<Errors>;
  /** a line under the step's title */
  intro?: (v: Values, d: WizardData) => ComponentChildren;
}

export interface WizardSpec {
  kind: 'lxc' | 'qemu';
  title: string;
  /** storage content types to list */
  contents: string[];
  /** content types whose volumes are listed (templates, ISOs) */
  volumeContents: string[];
  steps: Step[];
  initial: (d: WizardData) => Values;
  /** the POST's parameters, without `start` */
  build: (v: Values, d: WizardData) => Params;
  /** parameters shown masked on the confirm step */
  secret: string[];
}
