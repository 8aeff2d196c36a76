# sfn: build the C core sfn.core for one Lua interpreter at a time.
#   make                 Lua 5.4  -> build/sfn/core.so
#   make LUA=luajit      LuaJIT   -> build/luajit/sfn/core.so
#   make LUA=lua5.1      Lua 5.1  -> build/lua5.1/sfn/core.so
#   make test            build and run the specs under lua5.4 and luajit
LUA ?= lua5.4

ifeq ($(LUA),luajit)
LUA_PC ?= luajit
BUILD ?= build/luajit
else ifeq ($(LUA),lua5.1)
LUA_PC ?= lua5.1
BUILD ?= build/lua5.1
else
LUA_PC ?= $(LUA)
BUILD ?= build
endif

PKG_CONFIG ?= pkg-config
LUA_INCDIR ?= $(patsubst -I%,%,$(filter -I%,$(shell $(PKG_CONFIG) --cflags-only-I $(LUA_PC))))
CURL_INCDIR ?= /usr/include
CJSON_INCDIR ?= /usr/include/cjson
OPENSSL_INCDIR ?= /usr/include
LIBS ?= -lcurl -lcjson -lcrypto -lexpat

OPT ?= -O2
WARN ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= $(OPT) -g $(WARN)
SANFLAGS ?=
ALL_CFLAGS = -std=gnu99 -fPIC -fvisibility=hidden $(CFLAGS) $(SANFLAGS) \
  $(addprefix -I,$(LUA_INCDIR)) -I$(CURL_INCDIR) -I$(CJSON_INCDIR) -I$(OPENSSL_INCDIR)
LIBFLAG ?= -shared
LDFLAGS ?=

SRCS = $(wildcard src/*.c)
OBJS = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
TARGET = $(BUILD)/sfn/core.so

BUSTED ?= /usr/bin/busted
INSTALL_TOP ?= /usr/local
LUA_VERSION_DIR ?= $(if $(filter luajit lua5.1,$(LUA)),5.1,5.4)

.PHONY: all build test test-one valgrind asan install clean

all build: $(TARGET)

$(TARGET): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Specs for one interpreter against its own build.
test-one: $(TARGET)
	SFN_CPATH='$(BUILD)/?.so' $(LUA) $(BUSTED) $(BUSTED_ARGS)

test:
	$(MAKE) LUA=lua5.4 test-one
	$(MAKE) LUA=luajit test-one

# The lua5.4 specs under valgrind; fails on any definite or indirect leak.
valgrind: $(TARGET)
	SFN_CPATH='$(BUILD)/?.so' SFN_UNDER_VALGRIND=1 valgrind --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect --track-fds=no --quiet \
	  $(LUA) $(BUSTED) $(BUSTED_ARGS)

# The specs against an ASan+UBSan build (clang), preloading the runtime.
asan:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	  SANFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  build/asan/sfn/core.so
	SFN_CPATH='build/asan/?.so' ASAN_OPTIONS=detect_leaks=0 \
	  LD_PRELOAD="$$(clang -print-file-name=libclang_rt.asan-x86_64.so)" \
	  $(LUA) $(BUSTED) $(BUSTED_ARGS)

install: $(TARGET)
	install -d $(DESTDIR)$(INSTALL_TOP)/lib/lua/$(LUA_VERSION_DIR)/sfn
	install -m 0755 $(TARGET) $(DESTDIR)$(INSTALL_TOP)/lib/lua/$(LUA_VERSION_DIR)/sfn/core.so
	install -d $(DESTDIR)$(INSTALL_TOP)/share/lua/$(LUA_VERSION_DIR)/sfn
	install -m 0644 lua/sfn.lua $(DESTDIR)$(INSTALL_TOP)/share/lua/$(LUA_VERSION_DIR)/sfn.lua
	install -m 0644 lua/sfn/*.lua $(DESTDIR)$(INSTALL_TOP)/share/lua/$(LUA_VERSION_DIR)/sfn/
	install -d $(DESTDIR)$(INSTALL_TOP)/bin
	install -m 0755 bin/sfn-map-runs $(DESTDIR)$(INSTALL_TOP)/bin/sfn-map-runs

clean:
	rm -rf build
