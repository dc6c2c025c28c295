# Berth: `make run` and `make test` are the two commands (see README.md).
# Everything else here is a step they use.

BUILD      ?= build
ASAN_BUILD ?= build-asan
ROOT       ?= /var/lib/berth
LISTEN     ?= 0.0.0.0:8006

.PHONY: all build ui asan deps host run test unit integration format check-format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

build: $(BUILD)/build.ninja ui
	ninja -C $(BUILD)

# the web UI: npm packages from ui/package-lock.json, built by Vite into ui/dist
ui:
	@scripts/build-ui.sh

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

host:
	@scripts/setup-host.sh

run: deps build host
	@exec $(BUILD)/berthd --foreground --root $(ROOT) --listen $(LISTEN) $(BERTHD_ARGS)

test: deps build asan host
	@scripts/run-tests.sh

unit: build asan
	@scripts/run-tests.sh unit

integration: build asan host
	@scripts/run-tests.sh integration

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

check-format:
	@scripts/check-format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
