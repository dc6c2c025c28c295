// Numbers as people read them; one place so every page agrees.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !isFinite(n)) return '–';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[i]}`;
}

export function percent(f: number | undefined | null, digits = 1): string {
  return f === undefined || f === null || !isFinite(f) ? '–' : `${(f * 100).toFixed(digits)}%`;
}

export function duration(seconds: number | undefined | null): string {
  if (!seconds || seconds < 0) return '–';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m ${s}s`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function datetime(epoch: number | undefined): string {
  if (!epoch) return '–';
  const d = new Date(epoch * 1000);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function tagList(tags: string | undefined): string[] {
  return (tags ?? '').split(/[;, ]+/).filter(Boolean);
}

/** Task type → words, as PVE's task list shows them. */
const TASK_NAMES: Record<string, string> = {
  vzcreate: 'CT create',
  vzstart: 'CT start',
  vzstop: 'CT stop',
  vzshutdown: 'CT shutdown',
  vzreboot: 'CT reboot',
  vzsuspend: 'CT suspend',
  vzresume: 'CT resume',
  vzdestroy: 'CT destroy',
  vztemplate: 'CT template',
  qmcreate: 'VM create',
  qmstart: 'VM start',
  qmstop: 'VM stop',
  qmshutdown: 'VM shutdown',
  qmreboot: 'VM reboot',
  qmreset: 'VM reset',
  qmsuspend: 'VM suspend',
  qmresume: 'VM resume',
  qmdestroy: 'VM destroy',
  qmtemplate: 'VM template',
  qmmove: 'VM move disk',
  qmconfig: 'VM config',
  resize: 'Resize disk',
  imgcopy: 'Copy data',
  imgdel: 'Erase data',
  download: 'Download',
  upload: 'Upload',
  vncproxy: 'Console',
  vncshell: 'Shell',
  startall: 'Start all',
  stopall: 'Stop all',
  aplinfo: 'Template build',
  berthprobe: 'Probe task',
};

export function taskName(type: string, id?: string): string {
  const name = TASK_NAMES[type] ?? type;
  return id ? `${name} ${id}` : name;
}
