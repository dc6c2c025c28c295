/* A VM's config: the keys of Proxmox VE's qm.conf as schema data (for API validation and for
 * reading config files) and the typed view the QEMU driver works with. Pure: a parsed config
 * section in, typed data out, and back to canonical property strings.
 *
 * Everything that qemu_argv() later places inside a comma-separated QEMU option is validated
 * here so that it cannot carry ',' (option injection), '=' where a key could be forged, or
 * control characters. */
#pragma once

#include "basic/error.h"
#include "guest/guestconf.h"
#include "schema/schema.h"

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_IDE     4
#define VM_MAX_SATA    6
#define VM_MAX_SCSI    31
#define VM_MAX_VIRTIO  16
#define VM_MAX_NETS    32
#define VM_MAX_SERIALS 4
#define VM_MAX_UNUSED  256

/* Tri-state booleans and optional integers of the typed view: "not in the config". */
#define VM_UNSET (-1)

/* In Proxmox's drive order (valid_drive_names): the order disks reach the command line. */
enum vm_bus {
	VM_BUS_IDE,
	VM_BUS_SCSI,
	VM_BUS_VIRTIO,
	VM_BUS_SATA,
	VM_BUS_EFIDISK,
	_VM_BUS_MAX,
};

enum vm_file_kind {
	VM_FILE_VOLUME, /* "<storage>:<volname>", resolved by storage */
	VM_FILE_PATH,   /* an absolute host path (root only) */
	VM_FILE_NONE,   /* "none": an empty CD-ROM drive */
	VM_FILE_CDROM,  /* "cdrom": the host's CD-ROM drive */
};

struct vm_disk {
	char key[10]; /* "scsi0", "efidisk0" */
	enum vm_bus bus;
	unsigned index;
	enum vm_file_kind kind;
	char *file;
	char *import_from; /* API input only: the source of a new disk, dropped once imported */
	/* optional strings, NULL when absent; serial and model stay url-encoded as stored */
	char *media, *format, *cache, *discard, *aio, *rerror, *werror, *serial, *model, *vendor,
	        *product, *wwn, *efitype;
	uint64_t size; /* bytes, 0 when absent */
	int8_t backup, replicate, iothread, ssd, ro, snapshot, detect_zeroes, shared, scsiblock,
	        pre_enrolled_keys; /* 0/1 or VM_UNSET */
	long long queues;          /* VM_UNSET when absent */
};

struct vm_net {
	unsigned index;
	char *model, *macaddr, *bridge, *trunks;
	long long queues, tag, mtu; /* VM_UNSET when absent */
	double rate;                /* MB/s, < 0 when absent */
	int8_t firewall, link_down;
};

struct vm_cpu {
	bool present;
	char *cputype, *flags, *hv_vendor_id, *phys_bits;
	int8_t hidden;
};

struct vm_machine {
	bool present;
	char *type;
	int8_t enable_s3, enable_s4;
};

struct vm_boot {
	bool present;
	char *legacy, *order; /* order: "scsi0;ide2;net0" */
};

struct vm_vga {
	bool present;
	char *type, *clipboard;
	long long memory;
};

struct vm_agent {
	bool present;
	int8_t enabled, fstrim_cloned_disks, freeze_fs_on_backup;
	char *type;
};

struct vm_smbios1 {
	bool present;
	char *uuid, *version, *serial, *manufacturer, *product, *sku, *family;
	int8_t base64;
};

struct vm_meta {
	bool present;
	char *creation_qemu;
	long long ctime;
};

struct vm_memory {
	bool present;
	long long current; /* MiB */
};

struct vm_unused {
	unsigned index;
	char *volume;
};

struct vm_config {
	unsigned vmid;
	char *name, *ostype, *bios, *scsihw, *startup, *tags, *vmgenid, *args, *description,
	        *bootdisk, *lock, *parent, *vmstate, *runningmachine, *runningcpu, *hotplug;
	long long balloon, cores, sockets, vcpus, cpuunits, snaptime; /* VM_UNSET when absent */
	double cpulimit;                                              /* < 0 when absent */
	int8_t numa, kvm, onboot, tablet, acpi, localtime, template, protection;
	struct vm_memory memory;
	struct vm_cpu cpu;
	struct vm_machine machine;
	struct vm_boot boot;
	struct vm_vga vga;
	struct vm_agent agent;
	struct vm_smbios1 smbios1;
	struct vm_meta meta;
	char *serial[VM_MAX_SERIALS]; /* "socket" or "/dev/..."; NULL when absent */
	struct vm_disk *disks;        /* in drive order (vm_bus, then index) */
	size_t n_disks;
	struct vm_net *nets; /* by index */
	size_t n_nets;
	struct vm_unused *unused; /* by index */
	size_t n_unused;
};

/* Every key a VM config may hold, as schemas (indexed keys expanded), NULL-name terminated;
 * for config parsing and the API's parameter lists. */
const struct api_schema *vm_config_schema(void);
/* The schema of one config key (scsi7 → the scsiN schema); NULL for unknown keys. */
const struct api_schema *vm_key_schema(const char *key);

/* Property-string key lists (for rendering and tests). */
extern const struct api_schema vm_ide_props[];
extern const struct api_schema vm_scsi_props[];
extern const struct api_schema vm_sata_props[];
extern const struct api_schema vm_virtio_props[];
extern const struct api_schema vm_efidisk_props[];
extern const struct api_schema vm_net_props[];

/* "ide0".."ide3", "sata0".."sata5", "scsi0".."scsi30", "virtio0".."virtio15", "efidisk0". */
bool vm_is_disk_key(const char *key, enum vm_bus *ret_bus, unsigned *ret_index);
bool vm_is_net_key(const char *key, unsigned *ret_index);

/* Read the typed view of one config section (the main one, or a snapshot). Unknown keys and
 * values that do not verify are errors naming the key (-EINVAL, status 400): PVE refuses to
 * load such a config. vmid comes from the file name. */
int vm_config_from_section(const struct guestconf_section *s, unsigned vmid, struct vm_config **ret,
                           struct error *err);
/* Write the typed view back as canonical items (and the description) into s, replacing what
 * s held. */
int vm_config_to_section(const struct vm_config *c, struct guestconf_section *s, struct error *err);
void vm_config_free(struct vm_config *c);
DEFINE_POINTER_CLEANUP(struct vm_config, vm_config_free)

/* One disk value ("local:100/vm-100-disk-0.qcow2,size=32G", "none,media=cdrom"). */
int vm_disk_parse(const char *key, const char *value, struct vm_disk *ret, struct error *err);
char *vm_disk_print(const struct vm_disk *d); /* canonical; caller frees */
void vm_disk_done(struct vm_disk *d);
bool vm_disk_is_cdrom(const struct vm_disk *d);

/* One NIC value ("virtio=BC:24:11:2C:69:EC,bridge=vmbr0,firewall=1"). A NIC without a MAC
 * parses (the API layer assigns one before storing); qemu_argv() refuses it. */
int vm_net_parse(const char *key, const char *value, struct vm_net *ret, struct error *err);
char *vm_net_print(const struct vm_net *n); /* "<model>=<MAC>,..." first; caller frees */
void vm_net_done(struct vm_net *n);

/* The drive's serial or model, url-decoded, as it reaches QEMU; NULL when unset. -EINVAL when
 * the decoded text could inject options (',' or control characters) or is too long. */
int vm_decode_drive_string(const char *key, const char *what, const char *encoded, size_t max_len,
                           char **ret, struct error *err);

/* Windows generation of an ostype as Proxmox's windows_version (0: not Windows). */
unsigned vm_windows_version(const char *ostype);
