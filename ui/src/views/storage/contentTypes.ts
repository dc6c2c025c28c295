// Storage content types as PVE names them, in PVE's order, with what the UI shows for them
// and (for the uploadable ones) the file names the API accepts.
export interface ContentType {
  id: string;
  /** the heading of its group in the content browser */
  label: string;
  /** PVE's name for the type (its format_content_types), as the summary lists them */
  name: string;
  /** file name endings the upload route accepts (the picker's `accept`); absent: no upload */
  accept?: string[];
}

export const CONTENT_TYPES: ContentType[] = [
  { id: 'iso', label: 'ISO images', name: 'ISO image', accept: ['.iso', '.img'] },
  { id: 'vztmpl', label: 'CT templates', name: 'Container template', accept: ['.tar', '.tar.gz', '.tgz', '.tar.xz', '.tar.zst', '.tar.bz2'] },
  { id: 'import', label: 'Import', name: 'Import', accept: ['.ova', '.qcow2', '.raw', '.vmdk'] },
  { id: 'images', label: 'VM disks', name: 'Disk image' },
  { id: 'rootdir', label: 'CT volumes', name: 'Container' },
  { id: 'backup', label: 'Backups', name: 'Backup' },
  { id: 'snippets', label: 'Snippets', name: 'Snippets' },
];

export function contentLabel(id: string): string {
  return CONTENT_TYPES.find((c) => c.id === id)?.label ?? id;
}

export function contentName(id: string): string {
  return CONTENT_TYPES.find((c) => c.id === id)?.name ?? id;
}

/** The storage's `content` list ("iso,vztmpl,images"), in PVE's order. */
export function storageContents(list: string | undefined): ContentType[] {
  const have = new Set((list ?? '').split(/[,;\s]+/).filter(Boolean));
  return CONTENT_TYPES.filter((c) => have.has(c.id));
}

export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

export interface Volume {
  volid: string;
  content: string;
  format: string;
  size: number;
  used?: number;
  vmid?: number;
  ctime?: number;
  parent?: string;
  notes?: string;
  protected?: number;
}

/** "local:iso/x.iso" → "x.iso"; disks keep their "100/vm-100-disk-0.qcow2" path. */
export function volumeName(v: Volume): string {
  const name = v.volid.slice(v.volid.indexOf(':') + 1);
  const slash = name.indexOf('/');
  return ['iso', 'vztmpl', 'backup', 'snippets', 'import'].includes(v.content) && slash >= 0 ? name.slice(slash + 1) : name;
}
