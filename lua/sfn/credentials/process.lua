--- credential_process: runs the profile's command without a shell (split
-- like botocore's compat_shell_split, i.e. shlex.split on POSIX) and reads
-- `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?,
-- "Expiration"?}` from its stdout.
-- @module sfn.credentials.process
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"
local profile = require "sfn.profile"

local M = { name = "credential-process" }

--- Default seconds a command may run before it is killed.
M.TIMEOUT = 60

--- shlex.split(command) (POSIX mode, no comments).
-- @treturn table|nil argv, or nil when quotes are unbalanced
M.split = profile.split_words

-- A time for a message: ISO 8601 when it is one, else "out of range".
local function stamp(t)
  local ok, s = pcall(require("sfn.time").iso8601, t)
  return ok and s or "out of range"
end

--- Runs one credential_process command.
-- @tparam table ctx
-- @tparam string command
-- @tparam string profile_name for messages
function M.run(ctx, command, profile_name)
  local what = ("credential_process of profile '%s'"):format(util.excerpt(tostring(profile_name), 100))
  local argv = M.split(command)
  if not argv then util.fail(what .. " has unbalanced quotes or a trailing backslash") end
  if #argv == 0 then util.fail(what .. " is empty") end
  local prog = util.excerpt(argv[1], 200) -- for messages
  local spawn = ctx.spawn or require("sfn.core").spawn
  local ok, status, out, err = pcall(spawn, argv, ctx.process_timeout or M.TIMEOUT)
  if not ok then
    local e = status
    if errors.is_error(e) and e.code == "TimeoutError" then
      util.fail(what .. " timed out: " .. e.message)
    elseif errors.is_error(e) then
      util.fail(what .. ": " .. tostring(e.message))
    end
    util.fail(what .. " could not be run")
  end
  local decoded = require("sfn.core").json_decode(out or "")
  -- whatever the command printed, its secrets never reach a message
  local secrets = {}
  if type(decoded) == "table" then
    secrets = { decoded.SecretAccessKey, decoded.SessionToken, decoded.AccessKeyId }
  end
  if status ~= 0 then
    local text = util.excerpt(util.redact(err, secrets), 1000)
    util.fail(("%s (%s) exited with status %d%s"):format(what, prog, status,
      text ~= "" and (": " .. text) or ""))
  end
  if type(decoded) ~= "table" then
    util.fail(("%s (%s) did not print a JSON object"):format(what, prog))
  end
  if decoded.Version ~= 1 then
    util.fail(("%s (%s): unsupported Version %s, expected 1"):format(what, prog,
      type(decoded.Version) == "number" and tostring(decoded.Version) or "(missing)"))
  end
  for _, k in ipairs { "AccessKeyId", "SecretAccessKey" } do
    if type(decoded[k]) ~= "string" or decoded[k] == "" then
      util.fail(("%s (%s): %s missing from its output"):format(what, prog, k))
    end
  end
  if decoded.SessionToken ~= nil and type(decoded.SessionToken) ~= "string" then
    util.fail(("%s (%s): SessionToken must be a string"):format(what, prog))
  end
  local exp
  if decoded.Expiration ~= nil then
    exp = util.parse_time(decoded.Expiration)
    if not exp then
      util.fail(("%s (%s): Expiration is not an ISO 8601 time"):format(what, prog))
    end
    -- botocore refreshes at once and then refuses credentials still expired
    -- (RefreshableCredentials._protected_refresh): never sign with them
    local now = (ctx.now or os.time)()
    if exp <= now then
      util.fail(("%s (%s) returned credentials that have already expired (Expiration %s, now %s)")
        :format(what, prog, stamp(exp), stamp(now)))
    end
  end
  return {
    access_key_id = decoded.AccessKeyId,
    secret_access_key = decoded.SecretAccessKey,
    session_token = decoded.SessionToken,
    expiration = exp,
  }
end

function M.load(ctx)
  local p = ctx.files.profiles[ctx.profile_name]
  local cmd = p and util.nonempty(p.credential_process)
  if type(cmd) ~= "string" then return nil, "no credential_process in the profile" end
  return M.run(ctx, cmd, ctx.profile_name)
end

return M
