/* Unit tests: etc/network/interfaces as ct_render_interfaces writes it (Debian's ifupdown
 * format, after PVE's Debian.pm/Alpine.pm): new stanzas, rewritten ones that keep their
 * extra options, untouched foreign ones, routes for an off-link gateway, and refused values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "guest/lxc/rootfs.h"

#include <stdlib.h>

static char *
render(const char *ostype, const char *old, const struct ct_net_setup *nets, size_t n)
{
	char *out = NULL;
	struct error err = { 0 };
	int r = ct_render_interfaces(ostype, old, nets, n, &out, &err);
	if (r < 0)
		fail_msg("render failed: %s", err.msg);
	return out;
}

static void
test_static_dual_stack_from_scratch_adds_loopback(void **state)
{
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip = "192.0.2.10/24",
		                          .gw = "192.0.2.1",
		                          .ip6 = "2001:db8::10/64",
		                          .gw6 = "2001:db8::1" };
	char *out = render("debian", NULL, &net, 1);
	assert_string_equal(out, "auto lo\n"
	                         "iface lo inet loopback\n"
	                         "iface lo inet6 loopback\n"
	                         "\n"
	                         "auto eth0\n"
	                         "iface eth0 inet static\n"
	                         "\taddress 192.0.2.10/24\n"
	                         "\tgateway 192.0.2.1\n"
	                         "\n"
	                         "iface eth0 inet6 static\n"
	                         "\taddress 2001:db8::10/64\n"
	                         "\tgateway 2001:db8::1\n"
	                         "\n");
	free(out);
}

static void
test_dhcp_and_slaac_are_methods_without_options(void **state)
{
	const struct ct_net_setup nets[] = {
		{ .name = "eth0", .ip = "dhcp", .ip6 = "auto" },
		{ .name = "eth1", .ip = "manual" },
	};
	char *out = render("ubuntu", "auto lo\niface lo inet loopback\n", nets, 2);
	assert_string_equal(out, "auto lo\n"
	                         "iface lo inet loopback\n"
	                         "\n"
	                         "auto eth0\n"
	                         "iface eth0 inet dhcp\n"
	                         "\n"
	                         "iface eth0 inet6 auto\n"
	                         "\n"
	                         "auto eth1\n"
	                         "iface eth1 inet manual\n"
	                         "\n");
	free(out);
}

static void
test_alpine_turns_ipv6_dhcp_and_auto_into_manual(void **state)
{
	const struct ct_net_setup nets[] = {
		{ .name = "eth0", .ip = "dhcp", .ip6 = "dhcp" },
		{ .name = "eth1", .ip6 = "auto" },
	};
	char *out = render("alpine", NULL, nets, 2);
	assert_non_null(strstr(out, "iface eth0 inet dhcp\n"));
	assert_non_null(strstr(out, "iface eth0 inet6 manual\n"));
	assert_non_null(strstr(out, "iface eth1 inet6 manual\n"));
	assert_null(strstr(out, "inet6 dhcp"));
	assert_null(strstr(out, "inet6 auto"));
	free(out);
}

static void
test_existing_file_keeps_foreign_stanzas_and_extra_options(void **state)
{
	const char *old = "# This file describes the network interfaces\n"
	                  "source /etc/network/interfaces.d/*\n"
	                  "\n"
	                  "auto lo\n"
	                  "iface lo inet loopback\n"
	                  "\n"
	                  "auto eth0\n"
	                  "iface eth0 inet dhcp\n"
	                  "\tmtu 1400\n"
	                  "\taddress 10.0.0.99/8\n"
	                  "\n"
	                  "auto eth9\n"
	                  "iface eth9 inet static\n"
	                  "\taddress 10.9.9.9/24\n";
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip = "192.0.2.10/24",
		                          .gw = "192.0.2.1" };
	char *out = render("debian", old, &net, 1);
	assert_string_equal(out, "# This file describes the network interfaces\n"
	                         "source /etc/network/interfaces.d/*\n"
	                         "\n"
	                         "auto lo\n"
	                         "iface lo inet loopback\n"
	                         "\n"
	                         "auto eth0\n"
	                         "iface eth0 inet static\n"
	                         "\taddress 192.0.2.10/24\n"
	                         "\tgateway 192.0.2.1\n"
	                         "\tmtu 1400\n"
	                         "\n"
	                         "auto eth9\n"
	                         "iface eth9 inet static\n"
	                         "\taddress 10.9.9.9/24\n");
	free(out);
}

static void
test_interface_without_addresses_is_left_as_it_is(void **state)
{
	const char *old = "auto lo\niface lo inet loopback\n\nauto eth1\niface eth1 inet dhcp\n";
	const struct ct_net_setup net = { .name = "eth1" };
	char *out = render("debian", old, &net, 1);
	assert_string_equal(out, old);
	free(out);
}

static void
test_gateway_outside_the_subnet_gets_routes_that_the_next_run_replaces(void **state)
{
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip = "192.0.2.10/32",
		                          .gw = "198.51.100.1" };
	char *once = render("debian", NULL, &net, 1);
	assert_non_null(strstr(once, "iface eth0 inet static\n"
	                             "\taddress 192.0.2.10/32\n"
	                             "# --- BEGIN PVE ---\n"
	                             "\tpost-up ip route add 198.51.100.1 dev eth0\n"
	                             "\tpost-up ip route add default via 198.51.100.1 dev eth0\n"
	                             "\tpre-down ip route del default via 198.51.100.1 dev eth0\n"
	                             "\tpre-down ip route del 198.51.100.1 dev eth0\n"
	                             "# --- END PVE ---\n"));
	assert_null(strstr(once, "gateway"));
	/* rendering the result again changes nothing: the old routes are not kept twice */
	char *twice = render("debian", once, &net, 1);
	assert_string_equal(twice, once);
	/* and a gateway that became reachable drops them */
	const struct ct_net_setup net2 = { .name = "eth0",
		                           .ip = "198.51.100.10/24",
		                           .gw = "198.51.100.1" };
	char *moved = render("debian", once, &net2, 1);
	assert_null(strstr(moved, "post-up"));
	assert_null(strstr(moved, "BEGIN PVE"));
	assert_non_null(strstr(moved, "\tgateway 198.51.100.1\n"));
	free(once);
	free(twice);
	free(moved);
}

static void
test_ipv6_link_local_gateway_needs_no_route(void **state)
{
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip6 = "2001:db8::10/64",
		                          .gw6 = "fe80::1" };
	char *out = render("debian", NULL, &net, 1);
	assert_non_null(strstr(out, "\tgateway fe80::1\n"));
	assert_null(strstr(out, "post-up"));
	free(out);
}

static void
test_values_that_could_inject_lines_are_refused(void **state)
{
	const struct ct_net_setup bad[] = {
		{ .name = "eth0", .ip = "10.0.0.2/24\n\tup rm -rf /" },
		{ .name = "eth0 inet", .ip = "dhcp" },
		{ .name = "eth0\n", .ip = "dhcp" },
		{ .name = "lo", .ip = "dhcp" },
		{ .name = "eth0", .ip = "10.0.0.2" },    /* no prefix */
		{ .name = "eth0", .ip = "10.0.0.2/33" }, /* prefix too long */
		{ .name = "eth0", .ip = "dhcp", .gw = "10.0.0.1 x" },
		{ .name = "eth0", .ip6 = "auto ", .gw6 = NULL },
		{ .name = "eth0", .ip6 = "10.0.0.2/24" },
		{ .name = "eth0", .ip = "auto" }, /* IPv4 has no auto */
		{ .name = "averyveryverylongname", .ip = "dhcp" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		struct error err = { 0 };
		assert_int_equal(ct_render_interfaces("debian", NULL, &bad[i], 1, &out, &err),
		                 -EINVAL);
		assert_null(out);
	}
	const struct ct_net_setup dup[] = { { .name = "eth0", .ip = "dhcp" },
		                            { .name = "eth0", .ip = "manual" } };
	char *out = NULL;
	struct error err = { 0 };
	assert_int_equal(ct_render_interfaces("debian", NULL, dup, 2, &out, &err), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_dual_stack_from_scratch_adds_loopback),
		cmocka_unit_test(test_dhcp_and_slaac_are_methods_without_options),
		cmocka_unit_test(test_alpine_turns_ipv6_dhcp_and_auto_into_manual),
		cmocka_unit_test(test_existing_file_keeps_foreign_stanzas_and_extra_options),
		cmocka_unit_test(test_interface_without_addresses_is_left_as_it_is),
		cmocka_unit_test(
		        test_gateway_outside_the_subnet_gets_routes_that_the_next_run_replaces),
		cmocka_unit_test(test_ipv6_link_local_gateway_needs_no_route),
		cmocka_unit_test(test_values_that_could_inject_lines_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
