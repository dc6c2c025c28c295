/* The keys of a VM config (qemu-server's $confdesc, Drive.pm's drive formats, Network.pm's
 * $net_fmt, CPUConfig's $cpu_fmt, ...) as schema data, and the typed view of a config. */
#include "guest/qemu/vmconf.h"
#include "guest/confkeys.h"
#include "basic/encoding.h"
#include "schema/propstr.h"
#include "storage/storage.h"

#include <regex.h>
#include <stdio.h>

#define UUID_RE   "[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}"
#define BASE64_RE "[A-Za-z0-9+/]+={0,2}"

/* ---- drives ---- */

#define DRIVE_FILE_KEYS                                                                            \
	{ .name = "volume", .alias = "file" },                                                     \
	        { .name = "file",                                                                  \
		  .type = API_T_STRING,                                                            \
		  .default_key = true,                                                             \
		  .max_length = 4096,                                                              \
		  .typetext = "<volume>",                                                          \
		  .description = "The drive's backing volume." },                                  \
	{                                                                                          \
		.name = "import-from", .type = API_T_STRING, .optional = true, .max_length = 4096, \
		.typetext = "<source volume>",                                                     \
		.description = "Create a new disk, importing from this source (volume ID or "      \
		               "absolute path; create and POST config only, never stored)."        \
	}

#define DRIVE_BASE_KEYS                                                                            \
	DRIVE_FILE_KEYS,                                                                           \
	        { .name = "aio",                                                                   \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "native", "threads", "io_uring", NULL },         \
		  .description = "AIO type to use." },                                             \
	        { .name = "backup",                                                                \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Whether the drive should be included when making backups." },    \
	        { .name = "cache",                                                                 \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "none", "writethrough", "writeback", "unsafe",   \
		                                  "directsync", NULL },                            \
		  .description = "The drive's cache mode" },                                       \
	        { .name = "detect_zeroes",                                                         \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Controls whether to detect and try to optimize writes of "       \
		                 "zeroes." },                                                      \
	        { .name = "discard",                                                               \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "ignore", "on", NULL },                          \
		  .description = "Controls whether to pass discard/trim requests to the "          \
		                 "underlying storage." },                                          \
	        { .name = "format",                                                                \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "raw", "qcow", "qed", "qcow2", "vmdk", "cloop",  \
		                                  NULL },                                          \
		  .description = "The drive's backing file's data format." },                      \
	        { .name = "media",                                                                 \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "cdrom", "disk", NULL },                         \
		  .default_text = "disk",                                                          \
		  .description = "The drive's media type." },                                      \
	        { .name = "replicate",                                                             \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "1",                                                             \
		  .description = "Whether the drive should considered for replication jobs." },    \
	        { .name = "rerror",                                                                \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .enums = (const char *const[]){ "ignore", "report", "stop", NULL },              \
		  .description = "Read error action." },                                           \
	        { .name = "serial",                                                                \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .format = "urlencoded",                                                          \
		  .max_length = 60,                                                                \
		  .description = "The drive's reported serial number, url-encoded, up to 20 "      \
		                 "bytes long." },                                                  \
	        { .name = "shared",                                                                \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "0",                                                             \
		  .description = "Mark this locally-managed volume as available on all nodes" },   \
	        { .name = "size",                                                                  \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .format = "disk-size",                                                           \
		  .description = "Disk size. This is purely informational and has no effect." },   \
	        { .name = "snapshot",                                                              \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Controls qemu's snapshot mode feature." },                       \
	{                                                                                          \
		.name = "werror", .type = API_T_STRING, .optional = true,                          \
		.enums = (const char *const[]){ "enospc", "ignore", "report", "stop", NULL },      \
		.description = "Write error action."                                               \
	}

#define IOTHREAD_KEY                                                                               \
	{                                                                                          \
		.name = "iothread", .type = API_T_BOOLEAN, .optional = true,                       \
		.description = "Whether to use iothreads for this drive"                           \
	}
#define RO_KEY                                                                                     \
	{                                                                                          \
		.name = "ro", .type = API_T_BOOLEAN, .optional = true,                             \
		.description = "Whether the drive is read-only."                                   \
	}
#define SSD_KEY                                                                                    \
	{                                                                                          \
		.name = "ssd", .type = API_T_BOOLEAN, .optional = true,                            \
		.description = "Whether to expose this drive as an SSD, rather than a rotational " \
		               "hard disk."                                                        \
	}
#define WWN_KEY                                                                                    \
	{                                                                                          \
		.name = "wwn", .type = API_T_STRING, .optional = true,                             \
		.pattern = "0x[0-9a-fA-F]{16}",                                                    \
		.description = "The drive's worldwide name, encoded as 16 bytes hex string, "      \
		               "prefixed by '0x'."                                                 \
	}

const struct api_schema vm_ide_props[] = {
	DRIVE_BASE_KEYS,
	{ .name = "model",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "urlencoded",
	  .max_length = 120,
	  .description = "The drive's reported model name, url-encoded, up to 40 bytes long." },
	SSD_KEY,
	WWN_KEY,
	{ .name = NULL },
};

const struct api_schema vm_scsi_props[] = {
	DRIVE_BASE_KEYS,
	IOTHREAD_KEY,
	{ .name = "product",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[A-Za-z0-9_ -]{0,16}",
	  .description = "The drive's product name, up to 16 bytes long." },
	{ .name = "queues",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 2,
	  .maximum = 1024,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Number of queues." },
	RO_KEY,
	{ .name = "scsiblock",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "whether to use scsi-block for full passthrough of host block device" },
	SSD_KEY,
	{ .name = "vendor",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[A-Za-z0-9_ -]{0,8}",
	  .description = "The drive's vendor name, up to 8 bytes long." },
	WWN_KEY,
	{ .name = NULL },
};

const struct api_schema vm_sata_props[] = {
	DRIVE_BASE_KEYS,
	SSD_KEY,
	WWN_KEY,
	{ .name = NULL },
};

const struct api_schema vm_virtio_props[] = {
	DRIVE_BASE_KEYS,
	IOTHREAD_KEY,
	RO_KEY,
	{ .name = NULL },
};

const struct api_schema vm_efidisk_props[] = {
	DRIVE_FILE_KEYS,
	{ .name = "efitype",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "2m", "4m", NULL },
	  .default_text = "2m",
	  .description = "Size and type of the OVMF EFI vars." },
	{ .name = "format",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "raw", "qcow", "qed", "qcow2", "vmdk", "cloop", NULL },
	  .description = "The drive's backing file's data format." },
	{ .name = "pre-enrolled-keys",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Use am EFI vars template with distribution-specific and Microsoft "
	                 "Standard keys enrolled, if used with 'efitype=4m'." },
	{ .name = "size",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "disk-size",
	  .description = "Disk size. This is purely informational and has no effect." },
	{ .name = NULL },
};

/* ---- network ---- */

#define NIC_MODEL(m)                                                                               \
	{                                                                                          \
		.name = m, .alias = "macaddr", .key_alias = "model"                                \
	}

const struct api_schema vm_net_props[] = {
	{ .name = "model",
	  .type = API_T_STRING,
	  .default_key = true,
	  .enums = (const char *const[]){ "e1000", "e1000-82540em", "e1000-82544gc",
	                                  "e1000-82545em", "e1000e", "i82551", "i82557b",
	                                  "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139",
	                                  "virtio", "vmxnet3", NULL },
	  .description = "Network Card Model." },
	NIC_MODEL("e1000"),
	NIC_MODEL("e1000-82540em"),
	NIC_MODEL("e1000-82544gc"),
	NIC_MODEL("e1000-82545em"),
	NIC_MODEL("e1000e"),
	NIC_MODEL("i82551"),
	NIC_MODEL("i82557b"),
	NIC_MODEL("i82559er"),
	NIC_MODEL("ne2k_isa"),
	NIC_MODEL("ne2k_pci"),
	NIC_MODEL("pcnet"),
	NIC_MODEL("rtl8139"),
	NIC_MODEL("virtio"),
	NIC_MODEL("vmxnet3"),
	{ .name = "macaddr",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "mac-addr",
	  .description = "MAC address. That address must be unique within your network." },
	{ .name = "bridge",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-bridge-id",
	  .max_length = 15,
	  .description = "Bridge to attach the network device to." },
	{ .name = "firewall",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Whether this interface should be protected by the firewall." },
	{ .name = "link_down",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Whether this interface should be disconnected (like pulling the plug)." },
	{ .name = "mtu",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 65520,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Force MTU, for VirtIO only. Set to '1' to use the bridge MTU" },
	{ .name = "queues",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 64,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Number of packet queues to be used on the device." },
	{ .name = "rate",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Rate limit in mbps (megabytes per second) as floating point number." },
	{ .name = "tag",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 4094,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "VLAN tag to apply to packets on this interface." },
	{ .name = "trunks",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[0-9]+(-[0-9]+)?(;[0-9]+(-[0-9]+)?)*",
	  .description = "VLAN trunks to pass through this interface." },
	{ .name = NULL },
};

/* ---- other property-string keys ---- */

/* The CPU types a VM may name: QEMU's built-in x86 models (CPUConfig's $cpu_vendor_list) and
 * Proxmox's x86-64-v* models. Custom models (cpu-models.conf) are not supported. */
static const char *const cpu_types[] = { "486",
	                                 "pentium",
	                                 "pentium2",
	                                 "pentium3",
	                                 "coreduo",
	                                 "core2duo",
	                                 "Conroe",
	                                 "Penryn",
	                                 "Nehalem",
	                                 "Nehalem-IBRS",
	                                 "Westmere",
	                                 "Westmere-IBRS",
	                                 "SandyBridge",
	                                 "SandyBridge-IBRS",
	                                 "IvyBridge",
	                                 "IvyBridge-IBRS",
	                                 "Haswell",
	                                 "Haswell-IBRS",
	                                 "Haswell-noTSX",
	                                 "Haswell-noTSX-IBRS",
	                                 "Broadwell",
	                                 "Broadwell-IBRS",
	                                 "Broadwell-noTSX",
	                                 "Broadwell-noTSX-IBRS",
	                                 "Skylake-Client",
	                                 "Skylake-Client-IBRS",
	                                 "Skylake-Client-noTSX-IBRS",
	                                 "Skylake-Client-v4",
	                                 "Skylake-Server",
	                                 "Skylake-Server-IBRS",
	                                 "Skylake-Server-noTSX-IBRS",
	                                 "Skylake-Server-v4",
	                                 "Skylake-Server-v5",
	                                 "Cascadelake-Server",
	                                 "Cascadelake-Server-v2",
	                                 "Cascadelake-Server-noTSX",
	                                 "Cascadelake-Server-v4",
	                                 "Cascadelake-Server-v5",
	                                 "Cooperlake",
	                                 "Cooperlake-v2",
	                                 "KnightsMill",
	                                 "Icelake-Client",
	                                 "Icelake-Client-noTSX",
	                                 "Icelake-Server",
	                                 "Icelake-Server-noTSX",
	                                 "Icelake-Server-v3",
	                                 "Icelake-Server-v4",
	                                 "Icelake-Server-v5",
	                                 "Icelake-Server-v6",
	                                 "SapphireRapids",
	                                 "SapphireRapids-v2",
	                                 "GraniteRapids",
	                                 "athlon",
	                                 "phenom",
	                                 "Opteron_G1",
	                                 "Opteron_G2",
	                                 "Opteron_G3",
	                                 "Opteron_G4",
	                                 "Opteron_G5",
	                                 "EPYC",
	                                 "EPYC-IBPB",
	                                 "EPYC-v3",
	                                 "EPYC-v4",
	                                 "EPYC-Rome",
	                                 "EPYC-Rome-v2",
	                                 "EPYC-Rome-v3",
	                                 "EPYC-Rome-v4",
	                                 "EPYC-Milan",
	                                 "EPYC-Milan-v2",
	                                 "EPYC-Genoa",
	                                 "host",
	                                 "kvm32",
	                                 "kvm64",
	                                 "qemu32",
	                                 "qemu64",
	                                 "max",
	                                 "x86-64-v2",
	                                 "x86-64-v2-AES",
	                                 "x86-64-v3",
	                                 "x86-64-v4",
	                                 NULL };

/* The flags a VM config may set itself (CPUConfig's @supported_cpu_flags) */
#define CPU_FLAG_RE                                                                                \
	"[+-](pcid|spec-ctrl|ibpb|ssbd|virt-ssbd|amd-ssbd|amd-no-ssb|pdpe1gb|md-clear|hv-"         \
	"tlbflush|"                                                                                \
	"hv-evmcs|aes)"

static const struct api_schema cpu_props[] = {
	{ .name = "cputype",
	  .type = API_T_STRING,
	  .optional = true,
	  .default_key = true,
	  .enums = cpu_types,
	  .default_text = "kvm64",
	  .description = "Emulated CPU type." },
	{ .name = "flags",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = CPU_FLAG_RE "(;" CPU_FLAG_RE ")*",
	  .description = "List of additional CPU flags separated by ';'." },
	{ .name = "hidden",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Do not identify as a KVM virtual machine." },
	{ .name = "hv-vendor-id",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[a-zA-Z0-9]{1,12}",
	  .description = "The Hyper-V vendor ID." },
	{ .name = "phys-bits",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "host|[8-9]|[1-5][0-9]|6[0-4]",
	  .description = "The physical memory address bits that are reported to the guest OS." },
	{ .name = NULL },
};

static const struct api_schema memory_props[] = {
	{ .name = "current",
	  .type = API_T_INTEGER,
	  .default_key = true,
	  .minimum = 16,
	  .maximum = 4194304, /* 4 TiB in MiB */
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "512",
	  .description = "Current amount of online RAM for the VM in MiB." },
	{ .name = NULL },
};

static const struct api_schema machine_props[] = {
	{ .name = "type",
	  .type = API_T_STRING,
	  .optional = true,
	  .default_key = true,
	  .max_length = 40,
	  /* Machine.pm's pattern for x86_64 (no aarch64 'virt') */
	  .pattern = "pc|pc(-i440fx)?-[0-9]+(\\.[0-9]+)+(\\+pve[0-9]+)?(\\.pxe)?|q35|"
	             "pc-q35-[0-9]+(\\.[0-9]+)+(\\+pve[0-9]+)?(\\.pxe)?",
	  .description = "Specifies the QEMU machine type." },
	{ .name = "enable-s3",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Enables S3 power state." },
	{ .name = "enable-s4",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Enables S4 power state." },
	{ .name = NULL },
};

static const struct api_schema boot_props[] = {
	{ .name = "legacy",
	  .type = API_T_STRING,
	  .optional = true,
	  .default_key = true,
	  .pattern = "[acdn]{1,4}",
	  .default_text = "cdn",
	  .description = "Boot on floppy (a), hard disk (c), CD-ROM (d), or network (n)." },
	{ .name = "order",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[a-z]+[0-9]+(;[a-z]+[0-9]+)*",
	  .typetext = "device[;device...]",
	  .description = "The guest will attempt to boot from devices in the order they appear "
	                 "here." },
	{ .name = NULL },
};

static const struct api_schema vga_props[] = {
	{ .name = "type",
	  .type = API_T_STRING,
	  .optional = true,
	  .default_key = true,
	  .enums = (const char *const[]){ "cirrus", "qxl", "qxl2", "qxl3", "qxl4", "none",
	                                  "serial0", "serial1", "serial2", "serial3", "std",
	                                  "virtio", "virtio-gl", "vmware", NULL },
	  .default_text = "std",
	  .description = "Select the VGA type." },
	{ .name = "clipboard",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "vnc", NULL },
	  .description = "Enable a specific clipboard." },
	{ .name = "memory",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 4,
	  .maximum = 512,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Sets the VGA memory (in MiB). Has no effect with serial display." },
	{ .name = NULL },
};

static const struct api_schema agent_props[] = {
	{ .name = "enabled",
	  .type = API_T_BOOLEAN,
	  .default_key = true,
	  .default_text = "0",
	  .description = "Enable/disable communication with a QEMU Guest Agent (QGA) running in "
	                 "the VM." },
	{ .name = "freeze-fs-on-backup",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "1",
	  .description = "Freeze/thaw guest filesystems on backup for consistency." },
	{ .name = "fstrim_cloned_disks",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Run fstrim after moving a disk or migrating the VM." },
	{ .name = "type",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "virtio", "isa", NULL },
	  .default_text = "virtio",
	  .description = "Select the agent type" },
	{ .name = NULL },
};

#define SMBIOS_B64(n, d)                                                                           \
	{                                                                                          \
		.name = n, .type = API_T_STRING, .optional = true, .pattern = BASE64_RE,           \
		.description = d                                                                   \
	}

static const struct api_schema smbios1_props[] = {
	{ .name = "base64",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Flag to indicate that the SMBIOS values are base64 encoded" },
	SMBIOS_B64("family", "Set SMBIOS1 family string."),
	SMBIOS_B64("manufacturer", "Set SMBIOS1 manufacturer."),
	SMBIOS_B64("product", "Set SMBIOS1 product ID."),
	SMBIOS_B64("serial", "Set SMBIOS1 serial number."),
	SMBIOS_B64("sku", "Set SMBIOS1 SKU string."),
	{ .name = "uuid",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = UUID_RE,
	  .description = "Set SMBIOS1 UUID." },
	SMBIOS_B64("version", "Set SMBIOS1 version."),
	{ .name = NULL },
};

static const struct api_schema meta_props[] = {
	{ .name = "creation-qemu",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[0-9]+(\\.[0-9]+)+",
	  .description = "The QEMU (machine) version from the time this VM was created." },
	{ .name = "ctime",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "The guest creation timestamp as UNIX epoch time" },
	{ .name = NULL },
};

static const struct api_schema unused_props[] = {
	{ .name = "volume", .alias = "file" },
	{ .name = "file",
	  .type = API_T_STRING,
	  .default_key = true,
	  .description = "The drive's backing volume." },
	{ .name = NULL },
};

#define BOOL_KEY(n, def, d)                                                                        \
	{                                                                                          \
		.name = n, .type = API_T_BOOLEAN, .optional = true, .default_text = def,           \
		.description = d                                                                   \
	}
#define STR_KEY(n, pat, d)                                                                         \
	{                                                                                          \
		.name = n, .type = API_T_STRING, .optional = true, .pattern = pat,                 \
		.description = d                                                                   \
	}
#define PROPS_KEY(n, p, d)                                                                         \
	{                                                                                          \
		.name = n, .type = API_T_STRING, .optional = true, .props = p, .description = d    \
	}

/* The plain keys, sorted. Indexed keys (ideN, netN, ...) follow from the templates. */
static const struct api_schema plain_keys[] = {
	BOOL_KEY("acpi", "1", "Enable/disable ACPI."),
	PROPS_KEY("agent", agent_props,
	          "Enable/disable communication with the QEMU Guest Agent and its properties."),
	{ .name = "args",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Arbitrary arguments passed to kvm." },
	{ .name = "balloon",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 4194304,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Amount of target RAM for the VM in MiB. Using zero disables the ballon "
	                 "driver." },
	{ .name = "bios",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "seabios", "ovmf", NULL },
	  .default_text = "seabios",
	  .description = "Select BIOS implementation." },
	PROPS_KEY("boot", boot_props, "Specify guest boot order."),
	STR_KEY("bootdisk", "(ide|sata|scsi|virtio)[0-9]+",
	        "Enable booting from specified disk. Deprecated: Use 'boot: order=foo;bar' "
	        "instead."),
	{ .name = "cores",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 1024,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "1",
	  .description = "The number of cores per socket." },
	PROPS_KEY("cpu", cpu_props, "Emulated CPU type."),
	{ .name = "cpulimit",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 128,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "0",
	  .description = "Limit of CPU usage." },
	{ .name = "cpuunits",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 262144,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "CPU weight for a VM, will be clamped to [1, 10000] in cgroup v2." },
	{ .name = "description",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 8192,
	  .description = "Description for the VM." },
	PROPS_KEY("efidisk0", vm_efidisk_props, "Configure a disk for storing EFI vars."),
	STR_KEY("hotplug",
	        "0|1|(network|disk|cpu|memory|usb|cloudinit)(,(network|disk|cpu|memory|usb|"
	        "cloudinit))*",
	        "Selectively enable hotplug features."),
	BOOL_KEY("kvm", "1", "Enable/disable KVM hardware virtualization."),
	BOOL_KEY("localtime", NULL, "Set the real time clock (RTC) to local time."),
	{ .name = "lock",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "backup", "clone", "create", "migrate", "rollback",
	                                  "snapshot", "snapshot-delete", "suspending", "suspended",
	                                  NULL },
	  .description = "Lock/unlock the VM." },
	PROPS_KEY("machine", machine_props, "Specify the QEMU machine."),
	PROPS_KEY("memory", memory_props, "Memory properties."),
	PROPS_KEY("meta", meta_props, "Some (read-only) meta-information about this guest."),
	{ .name = "name",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "dns-name",
	  .max_length = 255,
	  .description = "Set a name for the VM. Only used on the configuration web interface." },
	BOOL_KEY("numa", "0", "Enable/disable NUMA."),
	BOOL_KEY("onboot", "0", "Specifies whether a VM will be started during system bootup."),
	{ .name = "ostype",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7",
	                                  "win8", "win10", "win11", "l24", "l26", "solaris", NULL },
	  .description = "Specify guest operating system." },
	STR_KEY("parent", "[a-zA-Z][a-zA-Z0-9_-]{1,39}",
	        "Parent snapshot name. This is used internally, and should not be modified."),
	BOOL_KEY("protection", "0", "Sets the protection flag of the VM."),
	STR_KEY("runningcpu", "[+-]?[A-Za-z0-9_.=-]+(,[+-]?[A-Za-z0-9_.=-]+)*",
	        "Specifies the QEMU '-cpu' parameter of the running vm."),
	PROPS_KEY("runningmachine", machine_props,
	          "Specifies the QEMU machine type of the running vm."),
	{ .name = "scsihw",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "lsi", "lsi53c810", "virtio-scsi-pci",
	                                  "virtio-scsi-single", "megasas", "pvscsi", NULL },
	  .default_text = "lsi",
	  .description = "SCSI controller model" },
	PROPS_KEY("smbios1", smbios1_props, "Specify SMBIOS type 1 fields."),
	{ .name = "snaptime",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Timestamp for snapshots." },
	{ .name = "sockets",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 64,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "1",
	  .description = "The number of CPU sockets." },
	{ .name = "startup",
	  .type = API_T_STRING,
	  .optional = true,
	  .props = confkey_startup_props,
	  .typetext = "[[order=]\\d+] [,up=\\d+] [,down=\\d+] ",
	  .description = "Startup and shutdown behavior." },
	BOOL_KEY("tablet", "1", "Enable/disable the USB tablet device."),
	{ .name = "tags",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-tag-list",
	  .description = "Tags of the VM. This is only meta information." },
	BOOL_KEY("template", "0", "Enable/disable Template."),
	{ .name = "vcpus",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 65536,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Number of hotplugged vcpus." },
	PROPS_KEY("vga", vga_props, "Configure the VGA hardware."),
	STR_KEY("vmgenid", UUID_RE "|[01]", "Set VM Generation ID."),
	STR_KEY("vmstate", "[a-z][a-z0-9_.-]*:[A-Za-z0-9_.+/@-]+",
	        "Reference to a volume which stores the VM state."),
	{ .name = NULL },
};

static const struct api_schema ide_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = vm_ide_props,
	.description = "Use volume as IDE hard disk or CD-ROM (n is 0 to 3).",
};
static const struct api_schema sata_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = vm_sata_props,
	.description = "Use volume as SATA hard disk or CD-ROM (n is 0 to 5).",
};
static const struct api_schema scsi_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = vm_scsi_props,
	.description = "Use volume as SCSI hard disk or CD-ROM (n is 0 to 30).",
};
static const struct api_schema virtio_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = vm_virtio_props,
	.description = "Use volume as VIRTIO hard disk (n is 0 to 15).",
};
static const struct api_schema net_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = vm_net_props,
	.description = "Specify network devices.",
};
static const struct api_schema serial_template = {
	.type = API_T_STRING,
	.optional = true,
	/* qemu-server: (/dev/.+|socket); narrowed so a device path cannot carry ',' or '=' */
	.pattern = "socket|/dev/[A-Za-z0-9_./-]+",
	.description = "Create a serial device inside the VM (n is 0 to 3).",
};
static const struct api_schema unused_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = unused_props,
	.description = "Reference to unused volumes. This is used internally, and should not be "
	               "modified manually.",
};

static const struct confkey_family families[] = {
	{ "ide", VM_MAX_IDE, &ide_template, VM_BUS_IDE },
	{ "net", VM_MAX_NETS, &net_template, -1 },
	{ "sata", VM_MAX_SATA, &sata_template, VM_BUS_SATA },
	{ "scsi", VM_MAX_SCSI, &scsi_template, VM_BUS_SCSI },
	{ "serial", VM_MAX_SERIALS, &serial_template, -1 },
	{ "unused", VM_MAX_UNUSED, &unused_template, -1 },
	{ "virtio", VM_MAX_VIRTIO, &virtio_template, VM_BUS_VIRTIO },
};

#define N_INDEXED_KEYS                                                                             \
	(VM_MAX_IDE + VM_MAX_NETS + VM_MAX_SATA + VM_MAX_SCSI + VM_MAX_SERIALS + VM_MAX_UNUSED +   \
	 VM_MAX_VIRTIO)
static struct api_schema all_keys[ARRAY_SIZE(plain_keys) + N_INDEXED_KEYS];
static char indexed_names[N_INDEXED_KEYS][CONFKEY_NAME_MAX];
static struct confkeys keys = { plain_keys, families, ARRAY_SIZE(families), all_keys,
	                        indexed_names };

const struct api_schema *
vm_config_schema(void)
{
	return confkeys_all(&keys);
}

const struct api_schema *
vm_key_schema(const char *key)
{
	return confkeys_find(&keys, key);
}

bool
vm_is_disk_key(const char *key, enum vm_bus *ret_bus, unsigned *ret_index)
{
	if (streq(key, "efidisk0")) {
		if (ret_bus)
			*ret_bus = VM_BUS_EFIDISK;
		if (ret_index)
			*ret_index = 0;
		return true;
	}
	const struct confkey_family *f = confkeys_family(&keys, key, ret_index);
	if (f && f->tag >= 0) {
		if (ret_bus)
			*ret_bus = (enum vm_bus)f->tag;
		return true;
	}
	return false;
}

bool
vm_is_net_key(const char *key, unsigned *ret_index)
{
	return confkey_index(key, "net", VM_MAX_NETS, ret_index);
}

unsigned
vm_windows_version(const char *ostype)
{
	static const struct {
		const char *ostype;
		unsigned version;
	} table[] = {
		{ "wxp", 5 },  { "w2k", 5 },  { "w2k3", 5 },   { "w2k8", 6 },   { "wvista", 6 },
		{ "win7", 7 }, { "win8", 8 }, { "win10", 10 }, { "win11", 11 },
	};
	for (size_t i = 0; ostype && i < ARRAY_SIZE(table); i++)
		if (streq(ostype, table[i].ostype))
			return table[i].version;
	return 0;
}

/* ---- typed views from property strings, as data ---- */

enum field_kind { F_STR, F_BOOL, F_INT, F_NUM, F_SIZE };

struct field {
	const char *name;
	enum field_kind kind;
	size_t off;
};

#define FIELD(n, k, T, m)                                                                          \
	{                                                                                          \
		n, k, offsetof(T, m)                                                               \
	}

static const struct field disk_fields[] = {
	FIELD("file", F_STR, struct vm_disk, file),
	FIELD("import-from", F_STR, struct vm_disk, import_from),
	FIELD("media", F_STR, struct vm_disk, media),
	FIELD("format", F_STR, struct vm_disk, format),
	FIELD("cache", F_STR, struct vm_disk, cache),
	FIELD("discard", F_STR, struct vm_disk, discard),
	FIELD("aio", F_STR, struct vm_disk, aio),
	FIELD("rerror", F_STR, struct vm_disk, rerror),
	FIELD("werror", F_STR, struct vm_disk, werror),
	FIELD("serial", F_STR, struct vm_disk, serial),
	FIELD("model", F_STR, struct vm_disk, model),
	FIELD("vendor", F_STR, struct vm_disk, vendor),
	FIELD("product", F_STR, struct vm_disk, product),
	FIELD("wwn", F_STR, struct vm_disk, wwn),
	FIELD("efitype", F_STR, struct vm_disk, efitype),
	FIELD("size", F_SIZE, struct vm_disk, size),
	FIELD("backup", F_BOOL, struct vm_disk, backup),
	FIELD("replicate", F_BOOL, struct vm_disk, replicate),
	FIELD("iothread", F_BOOL, struct vm_disk, iothread),
	FIELD("ssd", F_BOOL, struct vm_disk, ssd),
	FIELD("ro", F_BOOL, struct vm_disk, ro),
	FIELD("snapshot", F_BOOL, struct vm_disk, snapshot),
	FIELD("detect_zeroes", F_BOOL, struct vm_disk, detect_zeroes),
	FIELD("shared", F_BOOL, struct vm_disk, shared),
	FIELD("scsiblock", F_BOOL, struct vm_disk, scsiblock),
	FIELD("pre-enrolled-keys", F_BOOL, struct vm_disk, pre_enrolled_keys),
	FIELD("queues", F_INT, struct vm_disk, queues),
	{ NULL },
};

static const struct field net_fields[] = {
	FIELD("model", F_STR, struct vm_net, model),
	FIELD("macaddr", F_STR, struct vm_net, macaddr),
	FIELD("bridge", F_STR, struct vm_net, bridge),
	FIELD("trunks", F_STR, struct vm_net, trunks),
	FIELD("queues", F_INT, struct vm_net, queues),
	FIELD("tag", F_INT, struct vm_net, tag),
	FIELD("mtu", F_INT, struct vm_net, mtu),
	FIELD("rate", F_NUM, struct vm_net, rate),
	FIELD("firewall", F_BOOL, struct vm_net, firewall),
	FIELD("link_down", F_BOOL, struct vm_net, link_down),
	{ NULL },
};

static const struct field cpu_fields[] = {
	FIELD("cputype", F_STR, struct vm_cpu, cputype),
	FIELD("flags", F_STR, struct vm_cpu, flags),
	FIELD("hv-vendor-id", F_STR, struct vm_cpu, hv_vendor_id),
	FIELD("phys-bits", F_STR, struct vm_cpu, phys_bits),
	FIELD("hidden", F_BOOL, struct vm_cpu, hidden),
	{ NULL },
};

static const struct field memory_fields[] = {
	FIELD("current", F_INT, struct vm_memory, current),
	{ NULL },
};

static const struct field machine_fields[] = {
	FIELD("type", F_STR, struct vm_machine, type),
	FIELD("enable-s3", F_BOOL, struct vm_machine, enable_s3),
	FIELD("enable-s4", F_BOOL, struct vm_machine, enable_s4),
	{ NULL },
};

static const struct field boot_fields[] = {
	FIELD("legacy", F_STR, struct vm_boot, legacy),
	FIELD("order", F_STR, struct vm_boot, order),
	{ NULL },
};

static const struct field vga_fields[] = {
	FIELD("type", F_STR, struct vm_vga, type),
	FIELD("clipboard", F_STR, struct vm_vga, clipboard),
	FIELD("memory", F_INT, struct vm_vga, memory),
	{ NULL },
};

static const struct field agent_fields[] = {
	FIELD("enabled", F_BOOL, struct vm_agent, enabled),
	FIELD("fstrim_cloned_disks", F_BOOL, struct vm_agent, fstrim_cloned_disks),
	FIELD("freeze-fs-on-backup", F_BOOL, struct vm_agent, freeze_fs_on_backup),
	FIELD("type", F_STR, struct vm_agent, type),
	{ NULL },
};

static const struct field smbios1_fields[] = {
	FIELD("uuid", F_STR, struct vm_smbios1, uuid),
	FIELD("version", F_STR, struct vm_smbios1, version),
	FIELD("serial", F_STR, struct vm_smbios1, serial),
	FIELD("manufacturer", F_STR, struct vm_smbios1, manufacturer),
	FIELD("product", F_STR, struct vm_smbios1, product),
	FIELD("sku", F_STR, struct vm_smbios1, sku),
	FIELD("family", F_STR, struct vm_smbios1, family),
	FIELD("base64", F_BOOL, struct vm_smbios1, base64),
	{ NULL },
};

static const struct field meta_fields[] = {
	FIELD("creation-qemu", F_STR, struct vm_meta, creation_qemu),
	FIELD("ctime", F_INT, struct vm_meta, ctime),
	{ NULL },
};

/* Plain (scalar) keys of struct vm_config; every plain_keys entry without props, plus
 * startup (kept as its text). */
static const struct field config_fields[] = {
	FIELD("name", F_STR, struct vm_config, name),
	FIELD("ostype", F_STR, struct vm_config, ostype),
	FIELD("bios", F_STR, struct vm_config, bios),
	FIELD("scsihw", F_STR, struct vm_config, scsihw),
	FIELD("startup", F_STR, struct vm_config, startup),
	FIELD("tags", F_STR, struct vm_config, tags),
	FIELD("vmgenid", F_STR, struct vm_config, vmgenid),
	FIELD("args", F_STR, struct vm_config, args),
	FIELD("bootdisk", F_STR, struct vm_config, bootdisk),
	FIELD("lock", F_STR, struct vm_config, lock),
	FIELD("parent", F_STR, struct vm_config, parent),
	FIELD("vmstate", F_STR, struct vm_config, vmstate),
	FIELD("runningcpu", F_STR, struct vm_config, runningcpu),
	FIELD("hotplug", F_STR, struct vm_config, hotplug),
	FIELD("balloon", F_INT, struct vm_config, balloon),
	FIELD("cores", F_INT, struct vm_config, cores),
	FIELD("sockets", F_INT, struct vm_config, sockets),
	FIELD("vcpus", F_INT, struct vm_config, vcpus),
	FIELD("cpuunits", F_INT, struct vm_config, cpuunits),
	FIELD("snaptime", F_INT, struct vm_config, snaptime),
	FIELD("cpulimit", F_NUM, struct vm_config, cpulimit),
	FIELD("numa", F_BOOL, struct vm_config, numa),
	FIELD("kvm", F_BOOL, struct vm_config, kvm),
	FIELD("onboot", F_BOOL, struct vm_config, onboot),
	FIELD("tablet", F_BOOL, struct vm_config, tablet),
	FIELD("acpi", F_BOOL, struct vm_config, acpi),
	FIELD("localtime", F_BOOL, struct vm_config, localtime),
	FIELD("template", F_BOOL, struct vm_config, template),
	FIELD("protection", F_BOOL, struct vm_config, protection),
	{ NULL },
};

/* Property-string keys held as sub-structs of struct vm_config; each starts with `present`. */
static const struct {
	const char *key;
	const struct api_schema *props;
	const struct field *fields;
	size_t off;
} sub_keys[] = {
	{ "agent", agent_props, agent_fields, offsetof(struct vm_config, agent) },
	{ "boot", boot_props, boot_fields, offsetof(struct vm_config, boot) },
	{ "cpu", cpu_props, cpu_fields, offsetof(struct vm_config, cpu) },
	{ "machine", machine_props, machine_fields, offsetof(struct vm_config, machine) },
	{ "memory", memory_props, memory_fields, offsetof(struct vm_config, memory) },
	{ "meta", meta_props, meta_fields, offsetof(struct vm_config, meta) },
	{ "smbios1", smbios1_props, smbios1_fields, offsetof(struct vm_config, smbios1) },
	{ "vga", vga_props, vga_fields, offsetof(struct vm_config, vga) },
};

#define AT(base, off, T) ((T *)((char *)(base) + (off)))

static void
fields_init(const struct field *f, void *base)
{
	for (; f->name; f++)
		switch (f->kind) {
		case F_STR:
			*AT(base, f->off, char *) = NULL;
			break;
		case F_BOOL:
			*AT(base, f->off, int8_t) = VM_UNSET;
			break;
		case F_INT:
			*AT(base, f->off, long long) = VM_UNSET;
			break;
		case F_NUM:
			*AT(base, f->off, double) = -1;
			break;
		case F_SIZE:
			*AT(base, f->off, uint64_t) = 0;
			break;
		}
}

static void
fields_free(const struct field *f, void *base)
{
	for (; f->name; f++)
		if (f->kind == F_STR) {
			free(*AT(base, f->off, char *));
			*AT(base, f->off, char *) = NULL;
		}
}

/* Typed values of a parsed property string (or a checked scalar) into the struct. The only
 * failure left after schema checks is a size beyond 2^64. */
static int
field_set(const struct field *f, json_t *v, void *base)
{
	switch (f->kind) {
	case F_STR: {
		char *text = schema_scalar_text(v);
		free(*AT(base, f->off, char *));
		*AT(base, f->off, char *) = text;
		return 0;
	}
	case F_BOOL:
		*AT(base, f->off, int8_t) = json_integer_value(v) != 0;
		return 0;
	case F_INT:
		*AT(base, f->off, long long) = json_integer_value(v);
		return 0;
	case F_NUM:
		*AT(base, f->off, double) = json_number_value(v);
		return 0;
	case F_SIZE:
		return size_parse(json_string_value(v), AT(base, f->off, uint64_t));
	}
	return -EINVAL;
}

static int
fields_from_json(const struct field *f, json_t *o, void *base)
{
	for (; f->name; f++) {
		json_t *v = json_object_get(o, f->name);
		if (v && field_set(f, v, base) < 0)
			return -EINVAL;
	}
	return 0;
}

static json_t *
field_json(const struct field *f, const void *base)
{
	switch (f->kind) {
	case F_STR: {
		const char *s = *AT(base, f->off, char *const);
		return s ? json_string(s) : NULL;
	}
	case F_BOOL: {
		int8_t b = *AT(base, f->off, const int8_t);
		return b == VM_UNSET ? NULL : json_integer(b);
	}
	case F_INT: {
		long long i = *AT(base, f->off, const long long);
		return i == VM_UNSET ? NULL : json_integer(i);
	}
	case F_NUM: {
		double d = *AT(base, f->off, const double);
		return d < 0 ? NULL : json_real(d);
	}
	case F_SIZE: {
		uint64_t s = *AT(base, f->off, const uint64_t);
		return s ? json_integer((json_int_t)s) : NULL;
	}
	}
	return NULL;
}

static json_t *
fields_to_json(const struct field *f, const void *base)
{
	json_t *o = json_object();
	for (; f->name; f++) {
		json_t *v = field_json(f, base);
		if (v)
			json_object_set_new(o, f->name, v);
	}
	return o;
}

/* Plain values print as PVE writes them: numbers as %.15g, booleans 0/1 */
static char *
field_text(const struct field *f, const void *base)
{
	_cleanup_(json_decrefp) json_t *v = field_json(f, base);
	return v ? schema_scalar_text(v) : NULL;
}

static int
parse_props(const struct api_schema *props, const char *key, const char *value, json_t **ret,
            struct error *err)
{
	_cleanup_(sb_freep) struct strbuf why = { 0 };
	if (propstr_parse(props, value, key, ret, &why) < 0) {
		/* one line: PVE's multi-line "format error" becomes " "-joined */
		char *s = why.buf ? why.buf : (char *)"invalid value";
		size_t len = strlen(s);
		while (len && s[len - 1] == '\n')
			s[--len] = '\0';
		for (char *p = s; *p; p++)
			if (*p == '\n')
				*p = ' ';
		return error_set_status(err, 400, EINVAL, "%s: invalid format - %s", key, s);
	}
	return 0;
}

/* ---- drives ---- */

static const struct api_schema *const bus_props[_VM_BUS_MAX] = {
	[VM_BUS_IDE] = vm_ide_props,         [VM_BUS_SCSI] = vm_scsi_props,
	[VM_BUS_VIRTIO] = vm_virtio_props,   [VM_BUS_SATA] = vm_sata_props,
	[VM_BUS_EFIDISK] = vm_efidisk_props,
};

bool
vm_disk_is_cdrom(const struct vm_disk *d)
{
	return d->media && streq(d->media, "cdrom");
}

/* No "." or ".." component (a path or volname must not walk out of where it points). */
static bool
has_dot_component(const char *p)
{
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return true;
		s += n;
		s += strspn(s, "/");
	}
	return false;
}

/* The drive's file: "none", "cdrom", an absolute path, or a volume id whose volname uses
 * only the characters Proxmox's storage plugins produce. Nothing here may be ',' (the
 * property string split already saw to that) or '=' (not a default-key value otherwise). */
static int
check_drive_file(const char *key, const char *file, enum vm_file_kind *ret, struct error *err)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                           "0123456789_.+-@/";
	if (streq(file, "none")) {
		*ret = VM_FILE_NONE;
		return 0;
	}
	if (streq(file, "cdrom")) {
		*ret = VM_FILE_CDROM;
		return 0;
	}
	if (file[0] == '/') {
		if (strspn(file, safe) != strlen(file) || has_dot_component(file))
			return error_set_status(err, 400, EINVAL,
			                        "%s: invalid format - unable to parse path '%s'",
			                        key, file);
		*ret = VM_FILE_PATH;
		return 0;
	}
	_cleanup_free_ char *sid = NULL, *volname = NULL;
	struct error e = { 0 };
	if (volid_split(file, &sid, &volname, &e) < 0)
		return error_set_status(err, 400, EINVAL, "%s: invalid format - %s", key, e.msg);
	if (strspn(volname, safe) != strlen(volname) || volname[0] == '/' ||
	    has_dot_component(volname))
		return error_set_status(err, 400, EINVAL,
		                        "%s: invalid format - unable to parse volume ID '%s'", key,
		                        file);
	*ret = VM_FILE_VOLUME;
	return 0;
}

int
vm_decode_drive_string(const char *key, const char *what, const char *encoded, size_t max_len,
                       char **ret, struct error *err)
{
	if (!encoded) {
		*ret = NULL;
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (percent_decode(encoded, strlen(encoded), false, &text, &len) < 0)
		return error_set_status(err, 400, EINVAL, "%s: invalid urlencoded %s", key, what);
	if (len > max_len)
		return error_set_status(err, 400, EINVAL, "%s: %s is longer than %zu bytes", key,
		                        what, max_len);
	/* QEMU's option parser splits at ',', and control bytes have no business in a serial */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == ',' || c < 0x20 || c == 0x7f)
			return error_set_status(err, 400, EINVAL,
			                        "%s: %s contains a character QEMU cannot take "
			                        "(',' or a control character)",
			                        key, what);
	}
	*ret = TAKE_PTR(text);
	return 0;
}

void
vm_disk_done(struct vm_disk *d)
{
	if (!d)
		return;
	fields_free(disk_fields, d);
	*d = (struct vm_disk){ 0 };
}

static int
check_disk(const struct vm_disk *d, struct error *err)
{
	bool cdrom = vm_disk_is_cdrom(d);
	if ((d->kind == VM_FILE_NONE || d->kind == VM_FILE_CDROM) && !cdrom)
		return error_set_status(err, 400, EINVAL, "%s: '%s' needs media=cdrom", d->key,
		                        d->file);
	if (cdrom && d->bus == VM_BUS_VIRTIO)
		return error_set_status(err, 400, EINVAL,
		                        "%s: VirtIO block devices cannot be CD-ROMs", d->key);
	_cleanup_free_ char *serial = NULL, *model = NULL;
	int r = vm_decode_drive_string(d->key, "serial", d->serial, 20, &serial, err);
	if (r < 0)
		return r;
	return vm_decode_drive_string(d->key, "model", d->model, 40, &model, err);
}

int
vm_disk_parse(const char *key, const char *value, struct vm_disk *ret, struct error *err)
{
	enum vm_bus bus;
	unsigned index;
	if (!vm_is_disk_key(key, &bus, &index))
		return error_set_status(err, 400, EINVAL, "%s: not a drive key", key);
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r = parse_props(bus_props[bus], key, value, &o, err);
	if (r < 0)
		return r;
	struct vm_disk d = { .bus = bus, .index = index };
	snprintf(d.key, sizeof(d.key), "%s", key);
	fields_init(disk_fields, &d);
	if (fields_from_json(disk_fields, o, &d) < 0) {
		vm_disk_done(&d);
		return error_set_status(err, 400, EINVAL, "%s: invalid format - size too large",
		                        key);
	}
	r = check_drive_file(key, d.file, &d.kind, err);
	if (r >= 0)
		r = check_disk(&d, err);
	if (r < 0) {
		vm_disk_done(&d);
		return r;
	}
	*ret = d;
	return 0;
}

char *
vm_disk_print(const struct vm_disk *d)
{
	_cleanup_(json_decrefp) json_t *o = fields_to_json(disk_fields, d);
	return propstr_print(bus_props[d->bus], o);
}

/* ---- network ---- */

void
vm_net_done(struct vm_net *n)
{
	if (!n)
		return;
	fields_free(net_fields, n);
	*n = (struct vm_net){ 0 };
}

int
vm_net_parse(const char *key, const char *value, struct vm_net *ret, struct error *err)
{
	unsigned index = 0;
	if (!vm_is_net_key(key, &index))
		return error_set_status(err, 400, EINVAL, "%s: not a network key", key);
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r = parse_props(vm_net_props, key, value, &o, err);
	if (r < 0)
		return r;
	struct vm_net n = { .index = index };
	fields_init(net_fields, &n);
	fields_from_json(net_fields, o, &n);
	*ret = n;
	return 0;
}

char *
vm_net_print(const struct vm_net *n)
{
	_cleanup_(json_decrefp) json_t *o = fields_to_json(net_fields, n);
	return propstr_print(vm_net_props, o);
}

/* ---- the whole config ---- */

void
vm_config_free(struct vm_config *c)
{
	if (!c)
		return;
	fields_free(config_fields, c);
	free(c->description);
	for (size_t i = 0; i < ARRAY_SIZE(sub_keys); i++)
		fields_free(sub_keys[i].fields, AT(c, sub_keys[i].off, char));
	free(c->runningmachine);
	for (size_t i = 0; i < VM_MAX_SERIALS; i++)
		free(c->serial[i]);
	for (size_t i = 0; i < c->n_disks; i++)
		vm_disk_done(&c->disks[i]);
	free(c->disks);
	for (size_t i = 0; i < c->n_nets; i++)
		vm_net_done(&c->nets[i]);
	free(c->nets);
	for (size_t i = 0; i < c->n_unused; i++)
		free(c->unused[i].volume);
	free(c->unused);
	free(c);
}

static int
cmp_disk(const void *a, const void *b)
{
	const struct vm_disk *x = a, *y = b;
	if (x->bus != y->bus)
		return (int)x->bus - (int)y->bus;
	return (int)x->index - (int)y->index;
}

static int
cmp_net(const void *a, const void *b)
{
	const struct vm_net *x = a, *y = b;
	return (int)x->index - (int)y->index;
}

static int
cmp_unused(const void *a, const void *b)
{
	const struct vm_unused *x = a, *y = b;
	return (int)x->index - (int)y->index;
}

/* Check one scalar value against its key's schema; the typed value in *ret. */
static int
check_value(const struct api_schema *s, const char *key, const char *value, json_t **ret,
            struct error *err)
{
	_cleanup_(json_decrefp) json_t *errors = json_object();
	_cleanup_(json_decrefp) json_t *v = json_string(value);
	if (schema_check_value(s, key, v, ret, errors) < 0) {
		const char *msg = json_string_value(json_object_get(errors, key));
		if (!msg) {
			const char *k;
			json_t *e;
			json_object_foreach (errors, k, e) {
				msg = json_string_value(e);
				break;
			}
		}
		return error_set_status(err, 400, EINVAL, "%s: %s", key,
		                        msg ? msg : "invalid value");
	}
	return 0;
}

/* Device names in boot order= (qemu-server's verify_bootdev, without usb/hostpci) */
static int
check_boot_order(const char *order, struct error *err)
{
	_cleanup_free_ char *copy = xstrdup(order);
	char *save = NULL;
	for (char *dev = strtok_r(copy, ";", &save); dev; dev = strtok_r(NULL, ";", &save)) {
		enum vm_bus bus;
		if ((vm_is_disk_key(dev, &bus, NULL) && bus != VM_BUS_EFIDISK) ||
		    vm_is_net_key(dev, NULL))
			continue;
		return error_set_status(err, 400, EINVAL,
		                        "boot: invalid format - format error boot.order: invalid "
		                        "boot device '%s'",
		                        dev);
	}
	return 0;
}

/* smbios1 fields reach -smbios; base64 ones are decoded there, so check what they decode to
 * now (qemu_argv doubles ',' in them, which QEMU reads as a literal comma). */
static int
check_smbios1(const struct vm_smbios1 *s, struct error *err)
{
	if (s->base64 != 1)
		return 0; /* the base64 alphabet has neither ',' nor control characters */
	const char *const values[] = { s->version, s->serial, s->manufacturer,
		                       s->product, s->sku,    s->family };
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		if (!values[i])
			continue;
		size_t len = strlen(values[i]);
		_cleanup_free_ char *buf = xmalloc(len * 3 / 4 + 3);
		ssize_t n = base64_decode(values[i], len, buf);
		if (n < 0)
			return error_set_status(err, 400, EINVAL,
			                        "smbios1: invalid format - invalid base64 value");
		for (ssize_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)buf[j];
			if (c < 0x20 || c == 0x7f)
				return error_set_status(err, 400, EINVAL,
				                        "smbios1: decoded value contains a control "
				                        "character");
		}
	}
	return 0;
}

static int
check_config(const struct vm_config *c, struct error *err)
{
	if (c->boot.present && c->boot.order) {
		int r = check_boot_order(c->boot.order, err);
		if (r < 0)
			return r;
	}
	if (c->bootdisk && !vm_is_disk_key(c->bootdisk, NULL, NULL))
		return error_set_status(err, 400, EINVAL, "bootdisk: invalid boot disk '%s'",
		                        c->bootdisk);
	return check_smbios1(&c->smbios1, err);
}

/* One indexed key that is neither a disk nor a NIC */
static int
set_indexed(struct vm_config *c, const char *key, const char *value, struct error *err)
{
	unsigned index;
	if (confkey_index(key, "serial", VM_MAX_SERIALS, &index)) {
		_cleanup_(json_decrefp) json_t *v = NULL;
		int r = check_value(&serial_template, key, value, &v, err);
		if (r < 0)
			return r;
		if (has_dot_component(value))
			return error_set_status(err, 400, EINVAL, "%s: invalid device path", key);
		free(c->serial[index]);
		c->serial[index] = xstrdup(value);
		return 0;
	}
	if (confkey_index(key, "unused", VM_MAX_UNUSED, &index)) {
		_cleanup_(json_decrefp) json_t *o = NULL;
		int r = parse_props(unused_props, key, value, &o, err);
		if (r < 0)
			return r;
		c->unused = xrealloc(c->unused, (c->n_unused + 1) * sizeof(*c->unused));
		c->unused[c->n_unused++] = (struct vm_unused){
			.index = index,
			.volume = xstrdup(json_string_value(json_object_get(o, "file")))
		};
		return 0;
	}
	return error_set_status(err, 400, EINVAL, "%s: unknown configuration key", key);
}

static int
set_item(struct vm_config *c, const char *key, const char *value, struct error *err)
{
	if (vm_key_schema(key) == NULL)
		return error_set_status(err, 400, EINVAL, "%s: unknown configuration key", key);
	if (has_crlf(value))
		return error_set_status(err, 400, EINVAL, "%s: property contains a line feed", key);
	if (vm_is_disk_key(key, NULL, NULL)) {
		struct vm_disk d;
		int r = vm_disk_parse(key, value, &d, err);
		if (r < 0)
			return r;
		c->disks = xrealloc(c->disks, (c->n_disks + 1) * sizeof(*c->disks));
		c->disks[c->n_disks++] = d;
		return 0;
	}
	if (vm_is_net_key(key, NULL)) {
		struct vm_net n;
		int r = vm_net_parse(key, value, &n, err);
		if (r < 0)
			return r;
		c->nets = xrealloc(c->nets, (c->n_nets + 1) * sizeof(*c->nets));
		c->nets[c->n_nets++] = n;
		return 0;
	}
	if (streq(key, "runningmachine")) {
		_cleanup_(json_decrefp) json_t *o = NULL;
		int r = parse_props(machine_props, key, value, &o, err);
		if (r < 0)
			return r;
		free(c->runningmachine);
		c->runningmachine = xstrdup(value);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sub_keys); i++) {
		if (!streq(key, sub_keys[i].key))
			continue;
		_cleanup_(json_decrefp) json_t *o = NULL;
		int r = parse_props(sub_keys[i].props, key, value, &o, err);
		if (r < 0)
			return r;
		void *sub = AT(c, sub_keys[i].off, char);
		fields_free(sub_keys[i].fields, sub);
		fields_init(sub_keys[i].fields, sub);
		fields_from_json(sub_keys[i].fields, o, sub);
		*(bool *)sub = true;
		return 0;
	}
	for (const struct field *f = config_fields; f->name; f++) {
		if (!streq(key, f->name))
			continue;
		_cleanup_(json_decrefp) json_t *v = NULL;
		int r = check_value(vm_key_schema(key), key, value, &v, err);
		if (r < 0)
			return r;
		/* keep strings as written (startup's "order=1,up=30"), not re-rendered */
		if (f->kind == F_STR) {
			free(*AT(c, f->off, char *));
			*AT(c, f->off, char *) = xstrdup(value);
			return 0;
		}
		return field_set(f, v, c);
	}
	if (streq(key, "description")) {
		_cleanup_(json_decrefp) json_t *v = NULL;
		int r = check_value(vm_key_schema(key), key, value, &v, err);
		if (r < 0)
			return r;
		free(c->description);
		c->description = xstrdup(value);
		return 0;
	}
	return set_indexed(c, key, value, err);
}

static struct vm_config *
config_new(unsigned vmid)
{
	struct vm_config *c = xcalloc(1, sizeof(*c));
	c->vmid = vmid;
	fields_init(config_fields, c);
	for (size_t i = 0; i < ARRAY_SIZE(sub_keys); i++)
		fields_init(sub_keys[i].fields, AT(c, sub_keys[i].off, char));
	return c;
}

int
vm_config_from_section(const struct guestconf_section *s, unsigned vmid, struct vm_config **ret,
                       struct error *err)
{
	_cleanup_(vm_config_freep) struct vm_config *c = config_new(vmid);
	if (s->description)
		c->description = xstrdup(s->description);
	for (size_t i = 0; i < s->n_items; i++) {
		int r = set_item(c, s->items[i].key, s->items[i].value, err);
		if (r < 0)
			return r;
	}
	if (s->n_raw > 0)
		return error_set_status(err, 400, EINVAL, "%s: unknown configuration key",
		                        s->raw[0].key);
	int r = check_config(c, err);
	if (r < 0)
		return r;
	if (c->n_disks)
		qsort(c->disks, c->n_disks, sizeof(*c->disks), cmp_disk);
	if (c->n_nets)
		qsort(c->nets, c->n_nets, sizeof(*c->nets), cmp_net);
	if (c->n_unused)
		qsort(c->unused, c->n_unused, sizeof(*c->unused), cmp_unused);
	*ret = TAKE_PTR(c);
	return 0;
}

static int
put(struct guestconf_section *s, const char *key, const char *value, struct error *err)
{
	if (guestconf_set(s, key, value) < 0)
		return error_set_status(err, 400, EINVAL, "%s: invalid value", key);
	return 0;
}

int
vm_config_to_section(const struct vm_config *c, struct guestconf_section *s, struct error *err)
{
	while (s->n_items > 0) {
		_cleanup_free_ char *key = xstrdup(s->items[0].key);
		guestconf_unset(s, key);
	}
	guestconf_set_description(s, c->description);
	int r = 0;
	for (const struct field *f = config_fields; f->name && r >= 0; f++) {
		_cleanup_free_ char *text = field_text(f, c);
		if (text)
			r = put(s, f->name, text, err);
	}
	if (r >= 0 && c->runningmachine)
		r = put(s, "runningmachine", c->runningmachine, err);
	for (size_t i = 0; i < ARRAY_SIZE(sub_keys) && r >= 0; i++) {
		const void *sub = AT(c, sub_keys[i].off, const char);
		if (!*(const bool *)sub)
			continue;
		_cleanup_(json_decrefp) json_t *o = fields_to_json(sub_keys[i].fields, sub);
		_cleanup_free_ char *text = propstr_print(sub_keys[i].props, o);
		r = put(s, sub_keys[i].key, text, err);
	}
	for (size_t i = 0; i < VM_MAX_SERIALS && r >= 0; i++)
		if (c->serial[i]) {
			char key[12];
			snprintf(key, sizeof(key), "serial%zu", i);
			r = put(s, key, c->serial[i], err);
		}
	for (size_t i = 0; i < c->n_disks && r >= 0; i++) {
		_cleanup_free_ char *text = vm_disk_print(&c->disks[i]);
		r = put(s, c->disks[i].key, text, err);
	}
	for (size_t i = 0; i < c->n_nets && r >= 0; i++) {
		char key[12];
		snprintf(key, sizeof(key), "net%u", c->nets[i].index);
		_cleanup_free_ char *text = vm_net_print(&c->nets[i]);
		r = put(s, key, text, err);
	}
	for (size_t i = 0; i < c->n_unused && r >= 0; i++) {
		char key[12];
		snprintf(key, sizeof(key), "unused%u", c->unused[i].index);
		r = put(s, key, c->unused[i].volume, err);
	}
	return r;
}
