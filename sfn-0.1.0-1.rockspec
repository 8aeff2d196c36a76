package = "sfn"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/sfn-lua/sfn.git",
  tag = "v0.1.0",
}
description = {
  summary = "AWS Step Functions ListMapRuns for Lua and OpenResty, in C",
  detailed = [[
    Calls ListMapRuns with SigV4 signing, a reused libcurl connection or
    OpenResty cosockets, boto3-compatible pagination and structured errors.
  ]],
  homepage = "https://github.com/sfn-lua/sfn",
  license = "Apache-2.0",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
external_dependencies = {
  -- Debian keeps curl/curl.h under the multiarch include directory, which
  -- the compiler searches by itself but luarocks' header check does not.
  CURL = { library = "curl" },
  CJSON = { header = "cjson/cJSON.h", library = "cjson" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
  EXPAT = { header = "expat.h", library = "expat" },
}
-- The Makefile builds both C modules (`make rock`), with the same
-- -fvisibility=hidden, -fPIC and -O2 as every other build, plus luarocks'
-- CC, CFLAGS, LIBFLAG and the directories found for the dependencies; then
-- luarocks installs the files below itself (and wraps the CLI).
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)",
    CJSON_INCDIR = "$(CJSON_INCDIR)/cjson",
    OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
    EXPAT_INCDIR = "$(EXPAT_INCDIR)",
    LIBS = "-L$(CJSON_LIBDIR) -lcjson -L$(EXPAT_LIBDIR) -lexpat -ldl -lpthread",
    CURL_LIBS = "-L$(CURL_LIBDIR) -lcurl -L$(OPENSSL_LIBDIR) -lcrypto",
  },
  install_pass = false,
  install = {
    lib = {
      -- src/*.c: the engine, no libcurl
      ["sfn.core"] = "build/rock/sfn/core.so",
      -- src/curl/*.c: libcurl on its own, loaded the first time a client sends
      ["sfn.curl"] = "build/rock/sfn/curl.so",
    },
    lua = {
      sfn = "lua/sfn.lua",
      ["sfn.cli"] = "lua/sfn/cli.lua",
      ["sfn.config"] = "lua/sfn/config.lua",
      ["sfn.credentials"] = "lua/sfn/credentials.lua",
      ["sfn.credentials.check"] = "lua/sfn/credentials/check.lua",
      ["sfn.credentials.assume_role"] = "lua/sfn/credentials/assume_role.lua",
      ["sfn.credentials.config_file"] = "lua/sfn/credentials/config_file.lua",
      ["sfn.credentials.container"] = "lua/sfn/credentials/container.lua",
      ["sfn.credentials.env"] = "lua/sfn/credentials/env.lua",
      ["sfn.credentials.fetch"] = "lua/sfn/credentials/fetch.lua",
      ["sfn.credentials.imds"] = "lua/sfn/credentials/imds.lua",
      ["sfn.credentials.login"] = "lua/sfn/credentials/login.lua",
      ["sfn.credentials.process"] = "lua/sfn/credentials/process.lua",
      ["sfn.credentials.shared_file"] = "lua/sfn/credentials/shared_file.lua",
      ["sfn.credentials.static_profile"] = "lua/sfn/credentials/static_profile.lua",
      ["sfn.credentials.sso"] = "lua/sfn/credentials/sso.lua",
      ["sfn.credentials.sts"] = "lua/sfn/credentials/sts.lua",
      ["sfn.credentials.util"] = "lua/sfn/credentials/util.lua",
      ["sfn.credentials.web_identity"] = "lua/sfn/credentials/web_identity.lua",
      ["sfn.driver"] = "lua/sfn/driver.lua",
      ["sfn.endpoints"] = "lua/sfn/endpoints.lua",
      ["sfn.endpoints.rules"] = "lua/sfn/endpoints/rules.lua",
      ["sfn.errors"] = "lua/sfn/errors.lua",
      ["sfn.ngx_transport"] = "lua/sfn/ngx_transport.lua",
      ["sfn.profile"] = "lua/sfn/profile.lua",
      ["sfn.profile.ini"] = "lua/sfn/profile/ini.lua",
      ["sfn.safe"] = "lua/sfn/safe.lua",
      ["sfn.time"] = "lua/sfn/time.lua",
      ["sfn.useragent"] = "lua/sfn/useragent.lua",
    },
    bin = { ["sfn-map-runs"] = "bin/sfn-map-runs" },
  },
  copy_directories = { "doc" },
}
