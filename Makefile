# lookout — the two commands of the README: `make run` and `make test`.
# Installs the system packages the build and the tests need (Debian; run as root).

SWIFT ?= swift
# Build: libcurl, libyaml, protobuf-c, zlib, libcrypt (bcrypt), OpenSSL (HMAC), RE2 (regexes),
# elfutils (stack unwinding, symbols), snappy (remote_write).
BUILD_PACKAGES := libcurl4-openssl-dev libyaml-dev libprotobuf-c-dev zlib1g-dev libcrypt-dev libssl-dev libre2-dev pkg-config \
	libdw-dev libelf-dev libsnappy-dev
# Tests: the real servers lookout is tested against, and the tools that read its output.
# Stack profiles: programs in C, C++, Go and JavaScript to sample, perf to compare with.
TEST_PACKAGES := prometheus prometheus-alertmanager prometheus-node-exporter golang-go chromium \
	python3 python3-prometheus-client python3-yaml openssl curl procps wrk systemd \
	gcc g++ binutils nodejs linux-perf
# Tests, from PyPI: deploy/'s Kubernetes manifests are validated against the API's schema.
PIP_PACKAGES := kubernetes-validate==1.37.0
# Benchmarks/compare: the peers lookout is measured against, gcc for its C floor; Benchmarks/stacks: libunwind
# (DWARF unwinding cost against libdw).
BENCH_PACKAGES := gcc prometheus-blackbox-exporter prometheus-process-exporter libunwind-dev
APT_STAMP := .build/.apt-$(shell echo $(BUILD_PACKAGES) $(TEST_PACKAGES) $(BENCH_PACKAGES) $(PIP_PACKAGES) | md5sum | cut -c1-8)

.PHONY: run test build release deps check-rules clean

run: release
	.build/release/lookout run

# The release binary carries the Swift runtime (--static-swift-stdlib): it runs on a host
# without a Swift toolchain, and maps fewer pages than the shared libraries would.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product lookout

build: deps
	$(SWIFT) build

# Suites named *TimingTests assert wall-clock bounds and *HeavyTests load the CPU for a while;
# both run after the rest, one at a time, so on a 2-core machine neither starves the other tests.
# Tests/run-pass keeps each pass' log in .build/ and ends a failed pass with what failed; a
# test that fails (not a crash) is run once more, alone, after its failure is printed: in the
# parallel pass some tests wait for servers and loops on the real clock while hundreds of
# others share the 2 cores.
SERIAL := 'TimingTests|HeavyTests'
test: deps
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) Tests/run-pass parallel --rerun-failed -- --skip $(SERIAL)
	SWIFT=$(SWIFT) Tests/run-pass serial --rerun-failed -- --filter $(SERIAL) --no-parallel
	$(MAKE) --no-print-directory check-rules

# The rule files load in a real Prometheus and pass their promtool unit tests.
check-rules:
	promtool check rules alerts/*.rules.yml
	promtool test rules alerts/*.test.yml

deps: $(APT_STAMP)

$(APT_STAMP):
	@missing=$$(for p in $(BUILD_PACKAGES) $(TEST_PACKAGES) $(BENCH_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@for p in $(PIP_PACKAGES); do \
		python3 -m pip show -q $${p%%==*} >/dev/null 2>&1 || python3 -m pip install -q $$p; \
	done
	@mkdir -p .build && touch $@

clean:
	rm -rf .build
