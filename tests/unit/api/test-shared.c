/* Unit tests: host figure parsers (including /proc/net/dev), SectionConfig and key/value config
 * files, PVE's text encoding, and nextid reservations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/nextid.h"
#include "basic/encoding.h"
#include "shared/hoststats.h"
#include "shared/kvconfig.h"
#include "shared/sectioncfg.h"

static void
test_proc_stat_and_meminfo_parse(void **state)
{
	struct cpu_times t;
	assert_int_equal(parse_proc_stat_cpu("cpu  10 2 3 400 5 6 7 8 0 0\ncpu0 1 2 3 4\n", &t), 0);
	assert_true(t.user == 10 && t.idle == 400 && t.steal == 8);
	assert_int_equal(parse_proc_stat_cpu("intr 1 2\n", &t), -EBADMSG);
	struct meminfo m;
	assert_int_equal(parse_meminfo("MemTotal:       2048 kB\nMemFree:  1024 kB\n"
	                               "MemAvailable:   1536 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
	                               &m),
	                 0);
	assert_true(m.total == 2048 * 1024ull && m.available == 1536 * 1024ull);
	assert_int_equal(parse_meminfo("nothing\n", &m), -EBADMSG);
}

static void
test_cpuinfo_counts_sockets_cores_and_hvm(void **state)
{
	const char *text = "processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 2000.000\n"
	                   "physical id\t: 0\ncpu cores\t: 2\nflags\t\t: fpu vmx sse\n\n"
	                   "processor\t: 1\nphysical id\t: 0\ncpu cores\t: 2\n\n"
	                   "processor\t: 2\nphysical id\t: 1\ncpu cores\t: 2\n\n"
	                   "processor\t: 3\nphysical id\t: 1\ncpu cores\t: 2\n";
	struct cpuinfo c;
	assert_int_equal(parse_cpuinfo(text, &c), 0);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.sockets, 2);
	assert_int_equal(c.cores, 4);
	assert_true(c.hvm);
	assert_string_equal(c.model, "Test CPU");
	assert_string_equal(c.mhz, "2000.000");
	cpuinfo_done(&c);
}

static void
test_net_dev_counts_physical_nics_only(void **state)
{
	const char *text =
	        "Inter-|   Receive                                                |  Transmit\n"
	        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
	        "packets errs drop fifo colls carrier compressed\n"
	        "    lo:    5000      50    0    0    0     0          0         0     5000      "
	        "50    0    0    0     0       0          0\n"
	        "  eth0:    1000      10    0    0    0     0          0         0      200       "
	        "2    0    0    0     0       0          0\n"
	        "enp3s0:      30       1    0    0    0     0          0         0       40       "
	        "1    0    0    0     0       0          0\n"
	        "vmbr0:  900000     900    0    0    0     0          0         0   900000     "
	        "900    0    0    0     0       0          0\n"
	        "veth101i0:  7777   7    0    0    0     0          0         0     7777       "
	        "7    0    0    0     0       0          0\n";
	struct net_totals t;
	assert_int_equal(parse_net_dev(text, &t), 0);
	assert_true(t.in == 1030 && t.out == 240);
	assert_int_equal(parse_net_dev("nothing here\n", &t), -EBADMSG);
	assert_true(net_dev_physical("eth12") && net_dev_physical("ens18") &&
	            net_dev_physical("ib0"));
	assert_false(net_dev_physical("eth") || net_dev_physical("eth0.100") ||
	             net_dev_physical("enp1s0.5") || net_dev_physical("tap100i0") ||
	             net_dev_physical("vmbr0") || net_dev_physical("en"));
}

static void
test_sectioncfg_round_trips_storage_cfg(void **state)
{
	const char *text = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl\n\tshared\n\n"
	                   "# comment\nbtrfs: b1\n\tpath /mnt/b\n";
	struct sectioncfg *cfg;
	assert_int_equal(sectioncfg_parse(text, &cfg), 0);
	assert_int_equal(cfg->n, 2);
	const struct section *s = sectioncfg_find(cfg, "local");
	assert_string_equal(s->type, "dir");
	assert_string_equal(section_get(s, "content"), "iso,vztmpl");
	assert_string_equal(section_get(s, "shared"), "1");
	char *out;
	assert_int_equal(sectioncfg_format(cfg, &out), 0);
	assert_string_equal(out,
	                    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl\n\tshared 1\n\n"
	                    "btrfs: b1\n\tpath /mnt/b\n");
	free(out);
	/* no line may be injected through a value */
	json_object_set_new(cfg->sections[0].props, "path", json_string("/x\n\tpath /etc"));
	assert_int_equal(sectioncfg_format(cfg, &out), -EINVAL);
	sectioncfg_free(cfg);
}

static void
test_kvconfig_keeps_description_as_encoded_comment_lines(void **state)
{
	json_t *c = kvconfig_parse(
	        "#first line\n#100%25 sure%3A yes\nwakeonlan: mac=BC:24:11:00:00:01\n"
	        "  startall-onboot-delay:   5  \nnot a line\n");
	assert_string_equal(json_string_value(json_object_get(c, "description")),
	                    "first line\n100% sure: yes\n");
	assert_string_equal(json_string_value(json_object_get(c, "startall-onboot-delay")), "5");
	char *text = kvconfig_format(c, NULL);
	assert_string_equal(text, "#first line\n#100%25 sure%3A yes\nstartall-onboot-delay: 5\n"
	                          "wakeonlan: mac=BC:24:11:00:00:01\n");
	free(text);
	const char *bad = NULL;
	json_object_set_new(c, "wakeonlan", json_string("x\ninjected: 1"));
	assert_null(kvconfig_format(c, &bad));
	assert_string_equal(bad, "wakeonlan");
	json_decref(c);
}

static void
test_text_encoding_matches_pve(void **state)
{
	char *e = text_encode("owner: team-db 100% \xc3\xa9\t!");
	assert_string_equal(e, "owner%3A team-db 100%25 %C3%A9%09!");
	char *d = text_decode(e, NULL);
	assert_string_equal(d, "owner: team-db 100% \xc3\xa9\t!");
	free(e);
	free(d);
	d = text_decode("bad %zz escape", NULL);
	assert_string_equal(d, "bad %zz escape");
	free(d);
}

static bool
used_100_and_102(uint32_t vmid, void *userdata)
{
	return vmid == 100 || vmid == 102;
}

static void
test_nextid_skips_used_and_reserved_ids_until_expiry(void **state)
{
	struct nextid_reservations *r = nextid_new();
	time_t now = 1000;
	uint32_t a = nextid_pick(r, 100, 200, used_100_and_102, NULL, now);
	assert_int_equal(a, 101);
	nextid_reserve(r, a, now);
	uint32_t b = nextid_pick(r, 100, 200, used_100_and_102, NULL, now);
	assert_int_equal(b, 103);
	nextid_reserve(r, b, now);
	/* after the reservation window the ids are handed out again */
	assert_int_equal(
	        nextid_pick(r, 100, 200, used_100_and_102, NULL, now + NEXTID_RESERVE_SECONDS),
	        101);
	nextid_release(r, 103);
	assert_false(nextid_is_reserved(r, 103, now));
	assert_int_equal(nextid_pick(r, 100, 102, used_100_and_102, NULL, now), 101);
	nextid_reserve(r, 101, now);
	assert_int_equal(nextid_pick(r, 100, 102, used_100_and_102, NULL, now), 0);
	nextid_free(r);
}

static void
test_utf8_sanitize_replaces_only_bad_bytes(void **state)
{
	char *s = utf8_sanitize("ok \xc3\xa9 bad\xff end\xe2\x82");
	assert_string_equal(s, "ok \xc3\xa9 bad\xef\xbf\xbd end\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat_and_meminfo_parse),
		cmocka_unit_test(test_cpuinfo_counts_sockets_cores_and_hvm),
		cmocka_unit_test(test_net_dev_counts_physical_nics_only),
		cmocka_unit_test(test_sectioncfg_round_trips_storage_cfg),
		cmocka_unit_test(test_kvconfig_keeps_description_as_encoded_comment_lines),
		cmocka_unit_test(test_text_encoding_matches_pve),
		cmocka_unit_test(test_nextid_skips_used_and_reserved_ids_until_expiry),
		cmocka_unit_test(test_utf8_sanitize_replaces_only_bad_bytes),
	};
	return cmocka_run_group_tests_name("api-shared", tests, NULL, NULL);
}
