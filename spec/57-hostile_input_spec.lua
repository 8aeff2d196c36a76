-- Hostile local input (issue 14): files that are not regular files (FIFO,
-- /dev/zero, a directory, a socket), files and lines far too large, many
-- lines, huge or out-of-range times, credential_process output that is
-- huge or already expired. Each case must end in an sfn.Error with the
-- right code, in bounded time and memory.
--
-- A case that could hang or eat memory runs in a child interpreter under
-- `timeout 10` (and a 1 GB address-space limit): the spec asserts that the
-- child answered at all and what it answered, never how fast.
local support = require "support"
local core = require "sfn.core"
local errors = require "sfn.errors"
local profile = require "sfn.profile"
local util = require "sfn.credentials.util"
local time = require "sfn.time"

local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
local LIMIT = 10 -- seconds a child may run before it is killed

local dir

-- Runs `body` (Lua source of a function body) in a child interpreter with
-- the extra environment `env`; returns the child's answer:
-- { code = error code or "OK" or "RAW", message = ..., status = exit }.
local function child(body, env)
  local script = dir .. "/child.lua"
  support.write_file(script, [[
local errors = require "sfn.errors"
local ok, e = pcall(function() ]] .. body .. [[ end)
if ok then
  io.write("OK\n", tostring(e or ""))
elseif errors.is_error(e) then
  io.write(tostring(e.code), "\n", tostring(e.message))
else
  io.write("RAW\n", type(e), ": ", tostring(e))
end
]])
  local vars = {
    "LUA_PATH=" .. support.quote(support.lua_path()),
    "LUA_CPATH=" .. support.quote(support.lua_cpath()),
    "HOME=" .. support.quote(dir),
    "AWS_CONFIG_FILE=" .. support.quote(dir .. "/none-config"),
    "AWS_SHARED_CREDENTIALS_FILE=" .. support.quote(dir .. "/none-credentials"),
  }
  for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. support.quote(v) end
  -- no address-space cap under ASan (make asan-test): its shadow memory
  -- needs terabytes of address space; the time limit still holds
  local cap = os.getenv("SFN_ASAN_CHILD_OPTIONS") and "" or "ulimit -v 1048576; "
  local cmd = ("%senv %s timeout -s KILL %d %s %s 2>&1; echo; echo \"exit=$?\"")
    :format(cap, table.concat(vars, " "), LIMIT, support.quote(support.interpreter()), support.quote(script))
  local out = support.capture("sh -c " .. support.quote(cmd))
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  out = out:gsub("\n?\nexit=%d+%s*$", "")
  local code, message = out:match("^([%w]+)\n(.*)$")
  assert(status ~= 137 and status ~= 124,
    "the child did not answer within " .. LIMIT .. " s (killed): " .. out:sub(1, 200))
  assert(code, "the child answered nothing readable (exit " .. tostring(status) .. "): " .. out:sub(1, 300))
  return { code = code, message = message, status = status }
end

local function expect(answer, code, ...)
  assert.equal(code, answer.code, answer.message)
  for _, piece in ipairs { ... } do
    assert.truthy(answer.message:find(piece, 1, true),
      ("message lacks %q: %s"):format(piece, answer.message:sub(1, 300)))
  end
  assert.is_nil(answer.message:find(SECRET, 1, true), "secret leaked")
  assert.is_true(#answer.message < 2000, "message too long: " .. #answer.message .. " bytes")
end

-- Child bodies
local NEW_CLIENT = [[ local c = require("sfn").new { region = "us-east-1" } return c.region ]]
local RESOLVE_REGION = [[
  local cfg = require("sfn.config").resolve({ profile = os.getenv("P") })
  return cfg.region ]]
local CREDENTIALS = [[
  local cfg = require("sfn.config").resolve({ region = "us-east-1", profile = os.getenv("P") })
  return cfg.credentials().access_key_id ]]

local function mkfifo(path)
  assert(support.run("mkfifo " .. support.quote(path)), "mkfifo failed")
  return path
end

local function script(name, body)
  local path = dir .. "/" .. name
  support.write_file(path, "#!/bin/sh\n" .. body .. "\n")
  assert(support.run("chmod +x " .. support.quote(path)))
  return path
end

describe("hostile input", function()
  before_each(function()
    dir = support.tmpdir("sfn-hostile")
    assert(dir, "mktemp failed")
  end)
  after_each(function()
    if dir and dir:match("^/") then support.run("rm -rf " .. support.quote(dir)) end
  end)

  describe("core.read_file", function()
    it("reads a regular file whole, and an empty one", function()
      support.write_file(dir .. "/f", "a\0b\nc")
      assert.equal("a\0b\nc", core.read_file(dir .. "/f", 5))
      support.write_file(dir .. "/e", "")
      assert.equal("", core.read_file(dir .. "/e", 1))
    end)

    local kinds = {
      { "a missing file", function() return dir .. "/nope" end, "missing", "No such file" },
      { "a path through a file", function()
          support.write_file(dir .. "/f", "x") return dir .. "/f/x" end, "missing" },
      { "a FIFO", function() return mkfifo(dir .. "/fifo") end, "not_regular", "FIFO" },
      { "a symlink to a FIFO", function()
          mkfifo(dir .. "/fifo")
          assert(support.run("ln -s fifo " .. support.quote(dir .. "/link")))
          return dir .. "/link" end, "not_regular", "FIFO" },
      { "/dev/zero", function() return "/dev/zero" end, "not_regular", "character device" },
      { "/dev/urandom", function() return "/dev/urandom" end, "not_regular", "character device" },
      { "a directory", function() return dir end, "not_regular", "directory" },
      { "a file over the cap", function()
          support.write_file(dir .. "/big", ("x"):rep(101)) return dir .. "/big" end, "too_large", "100 bytes" },
    }
    for _, k in ipairs(kinds) do
      it("refuses " .. k[1] .. " as " .. k[3] .. ", naming the file", function()
        local path = k[2]()
        local data, msg, kind = core.read_file(path, 100)
        assert.is_nil(data)
        assert.equal(k[3], kind)
        assert.truthy(msg:find(path, 1, true), msg)
        if k[4] then assert.truthy(msg:find(k[4], 1, true), msg) end
      end)
    end

    it("refuses a socket", function()
      local sock = dir .. "/sock"
      local ok = support.run("python3 -c " .. support.quote(
        "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])") .. " " .. support.quote(sock))
      if not ok then pending("python3 cannot make a unix socket here") return end
      local data, msg, kind = core.read_file(sock, 100)
      assert.is_nil(data)
      assert.equal("not_regular", kind)
      assert.truthy(msg:find("socket", 1, true), msg)
    end)

    it("a file exactly at the cap is read", function()
      support.write_file(dir .. "/f", ("y"):rep(100))
      assert.equal(100, #core.read_file(dir .. "/f", 100))
    end)

    it("shows a long path cut and control characters as ?", function()
      local _, msg = core.read_file(dir .. "/" .. ("\1"):rep(10) .. ("n"):rep(1000), 10)
      assert.is_true(#msg < 400, msg)
      assert.is_nil(msg:find("%c"), msg)
    end)

    local bad = {
      { "path", nil, 1 }, { "path", "", 1 }, { "path", "a\0b", 1 }, { "path", 5, 1 },
      { "max_bytes", "/etc/hostname", nil }, { "max_bytes", "/etc/hostname", 0 },
      { "max_bytes", "/etc/hostname", 1.5 }, { "max_bytes", "/etc/hostname", 2 ^ 31 },
      { "max_bytes", "/etc/hostname", 0 / 0 }, { "max_bytes", "/etc/hostname", "10" },
    }
    for i, b in ipairs(bad) do
      it("raises a ValidationError naming " .. b[1] .. " (case " .. i .. ")", function()
        local ok, e = pcall(core.read_file, b[2], b[3])
        assert.is_false(ok)
        assert.is_true(errors.is_error(e), tostring(e))
        assert.equal("ValidationError", e.code)
        assert.truthy(e.message:find(b[1], 1, true), e.message)
      end)
    end
  end)

  describe("config and credentials files", function()
    local files = {
      { "a FIFO", function() return mkfifo(dir .. "/fifo") end, "FIFO" },
      { "a symlink to a FIFO", function()
          mkfifo(dir .. "/fifo")
          assert(support.run("ln -s fifo " .. support.quote(dir .. "/link")))
          return dir .. "/link" end, "FIFO" },
      { "/dev/zero", function() return "/dev/zero" end, "character device" },
      { "/dev/urandom", function() return "/dev/urandom" end, "character device" },
      { "a directory", function() return dir end, "directory" },
      { "a file over the 16 MiB cap (sparse)", function()
          assert(support.run("truncate -s 17M " .. support.quote(dir .. "/huge")))
          return dir .. "/huge" end, "larger than 16777216 bytes" },
    }
    for _, var in ipairs { "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE" } do
      for _, f in ipairs(files) do
        it(("%s as %s: sfn.new raises a ConfigError naming it"):format(f[1], var), function()
          local path = f[2]()
          expect(child(NEW_CLIENT, { [var] = path }), "ConfigError", path, f[3])
        end)
      end
    end

    for _, f in ipairs { files[1], files[2], files[3] } do
      it(("%s as AWS_CA_BUNDLE (libcurl opens it): sfn.new raises a ConfigError"):format(f[1]), function()
        local path = f[2]()
        expect(child(NEW_CLIENT, { AWS_CA_BUNDLE = path }), "ConfigError", path, "CA bundle")
      end)
      it(("%s as the ca_file option: sfn.new raises a ConfigError"):format(f[1]), function()
        local path = f[2]()
        expect(child([[ return require("sfn").new { region = "us-east-1", ca_file = os.getenv("CA") }.region ]],
          { CA = path }), "ConfigError", path, "CA bundle")
      end)
    end
    it("core.file_type tells what a path is without opening it", function()
      assert.equal("fifo", core.file_type(mkfifo(dir .. "/fifo")))
      assert.equal("character device", core.file_type("/dev/zero"))
      assert.equal("directory", core.file_type(dir))
      support.write_file(dir .. "/f", "x")
      assert.equal("file", core.file_type(dir .. "/f"))
      local t, msg, kind = core.file_type(dir .. "/nope")
      assert.is_nil(t)
      assert.equal("missing", kind)
      assert.truthy(msg:find(dir .. "/nope", 1, true))
    end)

    it("a missing file still means no profiles", function()
      expect(child(NEW_CLIENT, {}), "OK", "us-east-1")
    end)

    it("a huge AWS_CONFIG_FILE of ${ and $ (path expansion is linear)", function()
      expect(child([[
        local big = ("${"):rep(40000) .. ("$x"):rep(40000)
        local env = { AWS_CONFIG_FILE = big, HOME = "/nonexistent" }
        return require("sfn.config").resolve({ region = "us-east-1" }, function(k) return env[k] end).region
      ]]), "ConfigError", "File name too long")
    end)
  end)

  describe("huge lines and many lines", function()
    local MB4 = 4 * 1024 * 1024

    local function config_with(lines)
      support.write_file(dir .. "/config", table.concat(lines, "\n") .. "\n")
      return { AWS_CONFIG_FILE = dir .. "/config" }
    end

    local ok_cases = {
      { "a 4 MB run of spaces between key and =",
        { "[default]", "k" .. (" "):rep(MB4) .. "= v", "region = eu-west-3" } },
      { "a 4 MB run of spaces inside a value",
        { "[default]", "k = a" .. (" "):rep(MB4) .. "b", "region = eu-west-3" } },
      { "a 4 MB run of spaces at the end of a value",
        { "[default]", "region = eu-west-3" .. (" "):rep(MB4) } },
      { "a 4 MB line of spaces and tabs", { "[default]", (" \t"):rep(MB4 / 2), "region = eu-west-3" } },
      { "a 4 MB continuation line", { "[default]", "k = first", " " .. ("a "):rep(MB4 / 2), "region = eu-west-3" } },
      { "a 4 MB nested block line", { "[default]", "s3 =", "  x" .. (" "):rep(MB4) .. "= y", "region = eu-west-3" } },
      { "a 4 MB section name", { "[profile " .. ("p"):rep(MB4) .. "]", "region = x", "[default]",
        "region = eu-west-3" } },
      { "a 4 MB quoted section name",
        { '[profile "' .. ("\\\\a"):rep(math.floor(MB4 / 3)) .. '"]', "region = x",
          "[default]", "region = eu-west-3" } },
      { "a 4 MB comment line", { "[default]", "#" .. (" "):rep(MB4) .. "x", "region = eu-west-3" } },
    }
    for _, c in ipairs(ok_cases) do
      it(c[1] .. " is parsed", function()
        expect(child(RESOLVE_REGION, config_with(c[2])), "OK", "eu-west-3")
      end)
    end

    local bad_cases = {
      { "a 4 MB line without = (the line is not echoed)",
        { "[default]", "x" .. (" "):rep(MB4) .. "y" .. SECRET }, "line 2" },
      { "a 4 MB key given twice (the key is shown cut)",
        { "[default]", ("k"):rep(MB4) .. " = 1", ("k"):rep(MB4) .. " = 2" }, "line 3" },
      { "a 4 MB section given twice", { "[" .. ("s"):rep(MB4) .. "]", "[" .. ("s"):rep(MB4) .. "]" }, "line 2" },
      { "a 4 MB line before any section", { ("x"):rep(MB4) .. " = 1" }, "line 1" },
    }
    for _, c in ipairs(bad_cases) do
      it(c[1] .. " is a ConfigError", function()
        expect(child(RESOLVE_REGION, config_with(c[2])), "ConfigError", dir .. "/config", c[3])
      end)
    end

    it("100k keys in one section", function()
      local lines = { "[default]", "region = eu-west-3" }
      for i = 1, 100000 do lines[#lines + 1] = "key" .. i .. " = value " .. i end
      expect(child(RESOLVE_REGION, config_with(lines)), "OK", "eu-west-3")
    end)

    it("100k sections", function()
      local lines = {}
      for i = 1, 100000 do lines[#lines + 1] = "[profile p" .. i .. "]" end
      lines[#lines + 1] = "[default]"
      lines[#lines + 1] = "region = eu-west-3"
      expect(child(RESOLVE_REGION, config_with(lines)), "OK", "eu-west-3")
    end)

    it("50k [DEFAULT] keys shown through 50k sections", function()
      local lines = { "[DEFAULT]", "region = eu-west-3" }
      for i = 1, 50000 do lines[#lines + 1] = "d" .. i .. " = v" end
      for i = 1, 50000 do lines[#lines + 1] = "[profile p" .. i .. "]" end
      local env = config_with(lines)
      env.P = "p49999"
      expect(child(RESOLVE_REGION, env), "OK", "eu-west-3")
    end)

    it("100k blank and continuation lines in one value", function()
      local lines = { "[default]", "k = first" }
      for i = 1, 100000 do lines[#lines + 1] = (i % 2 == 0) and "" or "  more" end
      lines[#lines + 1] = "region = eu-west-3"
      expect(child(RESOLVE_REGION, config_with(lines)), "OK", "eu-west-3")
    end)

    it("a 4 MB line in the credentials file", function()
      support.write_file(dir .. "/creds", "[default]\naws_access_key_id = AKHUGE\naws_secret_access_key = "
        .. SECRET .. "\nnote = a" .. (" "):rep(MB4) .. "b\n")
      expect(child(CREDENTIALS, { AWS_SHARED_CREDENTIALS_FILE = dir .. "/creds" }), "OK", "AKHUGE")
    end)
  end)

  describe("profile helpers stay correct", function()
    it("parse keeps configparser's rules", function()
      local p = profile.parse(table.concat({
        "[default]", "  a  =  1  ", "b:2", "c = x = y", "e =", "  n1 = v1", "  n2=v2 ",
        "[ weird ] name ]", "k = v", "[DEFAULT]", "d = shared", "region = r0",
      }, "\n"), "t")
      local d = p.sections.default
      assert.equal("1", d.a)
      assert.equal("2", d.b)
      assert.equal("x = y", d.c)
      assert.same({ n1 = "v1", n2 = "v2" }, d.e)
      assert.equal("shared", d.d)
      assert.equal("v", p.sections[" weird ] name "].k)
      assert.equal("shared", p.sections[" weird ] name "].d)
    end)

    it("[DEFAULT] of each file shows through the merged profile as botocore merges", function()
      support.write_file(dir .. "/config",
        "[DEFAULT]\nregion = cfg-default\nout = cfg-default\n[profile p]\nown = cfg\nboth = cfg\n")
      support.write_file(dir .. "/creds", "[DEFAULT]\nboth = creds-default\n[p]\naws_access_key_id = A\n")
      local env = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/creds" }
      local files = profile.load(function(k) return env[k] end)
      local p = files.profiles.p
      assert.equal("cfg", p.own)
      assert.equal("creds-default", p.both) -- the credentials file's [DEFAULT] beats the config's own
      assert.equal("cfg-default", p.region)
      assert.equal("A", p.aws_access_key_id)
    end)

    it("expand_path expands $NAME and ${NAME} once, left to right", function()
      local env = { HOME = "/h", A = "$B", B = "b", ["1x"] = "d" }
      local function getenv(k) return env[k] end
      assert.equal("/h/$B/b/x${nope}/$nope/d/${", profile.expand_path("~/$A/${B}/x${nope}/$nope/$1x/${", getenv))
    end)

    it("split_words keeps shlex's rules", function()
      assert.same({ "profile", "a b", "c\"d\\e\\f" }, profile.split_words([[profile 'a b' "c\"d\\e\f"]]))
      assert.same({ "x y" }, profile.split_words([[x\ y]]))
      assert.is_nil(profile.split_words([["x\"]]))
      assert.is_nil(profile.split_words([[x\]]))
    end)

    it("util.excerpt is linear and keeps its shape", function()
      assert.equal("a b", util.excerpt("\n\t a\n\n\rb \t\n"))
      assert.equal("xxxxx...", util.excerpt(("x"):rep(50), 5))
      assert.equal("<redacted>x<redacted>", util.redact(SECRET .. "x" .. SECRET, { SECRET }))
    end)
    it("util.excerpt and util.redact on 4 MB (in a child, under the timeout)", function()
      expect(child([[
        local util = require "sfn.credentials.util"
        local e = util.excerpt("e" .. (" "):rep(4 * 1024 * 1024) .. "f" .. (" "):rep(1024), 100)
        assert(e == "e...", e)
        e = util.excerpt(("\n \t"):rep(1024 * 1024) .. "g" .. (" \1"):rep(1024 * 1024), 100)
        assert(e == "g...", e)
        local r = util.redact(("abcd"):rep(1024 * 1024), { "abcd" })
        assert(r == "<redacted>", #r) -- adjacent copies are one redacted run
        return "linear"
      ]]), "OK", "linear")
    end)
  end)

  describe("token files", function()
    local tokens = {
      { "a FIFO", function() return mkfifo(dir .. "/fifo") end, "FIFO" },
      { "/dev/zero", function() return "/dev/zero" end, "character device" },
      { "a directory", function() return dir end, "directory" },
      { "a file over the 64 KiB cap", function()
          support.write_file(dir .. "/tok", ("t"):rep(64 * 1024 + 1)) return dir .. "/tok" end,
        "larger than 65536 bytes" },
      { "a missing file", function() return dir .. "/nope" end, "No such file" },
    }
    for _, t in ipairs(tokens) do
      it("AWS_WEB_IDENTITY_TOKEN_FILE as " .. t[1] .. " is a CredentialsError naming it", function()
        local path = t[2]()
        expect(child(CREDENTIALS, { AWS_WEB_IDENTITY_TOKEN_FILE = path, AWS_ROLE_ARN = "arn:aws:iam::1:role/r" }),
          "CredentialsError", "web identity token file", path, t[3])
      end)
      it("web_identity_token_file in the profile as " .. t[1] .. " is a CredentialsError", function()
        local path = t[2]()
        support.write_file(dir .. "/config", "[profile w]\nrole_arn = arn:aws:iam::1:role/r\n"
          .. "web_identity_token_file = " .. path .. "\n")
        expect(child(CREDENTIALS, { AWS_CONFIG_FILE = dir .. "/config", P = "w" }),
          "CredentialsError", path, t[3])
      end)
      it("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as " .. t[1] .. " is a CredentialsError", function()
        local path = t[2]()
        expect(child(CREDENTIALS, { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:9/creds",
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = path }), "CredentialsError", path, t[3])
      end)
    end
  end)

  describe("credential_process", function()
    local function with_process(body)
      local cmd = script("proc.sh", body)
      support.write_file(dir .. "/config", "[profile x]\ncredential_process = " .. cmd .. "\n")
      return { AWS_CONFIG_FILE = dir .. "/config", P = "x" }
    end

    it("endless stdout is killed at the 1 MiB cap: CredentialsError", function()
      expect(child(CREDENTIALS, with_process("yes '{\"Version\": 1}'")),
        "CredentialsError", "more than 1048576 bytes", "stdout")
    end)
    it("endless stderr is killed at the 64 KiB cap: CredentialsError", function()
      expect(child(CREDENTIALS, with_process("yes 'noise' >&2")),
        "CredentialsError", "more than 65536 bytes", "stderr")
    end)
    it("/dev/zero on stdout is killed at the cap", function()
      expect(child(CREDENTIALS, with_process("cat /dev/zero")), "CredentialsError", "more than 1048576 bytes")
    end)
    it("a 60 KB run of spaces in stderr, then a failure: a short CredentialsError", function()
      expect(child(CREDENTIALS, with_process(
        "python3 -c \"import sys; sys.stderr.write('bad' + ' ' * 60000 + 'news' + ' ' * 4000)\"; exit 3")),
        "CredentialsError", "status 3", "bad")
    end)
    it("a 1 MB JSON string in the output is handled", function()
      expect(child(CREDENTIALS, with_process("python3 -c \"import json; print(json.dumps({'Version': 1, "
        .. "'AccessKeyId': 'AKP', 'SecretAccessKey': 's', 'Junk': ' ' * 1000000}))\"")), "OK", "AKP")
    end)

    it("an Expiration already past is a CredentialsError (botocore refuses expired process credentials)",
      function()
        expect(child(CREDENTIALS, with_process([[echo '{"Version": 1, "AccessKeyId": "AKP", "SecretAccessKey": "]]
          .. SECRET .. [[", "Expiration": "2020-01-01T00:00:00Z"}']])),
          "CredentialsError", "expired", "2020-01-01T00:00:00.000Z")
      end)
    it("an Expiration of now is expired too", function()
      local now = os.time()
      expect(child(CREDENTIALS, with_process([[echo '{"Version": 1, "AccessKeyId": "AKP", "SecretAccessKey": "s",]]
        .. [[ "Expiration": "]] .. os.date("!%Y-%m-%dT%H:%M:%SZ", now - 1) .. [["}']])),
        "CredentialsError", "expired")
    end)
    it("an Expiration in the year 1 is expired and still reported cleanly", function()
      expect(child(CREDENTIALS, with_process([[echo '{"Version": 1, "AccessKeyId": "AKP", "SecretAccessKey": "s",]]
        .. [[ "Expiration": "0001-01-01T00:00:00Z"}']])), "CredentialsError", "expired")
    end)
    it("an Expiration in the future is used", function()
      expect(child(CREDENTIALS, with_process([[echo '{"Version": 1, "AccessKeyId": "AKP", "SecretAccessKey": "s",]]
        .. [[ "Expiration": "2999-01-01T00:00:00Z"}']])), "OK", "AKP")
    end)
    it("a 4 MB credential_process line is split and refused cleanly", function()
      support.write_file(dir .. "/config", "[profile x]\ncredential_process = " .. ("a "):rep(2 * 1024 * 1024) .. "\n")
      expect(child(CREDENTIALS, { AWS_CONFIG_FILE = dir .. "/config", P = "x" }), "CredentialsError", "argv")
    end)
  end)

  describe("iso8601", function()
    local extremes = { 1e300, -1e300, 2 ^ 63, -2 ^ 63, 2 ^ 53, 253402300800, 253402300799.9996,
      -62135596801, math.huge, -math.huge, 0 / 0 }
    for _, t in ipairs(extremes) do
      it(("sfn.time.iso8601(%s) is a ValidationError"):format(tostring(t)), function()
        local ok, e = pcall(time.iso8601, t)
        assert.is_false(ok)
        assert.is_true(errors.is_error(e), tostring(e))
        assert.equal("ValidationError", e.code)
      end)
    end
    it("non-numbers, even with a __tostring that raises, are a ValidationError", function()
      for _, v in ipairs { "1", true, {}, setmetatable({}, { __tostring = function() error("boom") end }) } do
        local ok, e = pcall(time.iso8601, v)
        assert.is_false(ok)
        assert.equal("ValidationError", e.code)
      end
    end)
    it("formats the ends of the range and ordinary times", function()
      assert.equal("0001-01-01T00:00:00.000Z", time.iso8601(-62135596800))
      assert.equal("9999-12-31T23:59:59.999Z", time.iso8601(253402300799.999))
      assert.equal("1970-01-01T00:00:00.000Z", time.iso8601(0))
      assert.equal("1969-12-31T23:59:59.000Z", time.iso8601(-1))
      assert.equal("2023-11-14T22:13:20.125Z", time.iso8601(1700000000.125))
      assert.equal("2000-02-29T00:00:00.000Z", time.iso8601(951782400))
      assert.equal("2023-11-14T22:13:21.000Z", time.iso8601(1700000000.9996))
    end)
    it("sfn.iso8601 and the CLI use it", function()
      local sfn = require "sfn"
      if sfn.iso8601 ~= time.iso8601 then
        pending("lua/sfn.lua: sfn.iso8601 = require('sfn.time').iso8601 (the lead's file)")
        return
      end
      local ok, e = pcall(sfn.iso8601, 1e300)
      assert.is_false(ok)
      assert.equal("ValidationError", e.code)
      ok, e = pcall(require("sfn.cli").map_run_json, { mapRunArn = "a", startDate = 2 ^ 63 })
      assert.is_false(ok)
      assert.equal("ValidationError", e.code)
    end)
  end)
end)
