/* A VM's config → QEMU's argv (see qemuargs.h and docs/vms.md, "Command line"). */
#include "guest/qemu/qemuargs.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"
#include "schema/schema.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- argv and option builders ---- */

struct argv {
	char **v;
	size_t n;
};

static void
arg(struct argv *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(char *));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
argv_done(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct argv){ 0 };
}

/* One comma-separated QEMU option value ("file=...,if=none,id=drive-scsi0"). Every piece is
 * checked as it is added: a ',' inside a value would start a new key=value pair of the
 * attacker's choosing, so values with ',' are refused (the one deliberate exception, smbios
 * strings, goes through opt_escaped). The first offending value is kept for the error. */
struct opt {
	struct strbuf sb;
	char *bad;
};

static bool
clean_value(const char *v, bool allow_comma, bool allow_eq)
{
	if (!*v)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p == ',' && !allow_comma) ||
		    (*p == '=' && !allow_eq))
			return false;
	return true;
}

static void
opt_mark_bad(struct opt *o, const char *v)
{
	if (!o->bad)
		o->bad = xstrdup(v);
}

/* A positional first element ("virtio-net-pci", "socket", "unix:/run/x.vnc") */
static void
opt_word(struct opt *o, const char *word)
{
	if (!clean_value(word, false, false))
		opt_mark_bad(o, word);
	sb_printf(&o->sb, "%s%s", o->sb.len ? "," : "", word);
}

static void
opt_kv(struct opt *o, const char *key, const char *value)
{
	if (!clean_value(value, false, true))
		opt_mark_bad(o, value);
	sb_printf(&o->sb, "%s%s=%s", o->sb.len ? "," : "", key, value);
}

static void _printf_(3, 4) opt_kvf(struct opt *o, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_(sb_freep) struct strbuf v = STRBUF_INIT;
	sb_vprintf(&v, fmt, ap);
	va_end(ap);
	opt_kv(o, key, sb_str(&v));
}

/* QEMU's own escaping: ",," is a literal comma inside a value. Used only for the decoded
 * smbios1 strings, where commas are legitimate ("Acme, Inc."); control characters were
 * refused by vmconf. */
static void
opt_escaped(struct opt *o, const char *key, const char *value)
{
	if (!clean_value(value, true, true))
		opt_mark_bad(o, value);
	sb_printf(&o->sb, "%s%s=", o->sb.len ? "," : "", key);
	for (const char *p = value; *p; p++)
		sb_puts(&o->sb, *p == ',' ? ",," : (char[]){ *p, 0 });
}

/* Append "<flag> <option>"; refuse the whole command line if a value was unclean. */
static int
opt_push(struct argv *a, const char *flag, struct opt *o, struct error *err)
{
	int r = 0;
	if (o->bad)
		r = error_set_status(err, 400, EINVAL,
		                     "refusing to pass '%s' to QEMU's %s option: it contains ',', "
		                     "'=' or a control character",
		                     o->bad, flag);
	else {
		arg(a, flag);
		arg(a, sb_str(&o->sb));
	}
	sb_free(&o->sb);
	free(o->bad);
	o->bad = NULL;
	return r;
}

/* ---- PCI slots, as data (qemu-server's PCI.pm get_pci_addr_map) ---- */

static const struct pci_slot {
	const char *id; /* a device id, or the prefix of an indexed range */
	unsigned first, count;
	unsigned bus, addr;
} pci_map[] = {
	{ "piix3", 0, 0, 0, 1 },    { "vga", 0, 0, 0, 2 },         { "balloon0", 0, 0, 0, 3 },
	{ "watchdog", 0, 0, 0, 4 }, { "scsihw", 0, 2, 0, 5 },      { "pci.3", 0, 0, 0, 5 },
	{ "ahci0", 0, 0, 0, 7 },    { "qga0", 0, 0, 0, 8 },        { "spice", 0, 0, 0, 9 },
	{ "virtio", 0, 6, 0, 10 },  { "net", 0, 6, 0, 18 },        { "pci.1", 0, 0, 0, 30 },
	{ "pci.2", 0, 0, 0, 31 },   { "net", 6, 26, 1, 1 },        { "pci.4", 0, 0, 1, 28 },
	{ "virtio", 6, 10, 2, 1 },  { "virtioscsi", 0, 31, 3, 1 }, { "scsihw", 2, 3, 4, 1 },
};

static const struct pci_slot *
pci_lookup(const char *id, unsigned *ret_addr)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_map); i++) {
		const struct pci_slot *s = &pci_map[i];
		if (s->count == 0) {
			if (streq(id, s->id)) {
				*ret_addr = s->addr;
				return s;
			}
			continue;
		}
		if (!startswith(id, s->id))
			continue;
		const char *p = id + strlen(s->id);
		if (!*p || strspn(p, "0123456789") != strlen(p))
			continue;
		unsigned n = (unsigned)atoi(p);
		if (n >= s->first && n < s->first + s->count) {
			*ret_addr = s->addr + (n - s->first);
			return s;
		}
	}
	return NULL;
}

#define MAX_BRIDGES 5

struct ctx {
	const struct vm_config *c;
	const struct qemu_env *env;
	struct error *err;
	struct argv cmd, devices;
	bool kvm, q35;
	unsigned mver_major, mver_minor; /* machine version; unversioned = newest */
	char machine[48];
	bool bridges[MAX_BRIDGES];
	struct {
		char key[12];
		unsigned index;
	} boot[VM_MAX_IDE + VM_MAX_SATA + VM_MAX_SCSI + VM_MAX_VIRTIO + VM_MAX_NETS];
	size_t n_boot;
	bool scsi_ctrl[VM_MAX_SCSI], ahci_ctrl;
};

static bool
min_machine(const struct ctx *x, unsigned major, unsigned minor)
{
	return x->mver_major > major || (x->mver_major == major && x->mver_minor >= minor);
}

static void
pci_addr(struct ctx *x, struct opt *o, const char *id)
{
	unsigned addr;
	const struct pci_slot *s = pci_lookup(id, &addr);
	if (!s)
		return;
	opt_kvf(o, "bus", "pci.%u", s->bus);
	opt_kvf(o, "addr", "0x%x", addr);
	x->bridges[s->bus] = true;
}

static unsigned
boot_index(const struct ctx *x, const char *key)
{
	for (size_t i = 0; i < x->n_boot; i++)
		if (streq(x->boot[i].key, key))
			return x->boot[i].index;
	return 0;
}

static void
boot_add(struct ctx *x, const char *key, unsigned index)
{
	if (x->n_boot >= ARRAY_SIZE(x->boot) || boot_index(x, key))
		return;
	snprintf(x->boot[x->n_boot].key, sizeof(x->boot[0].key), "%s", key);
	x->boot[x->n_boot++].index = index;
}

/* qemu-server's device_bootorder: order= gives 100, 101, ...; the legacy letters give each
 * class a hundred (c: only the bootdisk, d: CD-ROMs, n: every NIC). */
static void
compute_boot_order(struct ctx *x)
{
	const struct vm_config *c = x->c;
	if (c->boot.present && !c->boot.legacy) {
		if (!c->boot.order)
			return;
		_cleanup_free_ char *copy = xstrdup(c->boot.order);
		char *save = NULL;
		unsigned i = 100;
		for (char *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save))
			boot_add(x, d, i++);
		return;
	}
	const char *legacy = c->boot.present && c->boot.legacy ? c->boot.legacy : "cdn";
	unsigned hash[26] = { 0 };
	for (unsigned i = 0; legacy[i]; i++)
		hash[legacy[i] - 'a'] = (i + 1) * 100;
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *d = &c->disks[i];
		if (vm_disk_is_cdrom(d)) {
			if (hash['d' - 'a'])
				boot_add(x, d->key, hash['d' - 'a']++);
		} else if (hash['c' - 'a']) {
			if (c->bootdisk && streq(c->bootdisk, d->key))
				boot_add(x, d->key, hash['c' - 'a']);
			hash['c' - 'a']++;
		}
	}
	if (hash['n' - 'a'])
		for (size_t i = 0; i < c->n_nets; i++) {
			char key[12];
			snprintf(key, sizeof(key), "net%u", c->nets[i].index);
			boot_add(x, key, hash['n' - 'a']++);
		}
}

/* ---- paths ---- */

char *
qemu_run_path(const struct qemu_env *env, unsigned vmid, const char *what)
{
	return xasprintf("%s/%u.%s", env->run_dir, vmid, what);
}

int
qemu_tap_name(unsigned vmid, unsigned index, char buf[static 16])
{
	int n = snprintf(buf, 16, "tap%ui%u", vmid, index);
	return n > 0 && n < 16 ? 0 : -EINVAL;
}

/* ---- machine ---- */

/* The machine type QEMU gets: Proxmox's "+pveN" (its own patch level) and ".pxe" (its old
 * option ROMs) suffixes mean nothing to an upstream QEMU and are dropped. */
static int
setup_machine(struct ctx *x)
{
	const char *type = x->c->machine.present && x->c->machine.type ? x->c->machine.type : "pc";
	size_t len = strcspn(type, "+");
	if (len >= 4 && strneq(type + len - 4, ".pxe", 4))
		len -= 4;
	snprintf(x->machine, sizeof(x->machine), "%.*s", (int)len, type);
	x->q35 = strstr(x->machine, "q35") != NULL;
	x->mver_major = 99;
	x->mver_minor = 0;
	static const char *const versioned[] = { "pc-i440fx-", "pc-q35-", "pc-" };
	const char *v = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(versioned) && !v; i++)
		if (startswith(x->machine, versioned[i]))
			v = x->machine + strlen(versioned[i]);
	if (v && sscanf(v, "%u.%u", &x->mver_major, &x->mver_minor) != 2)
		return error_set_status(x->err, 400, EINVAL,
		                        "machine: unable to parse version of '%s'", x->machine);
	return 0;
}

/* ---- CPU ---- */

struct cpu_flag {
	char name[32];
	char op; /* '+', '-' or 0 */
	const char *value;
};

struct cpu_flags {
	struct cpu_flag f[64];
	size_t n;
};

static void
flag_set(struct cpu_flags *fl, const char *name, size_t len, char op, const char *value)
{
	for (size_t i = 0; i < fl->n; i++)
		if (strlen(fl->f[i].name) == len && strneq(fl->f[i].name, name, len)) {
			fl->f[i].op = op;
			fl->f[i].value = value;
			return;
		}
	if (fl->n >= ARRAY_SIZE(fl->f) || len >= sizeof(fl->f[0].name))
		return;
	struct cpu_flag *f = &fl->f[fl->n++];
	snprintf(f->name, sizeof(f->name), "%.*s", (int)len, name);
	f->op = op;
	f->value = value;
}

/* "+aes;-pcid" */
static void
flags_add_list(struct cpu_flags *fl, const char *list)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ";");
		if (n > 1)
			flag_set(fl, p + 1, n - 1, p[0], NULL);
		p += n;
		p += *p == ';';
	}
}

static int
cmp_flag(const void *a, const void *b)
{
	return strcmp(((const struct cpu_flag *)a)->name, ((const struct cpu_flag *)b)->name);
}

/* Proxmox's x86-64-v* models: qemu64 plus flags */
static const struct {
	const char *name, *flags;
} builtin_models[] = {
	{ "x86-64-v2", "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3" },
	{ "x86-64-v2-AES", "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3" },
	{ "x86-64-v3", "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
	               "+fma;+abm;+movbe;+xsave" },
	{ "x86-64-v4", "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
	               "+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;"
	               "+avx512vl" },
};

/* The vendor QEMU should report for a model (CPUConfig's $cpu_vendor_list as a rule: the
 * generic models keep QEMU's default, AMD's families by prefix, every other model is Intel). */
static const char *
cpu_vendor(const char *model)
{
	static const char *const generic[] = { "host",   "kvm32", "kvm64", "qemu32",
		                               "qemu64", "max",   NULL };
	static const char *const amd[] = { "athlon", "phenom", "Opteron", "EPYC", NULL };
	if (strv_contains(generic, model))
		return NULL;
	for (size_t i = 0; amd[i]; i++)
		if (startswith(model, amd[i]))
			return "AuthenticAMD";
	return "GenuineIntel";
}

static int
add_cpu(struct ctx *x)
{
	const struct vm_config *c = x->c;
	const char *model = x->kvm ? "kvm64" : "qemu64";
	const char *builtin_flags = NULL;
	if (c->cpu.present && c->cpu.cputype)
		model = c->cpu.cputype;
	for (size_t i = 0; i < ARRAY_SIZE(builtin_models); i++)
		if (streq(model, builtin_models[i].name)) {
			builtin_flags = builtin_models[i].flags;
			model = "qemu64";
		}
	if (streq(model, "Icelake-Client"))
		model = "Icelake-Server";
	else if (streq(model, "Icelake-Client-noTSX"))
		model = "Icelake-Server-noTSX";
	if (streq(model, "host") && !x->kvm)
		return error_set_status(
		        x->err, 400, EINVAL,
		        "cpu: CPU type 'host' needs KVM, which this VM does not use");

	struct cpu_flags fl = { 0 };
	/* Proxmox's fixed flags (get_pve_cpu_flags), then the model's, then the VM's, then the
	 * forced ones; a later source wins */
	if (streq(model, "kvm64"))
		flag_set(&fl, "lahf_lm", 7, '+', NULL);
	if (c->ostype && streq(c->ostype, "solaris"))
		flag_set(&fl, "x2apic", 6, '-', NULL);
	if (streq(model, "kvm64") || streq(model, "kvm32"))
		flag_set(&fl, "sep", 3, '+', NULL);
	if (startswith(model, "Opteron"))
		flag_set(&fl, "rdtscp", 6, '-', NULL);
	if (x->kvm) {
		flag_set(&fl, "kvm_pv_unhalt", 13, '+', NULL);
		flag_set(&fl, "kvm_pv_eoi", 10, '+', NULL);
	}
	flags_add_list(&fl, builtin_flags);
	flags_add_list(&fl, c->cpu.present ? c->cpu.flags : NULL);
	if (!streq(model, "host") && x->kvm)
		flag_set(&fl, "enforce", 7, 0, NULL);
	if (c->cpu.present && c->cpu.hidden == 1)
		flag_set(&fl, "kvm", 3, 0, "off");
	const char *vendor = cpu_vendor(model);
	if (vendor)
		flag_set(&fl, "vendor", 6, 0, vendor);
	qsort(fl.f, fl.n, sizeof(fl.f[0]), cmp_flag);

	struct opt o = { 0 };
	opt_word(&o, model);
	for (size_t i = 0; i < fl.n; i++) {
		char word[40];
		snprintf(word, sizeof(word), "%s%s", fl.f[i].op ? (char[]){ fl.f[i].op, 0 } : "",
		         fl.f[i].name);
		if (fl.f[i].value)
			opt_kv(&o, word, fl.f[i].value);
		else
			opt_word(&o, word);
	}
	if (c->cpu.present && c->cpu.hv_vendor_id && vm_windows_version(c->ostype) >= 6)
		opt_kv(&o, "hv-vendor-id", c->cpu.hv_vendor_id);
	if (c->cpu.present && c->cpu.phys_bits) {
		if (streq(c->cpu.phys_bits, "host"))
			opt_kv(&o, "host-phys-bits", "true");
		else
			opt_kv(&o, "phys-bits", c->cpu.phys_bits);
	}
	return opt_push(&x->cmd, "-cpu", &o, x->err);
}

/* ---- pieces of the command line ---- */

static int
add_chardev_socket(struct ctx *x, struct argv *a, const char *id, const char *what)
{
	_cleanup_free_ char *path = qemu_run_path(x->env, x->c->vmid, what);
	struct opt o = { 0 };
	opt_word(&o, "socket");
	opt_kv(&o, "id", id);
	opt_kv(&o, "path", path);
	opt_kv(&o, "server", "on");
	opt_kv(&o, "wait", "off");
	return opt_push(a, "-chardev", &o, x->err);
}

static int
add_smbios(struct ctx *x)
{
	const struct vm_smbios1 *s = &x->c->smbios1;
	if (!s->present)
		return 0;
	/* canonical (sorted) key order; the base64 flag is ours, not QEMU's */
	const struct {
		const char *key, *value;
	} fields[] = {
		{ "family", s->family },   { "manufacturer", s->manufacturer },
		{ "product", s->product }, { "serial", s->serial },
		{ "sku", s->sku },         { "uuid", s->uuid },
		{ "version", s->version },
	};
	struct opt o = { 0 };
	opt_kv(&o, "type", "1");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = fields[i].value;
		if (!v)
			continue;
		if (s->base64 != 1 || streq(fields[i].key, "uuid")) {
			opt_kv(&o, fields[i].key, v);
			continue;
		}
		size_t len = strlen(v);
		_cleanup_free_ char *buf = xmalloc(len * 3 / 4 + 3);
		ssize_t n = base64_decode(v, len, buf);
		if (n < 0 || memchr(buf, 0, (size_t)n)) {
			sb_free(&o.sb);
			free(o.bad);
			return error_set_status(x->err, 400, EINVAL,
			                        "smbios1: invalid base64 value for '%s'",
			                        fields[i].key);
		}
		buf[n] = '\0';
		if (n > 0) /* as Proxmox: an empty decoded value is left out */
			opt_escaped(&o, fields[i].key, buf);
	}
	return opt_push(&x->cmd, "-smbios", &o, x->err);
}

static const struct vm_disk *
find_efidisk(const struct vm_config *c)
{
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].bus == VM_BUS_EFIDISK)
			return &c->disks[i];
	return NULL;
}

static void
volume_done(struct qemu_volume *v)
{
	free(v->path);
	free(v->format);
	*v = (struct qemu_volume){ 0 };
}

/* The path and format of a drive's file (get_path_and_format); for an empty CD-ROM both
 * stay NULL. */
static int
resolve_drive(struct ctx *x, const struct vm_disk *d, struct qemu_volume *ret)
{
	*ret = (struct qemu_volume){ 0 };
	if (d->kind == VM_FILE_NONE)
		return 0;
	if (d->kind == VM_FILE_CDROM) {
		ret->path = xstrdup("/dev/cdrom");
		ret->format = xstrdup("raw");
		return 0;
	}
	if (!x->env->resolve)
		return error_set(x->err, EINVAL, "%s: no volume resolver", d->key);
	int r = x->env->resolve(d->file, ret, x->env->userdata, x->err);
	if (r < 0)
		return r;
	if (d->kind == VM_FILE_VOLUME && ret->format && d->format &&
	    !streq(ret->format, d->format)) {
		r = error_set_status(x->err, 400, EINVAL,
		                     "drive '%s' - volume '%s' - 'format=%s' option different from "
		                     "storage format '%s'",
		                     d->key, d->file, d->format, ret->format);
		volume_done(ret);
		return r;
	}
	if (!ret->format)
		ret->format = xstrdup(d->format ? d->format : "raw");
	if (!ret->path) {
		volume_done(ret);
		return error_set(x->err, EINVAL, "%s: volume '%s' has no path", d->key, d->file);
	}
	return 0;
}

static int
add_ovmf(struct ctx *x)
{
	const struct vm_config *c = x->c;
	if (!c->bios || !streq(c->bios, "ovmf"))
		return 0;
	const struct vm_disk *efi = find_efidisk(c);
	const char *efitype = efi && efi->efitype ? efi->efitype : "2m";
	const struct qemu_ovmf *fw = streq(efitype, "4m") ? &x->env->ovmf_4m : &x->env->ovmf_2m;
	if (!fw->code)
		return error_set_status(x->err, 400, EINVAL,
		                        "efidisk0: no OVMF firmware for efitype=%s on this node",
		                        efitype);
	/* Secure Boot firmware needs SMM, which Proxmox enables with q35 */
	const char *code =
	        streq(efitype, "4m") && x->q35 && fw->code_secboot ? fw->code_secboot : fw->code;
	struct opt o = { 0 };
	opt_kv(&o, "if", "pflash");
	opt_kv(&o, "unit", "0");
	opt_kv(&o, "format", "raw");
	opt_kv(&o, "readonly", "on");
	opt_kv(&o, "file", code);
	int r = opt_push(&x->cmd, "-drive", &o, x->err);
	if (r < 0)
		return r;

	struct qemu_volume vol = { 0 };
	if (efi) {
		r = resolve_drive(x, efi, &vol);
		if (r < 0)
			return r;
	} else {
		/* the start worker copies the vars template here (Proxmox: /tmp/<vmid>-ovmf.fd) */
		vol.path = qemu_run_path(x->env, c->vmid, "efivars");
		vol.format = xstrdup("raw");
	}
	opt_kv(&o, "if", "pflash");
	opt_kv(&o, "unit", "1");
	opt_kv(&o, "id", "drive-efidisk0");
	opt_kv(&o, "format", vol.format);
	opt_kv(&o, "file", vol.path);
	if (streq(vol.format, "raw") && fw->vars_size)
		opt_kvf(&o, "size", "%llu", (unsigned long long)fw->vars_size);
	volume_done(&vol);
	return opt_push(&x->cmd, "-drive", &o, x->err);
}

static int
add_smp(struct ctx *x)
{
	const struct vm_config *c = x->c;
	if (c->hotplug && (strstr(c->hotplug, "cpu") || strstr(c->hotplug, "memory")))
		return error_set_status(x->err, 400, EINVAL,
		                        "hotplug: CPU and memory hotplug are not supported");
	long long sockets = c->sockets > 0 ? c->sockets : 1;
	long long cores = c->cores > 0 ? c->cores : 1;
	long long maxcpus = sockets * cores;
	long long vcpus = c->vcpus > 0 ? c->vcpus : maxcpus;
	if (maxcpus > (long long)x->env->host_cpus)
		return error_set_status(x->err, 400, EINVAL,
		                        "MAX %u vcpus allowed per VM on this node",
		                        x->env->host_cpus);
	if (vcpus > maxcpus)
		return error_set_status(x->err, 400, EINVAL,
		                        "vcpus: %lld is more than sockets * cores (%lld)", vcpus,
		                        maxcpus);
	struct opt o = { 0 };
	sb_printf(&o.sb, "%lld", vcpus);
	opt_kvf(&o, "sockets", "%lld", sockets);
	opt_kvf(&o, "cores", "%lld", cores);
	opt_kvf(&o, "maxcpus", "%lld", maxcpus);
	return opt_push(&x->cmd, "-smp", &o, x->err);
}

static bool
vga_is_serial(const char *type)
{
	return startswith(type, "serial");
}

static const char *
vga_type(const struct vm_config *c)
{
	return c->vga.present && c->vga.type ? c->vga.type : "std";
}

/* The display: a VGA device plus VNC on a unix socket, or none at all. */
static int
add_display(struct ctx *x)
{
	const struct vm_config *c = x->c;
	const char *type = vga_type(c);
	static const struct {
		const char *type, *device;
	} vga_map[] = {
		{ "std", "VGA" },
		{ "cirrus", "cirrus-vga" },
		{ "vmware", "vmware-svga" },
		{ "virtio", "virtio-vga" },
	};
	if (c->vga.present && c->vga.clipboard)
		return error_set_status(x->err, 400, EINVAL, "vga: clipboard=vnc is not supported");
	if (vga_is_serial(type) || streq(type, "none")) {
		arg(&x->cmd, "-display");
		arg(&x->cmd, "none");
		return 0;
	}
	const char *device = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(vga_map); i++)
		if (streq(type, vga_map[i].type))
			device = vga_map[i].device;
	if (!device)
		return error_set_status(x->err, 400, EINVAL,
		                        "vga: display type '%s' is not supported (no SPICE or "
		                        "OpenGL)",
		                        type);
	struct opt o = { 0 };
	opt_word(&o, device);
	opt_kv(&o, "id", "vga");
	if (c->vga.present && c->vga.memory > 0) {
		if (streq(type, "virtio"))
			opt_kvf(&o, "max_hostmem", "%lld", c->vga.memory * 1024 * 1024);
		else
			opt_kvf(&o, "vgamem_mb", "%lld", c->vga.memory);
	}
	if (x->q35) {
		/* the first display sits on pcie.0 on q35 (PCI.pm's pcie map) */
		opt_kv(&o, "bus", "pcie.0");
		opt_kv(&o, "addr", "0x1");
	} else {
		pci_addr(x, &o, "vga");
	}
	if (streq(device, "VGA") && vm_windows_version(c->ostype) &&
	    !(c->bios && streq(c->bios, "ovmf")))
		opt_kv(&o, "edid", "off");
	int r = opt_push(&x->devices, "-device", &o, x->err);
	if (r < 0)
		return r;

	_cleanup_free_ char *sock = qemu_run_path(x->env, c->vmid, "vnc");
	_cleanup_free_ char *unix_sock = xasprintf("unix:%s", sock);
	opt_word(&o, unix_sock);
	if (x->env->vnc_password)
		opt_kv(&o, "password", "on");
	return opt_push(&x->cmd, "-vnc", &o, x->err);
}

static int
add_memory(struct ctx *x)
{
	const struct vm_config *c = x->c;
	long long mem = c->memory.present ? c->memory.current : 512;
	char text[32];
	snprintf(text, sizeof(text), "%lld", mem);
	arg(&x->cmd, "-m");
	arg(&x->cmd, text);
	if (c->numa != 1)
		return 0;
	/* one NUMA node per socket, memory split evenly (Memory.pm without numaN keys) */
	long long sockets = c->sockets > 0 ? c->sockets : 1;
	long long cores = c->cores > 0 ? c->cores : 1;
	if (mem % sockets)
		return error_set_status(x->err, 400, EINVAL,
		                        "numa: memory (%lld MiB) does not divide evenly into %lld "
		                        "sockets",
		                        mem, sockets);
	for (long long i = 0; i < sockets; i++) {
		struct opt o = { 0 };
		opt_word(&o, "memory-backend-ram");
		opt_kvf(&o, "id", "ram-node%lld", i);
		opt_kvf(&o, "size", "%lldM", mem / sockets);
		int r = opt_push(&x->cmd, "-object", &o, x->err);
		if (r < 0)
			return r;
		opt_word(&o, "node");
		opt_kvf(&o, "nodeid", "%lld", i);
		if (cores > 1)
			opt_kvf(&o, "cpus", "%lld-%lld", cores * i, cores * i + cores - 1);
		else
			opt_kvf(&o, "cpus", "%lld", i);
		opt_kvf(&o, "memdev", "ram-node%lld", i);
		r = opt_push(&x->cmd, "-numa", &o, x->err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* USB controllers and the tablet (for absolute pointer positions over VNC). q35 gets the
 * EHCI controller with its UHCI companions that Proxmox's pve-q35-4.0.cfg defines. */
static int
add_usb(struct ctx *x)
{
	static const char *const q35_usb[] = {
		"ich9-usb-ehci1,id=ehci,multifunction=on,bus=pcie.0,addr=0x1d.0x7",
		"ich9-usb-uhci1,id=uhci-1,multifunction=on,bus=pcie.0,addr=0x1d.0x0,masterbus=ehci."
		"0,"
		"firstport=0",
		"ich9-usb-uhci2,id=uhci-2,multifunction=on,bus=pcie.0,addr=0x1d.0x1,masterbus=ehci."
		"0,"
		"firstport=2",
		"ich9-usb-uhci3,id=uhci-3,multifunction=on,bus=pcie.0,addr=0x1d.0x2,masterbus=ehci."
		"0,"
		"firstport=4",
	};
	if (x->q35)
		for (size_t i = 0; i < ARRAY_SIZE(q35_usb); i++) {
			arg(&x->devices, "-device");
			arg(&x->devices, q35_usb[i]);
		}
	else {
		arg(&x->devices, "-device");
		arg(&x->devices, "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2");
	}
	const struct vm_config *c = x->c;
	bool tablet = c->tablet != 0 && !(c->tablet == VM_UNSET && vga_is_serial(vga_type(c)));
	if (!tablet)
		return 0;
	struct opt o = { 0 };
	opt_word(&o, "usb-tablet");
	opt_kv(&o, "id", "tablet");
	opt_kv(&o, "bus", x->q35 ? "ehci.0" : "uhci.0");
	opt_kv(&o, "port", "1");
	return opt_push(&x->devices, "-device", &o, x->err);
}

static int
add_serials(struct ctx *x)
{
	for (unsigned i = 0; i < VM_MAX_SERIALS; i++) {
		const char *s = x->c->serial[i];
		if (!s)
			continue;
		char id[12];
		snprintf(id, sizeof(id), "serial%u", i);
		int r;
		if (streq(s, "socket")) {
			r = add_chardev_socket(x, &x->devices, id, id);
		} else {
			/* a host device; the start worker checks it is a character device */
			struct opt o = { 0 };
			opt_word(&o, "serial");
			opt_kv(&o, "id", id);
			opt_kv(&o, "path", s);
			r = opt_push(&x->devices, "-chardev", &o, x->err);
		}
		if (r < 0)
			return r;
		struct opt o = { 0 };
		opt_word(&o, "isa-serial");
		opt_kv(&o, "chardev", id);
		r = opt_push(&x->devices, "-device", &o, x->err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
add_agent(struct ctx *x)
{
	const struct vm_agent *a = &x->c->agent;
	if (!a->present || a->enabled != 1)
		return 0;
	int r = add_chardev_socket(x, &x->devices, "qga0", "qga");
	if (r < 0)
		return r;
	struct opt o = { 0 };
	if (a->type && streq(a->type, "isa")) {
		opt_word(&o, "isa-serial");
		opt_kv(&o, "chardev", "qga0");
		return opt_push(&x->devices, "-device", &o, x->err);
	}
	opt_word(&o, "virtio-serial");
	opt_kv(&o, "id", "qga0");
	pci_addr(x, &o, "qga0");
	r = opt_push(&x->devices, "-device", &o, x->err);
	if (r < 0)
		return r;
	opt_word(&o, "virtserialport");
	opt_kv(&o, "chardev", "qga0");
	opt_kv(&o, "name", "org.qemu.guest_agent.0");
	return opt_push(&x->devices, "-device", &o, x->err);
}

static int
add_balloon(struct ctx *x)
{
	if (x->c->balloon == 0)
		return 0;
	struct opt o = { 0 };
	opt_word(&o, "virtio-balloon-pci");
	opt_kv(&o, "id", "balloon0");
	pci_addr(x, &o, "balloon0");
	if (min_machine(x, 6, 2))
		opt_kv(&o, "free-page-reporting", "on");
	return opt_push(&x->devices, "-device", &o, x->err);
}

/* ---- drives ---- */

static const char *
scsihw(const struct vm_config *c)
{
	return c->scsihw ? c->scsihw : "lsi";
}

static bool
scsi_single(const struct vm_config *c)
{
	return streq(scsihw(c), "virtio-scsi-single");
}

/* qemu-server's scsihw_infos: how many disks one controller takes */
static unsigned
scsi_maxdev(const struct vm_config *c)
{
	if (startswith(scsihw(c), "lsi"))
		return 7;
	return scsi_single(c) ? 1 : 256;
}

static int
add_scsi_controller(struct ctx *x, const struct vm_disk *d)
{
	const struct vm_config *c = x->c;
	unsigned ctrl = d->index / scsi_maxdev(c);
	if (x->scsi_ctrl[ctrl])
		return 0;
	x->scsi_ctrl[ctrl] = true;
	char id[24];
	snprintf(id, sizeof(id), "%s%u", scsi_single(c) ? "virtioscsi" : "scsihw", ctrl);
	struct opt o = { 0 };
	opt_word(&o, scsi_single(c) ? "virtio-scsi-pci" : scsihw(c));
	opt_kv(&o, "id", id);
	pci_addr(x, &o, id);
	if (scsi_single(c) && d->iothread == 1) {
		_cleanup_free_ char *thread = xasprintf("iothread-%s", id);
		opt_kv(&o, "iothread", thread);
		struct opt t = { 0 };
		opt_word(&t, "iothread");
		opt_kv(&t, "id", thread);
		int r = opt_push(&x->cmd, "-object", &t, x->err);
		if (r < 0)
			return r;
	}
	if (scsi_single(c) && d->queues > 0)
		opt_kvf(&o, "num_queues", "%lld", d->queues);
	return opt_push(&x->devices, "-device", &o, x->err);
}

static int
add_ahci_controller(struct ctx *x)
{
	if (x->ahci_ctrl)
		return 0;
	x->ahci_ctrl = true;
	struct opt o = { 0 };
	opt_word(&o, "ahci");
	opt_kv(&o, "id", "ahci0");
	opt_kv(&o, "multifunction", "on");
	pci_addr(x, &o, "ahci0");
	return opt_push(&x->devices, "-device", &o, x->err);
}

/* print_drive_commandline_full */
static int
add_drive(struct ctx *x, const struct vm_disk *d)
{
	struct qemu_volume vol;
	int r = resolve_drive(x, d, &vol);
	if (r < 0)
		return r;
	bool cdrom = vm_disk_is_cdrom(d);
	struct opt o = { 0 };
	if (vol.path)
		opt_kv(&o, "file", vol.path);
	opt_kv(&o, "if", "none");
	opt_kvf(&o, "id", "drive-%s", d->key);
	const struct {
		const char *key, *value;
	} plain[] = {
		{ "media", d->media },   { "cache", d->cache },     { "rerror", d->rerror },
		{ "werror", d->werror }, { "discard", d->discard },
	};
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (plain[i].value)
			opt_kv(&o, plain[i].key, plain[i].value);
	if (d->snapshot != VM_UNSET)
		opt_kv(&o, "snapshot", d->snapshot ? "on" : "off");
	if (d->ro != VM_UNSET)
		opt_kv(&o, "readonly", d->ro ? "on" : "off");
	if (vol.format)
		opt_kv(&o, "format", vol.format);
	bool direct = d->cache ? (streq(d->cache, "none") || streq(d->cache, "directsync"))
	                       : !cdrom && !vol.no_direct_io;
	if (!d->cache && direct)
		opt_kv(&o, "cache", "none");
	const char *aio = d->aio ? d->aio : x->env->aio_default ? x->env->aio_default : "io_uring";
	if (streq(aio, "native") && !direct)
		aio = "threads"; /* native AIO needs O_DIRECT */
	opt_kv(&o, "aio", aio);
	if (!cdrom) {
		const char *dz = d->detect_zeroes == 0 ? "off"
		                 : d->discard          ? (streq(d->discard, "on") ? "unmap" : "on")
		                                       : "on";
		opt_kv(&o, "detect-zeroes", dz);
	}
	volume_done(&vol);
	return opt_push(&x->devices, "-drive", &o, x->err);
}

/* The device's optional identity strings (serial, model), url-decoded and re-checked */
static int
opt_decoded(struct ctx *x, struct opt *o, const struct vm_disk *d, const char *key,
            const char *encoded, size_t max)
{
	_cleanup_free_ char *text = NULL;
	int r = vm_decode_drive_string(d->key, key, encoded, max, &text, x->err);
	if (r >= 0 && text)
		opt_kv(o, key, text);
	return r;
}

/* print_drivedevice_full */
static int
add_drive_device(struct ctx *x, const struct vm_disk *d)
{
	const struct vm_config *c = x->c;
	bool cdrom = vm_disk_is_cdrom(d);
	struct opt o = { 0 };
	char drive[24];
	snprintf(drive, sizeof(drive), "drive-%s", d->key);
	int r = 0;
	switch (d->bus) {
	case VM_BUS_VIRTIO:
		opt_word(&o, "virtio-blk-pci");
		opt_kv(&o, "drive", drive);
		opt_kv(&o, "id", d->key);
		pci_addr(x, &o, d->key);
		if (d->iothread == 1)
			opt_kvf(&o, "iothread", "iothread-%s", d->key);
		break;
	case VM_BUS_SCSI: {
		unsigned maxdev = scsi_maxdev(c), ctrl = d->index / maxdev;
		opt_word(&o, cdrom ? "scsi-cd" : "scsi-hd");
		opt_kvf(&o, "bus", "%s%u.0", scsi_single(c) ? "virtioscsi" : "scsihw", ctrl);
		if (startswith(scsihw(c), "lsi") || streq(scsihw(c), "pvscsi")) {
			opt_kvf(&o, "scsi-id", "%u", d->index % maxdev);
		} else {
			opt_kv(&o, "channel", "0");
			opt_kv(&o, "scsi-id", "0");
			opt_kvf(&o, "lun", "%u", d->index);
		}
		opt_kv(&o, "drive", drive);
		opt_kv(&o, "id", d->key);
		if (d->ssd == 1 && !cdrom)
			opt_kv(&o, "rotation_rate", "1");
		if (d->wwn)
			opt_kv(&o, "wwn", d->wwn);
		if (d->vendor && *d->vendor)
			opt_kv(&o, "vendor", d->vendor);
		if (d->product && *d->product)
			opt_kv(&o, "product", d->product);
		break;
	}
	case VM_BUS_IDE:
	case VM_BUS_SATA: {
		unsigned maxdev = d->bus == VM_BUS_SATA ? VM_MAX_SATA : 2;
		unsigned ctrl = d->index / maxdev, unit = d->index % maxdev;
		/* q35's AHCI has one unit per ide bus: odd indexes move up by two */
		if (x->q35 && d->bus == VM_BUS_IDE) {
			ctrl += 2 * (unit % 2);
			unit = 0;
		}
		opt_word(&o, cdrom ? "ide-cd" : "ide-hd");
		if (d->bus == VM_BUS_IDE) {
			opt_kvf(&o, "bus", "ide.%u", ctrl);
			opt_kvf(&o, "unit", "%u", unit);
		} else {
			opt_kvf(&o, "bus", "ahci%u.%u", ctrl, unit);
		}
		opt_kv(&o, "drive", drive);
		opt_kv(&o, "id", d->key);
		if (!cdrom) {
			r = opt_decoded(x, &o, d, "model", d->model, 40);
			if (d->ssd == 1)
				opt_kv(&o, "rotation_rate", "1");
		}
		if (d->wwn)
			opt_kv(&o, "wwn", d->wwn);
		break;
	}
	default:
		r = error_set(x->err, EINVAL, "%s: not a drive for a device", d->key);
	}
	unsigned bi = boot_index(x, d->key);
	if (bi)
		opt_kvf(&o, "bootindex", "%u", bi);
	if (r >= 0)
		r = opt_decoded(x, &o, d, "serial", d->serial, 20);
	if (r < 0) {
		sb_free(&o.sb);
		free(o.bad);
		return r;
	}
	return opt_push(&x->devices, "-device", &o, x->err);
}

static int
add_disks(struct ctx *x)
{
	for (size_t i = 0; i < x->c->n_disks; i++) {
		const struct vm_disk *d = &x->c->disks[i];
		int r = 0;
		if (d->bus == VM_BUS_EFIDISK)
			continue; /* a pflash drive, added with the firmware */
		if (d->bus == VM_BUS_VIRTIO && d->iothread == 1) {
			struct opt t = { 0 };
			opt_word(&t, "iothread");
			opt_kvf(&t, "id", "iothread-%s", d->key);
			r = opt_push(&x->cmd, "-object", &t, x->err);
		}
		if (r >= 0 && d->bus == VM_BUS_SCSI)
			r = add_scsi_controller(x, d);
		if (r >= 0 && d->bus == VM_BUS_SATA)
			r = add_ahci_controller(x);
		if (r >= 0)
			r = add_drive(x, d);
		if (r >= 0)
			r = add_drive_device(x, d);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- network ---- */

static int
add_netdev(struct ctx *x, const struct vm_net *n, const char *id)
{
	bool virtio = streq(n->model, "virtio");
	struct opt o = { 0 };
	if (n->bridge) {
		/* the start worker creates the tap, enslaves it to the bridge and applies tag,
		 * rate and firewall before QEMU attaches to it: no scripts */
		char tap[16];
		if (qemu_tap_name(x->c->vmid, n->index, tap) < 0)
			return error_set_status(x->err, 400, EINVAL,
			                        "interface name 'tap%ui%u' is too long (max 15 "
			                        "character)",
			                        x->c->vmid, n->index);
		opt_kv(&o, "type", "tap");
		opt_kv(&o, "id", id);
		opt_kv(&o, "ifname", tap);
		opt_kv(&o, "script", "no");
		opt_kv(&o, "downscript", "no");
		if (virtio && x->kvm && x->env->vhost_net)
			opt_kv(&o, "vhost", "on");
	} else {
		_cleanup_free_ char *vmname =
		        x->c->name ? xstrdup(x->c->name) : xasprintf("vm%u", x->c->vmid);
		opt_kv(&o, "type", "user");
		opt_kv(&o, "id", id);
		opt_kv(&o, "hostname", vmname);
	}
	/* multiqueue is a tap feature; user networking has no queues= */
	if (virtio && n->bridge && n->queues > 0)
		opt_kvf(&o, "queues", "%lld", n->queues);
	return opt_push(&x->devices, "-netdev", &o, x->err);
}

static int
add_nic(struct ctx *x, const struct vm_net *n, const char *id)
{
	bool virtio = streq(n->model, "virtio");
	struct opt o = { 0 };
	opt_word(&o, virtio ? "virtio-net-pci" : n->model);
	opt_kv(&o, "mac", n->macaddr);
	opt_kv(&o, "netdev", id);
	pci_addr(x, &o, id);
	opt_kv(&o, "id", id);
	if (virtio && n->queues > 1) {
		/* one vector per queue direction, plus config and control */
		opt_kvf(&o, "vectors", "%lld", n->queues * 2 + 2);
		opt_kv(&o, "mq", "on");
		if (min_machine(x, 7, 1))
			opt_kv(&o, "packed", "on");
	}
	if (virtio && min_machine(x, 7, 1)) {
		opt_kv(&o, "rx_queue_size", "1024");
		opt_kv(&o, "tx_queue_size", "256");
	}
	unsigned bi = boot_index(x, id);
	if (bi)
		opt_kvf(&o, "bootindex", "%u", bi);
	/* host_mtu only means something for virtio on a bridge (Proxmox ignores it otherwise) */
	if (n->mtu > 0 && virtio && n->bridge) {
		unsigned bridge_mtu =
		        x->env->bridge_mtu ? x->env->bridge_mtu(n->bridge, x->env->userdata) : 0;
		long long mtu = n->mtu == 1 ? bridge_mtu : n->mtu;
		int r = 0;
		if (mtu == 0)
			r = error_set_status(x->err, 400, EINVAL,
			                     "netdev %s: MTU of bridge '%s' unknown", id,
			                     n->bridge);
		else if (mtu < 576)
			r = error_set_status(
			        x->err, 400, EINVAL,
			        "netdev %s: MTU '%lld' is smaller than the IP minimum MTU "
			        "'576'",
			        id, mtu);
		else if (bridge_mtu && mtu > bridge_mtu)
			r = error_set_status(
			        x->err, 400, EINVAL,
			        "netdev %s: MTU '%lld' is bigger than the bridge MTU '%u'", id, mtu,
			        bridge_mtu);
		if (r < 0) {
			sb_free(&o.sb);
			free(o.bad);
			return r;
		}
		opt_kvf(&o, "host_mtu", "%lld", mtu);
	}
	return opt_push(&x->devices, "-device", &o, x->err);
}

static int
add_nets(struct ctx *x)
{
	for (size_t i = 0; i < x->c->n_nets; i++) {
		const struct vm_net *n = &x->c->nets[i];
		char id[12];
		snprintf(id, sizeof(id), "net%u", n->index);
		if (!n->macaddr)
			return error_set_status(x->err, 400, EINVAL, "%s: no MAC address", id);
		if (streq(n->model, "ne2k_isa"))
			return error_set_status(x->err, 400, EINVAL,
			                        "%s: model ne2k_isa is not supported", id);
		int r = add_netdev(x, n, id);
		if (r >= 0)
			r = add_nic(x, n, id);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- bridges, machine, rtc ---- */

/* PCI bridges in front of the other devices: on i440fx pci.1 and pci.2 always (Proxmox since
 * machine 2.3), pci.3 for virtio-scsi-single, pci.4 (behind pci.1) when used; on q35 the
 * DMI-to-PCI bridge and pci.0 (pve-q35-4.0.cfg) plus the others that are used. */
static void
add_bridges(struct ctx *x)
{
	struct argv b = { 0 };
	if (x->bridges[4])
		x->bridges[1] = true;
	if (x->q35) {
		x->bridges[0] = true;
		arg(&b, "-device");
		arg(&b, "i82801b11-bridge,id=pcidmi,bus=pcie.0,addr=0x1e");
	} else {
		x->bridges[1] = x->bridges[2] = true;
		if (scsi_single(x->c))
			x->bridges[3] = true;
	}
	for (unsigned k = 0; k < MAX_BRIDGES; k++) {
		if (!x->bridges[k] || (!x->q35 && k == 0))
			continue;
		char dev[96];
		char id[8];
		snprintf(id, sizeof(id), "pci.%u", k);
		unsigned addr = 0;
		const struct pci_slot *s = pci_lookup(id, &addr);
		if (x->q35 && k < 4)
			snprintf(dev, sizeof(dev),
			         "pci-bridge,id=%s,chassis_nr=%u,bus=pcidmi,addr=0x%x", id, k + 1,
			         k + 1);
		else
			snprintf(dev, sizeof(dev),
			         "pci-bridge,id=%s,chassis_nr=%u,bus=pci.%u,addr=0x%x", id,
			         x->q35 ? k + 1 : k, s ? s->bus : 0, addr);
		arg(&b, "-device");
		arg(&b, dev);
	}
	for (size_t i = 0; i < x->devices.n; i++)
		arg(&b, x->devices.v[i]);
	argv_done(&x->devices);
	x->devices = b;
}

static void
add_power_states(struct ctx *x)
{
	/* S3/S4 off unless enabled (Proxmox's default since machine 9.2+pve1) */
	const char *object = x->q35 ? "ICH9-LPC" : "PIIX4_PM";
	const struct vm_machine *m = &x->c->machine;
	if (!(m->present && m->enable_s3 == 1)) {
		arg(&x->cmd, "-global");
		_cleanup_free_ char *g = xasprintf("%s.disable_s3=1", object);
		arg(&x->cmd, g);
	}
	if (!(m->present && m->enable_s4 == 1)) {
		arg(&x->cmd, "-global");
		_cleanup_free_ char *g = xasprintf("%s.disable_s4=1", object);
		arg(&x->cmd, g);
	}
}

static int
add_machine(struct ctx *x)
{
	const struct vm_config *c = x->c;
	unsigned win = vm_windows_version(c->ostype);
	struct opt o = { 0 };
	opt_kv(&o, "type", x->machine);
	if (c->acpi == 0)
		opt_kv(&o, "acpi", "off");
	if (win >= 6)
		opt_kv(&o, "hpet", "off");
	/* upstream QEMU defaults to TCG: name the accelerator either way */
	opt_kv(&o, "accel", x->kvm ? "kvm" : "tcg");
	/* SeaBIOS with only a serial console hangs in SMM (qemu-server's should_disable_smm) */
	if ((!c->bios || streq(c->bios, "seabios")) && vga_is_serial(vga_type(c)))
		opt_kv(&o, "smm", "off");
	return opt_push(&x->devices, "-machine", &o, x->err);
}

static void
add_rtc(struct ctx *x)
{
	const struct vm_config *c = x->c;
	bool localtime = c->localtime == 1 ||
	                 (c->localtime == VM_UNSET && vm_windows_version(c->ostype) >= 5);
	if (!localtime)
		return;
	arg(&x->devices, "-rtc");
	arg(&x->devices, "base=localtime");
}

/* ---- the whole command line ---- */

static int
build(struct ctx *x)
{
	const struct vm_config *c = x->c;
	const struct qemu_env *env = x->env;
	int r;

	/* Proxmox's "-id <vmid>" is an option of its patched QEMU only; upstream refuses it */
	arg(&x->cmd, env->binary);

	struct opt o = { 0 };
	_cleanup_free_ char *vmname = c->name ? xstrdup(c->name) : xasprintf("vm%u", c->vmid);
	opt_word(&o, vmname);
	opt_kv(&o, "debug-threads", "on");
	if ((r = opt_push(&x->cmd, "-name", &o, x->err)) < 0)
		return r;
	/* no -no-shutdown: without Proxmox's qmeventd nothing would quit a powered-off QEMU */
	if ((r = add_chardev_socket(x, &x->cmd, "qmp", "qmp")) < 0)
		return r;
	arg(&x->cmd, "-mon");
	arg(&x->cmd, "chardev=qmp,mode=control");
	/* a second monitor for the daemon's status queries: a task holding the first one (QEMU
	 * serves one client per monitor) must not stall them */
	if ((r = add_chardev_socket(x, &x->cmd, "mon", "mon")) < 0)
		return r;
	arg(&x->cmd, "-mon");
	arg(&x->cmd, "chardev=mon,mode=control");
	arg(&x->cmd, "-pidfile");
	_cleanup_free_ char *pidfile = qemu_run_path(env, c->vmid, "pid");
	arg(&x->cmd, pidfile);
	/* no -daemonize: it cannot fork under -sandbox spawn=deny; the driver detaches QEMU */
	/* -S: the guest waits until the start worker has joined the taps to their bridges */
	arg(&x->cmd, "-S");

	if ((r = add_smbios(x)) < 0 || (r = add_ovmf(x)) < 0 || (r = add_smp(x)) < 0)
		return r;
	arg(&x->cmd, "-nodefaults");
	arg(&x->cmd, "-boot");
	arg(&x->cmd, "menu=on,strict=on,reboot-timeout=1000");

	if (c->vmgenid && strlen(c->vmgenid) > 1) {
		opt_word(&o, "vmgenid");
		opt_kv(&o, "guid", c->vmgenid);
		if ((r = opt_push(&x->devices, "-device", &o, x->err)) < 0)
			return r;
	}
	if ((r = add_usb(x)) < 0 || (r = add_serials(x)) < 0 || (r = add_display(x)) < 0)
		return r;
	if (vm_windows_version(c->ostype) >= 6 && x->kvm) {
		arg(&x->cmd, "-global");
		arg(&x->cmd, "kvm-pit.lost_tick_policy=discard");
	}
	if ((r = add_cpu(x)) < 0 || (r = add_memory(x)) < 0 || (r = add_agent(x)) < 0 ||
	    (r = add_balloon(x)) < 0 || (r = add_disks(x)) < 0 || (r = add_nets(x)) < 0)
		return r;
	add_power_states(x);
	add_bridges(x);
	add_rtc(x);
	if ((r = add_machine(x)) < 0)
		return r;
	arg(&x->devices, "-sandbox");
	arg(&x->devices, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	return 0;
}

int
qemu_argv(const struct vm_config *c, const struct qemu_env *env, char ***ret_argv,
          struct error *err)
{
	if (c->template == 1)
		return error_set_status(err, 400, EINVAL,
		                        "you can't start a vm if it's a template");
	if (!env->binary || !env->run_dir)
		return error_set(err, EINVAL, "qemu_argv: binary and run_dir are required");
	struct ctx x = { .c = c, .env = env, .err = err, .kvm = env->kvm && c->kvm != 0 };
	int r = setup_machine(&x);
	if (r >= 0) {
		compute_boot_order(&x);
		r = build(&x);
	}
	if (r < 0) {
		argv_done(&x.cmd);
		argv_done(&x.devices);
		return r;
	}
	for (size_t i = 0; i < x.devices.n; i++)
		arg(&x.cmd, x.devices.v[i]);
	argv_done(&x.devices);
	*ret_argv = x.cmd.v;
	return 0;
}

/* ---- reading an argv back ---- */

char **
qemu_opts_split(const char *opts)
{
	char **items = NULL;
	size_t n = 0;
	struct strbuf cur = { 0 };
	for (const char *p = opts;; p++) {
		if (*p == ',' && p[1] == ',') {
			sb_append(&cur, ",", 1);
			p++;
			continue;
		}
		if (*p == ',' || !*p) {
			items = xrealloc(items, (n + 2) * sizeof(*items));
			items[n++] = sb_steal(&cur);
			items[n] = NULL;
			if (!*p)
				break;
			continue;
		}
		sb_append(&cur, p, 1);
	}
	return items;
}

char *
qemu_opts_get(const char *opts, const char *key)
{
	_cleanup_(strv_freep) char **items = qemu_opts_split(opts);
	size_t kl = strlen(key);
	for (char **i = items; i && *i; i++)
		if (strncmp(*i, key, kl) == 0 && (*i)[kl] == '=')
			return xstrdup(*i + kl + 1);
	return NULL;
}

const char *
qemu_argv_find(char *const *argv, const char *flag, const char *id)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++) {
		if (!streq(argv[i], flag))
			continue;
		_cleanup_free_ char *v = qemu_opts_get(argv[i + 1], "id");
		if (v && streq(v, id))
			return argv[i + 1];
	}
	return NULL;
}
