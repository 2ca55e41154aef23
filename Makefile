# vigil: one flat Makefile. Sources are discovered by folder, so a new module
# is a new file; a new test is tests/test_<module>.c (cmocka) or
# tests/e2e_<name>.sh (end-to-end, gets $VIGIL = the binary under test).

DEB_PKGS := gcc make pkg-config python3 librdkafka-dev libgsl-dev libjansson-dev libcmocka-dev libyaml-dev \
            libcurl4-openssl-dev libmicrohttpd-dev prometheus-alertmanager python3-aiosmtpd tzdata \
            prometheus python3-yaml collectd-core libyajl2 libsnappy-dev \
            libprotobuf-c-dev protobuf-c-compiler libcairo2-dev libfontconfig-dev libpng-dev libssl-dev chromium \
            clang-14 libclang-rt-14-dev

CC      ?= gcc
PKGS    := rdkafka gsl jansson yaml-0.1 libcurl libmicrohttpd libprotobuf-c snappy cairo fontconfig libpng libcrypto
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wfloat-equal -Wformat=2 -Wundef -Wpointer-arith -Wcast-align -Wvla
DEFS    := -D_GNU_SOURCE -I.
OPT     ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CFLAGS  = $(WARN) $(DEFS) $(OPT) $(PKG_CFLAGS) $(EXTRA)
SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
TSAN    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread

LIB_SRC  := $(sort $(wildcard core/*.c detectors/*.c rules/*.c engine/*.c sinks/*.c consumers/*.c cli/*.c))
LIB_SRC  := $(filter-out cli/main.c,$(LIB_SRC))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
E2E      := $(sort $(wildcard tests/e2e_*.sh))
# The Kafka e2e tests run twice: on the embedded broker (`vigil broker`, in
# E2E) and on a real Apache Kafka broker from Maven Central
# (tests/kafka/real-broker.sh, VIGIL_KAFKA=real). Tests that need the
# embedded broker's fault injection skip themselves there, loudly; those
# that need a real broker (SASL, compaction, three brokers) skip themselves
# on the embedded one. e2e_demo.sh runs the Kafka demo on the real broker.
KAFKA_E2E := $(sort $(wildcard tests/e2e_kafka_*.sh)) tests/e2e_demo.sh

# Protocol buffers: consumers/*.proto (committed, written for vigil) compiled by
# protoc-c into build/gen/ at build time; the generated C is built with the
# language flags but not our warning set (it is not our code).
PROTO    := $(sort $(wildcard consumers/*.proto))
GEN_C    := $(PROTO:consumers/%.proto=build/gen/%.pb-c.c)
GEN_H    := $(PROTO:consumers/%.proto=build/gen/%.pb-c.h)

# build/<variant>/... ; variant "rel" (optimised), "asan" (ASan+UBSan) and
# "tsan" (ThreadSanitizer; only the threaded tests run under it, see tsan:)
rel_OBJ  := $(LIB_SRC:%.c=build/rel/%.o) $(GEN_C:build/gen/%.c=build/rel/gen/%.o)
asan_OBJ := $(LIB_SRC:%.c=build/asan/%.o) $(GEN_C:build/gen/%.c=build/asan/gen/%.o)
tsan_OBJ := $(LIB_SRC:%.c=build/tsan/%.o) $(GEN_C:build/gen/%.c=build/tsan/gen/%.o)
rel_TESTS  := $(TEST_SRC:tests/%.c=build/rel/tests/%)
asan_TESTS := $(TEST_SRC:tests/%.c=build/asan/tests/%)

# The tests that exercise threads (libmicrohttpd's threads, the gateway's
# delivery workers, librdkafka's callbacks), run by `make tsan` against the
# tsan build with tests/tsan.supp (third-party races only, each with a reason).
# TSAN_E2E run on the embedded broker: HTTP (e2e_http, e2e_kafka_http), the
# delivery workers across faults, reloads and kill -9 of gateway members
# (e2e_delivery_faults, e2e_owners_reload, e2e_kafka_gateway_*, e2e_control),
# consumer group rebalances (e2e_kafka_group). TSAN_REAL_E2E run on the real
# broker (tests/tsan.sh: a loud SKIP where it cannot be had) with
# TSAN_REAL_ENV: the exactly-once transactions and their rebalance callbacks,
# one run per case (kill -9, zombie, join, pause) in exactly_once mode.
# About 9 minutes in all here (RELIABILITY.md, ThreadSanitizer and valgrind).
TSAN_UNIT := $(addprefix build/tsan/tests/,test_httpd test_gateway test_sinks test_kafka_conf)
TSAN_E2E  := tests/e2e_http.sh tests/e2e_kafka_http.sh tests/e2e_delivery_faults.sh tests/e2e_owners_reload.sh \
             tests/e2e_kafka_group.sh tests/e2e_kafka_gateway_failover.sh tests/e2e_kafka_gateway_kill_nodup.sh \
             tests/e2e_kafka_gateway_reload.sh tests/e2e_kafka_gateway_restart.sh tests/e2e_control.sh
TSAN_REAL_E2E := tests/e2e_kafka_eos.sh
TSAN_REAL_ENV := EOS_RUNS=1 EOS_MODES=exactly_once
TSAN_RUN   = TSAN_REAL_ENV="$(TSAN_REAL_ENV)" bash tests/tsan.sh "$(TSAN_UNIT)" "$(TSAN_E2E)" "$(TSAN_REAL_E2E)"
# `make tsan-real` (not in make test: it takes far longer than make test's
# budget allows, RELIABILITY.md, ThreadSanitizer and valgrind): every other
# Kafka e2e script on the real broker under the TSan vigil (e2e_kafka_eos is
# in TSAN_REAL_E2E; e2e_kafka_restore is embedded-only), its own reports dir
# (TSAN_SET=real: build/tsan/reports-real, build/tsan/real-*.log).
TSAN_REAL_ALL := $(filter-out $(TSAN_REAL_E2E) tests/e2e_kafka_restore.sh,$(KAFKA_E2E))

.PHONY: all deps test test-real-kafka unit e2e asan-test tsan tsan-real tsan-faults valgrind bench soak faults demo console nab format \
        format-check clean help fuzz fuzz-build
.DEFAULT_GOAL := all

all: deps bin/vigil

help:
	@echo "make            build bin/vigil (installs missing Debian packages as root)"
	@echo "make demo       replay the bundled demo data set and print each team's pages"
	@echo "make console    replay the demo mid-incident and keep its API and web console on http://127.0.0.1:8080/"
	@echo "make test       unit + end-to-end tests, the unit tests under valgrind, then again"
	@echo "                under ASan+UBSan; the Kafka e2e tests also against a real Apache"
	@echo "                Kafka broker (needs Java 17 + Maven; installed as root, else a loud"
	@echo "                SKIP); then make tsan's tests"
	@echo "make test-real-kafka  only the Kafka e2e tests against the real broker (both variants)"
	@echo "make bench      throughput and memory benchmarks (writes BENCHMARKS.md figures to stdout)"
	@echo "make soak       SOAK_MINUTES (30) of sustained load: RSS, CPU, fds, lag, latency (build/soak)"
	@echo "make faults     fault matrix, FAULTS_RUNS each (20 kill rows, 5 others): lost/duplicated alerts (build/faults); VIGIL_KAFKA=real on Apache Kafka"
	@echo "make nab        score bin/vigil detect on NAB_DIR (default ../shared/nab)"
	@echo "make tsan       the threaded tests (HTTP, delivery workers, Kafka) under ThreadSanitizer"
	@echo "make tsan-real  the other Kafka e2e scripts on the real broker under ThreadSanitizer (long)"
	@echo "make tsan-faults  fault-matrix rows 2, 3, 5, 6 on the real broker under ThreadSanitizer"
	@echo "make valgrind   the unit tests under valgrind memcheck, two at a time (also in make test)"
	@echo "make fuzz       run every libFuzzer target in tests/fuzz for FUZZ_SECONDS (default 60) each"
	@echo "make format     clang-format every C file"

# Install what a fresh Debian machine lacks (root: apt-get; else print the command).
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get install -y -q $$missing >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null)) || \
	     { echo "apt-get install failed for:$$missing"; exit 1; }; \
	  else echo "missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

build/gen/%.pb-c.c build/gen/%.pb-c.h: consumers/%.proto
	@mkdir -p build/gen
	protoc-c --c_out=build/gen --proto_path=consumers $<

# every object may include a generated header: make them first
$(LIB_SRC:%.c=build/rel/%.o) $(LIB_SRC:%.c=build/asan/%.o) $(LIB_SRC:%.c=build/tsan/%.o) \
  build/rel/cli/main.o build/asan/cli/main.o build/tsan/cli/main.o \
  $(TEST_SRC:%.c=build/rel/%.o) $(TEST_SRC:%.c=build/asan/%.o) $(TEST_SRC:%.c=build/tsan/%.o): | $(GEN_H)

build/rel/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(DEFS) $(OPT) $(PKG_CFLAGS) -c $< -o $@
build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(DEFS) $(SAN) $(PKG_CFLAGS) -c $< -o $@
build/tsan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(DEFS) $(TSAN) $(PKG_CFLAGS) -c $< -o $@

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(SAN) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(TSAN) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The web console's files are embedded with .incbin: rebuild when one changes.
CONSOLE_FILES := $(wildcard cli/console/*)
build/rel/cli/serve_console_data.o build/asan/cli/serve_console_data.o build/tsan/cli/serve_console_data.o: \
  $(CONSOLE_FILES)

build/rel/libvigil.a: $(rel_OBJ)
	@rm -f $@; ar rcs $@ $^
build/asan/libvigil.a: $(asan_OBJ)
	@rm -f $@; ar rcs $@ $^
build/tsan/libvigil.a: $(tsan_OBJ)
	@rm -f $@; ar rcs $@ $^

bin/vigil: build/rel/cli/main.o build/rel/libvigil.a
	@mkdir -p bin
	$(CC) $(OPT) -o $@ $^ $(PKG_LIBS)

build/asan/vigil: build/asan/cli/main.o build/asan/libvigil.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
# tests/tsan_c11threads.c: librdkafka's C11 threads made visible to TSan
build/tsan/vigil: build/tsan/cli/main.o build/tsan/tests/tsan_c11threads.o build/tsan/libvigil.a
	$(CC) $(TSAN) -o $@ $^ $(PKG_LIBS)

build/rel/tests/%: build/rel/tests/%.o build/rel/libvigil.a
	$(CC) $(OPT) -o $@ $^ $(PKG_LIBS) -lcmocka
build/asan/tests/%: build/asan/tests/%.o build/asan/libvigil.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) -lcmocka
build/tsan/tests/%: build/tsan/tests/%.o build/tsan/tests/tsan_c11threads.o build/tsan/libvigil.a
	$(CC) $(TSAN) -o $@ $^ $(PKG_LIBS) -lcmocka

unit-%: deps $(%_TESTS)
	@true

# Run every unit test binary and every e2e script for one variant.
define RUN_SUITE
	@pass=0; fail=0; failed=""; \
	for t in $(1); do \
	  if (cd . && VIGIL_TEST_VARIANT=$(2) $$t >build/$(2)/$$(basename $$t).log 2>&1); then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$t"; echo "FAIL $$t (log: build/$(2)/$$(basename $$t).log)"; tail -n 30 build/$(2)/$$(basename $$t).log; fi; \
	done; \
	for e in $(E2E); do \
	  if VIGIL=$(3) bash $$e >build/$(2)/$$(basename $$e).log 2>&1; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$e"; echo "FAIL $$e (log: build/$(2)/$$(basename $$e).log)"; tail -n 30 build/$(2)/$$(basename $$e).log; fi; \
	done; \
	echo "$(2): $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]
endef

# The Kafka e2e scripts against the real broker for one variant. The broker's
# jars are resolved once (build/kafka/<version>/); where Java or Maven cannot
# be had the part prints a SKIP line with the reason and passes.
define RUN_REAL_KAFKA
	@out=$$(bash tests/kafka/real-broker.sh provision 2>build/$(1)/real-kafka-provision.log); rc=$$?; \
	if [ $$rc = 3 ]; then echo "******** $$out ********"; echo "$(1) real Kafka: 0 passed, 0 failed, $(words $(KAFKA_E2E)) skipped"; echo 0 >build/$(1)/real-kafka.passed; exit 0; fi; \
	[ $$rc = 0 ] || { echo "FAIL real Kafka provisioning (log: build/$(1)/real-kafka-provision.log)"; tail -n 30 build/$(1)/real-kafka-provision.log; exit 1; }; \
	pass=0; fail=0; skip=0; \
	for e in $(KAFKA_E2E); do \
	  log=build/$(1)/real-kafka-$$(basename $$e).log; \
	  if VIGIL_KAFKA=real VIGIL=$(2) bash $$e >$$log 2>&1; then \
	    if grep -q '^SKIP (VIGIL_KAFKA=real)' $$log; then skip=$$((skip+1)); grep '^SKIP' $$log; else pass=$$((pass+1)); fi; \
	  else fail=$$((fail+1)); echo "FAIL $$e on the real broker (log: $$log)"; tail -n 30 $$log; fi; \
	done; \
	echo "$(1) real Kafka: $$pass passed, $$fail failed, $$skip skipped"; \
	echo $$pass >build/$(1)/real-kafka.passed; \
	[ $$fail -eq 0 ]
endef

# make test: the release suite, its unit tests under valgrind (VALGRIND_RUN),
# the real-broker runs, the ASan suite, then the ThreadSanitizer part.
test: deps bin/vigil build/asan/vigil build/tsan/vigil $(rel_TESTS) $(asan_TESTS) $(TSAN_UNIT)
	$(call RUN_SUITE,$(rel_TESTS),rel,$(CURDIR)/bin/vigil)
	@$(VALGRIND_RUN)
	$(call RUN_REAL_KAFKA,rel,$(CURDIR)/bin/vigil)
	$(call RUN_SUITE,$(asan_TESTS),asan,$(CURDIR)/build/asan/vigil)
	$(call RUN_REAL_KAFKA,asan,$(CURDIR)/build/asan/vigil)
	@$(TSAN_RUN)
	@echo "all tests: $$(( $(words $(rel_TESTS) $(E2E)) * 2 + $(words $(rel_TESTS)) + $$(cat build/tsan/tsan.passed) + $$(cat build/rel/real-kafka.passed) + $$(cat build/asan/real-kafka.passed) )) passed, 0 failed"

test-real-kafka: deps bin/vigil build/asan/vigil
	@mkdir -p build/rel build/asan
	$(call RUN_REAL_KAFKA,rel,$(CURDIR)/bin/vigil)
	$(call RUN_REAL_KAFKA,asan,$(CURDIR)/build/asan/vigil)

# The threaded tests under ThreadSanitizer (tests/tsan.sh; reports in
# build/tsan/reports, suppressions for third-party code in tests/tsan.supp).
tsan: deps build/tsan/vigil $(TSAN_UNIT)
	@$(TSAN_RUN)

tsan-real: deps build/tsan/vigil
	@TSAN_SET=real bash tests/tsan.sh "" "" "$(TSAN_REAL_ALL)"

# Fault-matrix rows (TSAN_FAULTS_ROWS: 2, 3, 5 and 6, rebalancing, a
# hanging destination, kill -9 of a member and of a gateway member) on the
# real broker with the TSan vigil, TSAN_FAULTS_RUNS (2) runs each
# (tests/faults.sh; table in build/faults/results.md). Fails on any TSan report (build/tsan/
# reports-faults), a failed run or a lost notification; duplicates are
# counted in the table only (row 6's known window). Not in make test.
TSAN_FAULTS_RUNS ?= 2
TSAN_FAULTS_ROWS ?= 2 3 5 6
tsan-faults: deps build/tsan/vigil
	@rep=$(CURDIR)/build/tsan/reports-faults; rm -rf $$rep; mkdir -p $$rep; \
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp log_path=$$rep/tsan second_deadlock_stack=1" \
	  VIGIL=$(CURDIR)/build/tsan/vigil VIGIL_KAFKA=real FAULTS_ROWS="$(TSAN_FAULTS_ROWS)" FAULTS_RUNS=$(TSAN_FAULTS_RUNS) \
	  bash tests/faults.sh || exit 1; \
	n=$$(find $$rep -type f | wc -l); [ $$n -eq 0 ] || grep -h -A12 '^WARNING: ThreadSanitizer' $$rep/* | head -n 80; \
	bad=$$(awk -F'\t' '$$3 == "FAILED" || $$6 > 0' build/faults/runs.tsv | wc -l); \
	echo "tsan-faults: $$n TSan report file(s), $$bad run(s) failed or lost notifications"; \
	[ $$n -eq 0 ] && [ $$bad -eq 0 ]

# Every release unit test under memcheck, VALGRIND_JOBS (2) at a time
# (tests/valgrind.sh: errors and definite/possible leaks fail; logs and each
# test's seconds in build/valgrind/). Part of make test (the same call):
# 3.5-8 minutes here by the load (RELIABILITY.md, ThreadSanitizer and valgrind).
VALGRIND_RUN = bash tests/valgrind.sh $(rel_TESTS)
valgrind: deps $(rel_TESTS)
	@$(VALGRIND_RUN)

demo: deps bin/vigil
	@bash data/demo/run-demo.sh
	@echo; echo "== the same data through Kafka: embedded broker, two members, central gateway"
	@bash data/demo/run-kafka-demo.sh

console: deps bin/vigil
	@bash data/demo/run-console.sh

bench: deps bin/vigil
	@bash tests/bench.sh

# Sustained load for SOAK_MINUTES (30): RSS, CPU, fds, lag and alert latency
# sampled to build/soak/samples.csv and plotted to build/soak/soak.png.
soak: deps bin/vigil
	@bash tests/soak.sh

# The fault matrix (issue 16): broker down, rebalancing, a hanging and a
# failing destination, kill -9 of a member and of a gateway member, each run
# FAULTS_RUNS times (20 for the kill rows, 5 for the others; FAULTS_ROWS
# picks rows); expected / delivered / duplicated / lost notifications at the
# owner's webhook receiver, table in build/faults/results.md. Not in make test.
# VIGIL_KAFKA=real runs the Kafka rows on one Apache Kafka broker (row 1:
# kill -9 of the broker process).
faults: deps bin/vigil
	@bash tests/faults.sh

nab: deps bin/vigil
	@bash tests/nab.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c, one per parser family): the library
# sources again, compiled with clang and coverage instrumentation into
# build/fuzz/; each target links against that archive. `make fuzz` runs each
# one for FUZZ_SECONDS over its seed corpus (tests/fuzz/corpus/<target>; new
# inputs go to build/fuzz/corpus/<target>, never into the repository) and
# prints the executions per target; tests/e2e_fuzz_smoke.sh (part of make
# test) replays every corpus and fuzzes each target for a few seconds.
FUZZ_CC      ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang-14)
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
                -fno-sanitize-recover=all
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/bin/%)
fuzz_OBJ     := $(LIB_SRC:%.c=build/fuzz/%.o)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/libvigil.a: $(fuzz_OBJ)
	@rm -f $@; ar rcs $@ $^
build/fuzz/bin/%: build/fuzz/tests/fuzz/%.o build/fuzz/libvigil.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(rel_OBJ:.o=.d) $(asan_OBJ:.o=.d) $(tsan_OBJ:.o=.d) $(fuzz_OBJ:.o=.d) $(FUZZ_SRC:%.c=build/fuzz/%.d) build/rel/cli/main.d build/asan/cli/main.d \
         build/tsan/cli/main.d $(rel_TESTS:=.d) $(asan_TESTS:=.d) $(TSAN_UNIT:=.d)
