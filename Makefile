# sfn: build the C modules sfn.core (the engine, no libcurl) and sfn.curl
# (the libcurl transport) for one Lua interpreter at a time, each into its own
# build folder.
#   make                 Lua 5.4  -> build/sfn/core.so, build/sfn/curl.so
#   make LUA=luajit      LuaJIT   -> build/luajit/sfn/{core,curl}.so
#   make LUA=lua5.1      Lua 5.1  -> build/lua5.1/sfn/{core,curl}.so
#   make LUA=lua5.2      Lua 5.2  -> build/lua5.2/sfn/{core,curl}.so
#   make LUA=lua5.3      Lua 5.3  -> build/lua5.3/sfn/{core,curl}.so
#   make test            build and run the specs under all five
#   make install         install for LUA under INSTALL_TOP (/usr/local)
#   make lint / doc      luacheck / the LDoc reference in build/doc
# LUA names one of the five; any other value is an error. LUA_BIN (the
# interpreter's path, for the installed CLI's first line) and LUA_INCDIR can
# point elsewhere, e.g. at OpenResty's LuaJIT.
LUA ?= lua5.4
LUAS = lua5.4 luajit lua5.1 lua5.2 lua5.3

ifeq ($(LUA),lua5.4)
BUILD ?= build
else ifneq ($(filter $(LUA),luajit lua5.1 lua5.2 lua5.3),)
BUILD ?= build/$(LUA)
else
$(error LUA=$(LUA) is not an interpreter this Makefile knows: use one of $(LUAS))
endif
LUA_PC ?= $(LUA)
# The Lua version directory modules install under (LuaJIT is 5.1).
LUA_VERSION_DIR ?= $(if $(filter luajit,$(LUA)),5.1,$(patsubst lua%,%,$(LUA)))

PKG_CONFIG ?= pkg-config
LUA_INCDIR ?= $(patsubst -I%,%,$(filter -I%,$(shell $(PKG_CONFIG) --cflags-only-I $(LUA_PC))))
CURL_INCDIR ?= /usr/include
CJSON_INCDIR ?= /usr/include/cjson
OPENSSL_INCDIR ?= /usr/include
# sfn.core maps libcrypto on first use (src/crypto.c), not at load: it is
# not linked; dlopen and pthread_once are in libc on glibc >= 2.34.
LIBS ?= -lcjson -lexpat -ldl -lpthread
CURL_LIBS ?= -lcurl -lcrypto

EXPAT_INCDIR ?= /usr/include

# Every build (the rock's too: it runs this Makefile) compiles with -fPIC,
# -fvisibility=hidden and OPT; CFLAGS adds to them (luarocks passes its own).
OPT ?= -O2
WARN ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
WERROR ?=
CFLAGS ?= -g $(WARN) $(if $(WERROR),-Werror)
SANFLAGS ?=
ALL_CFLAGS = -std=gnu99 -fPIC -fvisibility=hidden $(OPT) $(CFLAGS) $(SANFLAGS) \
  $(addprefix -I,$(LUA_INCDIR)) -I$(CURL_INCDIR) -I$(CJSON_INCDIR) -I$(OPENSSL_INCDIR) -I$(EXPAT_INCDIR)
LIBFLAG ?= -shared
LDFLAGS ?=

SRCS = $(wildcard src/*.c)
OBJS = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
TARGET = $(BUILD)/sfn/core.so
# sfn.curl: src/curl/ plus the error constructors it shares with sfn.core
CURL_OBJS = $(patsubst src/curl/%.c,$(BUILD)/obj/curl/%.o,$(wildcard src/curl/*.c)) \
  $(BUILD)/obj/errors.o $(BUILD)/obj/compat.o
CURL_TARGET = $(BUILD)/sfn/curl.so
HEADERS = $(wildcard src/*.h src/curl/*.h)

BUSTED ?= /usr/bin/busted

# make install: the modules where the interpreter looks by default under
# INSTALL_TOP (/usr/local: also where OpenResty's LuaJIT looks), the CLI with
# LUA_BIN on its first line, the man page. DESTDIR stages a package.
INSTALL_TOP ?= /usr/local
INSTALL_LMOD ?= $(INSTALL_TOP)/share/lua/$(LUA_VERSION_DIR)
INSTALL_CMOD ?= $(INSTALL_TOP)/lib/lua/$(LUA_VERSION_DIR)
INSTALL_BIN ?= $(INSTALL_TOP)/bin
INSTALL_MAN ?= $(INSTALL_TOP)/share/man/man1
LUA_BIN ?= $(or $(shell command -v $(LUA) 2>/dev/null),$(if $(filter luajit,$(LUA)),$(wildcard /usr/local/openresty/luajit/bin/luajit)))

.PHONY: all build deps demo test test-one valgrind asan install uninstall rock lint doc clean

all build: $(TARGET) $(CURL_TARGET)

$(TARGET): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(CURL_TARGET): $(CURL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(SANFLAGS) $(LDFLAGS) -o $@ $(CURL_OBJS) $(CURL_LIBS)

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The specs never see the caller's AWS setup and never reach a real address:
# no credentials or profiles from the environment, no instance metadata, no
# proxies for loopback.
SPEC_ENV = env -u AWS_PROFILE -u AWS_REGION -u AWS_DEFAULT_REGION \
  -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN \
  -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_SFN -u AWS_ROLE_ARN -u AWS_WEB_IDENTITY_TOKEN_FILE \
  -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI \
  -u AWS_CA_BUNDLE -u AWS_MAX_ATTEMPTS -u AWS_RETRY_MODE -u AWS_NEW_RETRIES_2026 \
  -u AWS_ENDPOINT_URL_SSO -u AWS_ENDPOINT_URL_SSO_OIDC -u AWS_ENDPOINT_URL_SIGNIN -u AWS_LOGIN_CACHE_DIRECTORY \
  -u AWS_SDK_UA_APP_ID \
  AWS_EC2_METADATA_DISABLED=true AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/ \
  AWS_CONFIG_FILE=/nonexistent/config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials \
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# Specs for one interpreter against its own build.
test-one: $(TARGET) $(CURL_TARGET)
	$(SPEC_ENV) SFN_CPATH='$(BUILD)/?.so' $(LUA) $(BUSTED) $(BUSTED_ARGS)

test:
	$(foreach l,$(LUAS),$(MAKE) LUA=$(l) test-one &&) true

# The lua5.4 specs under valgrind; fails on any definite or indirect leak.
valgrind: $(TARGET) $(CURL_TARGET)
	$(SPEC_ENV) SFN_CPATH='$(BUILD)/?.so' SFN_UNDER_VALGRIND=1 valgrind --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect --track-fds=no --quiet \
	  $(LUA) $(BUSTED) $(BUSTED_ARGS)

# The specs against an ASan+UBSan build (clang), preloading the runtime.
asan:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	  SANFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  build/asan/sfn/core.so build/asan/sfn/curl.so
	$(SPEC_ENV) SFN_CPATH='build/asan/?.so' ASAN_OPTIONS=detect_leaks=0 \
	  LD_PRELOAD="$$(clang -print-file-name=libclang_rt.asan-x86_64.so)" \
	  $(LUA) $(BUSTED) $(BUSTED_ARGS)

# Debian packages for building, testing and the demo (apt-get when missing).
deps:
	bash .ci/deps

# The main job: list Map Runs. With ARN=... and an AWS account configured it
# asks AWS; otherwise it lists from the bundled local stand-in.
ARN ?=
DEMO_ARN ?= arn:aws:states:us-east-1:123456789012:execution:demo:runs-25
demo: $(TARGET) $(CURL_TARGET)
	@if [ -n "$(ARN)" ]; then \
	  LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
	    $(LUA) bin/sfn-map-runs '$(ARN)' $(DEMO_ARGS); \
	else \
	  dir=$$(mktemp -d); \
	  python3 spec/standin/server.py --port-file $$dir/port & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null; rm -rf '"$$dir" EXIT; \
	  for i in $$(seq 100); do [ -s $$dir/port ] && break; sleep 0.05; done; \
	  echo "Listing Map Runs from the local stand-in at http://127.0.0.1:$$(cat $$dir/port)" >&2; \
	  env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_EC2_METADATA_DISABLED=true \
	    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
	    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
	    LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
	    $(LUA) bin/sfn-map-runs '$(DEMO_ARN)' --region us-east-1 \
	      --endpoint http://127.0.0.1:$$(cat $$dir/port) --output table $(DEMO_ARGS); \
	fi

install: $(TARGET) $(CURL_TARGET)
	@[ -n "$(LUA_BIN)" ] || { echo "make install: $(LUA) is not on PATH: set LUA_BIN=/path/to/$(LUA)" >&2; exit 1; }
	install -d $(DESTDIR)$(INSTALL_CMOD)/sfn $(DESTDIR)$(INSTALL_BIN) $(DESTDIR)$(INSTALL_MAN)
	install -m 0755 $(TARGET) $(DESTDIR)$(INSTALL_CMOD)/sfn/core.so
	install -m 0755 $(CURL_TARGET) $(DESTDIR)$(INSTALL_CMOD)/sfn/curl.so
	cd lua && find . -name '*.lua' -exec install -D -m 0644 {} $(DESTDIR)$(INSTALL_LMOD)/{} \;
	sed -e '1s|.*|#!$(LUA_BIN)|' \
	  -e 's|^local INSTALLED = nil$$|local INSTALLED = { lmod = "$(INSTALL_LMOD)", cmod = "$(INSTALL_CMOD)" }|' \
	  bin/sfn-map-runs > $(DESTDIR)$(INSTALL_BIN)/sfn-map-runs
	chmod 0755 $(DESTDIR)$(INSTALL_BIN)/sfn-map-runs
	install -m 0644 doc/sfn-map-runs.1 $(DESTDIR)$(INSTALL_MAN)/sfn-map-runs.1

uninstall:
	rm -f $(DESTDIR)$(INSTALL_CMOD)/sfn/core.so $(DESTDIR)$(INSTALL_CMOD)/sfn/curl.so
	cd lua && find . -name '*.lua' -exec rm -f $(DESTDIR)$(INSTALL_LMOD)/{} \;
	-rmdir $(DESTDIR)$(INSTALL_CMOD)/sfn $(DESTDIR)$(INSTALL_LMOD)/sfn/credentials $(DESTDIR)$(INSTALL_LMOD)/sfn/profile $(DESTDIR)$(INSTALL_LMOD)/sfn/endpoints $(DESTDIR)$(INSTALL_LMOD)/sfn 2>/dev/null
	rm -f $(DESTDIR)$(INSTALL_BIN)/sfn-map-runs $(DESTDIR)$(INSTALL_MAN)/sfn-map-runs.1

# The rock (sfn-*.rockspec, build.type "make") builds here with luarocks'
# CC, CFLAGS, LIBFLAG and include/library dirs, from scratch every time (one
# checkout may build rocks for several interpreters); luarocks installs the
# files itself.
ROCK_BUILD = build/rock
rock:
	rm -rf $(ROCK_BUILD)
	$(MAKE) BUILD=$(ROCK_BUILD) $(ROCK_BUILD)/sfn/core.so $(ROCK_BUILD)/sfn/curl.so

# luacheck over everything written in Lua (.luacheckrc); fails on any warning.
LUACHECK ?= luacheck
lint:
	$(LUACHECK) --no-cache lua bin spec examples bench

# The HTML reference (LDoc, config.ld) in build/doc; fails on any warning.
# LDoc runs under lua5.1, the one Lua Debian's lua-markdown serves.
LDOC ?= lua5.1 $(shell command -v ldoc)
doc:
	@mkdir -p build/doc
	@$(LDOC) . > build/doc/ldoc.log 2>&1; status=$$?; \
	  grep -vE '^(reading configuration from config.ld|found master module|output written to)' build/doc/ldoc.log \
	    > build/doc/warnings.log; \
	  cat build/doc/warnings.log; \
	  if [ $$status -ne 0 ] || [ -s build/doc/warnings.log ]; then \
	    echo "make doc: LDoc reported $$(wc -l < build/doc/warnings.log) problems (above)" >&2; exit 1; fi; \
	  echo "make doc: build/doc/index.html, no LDoc warnings"

clean:
	rm -rf build

# --- benchmarks ---
# make bench                 the whole suite (bench/run.py): a fixed-reply
#                            nginx on 127.0.0.1, the raw libcurl loop, the Lua
#                            benches under lua5.4 and luajit, callgrind counts
#                            and the peers (boto3, aws CLI); prints a table
# make bench BENCH_QUICK=1   (or make bench-quick) a short run for CI, under a
#                            minute: checks that every bench still runs, no
#                            thresholds
# BENCH_ARGS passes options to bench/run.py (--help lists them).
BENCH_OUT ?= build/bench
BENCH_QUICK ?=
BENCH_ARGS ?=
BENCH_PYTHON ?= python3
BENCH_LUA54_INC = $(patsubst -I%,%,$(filter -I%,$(shell $(PKG_CONFIG) --cflags-only-I lua5.4)))
BENCH_LUAJIT_INC = $(patsubst -I%,%,$(filter -I%,$(shell $(PKG_CONFIG) --cflags-only-I luajit)))
BENCH_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra -Wno-unused-parameter

.PHONY: bench bench-quick bench-build

bench-build:
	$(MAKE) LUA=lua5.4 build
	$(MAKE) LUA=luajit build
	$(MAKE) $(BENCH_OUT)/raw_loop $(BENCH_OUT)/sign_loop \
	  $(BENCH_OUT)/lua5.4/benchclock.so $(BENCH_OUT)/luajit/benchclock.so \
	  $(BENCH_OUT)/lua5.4/benchfloor.so $(BENCH_OUT)/luajit/benchfloor.so

$(BENCH_OUT)/raw_loop: bench/raw_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lcurl

# Linked against the lua5.4 build's objects: the signer as the client runs it.
$(BENCH_OUT)/sign_loop: bench/sign_loop.c build/sfn/core.so
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Wno-deprecated-declarations -Isrc \
	  $(addprefix -I,$(BENCH_LUA54_INC)) -I$(CJSON_INCDIR) -o $@ $< \
	  build/obj/sigv4.o build/obj/request.o build/obj/errors.o build/obj/compat.o \
	  $(shell $(PKG_CONFIG) --libs lua5.4) -lcjson -lcrypto

$(BENCH_OUT)/lua5.4/benchclock.so: bench/clock.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared $(addprefix -I,$(BENCH_LUA54_INC)) -o $@ $<

$(BENCH_OUT)/luajit/benchclock.so: bench/clock.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared $(addprefix -I,$(BENCH_LUAJIT_INC)) -o $@ $<

$(BENCH_OUT)/lua5.4/benchfloor.so: bench/page_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared $(addprefix -I,$(BENCH_LUA54_INC)) -o $@ $<

$(BENCH_OUT)/luajit/benchfloor.so: bench/page_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared $(addprefix -I,$(BENCH_LUAJIT_INC)) -o $@ $<

bench: bench-build
	$(BENCH_PYTHON) bench/run.py --out $(BENCH_OUT) $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_QUICK=1
# --- end of benchmarks ---

# --- fuzzing and sanitizers ---
# make fuzz                  builds the libFuzzer targets in spec/fuzz/ with
#                            clang -fsanitize=fuzzer,address,undefined and
#                            runs each for FUZZ_SECONDS (default 60) from its
#                            seed corpus; fails on any finding (crash, leak,
#                            UBSan report, invariant, timeout, OOM); findings
#                            go to build/fuzz/artifacts/<target>/
# make fuzz FUZZ_TARGETS=reply FUZZ_SECONDS=600   one target, longer
# make fuzz-build            only build them (build/fuzz/fuzz_<target>)
# make asan-test             the whole lua5.4 spec suite against an ASan+UBSan
#                            build of sfn.core (the clang ASan runtime is
#                            preloaded into lua5.4); fails on any report
# make soak                  spec/soak/soak.lua: 20,000 calls through the
#                            stand-in in one process, RSS sampled every 1,000
# FUZZ_ARGS passes libFuzzer options (e.g. -max_len=65536); FUZZ_SKIP=a,b
# turns off named checks for findings reported but not fixed yet (see
# spec/fuzz/README.md; never in CI).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= reply fastpage errors token stsxml request redact
FUZZ_ARGS ?=
FUZZ_SKIP ?=
FUZZ_BUILD = build/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=gnu99 -O1 -g $(WARN) -fvisibility=hidden -Isrc \
  $(addprefix -I,$(FUZZ_LUA_INC)) -I$(CURL_INCDIR) -I$(CJSON_INCDIR) -I$(OPENSSL_INCDIR)
FUZZ_LUA_INC = $(patsubst -I%,%,$(filter -I%,$(shell $(PKG_CONFIG) --cflags-only-I lua5.4)))
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs lua5.4) $(LIBS) -lm
FUZZ_OBJS = $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(SRCS))
FUZZ_BINS = $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))
# Every finding ends the run with a non-zero status; UBSan reports abort.
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 SFN_FUZZ_SKIP='$(FUZZ_SKIP)'

.PHONY: fuzz fuzz-build asan-test soak
.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: spec/fuzz/fuzz_%.c spec/fuzz/fuzz_common.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJS) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

# Per target: first every reproducer in spec/fuzz/crashes/<t>-* (a finding
# not fixed yet fails here), then fuzzing of build/fuzz/corpus/<t> (new
# inputs land there) seeded from spec/fuzz/corpus/<t>. Every target runs even
# after a failure; the summary names them all.
fuzz: fuzz-build
	@fail=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	  for f in spec/fuzz/crashes/$$t-*; do \
	    [ -f "$$f" ] || continue; \
	    if $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t $$f > $(FUZZ_BUILD)/replay.log 2>&1; then \
	      echo "== fuzz_$$t: $$f passes"; \
	    else \
	      echo "== fuzz_$$t: $$f still fails:"; \
	      grep -m1 -E '==FUZZ ASSERTION|runtime error|ERROR: (Address|Leak)Sanitizer' $(FUZZ_BUILD)/replay.log; \
	      fail="$$fail $$t:$$(basename $$f)"; \
	    fi; \
	  done; \
	  dict=""; [ -f spec/fuzz/$$t.dict ] && dict="-dict=spec/fuzz/$$t.dict"; \
	  echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_ARGS) \
	    $(FUZZ_BUILD)/corpus/$$t spec/fuzz/corpus/$$t \
	    > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 || fail="$$fail $$t"; \
	  grep -E '^(==[0-9]+==ERROR|SUMMARY|==FUZZ|.*runtime error|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	    $(FUZZ_BUILD)/fuzz_$$t.log || true; \
	done; \
	if [ -n "$$fail" ]; then \
	  echo "fuzz: findings in:$$fail (logs: $(FUZZ_BUILD)/fuzz_<target>.log, inputs: $(FUZZ_BUILD)/artifacts/)" >&2; \
	  exit 1; \
	fi; echo "fuzz: no findings in $(FUZZ_TARGETS)"

# The ASan+UBSan build of the asan target, the specs under lua5.4 with the
# clang ASan runtime preloaded. LUA_INIT_5_4 loads spec/fuzz/asan_env.c into
# every interpreter: child processes get SFN_ASAN_CHILD_OPTIONS (no leak
# check: python3 under the runtime "leaks" at exit), and core.so is pinned so
# leak stacks are symbolized. The curl CLI deadlocks with the runtime
# preloaded: a curl on PATH that drops LD_PRELOAD stands in front of it.
# LeakSanitizer checks lua5.4 at exit (busted closes the state: every __gc
# has run, so what is left is leaked); UBSan stops at the first report.
# Reports go to build/asan-test/*.log.<pid> and are printed at the end, so a
# sanitizer finding is told apart from an ordinary spec failure.
ASAN_RT = $(shell $(FUZZ_CC) -print-file-name=libclang_rt.asan-x86_64.so)
ASAN_TEST = build/asan-test
ASAN_LOG = $(CURDIR)/$(ASAN_TEST)
ASAN_TEST_ENV = \
  ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$(ASAN_LOG)/asan.log \
  SFN_ASAN_CHILD_OPTIONS=detect_leaks=0:log_path=$(ASAN_LOG)/asan.log \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_LOG)/ubsan.log \
  LSAN_OPTIONS=suppressions=$(CURDIR)/spec/fuzz/lsan.supp:print_suppressions=0 \
  SFN_ASAN_PIN='$(CURDIR)/build/asan/sfn/core.so' \
  LUA_INIT_5_4='local f = package.loadlib("$(ASAN_LOG)/sfn_asan_env.so", "luaopen_sfn_asan_env"); if f then f() end' \
  PATH='$(ASAN_LOG)/bin:'"$$PATH"

asan-test:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	  SANFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  build/asan/sfn/core.so build/asan/sfn/curl.so
	@mkdir -p $(ASAN_TEST)/bin
	@rm -f $(ASAN_TEST)/*.log.*
	$(CC) -std=gnu99 -O2 -fPIC -shared $(addprefix -I,$(FUZZ_LUA_INC)) \
	  -o $(ASAN_TEST)/sfn_asan_env.so spec/fuzz/asan_env.c -ldl
	@printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$$@"\n' "$$(command -v curl)" > $(ASAN_TEST)/bin/curl
	@chmod +x $(ASAN_TEST)/bin/curl
	@status=0; \
	$(SPEC_ENV) SFN_CPATH='build/asan/?.so' $(ASAN_TEST_ENV) \
	  LD_PRELOAD='$(ASAN_RT)' $(LUA) $(BUSTED) $(BUSTED_ARGS) || status=$$?; \
	reports=$$(ls $(ASAN_TEST)/*.log.* 2>/dev/null); \
	if [ -n "$$reports" ]; then \
	  cat $$reports >&2; \
	  echo "asan-test: sanitizer reports (above): $$reports" >&2; exit 1; \
	fi; \
	if [ $$status -ne 0 ]; then \
	  echo "asan-test: no sanitizer report, but the specs failed (busted status $$status)" >&2; \
	  exit $$status; \
	fi; \
	echo "asan-test: specs passed, no sanitizer report"

# 20,000 calls through the stand-in in one process (spec/soak/soak.lua);
# fails when RSS grows by more than SOAK_RSS_BOUND_KB (1024) after call 2,000.
soak: $(TARGET) $(CURL_TARGET)
	$(SPEC_ENV) SFN_CPATH='$(BUILD)/?.so' $(LUA) spec/soak/soak.lua
# --- end of fuzzing and sanitizers ---
