// How the edit pages describe config keys and their dialogs, as data.
import type { Params } from '../../../api';
import type { FieldDef, Values } from '../../../components/form';
import type { StorageInfo, Volume } from '../../create/data';
import type { GuestConfig } from './config';

export interface StorageData {
  /** storages by content type */
  storages: Record<string, StorageInfo[]>;
  /** ISO volumes by storage */
  isos: Record<string, Volume[]>;
}

export interface EditCtx {
  kind: 'lxc' | 'qemu';
  node: string;
  vmid: number;
  /** the key edited; for an "Add" dialog the key a first guess would take */
  key: string;
  /** the value as it will be (the pending one when there is one) */
  value?: string;
  cfg: GuestConfig;
  data: StorageData;
  running: boolean;
}

export interface Editor {
  title: string;
  /** storage content types the dialog offers (loaded before it opens) */
  needs?: string[];
  fields: (c: EditCtx) => FieldDef[];
  init: (c: EditCtx) => Values;
  /** the parameters for PUT .../config (without digest) */
  params: (v: Values, c: EditCtx) => Params;
  /** POST .../config and follow its task: VMs allocate new disks only that way */
  viaTask?: boolean;
  /** a line under the title */
  note?: (c: EditCtx) => string | undefined;
}

export type Section = 'hardware' | 'network' | 'options';

export interface KeyDef {
  match: RegExp;
  label: (key: string, value?: string) => string;
  section: Section;
  /** shown (with its default) even when the config lacks it */
  always?: boolean;
  /** what an absent key means */
  dflt?: string;
  show?: (value: string, key: string) => string;
  editor?: (key: string, value?: string) => Editor | undefined;
  removable?: (key: string, value?: string) => boolean;
  resizable?: (key: string, value?: string) => boolean;
}

export interface AddAction {
  label: string;
  editor: Editor;
  /** the key the new item takes, given the config ('' when its dialog chooses it) */
  nextKey: (c: GuestConfig) => string;
}
