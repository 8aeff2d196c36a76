--- Time formatting without os.date: the calendar is computed (in sfn.core),
-- so any number gives a string or a ValidationError (os.date overflows, or
-- raises a raw string, on times past its time_t and struct tm ranges).
-- @module sfn.time
local core = require "sfn.core"

local time = { _VERSION = "0.1.0" }

--- The first second formatted: 0001-01-01T00:00:00Z (-62135596800).
time.MIN = core.ISO8601_MIN
--- The first second not formatted: 10000-01-01T00:00:00Z (253402300800;
-- ISO 8601 and Python's datetime, hence the AWS CLI, stop at year 9999).
time.MAX = core.ISO8601_MAX

--- Formats epoch seconds as ISO 8601 UTC with milliseconds (rounded to the
-- nearest millisecond). The calendar is `sfn.core.iso8601`'s, which the
-- CLI's JSON writer (`sfn.core.json_object`) uses too.
-- @function iso8601
-- @tparam number t seconds since the Unix epoch
-- @treturn string e.g. "2023-11-14T22:13:20.125Z"
-- @raise ValidationError when t is not a number, not finite, or outside
--   years 0001..9999
-- @usage print(sfn.iso8601(1700000000.125)) --> 2023-11-14T22:13:20.125Z
time.iso8601 = core.iso8601

return time
