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
build = {
  type = "builtin",
  modules = {
    ["sfn.core"] = {
      sources = {
        -- every src/*.c (kept in step by the spec "rockspec lists every source")
        "src/client.c", "src/compat.c", "src/core.c", "src/curl_driver.c", "src/describe_map_run.c",
        "src/dpop.c", "src/engine.c", "src/errors.c", "src/fastpage.c", "src/files.c",
        "src/list_executions.c", "src/operations.c", "src/pager.c", "src/process.c", "src/redact.c",
        "src/reply.c", "src/request.c", "src/retry.c", "src/shape.c", "src/sigv4.c", "src/stsxml.c",
        "src/token.c",
      },
      incdirs = { "$(CJSON_INCDIR)/cjson", "$(OPENSSL_INCDIR)", "$(EXPAT_INCDIR)" },
      libdirs = { "$(CJSON_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(EXPAT_LIBDIR)" },
      libraries = { "cjson", "crypto", "expat" },
    },
    -- libcurl on its own, loaded the first time a client sends through it
    ["sfn.curl"] = {
      sources = {
        -- every src/curl/*.c, plus the error constructors shared with sfn.core
        "src/curl/conn.c", "src/curl/http.c", "src/curl/module.c",
        "src/errors.c", "src/compat.c",
      },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      libraries = { "curl", "crypto" },
    },
    sfn = "lua/sfn.lua",
    ["sfn.cli"] = "lua/sfn/cli.lua",
    ["sfn.config"] = "lua/sfn/config.lua",
    ["sfn.credentials"] = "lua/sfn/credentials.lua",
    ["sfn.credentials.assume_role"] = "lua/sfn/credentials/assume_role.lua",
    ["sfn.credentials.config_file"] = "lua/sfn/credentials/config_file.lua",
    ["sfn.credentials.container"] = "lua/sfn/credentials/container.lua",
    ["sfn.credentials.env"] = "lua/sfn/credentials/env.lua",
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
    ["sfn.errors"] = "lua/sfn/errors.lua",
    ["sfn.ngx_transport"] = "lua/sfn/ngx_transport.lua",
    ["sfn.profile"] = "lua/sfn/profile.lua",
    ["sfn.safe"] = "lua/sfn/safe.lua",
    ["sfn.time"] = "lua/sfn/time.lua",
    ["sfn.useragent"] = "lua/sfn/useragent.lua",
  },
  install = {
    bin = { ["sfn-map-runs"] = "bin/sfn-map-runs" },
  },
}
