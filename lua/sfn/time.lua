--- Time formatting without os.date: the calendar is computed here, so any
-- number gives a string or a ValidationError (os.date overflows, or
-- raises a raw string, on times past its time_t and struct tm ranges).
-- @module sfn.time
local errors = require "sfn.errors"

local floor = math.floor

local time = { _VERSION = "0.1.0" }

--- The first second formatted: 0001-01-01T00:00:00Z.
time.MIN = -62135596800
--- The first second not formatted: 10000-01-01T00:00:00Z (ISO 8601 and
-- Python's datetime, hence the AWS CLI, stop at year 9999).
time.MAX = 253402300800

-- Year, month, day of a day number (days since 1970-01-01), proleptic
-- Gregorian (Howard Hinnant's civil_from_days).
local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

--- Formats epoch seconds as ISO 8601 UTC with milliseconds (rounded to the
-- nearest millisecond).
-- @tparam number t seconds since the Unix epoch
-- @treturn string e.g. "2023-11-14T22:13:20.125Z"
-- @raise ValidationError when t is not a number, not finite, or outside
--   years 0001..9999
-- @usage print(sfn.iso8601(1700000000.125)) --> 2023-11-14T22:13:20.125Z
function time.iso8601(t)
  if type(t) ~= "number" or t ~= t or t == math.huge or t == -math.huge then
    errors.raise("ValidationError", "iso8601: expected a finite number, got "
      .. (type(t) == "number" and tostring(t) or type(t)))
  end
  if not (t >= time.MIN and t < time.MAX) then
    errors.raise("ValidationError", ("iso8601: %s is outside years 0001..9999 (%d .. %d seconds)")
      :format(tostring(t), time.MIN, time.MAX - 1))
  end
  local seconds = floor(t)
  local millis = floor((t - seconds) * 1000 + 0.5)
  if millis >= 1000 then
    seconds, millis = seconds + 1, 0
  end
  if seconds >= time.MAX then
    errors.raise("ValidationError", ("iso8601: %s is outside years 0001..9999 (%d .. %d seconds)")
      :format(tostring(t), time.MIN, time.MAX - 1))
  end
  local days = floor(seconds / 86400)
  local rem = seconds - days * 86400
  local y, m, d = civil_from_days(days)
  local h = floor(rem / 3600)
  local mi = floor((rem - h * 3600) / 60)
  local s = rem - h * 3600 - mi * 60
  return ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"):format(y, m, d, h, mi, s, millis)
end

return time
