/* The HTTPS proxy process (`berthd-proxy ...`, started by berthd): binds the listen address,
 * terminates TLS, drops to an unprivileged user, parses HTTP/1.1 strictly with its own
 * limits, serves static UI files, and forwards each API request to the root daemon as a
 * `request` frame (docs/internals.md). */
#pragma once

/* argv[0] is the program name; options:
 *   --listen ADDR:PORT   (e.g. 0.0.0.0:8006, [::]:8006, 127.0.0.1:0)
 *   --cert PATH --key PATH   TLS certificate and key (read before dropping privileges)
 *   --www DIR            static files
 *   --upstream PATH      the root daemon's proxy socket
 *   --user NAME          drop to this user (falls back to "nobody" if it does not exist)
 *   --port-file PATH     optional: write the bound port there (for --listen ...:0)
 * Returns the process exit code. */
int proxy_main(int argc, char **argv);
