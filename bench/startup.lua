-- Start-up, timed from outside (bench/run.py, hyperfine, callgrind): a
-- fresh interpreter that loads sfn and makes a client, and nothing else.
--   lua bench/startup.lua       region, endpoint and credentials given
--   lua bench/startup.lua env   nothing given: AWS_REGION and the
--                               AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
--                               of the environment (run.py sets them)
local sfn = require "sfn"
if ... == "env" then
  sfn.new()
else
  sfn.new {
    region = "us-east-1",
    endpoint = "http://127.0.0.1:8080",
    credentials = {
      access_key_id = "AKIDEXAMPLE",
      secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    },
  }
end
